"""Messages API: outbound, opens, clicks and inbound; request shapes and parsing."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import yaml

import pystmark
from tests.contract import SWAGGER_DIR

DATA = Path(__file__).parent / "data" / "messages"
SWAGGER = SWAGGER_DIR / "server.swagger.yaml"
BASE = pystmark.API_URL
KEY = {"api_key": "server-token"}


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query, keep_blank_values=True)


def path(call: Any) -> str:
    return urlsplit(call.request.url).path


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


# ---- outbound ---------------------------------------------------------------


def test_outbound_search_sends_every_filter(mocked):
    mocked.get(f"{BASE}/messages/outbound", json=load("outbound_search.json"))
    result = pystmark.get_outbound_messages(
        count=50,
        offset=100,
        recipient="jane@example.com",
        from_email="sender@example.com",
        tag="welcome",
        status="sent",
        subject="Welcome",
        message_stream="outbound",
        from_date=date(2026, 11, 1),
        to_date=datetime(2026, 11, 20, 23, 59, 30),
        metadata={"color": "blue", "client-id": 12345},
        **KEY,
    )
    call = mocked.calls[0]
    assert call.request.method == "GET"
    assert path(call) == "/messages/outbound"
    assert call.request.headers["X-Postmark-Server-Token"] == "server-token"
    assert query(call) == {
        "count": ["50"],
        "offset": ["100"],
        "recipient": ["jane@example.com"],
        "fromemail": ["sender@example.com"],
        "tag": ["welcome"],
        "status": ["sent"],
        "subject": ["Welcome"],
        "messagestream": ["outbound"],
        "fromdate": ["2026-11-01"],
        "todate": ["2026-11-20T23:59:30"],
        "metadata_color": ["blue"],
        "metadata_client-id": ["12345"],
    }
    assert result.total_count == 2


def test_outbound_search_defaults_and_omits_unset_filters(mocked):
    mocked.get(f"{BASE}/messages/outbound", json={"TotalCount": 0, "Messages": []})
    result = pystmark.get_outbound_messages(**KEY)
    assert query(mocked.calls[0]) == {"count": ["25"], "offset": ["0"]}
    assert result.messages == []


def test_outbound_messages_are_typed():
    response = pystmark.OutboundMessagesResponse(None, load("outbound_search.json"))  # type: ignore[arg-type]
    first, second = response.messages
    assert first.message_id == "0ac29aee-e1cd-480d-b08d-4f48548ff48d"
    assert [(a.email, a.name) for a in first.to] == [("jane@example.com", "Jane Doe")]
    assert first.cc[0].email == "cc@example.com" and first.cc[0].name == ""
    assert first.bcc == []
    assert first.recipients == ["jane@example.com", "cc@example.com"]
    assert first.from_address == '"Sender" <sender@example.com>'
    assert first.subject == "Welcome" and first.tag == "welcome" and first.status == "Sent"
    assert first.received_at == datetime(
        2026, 11, 20, 9, 40, 30, 179474, tzinfo=timezone(timedelta(hours=-5))
    )
    assert first.received_at.utcoffset() is not None
    assert first.metadata == {"color": "blue", "client-id": "12345"}
    assert first.message_stream == "outbound"
    assert [a.name for a in first.attachments] == ["terms.pdf"]
    assert first.track_opens is True and first.track_links == "HtmlAndText"
    assert first.sandboxed is False
    assert second.status == "Queued" and second.track_opens is False
    assert str(first.to[0]) == "Jane Doe <jane@example.com>"
    assert str(second.to[0]) == "john@example.com"


def test_outbound_details_and_events(mocked):
    mocked.get(
        f"{BASE}/messages/outbound/07311c54-0687-4ab9-b034-b54b5bad88ba/details",
        json=load("outbound_details.json"),
    )
    response = pystmark.get_outbound_message_details("07311c54-0687-4ab9-b034-b54b5bad88ba", **KEY)
    assert mocked.calls[0].request.method == "GET"
    message = response.message
    assert isinstance(message, pystmark.OutboundMessageDetails)
    assert message.text_body == "Thank you for your order..."
    assert message.html_body == "<p>Thank you for your order...</p>"
    assert message.body == "SMTP dump data"
    assert message.track_links == "HtmlOnly"
    delivered, opened = message.message_events
    assert delivered.type == "Delivered"
    assert delivered.recipient == "john.doe@yahoo.com"
    assert delivered.received_at == datetime(2026, 11, 20, 14, 40, 35, 500000, tzinfo=timezone.utc)
    assert delivered.details["DestinationServer"] == "mta.example.com"
    assert opened.received_at is not None and opened.received_at.tzinfo is not None
    # pystmark 0.5 code read the JSON off the response
    assert response.json()["Subject"] == "Parts Order #5454"


def test_outbound_details_keeps_05_signature(mocked):
    mocked.get(f"{BASE}/messages/outbound/abc/details", json=load("outbound_details.json"))
    response = pystmark.get_outbound_message_details("abc", api_key="legacy-key")
    assert response.ok
    assert mocked.calls[0].request.headers["X-Postmark-Server-Token"] == "legacy-key"


def test_outbound_dump_converts_to_email_message(mocked):
    mocked.get(f"{BASE}/messages/outbound/abc/dump", json=load("outbound_dump.json"))
    response = pystmark.get_outbound_message_dump("abc", **KEY)
    assert path(mocked.calls[0]) == "/messages/outbound/abc/dump"
    assert response.body.startswith("From: Sender")
    message = response.to_email_message()
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Hello"
    assert message["To"].addresses[0].addr_spec == "jane@example.com"
    assert message.get_body(("plain",)).get_content().strip() == "Hello Jane"
    assert message.get_body(("html",)).get_content().strip() == "<p>Hello Jane</p>"


def test_empty_dump_gives_empty_message(mocked):
    mocked.get(f"{BASE}/messages/outbound/abc/dump", json={"Body": ""})
    response = pystmark.get_outbound_message_dump("abc", **KEY)
    assert response.body == ""
    assert response.to_email_message().keys() == []


@pytest.mark.parametrize(
    ("call", "expected_path"),
    [
        (pystmark.get_outbound_message_details, "/messages/outbound/..%2Femail/details"),
        (pystmark.get_outbound_message_dump, "/messages/outbound/..%2Femail/dump"),
        (pystmark.get_message_opens, "/messages/outbound/opens/..%2Femail"),
        (pystmark.get_message_clicks, "/messages/outbound/clicks/..%2Femail"),
        (pystmark.get_inbound_message_details, "/messages/inbound/..%2Femail/details"),
        (pystmark.retry_inbound_message, "/messages/inbound/..%2Femail/retry"),
        (pystmark.bypass_inbound_message, "/messages/inbound/..%2Femail/bypass"),
    ],
)
def test_ids_cannot_change_the_path(call, expected_path):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, f"{BASE}{expected_path}", json={})
        rsps.add(responses.PUT, f"{BASE}{expected_path}", json={})
        call("../email", **KEY)
        sent = rsps.calls[0].request.url
        assert urlsplit(sent).path == expected_path
        assert "/email" not in urlsplit(sent).path.replace("%2Femail", "")


@pytest.mark.parametrize("bad", ["", "   ", None, 1.5, True, "..", "a\r\nb"])
def test_bad_ids_refused_before_io(bad):
    # any request would fail the test
    with responses.RequestsMock(), pytest.raises(pystmark.ConfigurationError):
        pystmark.get_outbound_message_details(bad, **KEY)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": 0},
        {"count": 501},
        {"offset": -1},
        {"count": 500, "offset": 9600},
        {"count": True},
        {"metadata": {"": "x"}},
        {"metadata": {"k": None}},
        {"metadata": {"k": ["a"]}},
        {"metadata": ["k"]},
        {"from_date": 20260101},
    ],
)
def test_bad_outbound_arguments_refused_before_io(kwargs):
    with responses.RequestsMock(), pytest.raises(pystmark.ConfigurationError):
        pystmark.get_outbound_messages(**kwargs, **KEY)


def test_iter_outbound_pages_and_max_results(mocked):
    def page(start: int, size: int) -> dict[str, Any]:
        base = datetime(2026, 11, 20, 12, 0, 0)
        return {
            "TotalCount": 1200,
            "Messages": [
                {
                    "MessageID": f"id-{i}",
                    "ReceivedAt": (base - timedelta(seconds=i)).isoformat() + "-05:00",
                }
                for i in range(start, start + size)
            ],
        }

    mocked.get(f"{BASE}/messages/outbound", json=page(0, 500))
    mocked.get(f"{BASE}/messages/outbound", json=page(500, 500))
    mocked.get(f"{BASE}/messages/outbound", json=page(1000, 200))
    items = list(pystmark.iter_outbound_messages(tag="welcome", metadata={"a": "b"}, **KEY))
    assert [m.message_id for m in items] == [f"id-{i}" for i in range(1200)]
    assert all(isinstance(m, pystmark.OutboundMessage) for m in items)
    queries = [query(call) for call in mocked.calls]
    assert [(q["count"], q["offset"]) for q in queries] == [
        (["500"], ["0"]),
        (["500"], ["500"]),
        (["500"], ["1000"]),
    ]
    assert all(q["tag"] == ["welcome"] and q["metadata_a"] == ["b"] for q in queries)


def test_iter_outbound_max_results_limits_requests(mocked):
    mocked.get(
        f"{BASE}/messages/outbound",
        json={
            "TotalCount": 100,
            "Messages": [
                {"MessageID": f"id-{i}", "ReceivedAt": "2026-11-20T12:00:00-05:00"}
                for i in range(7)
            ],
        },
    )
    items = list(pystmark.iter_outbound_messages(max_results=7, **KEY))
    assert len(items) == 7
    assert len(mocked.calls) == 1
    assert query(mocked.calls[0])["count"] == ["7"]


def test_iter_checks_arguments_before_iterating():
    with responses.RequestsMock():
        with pytest.raises(pystmark.ConfigurationError):
            pystmark.iter_outbound_messages(max_results=-1, **KEY)
        with pytest.raises(pystmark.ConfigurationError):
            pystmark.iter_inbound_messages(from_date=3, **KEY)
        with pytest.raises(pystmark.ConfigurationError):
            pystmark.iter_opens(max_results=True, **KEY)
        with pytest.raises(pystmark.ConfigurationError):
            pystmark.iter_message_clicks("", **KEY)


# ---- opens and clicks -------------------------------------------------------

TRACKING_FILTERS = {
    "recipient": ("recipient", "john@example.com"),
    "tag": ("tag", "welcome"),
    "client_name": ("client_name", "Chrome"),
    "client_company": ("client_company", "Google"),
    "client_family": ("client_family", "Chrome"),
    "os_name": ("os_name", "OS X 10.7 Lion"),
    "os_family": ("os_family", "OS X 10"),
    "os_company": ("os_company", "Apple Computer, Inc."),
    "platform": ("platform", "WebMail"),
    "country": ("country", "Serbia"),
    "region": ("region", "Vojvodina"),
    "city": ("city", "Novi Sad"),
    "message_stream": ("messagestream", "outbound"),
    "from_date": ("fromdate", "2026-11-01"),
    "to_date": ("todate", "2026-11-02T08:30:00"),
}


def tracking_kwargs() -> dict[str, Any]:
    kwargs: dict[str, Any] = {name: value for name, (_, value) in TRACKING_FILTERS.items()}
    kwargs["from_date"] = date(2026, 11, 1)
    kwargs["to_date"] = datetime(2026, 11, 2, 8, 30)
    return kwargs


@pytest.mark.parametrize(
    ("function", "endpoint", "fixture"),
    [
        (pystmark.get_opens, "/messages/outbound/opens", "opens.json"),
        (pystmark.get_clicks, "/messages/outbound/clicks", "clicks.json"),
    ],
)
def test_tracking_search_sends_every_filter(mocked, function, endpoint, fixture):
    mocked.get(f"{BASE}{endpoint}", json=load(fixture))
    response = function(count=10, offset=20, **tracking_kwargs(), **KEY)
    call = mocked.calls[0]
    assert call.request.method == "GET" and path(call) == endpoint
    expected = {query_name: [value] for query_name, value in TRACKING_FILTERS.values()}
    assert query(call) == {**expected, "count": ["10"], "offset": ["20"]}
    assert response.total_count == 1


def test_opens_are_typed():
    response = pystmark.OpensResponse(None, load("opens.json"))  # type: ignore[arg-type]
    (opened,) = response.opens
    assert opened.record_type == "Open"
    assert opened.first_open is True
    assert opened.client.name == "Chrome 35.0.1916.153"
    assert opened.client.company == "Google" and opened.client.family == "Chrome"
    assert opened.os.family == "OS X 10" and opened.os.company == "Apple Computer, Inc."
    assert opened.platform == "WebMail"
    assert opened.user_agent.startswith("Mozilla/5.0")
    assert opened.read_seconds == 16
    assert opened.geo.country_iso_code == "RS" and opened.geo.city == "Novi Sad"
    assert opened.geo.region_iso_code == "VO" and opened.geo.zip == "21000"
    assert opened.geo.coords == "45.2517,19.8369" and opened.geo.ip == "188.2.95.4"
    assert opened.message_id == "927e56d2-dc08-4543-b3a6-5e0a6f2a8a47"
    assert opened.received_at == datetime(2026, 11, 20, 15, 2, 0, 123456, tzinfo=timezone.utc)
    assert opened.tag == "welcome-email" and opened.recipient == "john@example.com"
    assert opened.message_stream == "outbound"
    assert opened.metadata == {"color": "blue"}


def test_clicks_are_typed():
    response = pystmark.ClicksResponse(None, load("clicks.json"))  # type: ignore[arg-type]
    (click,) = response.clicks
    assert click.original_link == "https://example.com/welcome"
    assert click.click_location == "HTML"
    assert click.platform == "Desktop"
    assert click.geo.country == "United States" and click.geo.region == ""
    assert click.received_at == datetime(2026, 11, 20, 10, 5, tzinfo=timezone.utc)
    assert click.client.family == "Chrome"


@pytest.mark.parametrize(
    ("function", "endpoint", "fixture", "attribute"),
    [
        (pystmark.get_message_opens, "/messages/outbound/opens/m-1", "opens.json", "opens"),
        (pystmark.get_message_clicks, "/messages/outbound/clicks/m-1", "clicks.json", "clicks"),
    ],
)
def test_one_messages_opens_and_clicks(mocked, function, endpoint, fixture, attribute):
    mocked.get(f"{BASE}{endpoint}", json=load(fixture))
    response = function("m-1", count=5, offset=10, **KEY)
    assert path(mocked.calls[0]) == endpoint
    assert query(mocked.calls[0]) == {"count": ["5"], "offset": ["10"]}
    assert len(getattr(response, attribute)) == 1


@pytest.mark.parametrize(
    ("function", "endpoint", "items_key", "record"),
    [
        (pystmark.iter_opens, "/messages/outbound/opens", "Opens", pystmark.MessageOpen),
        (pystmark.iter_clicks, "/messages/outbound/clicks", "Clicks", pystmark.MessageClick),
    ],
)
def test_iter_tracking_pages(mocked, function, endpoint, items_key, record):
    items = [{"MessageID": f"m-{i}", "ReceivedAt": "2026-11-20T10:00:00Z"} for i in range(700)]
    mocked.get(f"{BASE}{endpoint}", json={"TotalCount": 700, items_key: items[:500]})
    mocked.get(f"{BASE}{endpoint}", json={"TotalCount": 700, items_key: items[500:]})
    found = list(function(city="Boston", **KEY))
    assert [item.message_id for item in found] == [f"m-{i}" for i in range(700)]
    assert all(isinstance(item, record) for item in found)
    assert [query(call)["offset"] for call in mocked.calls] == [["0"], ["500"]]
    assert all(query(call)["city"] == ["Boston"] for call in mocked.calls)


@pytest.mark.parametrize(
    ("function", "endpoint", "items_key"),
    [
        (pystmark.iter_message_opens, "/messages/outbound/opens/m-1", "Opens"),
        (pystmark.iter_message_clicks, "/messages/outbound/clicks/m-1", "Clicks"),
    ],
)
def test_iter_one_messages_events(mocked, function, endpoint, items_key):
    mocked.get(f"{BASE}{endpoint}", json={"TotalCount": 3, items_key: [{}, {}, {}]})
    assert len(list(function("m-1", max_results=3, **KEY))) == 3
    assert path(mocked.calls[0]) == endpoint
    assert query(mocked.calls[0]) == {"count": ["3"], "offset": ["0"]}


# ---- inbound ----------------------------------------------------------------


def test_inbound_search_sends_every_filter(mocked):
    mocked.get(f"{BASE}/messages/inbound", json=load("inbound_search.json"))
    response = pystmark.get_inbound_messages(
        count=100,
        offset=0,
        recipient="inbound@example.com",
        from_email="user@example.com",
        subject="Hi",
        mailbox_hash="ahoy",
        tag="support",
        status="failed",
        from_date=date(2026, 11, 1),
        to_date=datetime(2026, 11, 2, 0, 0, 0),
        **KEY,
    )
    assert path(mocked.calls[0]) == "/messages/inbound"
    assert query(mocked.calls[0]) == {
        "count": ["100"],
        "offset": ["0"],
        "recipient": ["inbound@example.com"],
        "fromemail": ["user@example.com"],
        "subject": ["Hi"],
        "mailboxhash": ["ahoy"],
        "tag": ["support"],
        "status": ["failed"],
        "fromdate": ["2026-11-01"],
        "todate": ["2026-11-02T00:00:00"],
    }
    (message,) = response.messages
    assert response.total_count == 1
    assert message.from_full.name == "My User"
    assert message.to_full[0].email.endswith("@inbound.postmarkapp.com")
    assert message.mailbox_hash == "ahoy" and message.status == "Processed"
    assert message.sent_at == datetime(2012, 4, 5, 14, 59, 1, tzinfo=timezone.utc)
    (attachment,) = message.attachments
    assert attachment.content_type == "image/png" and attachment.content_length == 8
    assert attachment.data == b"\x89PNG\r\n\x1a\n"


def test_iter_inbound_pages(mocked):
    items = [{"MessageID": f"in-{i}"} for i in range(600)]
    mocked.get(f"{BASE}/messages/inbound", json={"TotalCount": 600, "InboundMessages": items[:500]})
    mocked.get(f"{BASE}/messages/inbound", json={"TotalCount": 600, "InboundMessages": items[500:]})
    found = list(pystmark.iter_inbound_messages(status="processed", **KEY))
    assert [m.message_id for m in found] == [f"in-{i}" for i in range(600)]
    assert all(query(c)["status"] == ["processed"] for c in mocked.calls)


def test_inbound_details_to_email_message(mocked):
    mocked.get(f"{BASE}/messages/inbound/in-1/details", json=load("inbound_details.json"))
    response = pystmark.get_inbound_message_details("in-1", **KEY)
    message = response.message
    assert message.stripped_text_reply == "This is the reply text"
    assert [h.name for h in message.headers][:2] == ["X-Header-Test", "X-Spam-Status"]
    converted = response.to_email_message()
    assert isinstance(converted, EmailMessage)
    assert converted["From"].addresses[0].display_name == "My User"
    assert converted["From"].addresses[0].addr_spec == "myUser@theirDomain.com"
    assert [a.addr_spec for a in converted["Cc"].addresses] == [
        "firstcc@postmarkapp.com",
        "secondCc@postmarkapp.com",
    ]
    assert converted["Bcc"] is None  # empty headers are left out
    assert converted["Reply-To"] == "myUsersReplyAddress@theirDomain.com"
    assert converted["Subject"] == "Test subject été"
    assert converted["Date"].datetime == datetime(
        2012, 4, 5, 16, 59, 1, tzinfo=timezone(timedelta(hours=2))
    )
    assert converted["Message-ID"] == "<CAHsrW9xA@mail.gmail.com>"
    assert converted["X-Spam-Status"] == "No"
    assert len(converted.get_all("Received")) == 2
    # a header value cannot smuggle in another header
    assert converted["X-Evil"] == "a Bcc: victim@example.com"
    # Postmark's Content-Type header does not override the real structure
    assert converted.get_content_type() == "multipart/mixed"
    assert converted.get_body(("plain",)).get_content().strip() == "This is a test text body."
    assert "test html body" in converted.get_body(("html",)).get_content()
    attachments = list(converted.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["test.txt", "logo.png"]
    assert attachments[0].get_content_type() == "text/plain"
    assert attachments[0].get_content().strip() == "This is attachment contents, base-64 encoded."
    assert attachments[1].get_content() == b"\x89PNG\r\n\x1a\n\x00\x01"
    assert attachments[1]["Content-ID"] == "<logo@01CE7342>"
    # the result is a usable message: it serialises and parses back
    assert "Subject: Test subject" in converted.as_string()


def test_inbound_webhook_payload_converts_too():
    raw = (DATA / "inbound_details.json").read_text()
    for payload in (raw, raw.encode(), json.loads(raw)):
        message = pystmark.InboundMessage.from_webhook(payload)
        converted = message.to_email_message()
        assert converted["Subject"] == "Test subject été"
        assert len(list(converted.iter_attachments())) == 2
    with pytest.raises(pystmark.DataError):
        pystmark.InboundMessage.from_webhook("not json")


def test_inbound_html_only_and_text_only():
    html_only = pystmark.InboundMessage({"From": "a@example.com", "HtmlBody": "<p>x</p>"})
    converted = html_only.to_email_message()
    assert converted.get_content_type() == "text/html"
    assert converted["From"].addresses[0].addr_spec == "a@example.com"
    text_only = pystmark.InboundMessage({"TextBody": "plain", "Attachments": []})
    assert text_only.to_email_message().get_content().strip() == "plain"
    unknown = pystmark.InboundMessage(
        {"TextBody": "x", "Attachments": [{"Name": "blob", "Content": "AAE=", "ContentType": ""}]}
    )
    (part,) = unknown.to_email_message().iter_attachments()
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_content() == b"\x00\x01"


@pytest.mark.parametrize(
    ("function", "action"),
    [(pystmark.retry_inbound_message, "retry"), (pystmark.bypass_inbound_message, "bypass")],
)
def test_inbound_retry_and_bypass(mocked, function, action):
    mocked.put(
        f"{BASE}/messages/inbound/in-1/{action}",
        json={"ErrorCode": 0, "Message": "Successfully rescheduled failed message: in-1."},
    )
    response = function("in-1", **KEY)
    call = mocked.calls[0]
    assert call.request.method == "PUT"
    assert path(call) == f"/messages/inbound/in-1/{action}"
    assert response.error_code == 0 and response.message.startswith("Successfully")


# ---- errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "endpoint", "function", "code", "error"),
    [
        ("GET", "/messages/outbound/x/details", pystmark.get_outbound_message_details, 701,
         pystmark.MessageNotFoundError),
        ("GET", "/messages/inbound/x/details", pystmark.get_inbound_message_details, 701,
         pystmark.MessageNotFoundError),
        ("PUT", "/messages/inbound/x/bypass", pystmark.bypass_inbound_message, 702,
         pystmark.InboundBypassError),
        ("PUT", "/messages/inbound/x/retry", pystmark.retry_inbound_message, 703,
         pystmark.InboundRetryError),
    ],
)  # fmt: skip
def test_error_codes_map_to_classes(mocked, method, endpoint, function, code, error):
    mocked.add(method, f"{BASE}{endpoint}", status=422, json={"ErrorCode": code, "Message": "No."})
    with pytest.raises(error) as caught:
        function("x", **KEY)
    assert caught.value.error_code == code
    assert caught.value.status_code == 422
    assert isinstance(caught.value, pystmark.UnprocessableEntityError)
    assert "server-token" not in str(caught.value)


def test_missing_message_is_catchable_as_not_found(mocked):
    mocked.get(
        f"{BASE}/messages/outbound/x/dump",
        status=422,
        json={"ErrorCode": 701, "Message": "This message was not found."},
    )
    with pytest.raises(pystmark.NotFoundError):
        pystmark.get_outbound_message_dump("x", **KEY)


def test_other_errors_still_map_by_status(mocked):
    mocked.get(f"{BASE}/messages/outbound", status=401, json={"ErrorCode": 10, "Message": "Bad"})
    with pytest.raises(pystmark.UnauthorizedError):
        pystmark.get_outbound_messages(**KEY)


# ---- advanced classes -------------------------------------------------------


def test_getters_take_settings_and_calls_override(mocked):
    mocked.get("http://127.0.0.1:9/messages/outbound", json={"TotalCount": 0, "Messages": []})
    mocked.get(f"{BASE}/messages/inbound", json={"TotalCount": 0, "InboundMessages": []})
    getter = pystmark.OutboundMessageGetter(api_key="instance", base_url="http://127.0.0.1:9")
    getter.search()
    assert mocked.calls[0].request.headers["X-Postmark-Server-Token"] == "instance"
    getter.search(api_key="call")
    assert mocked.calls[1].request.headers["X-Postmark-Server-Token"] == "call"
    inbound = pystmark.InboundMessageGetter(api_key="inbound")
    inbound.search(count=1)
    assert mocked.calls[2].request.headers["X-Postmark-Server-Token"] == "inbound"
    assert "instance" not in repr(getter)


def test_message_getters_are_interfaces():
    for cls in (
        pystmark.OutboundMessageGetter,
        pystmark.OpensGetter,
        pystmark.ClicksGetter,
        pystmark.InboundMessageGetter,
    ):
        assert issubclass(cls, pystmark.Interface)
    with pytest.raises(TypeError):
        pystmark.OpensGetter(no_such_setting=1)  # type: ignore[call-arg]


def test_retry_and_bypass_are_not_repeated(mocked):
    mocked.put(f"{BASE}/messages/inbound/in-1/retry", status=500, json={"Message": "oops"})
    with pytest.raises(pystmark.InternalServerError):
        pystmark.retry_inbound_message("in-1", max_retries=2, **KEY)
    assert len(mocked.calls) == 1


# ---- the Swagger file -------------------------------------------------------

# Query names sent that the Swagger file does not declare, each with its source.
UNDECLARED = {
    # Postmark's messages-api page and postmark-python; missing from the Swagger file.
    "/messages/outbound": {"subject", "messagestream", "metadata_color"},
    "/messages/outbound/opens": {"messagestream", "fromdate", "todate"},
    "/messages/outbound/clicks": {"messagestream", "fromdate", "todate"},
}


def swagger_operations() -> dict[tuple[str, str], set[str]]:
    spec = yaml.safe_load(SWAGGER.read_text())
    operations = {}
    for route, item in spec["paths"].items():
        if not route.startswith("/messages"):
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            operations[(method.upper(), route)] = names
    return operations


@pytest.mark.skipif(not SWAGGER.exists(), reason="the Swagger file is not available")
def test_requests_match_swagger():
    operations = swagger_operations()
    everything = {"count": 10, "offset": 0, "recipient": "x", "tag": "x"}
    page = {"count": 10, "offset": 0}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for method in (responses.GET, responses.PUT):
            rsps.add(method, re.compile(rf"{re.escape(BASE)}/messages/.*"), json={})
        pystmark.get_outbound_messages(
            **everything, from_email="f", status="sent", subject="s", message_stream="m",
            from_date=date(2026, 1, 1), to_date=date(2026, 1, 2), metadata={"color": "b"}, **KEY,
        )  # fmt: skip
        pystmark.get_outbound_message_details("m-1", **KEY)
        pystmark.get_outbound_message_dump("m-1", **KEY)
        pystmark.get_opens(**page, **tracking_kwargs(), **KEY)
        pystmark.get_clicks(**page, **tracking_kwargs(), **KEY)
        pystmark.get_message_opens("m-1", **KEY)
        pystmark.get_message_clicks("m-1", **KEY)
        pystmark.get_inbound_messages(
            **everything, from_email="f", subject="s", mailbox_hash="h", status="failed",
            from_date=date(2026, 1, 1), to_date=date(2026, 1, 2), **KEY,
        )  # fmt: skip
        pystmark.get_inbound_message_details("m-1", **KEY)
        pystmark.retry_inbound_message("m-1", **KEY)
        pystmark.bypass_inbound_message("m-1", **KEY)
        calls = list(rsps.calls)
    seen = set()
    for call in calls:
        sent_path = path(call)
        candidates = [
            route
            for (method, route) in operations
            if method == call.request.method and _matches(route, sent_path)
        ]
        # prefer the literal route (/opens) over a templated one (/{messageid}/...)
        candidates.sort(key=lambda route: route.count("{"))
        assert candidates, f"{call.request.method} {sent_path} is not in the Swagger file"
        route = candidates[0]
        seen.add((call.request.method, route))
        sent = set(query(call))
        undeclared = sent - operations[(call.request.method, route)]
        assert undeclared <= UNDECLARED.get(route, set()), (route, undeclared)
    assert seen == set(operations), set(operations) - seen


def _matches(route: str, sent_path: str) -> bool:
    route_parts, parts = route.split("/"), sent_path.split("/")
    return len(route_parts) == len(parts) and all(
        r == p or (r.startswith("{") and r.endswith("}"))
        for r, p in zip(route_parts, parts, strict=True)
    )


def test_unparsable_values_are_handled():
    message = pystmark.InboundMessage(
        {
            "Date": "not a date",
            "TextBody": "x",
            "Headers": [
                {"Name": "Message-ID", "Value": "<<<"},
                {"Name": "Bad Name:", "Value": "x"},
                {"Name": "X-Kept", "Value": "yes"},
            ],
        }
    )
    assert message.sent_at is None
    converted = message.to_email_message()
    # Python < 3.13 cannot parse this Message-ID and it is left out; 3.13 keeps it.
    assert converted["Message-ID"] in (None, "<<<")
    assert converted["X-Kept"] == "yes"
    assert "Bad Name" not in converted.as_string()
    assert pystmark.InboundMessage({}).sent_at is None


def test_bad_attachment_data_raises_data_error():
    bad = pystmark.InboundMessage({"Attachments": [{"Name": "a", "Content": "abc"}]})
    with pytest.raises(pystmark.DataError, match="base64"):
        _ = bad.attachments[0].data
    with pytest.raises(pystmark.DataError):
        _ = pystmark.InboundMessage({"Attachments": "a.txt"}).attachments
    with pytest.raises(pystmark.DataError):
        _ = pystmark.OutboundMessage({"ReceivedAt": "yesterday"}).received_at
