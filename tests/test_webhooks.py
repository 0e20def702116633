"""Parsing Postmark's webhook posts, checking basic auth, and the WSGI app."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import responses
from werkzeug.test import Client

import pystmark
from pystmark import (
    BounceEvent,
    BounceType,
    ClickEvent,
    DeliveryEvent,
    InboundEvent,
    OpenEvent,
    SpamComplaintEvent,
    SubscriptionChangeEvent,
    UnknownEvent,
    WebhookApp,
    WebhookError,
    WebhookEvent,
    check_basic_auth,
    parse_webhook,
)

DATA = Path(__file__).parent / "data" / "webhooks"
SAMPLES = {
    "bounce.json": BounceEvent,
    "spam_complaint.json": SpamComplaintEvent,
    "delivery.json": DeliveryEvent,
    "open.json": OpenEvent,
    "click.json": ClickEvent,
    "subscription_change.json": SubscriptionChangeEvent,
    "inbound.json": InboundEvent,
}


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ---- parse_webhook ------------------------------------------------------------


@pytest.mark.parametrize(("name", "event_class"), sorted(SAMPLES.items()))
def test_every_sample_parses_to_its_event_class(name: str, event_class: type) -> None:
    body = sample(name)
    for given in (body, body.decode("utf-8"), json.loads(body)):
        event = parse_webhook(given)
        assert type(event) is event_class
        assert isinstance(event, WebhookEvent)
        assert event.raw == json.loads(body)
        assert event.occurred_at is None or event.occurred_at.tzinfo is not None
        event.to_dict()  # every field readable


def test_bounce_event() -> None:
    event = parse_webhook(sample("bounce.json"))
    assert isinstance(event, BounceEvent)
    assert event.record_type == "Bounce"
    assert event.id == 4323372036854775807
    assert event.type is BounceType.HARD_BOUNCE
    assert event.type_code == 1
    assert event.email == "nobody@example.org"
    assert event.from_address == "team@example.com"
    assert event.server_id == 23
    assert event.message_stream == "outbound"
    assert event.metadata == {"customer": "c-1042", "attempt": 2}
    assert event.bounced_at == datetime(2024, 6, 3, 18, 5, 22, 123456, tzinfo=timezone.utc)
    assert event.occurred_at == event.bounced_at
    assert event.inactive and event.can_activate and event.dump_available
    assert event.content is not None and event.content.startswith("Return-Path")


def test_spam_complaint_event() -> None:
    event = parse_webhook(sample("spam_complaint.json"))
    assert isinstance(event, SpamComplaintEvent)
    assert event.type is BounceType.SPAM_COMPLAINT and event.type_code == 100001
    assert event.content is None
    assert event.bounced_at == datetime(2024, 6, 4, 9, 0, 1, tzinfo=timezone.utc)


def test_delivery_event() -> None:
    event = parse_webhook(sample("delivery.json"))
    assert isinstance(event, DeliveryEvent)
    assert event.recipient == "customer@example.org"
    assert event.server_id == 23
    assert event.tag == "receipt"
    assert event.details.startswith("smtp;250")
    assert event.delivered_at == datetime(2024, 6, 3, 14, 5, 20, 765432, tzinfo=timezone.utc)
    assert event.metadata == {"order": "A-77"}


def test_open_event() -> None:
    event = parse_webhook(sample("open.json"))
    assert isinstance(event, OpenEvent)
    assert event.first_open is True
    assert event.read_seconds == 7
    assert event.platform == "Desktop"
    assert event.client is not None and event.client.family == "Firefox"
    assert event.os is not None and event.os.name == "Linux"
    assert event.geo is not None
    assert (event.geo.city, event.geo.country_iso_code, event.geo.ip) == (
        "Lyon",
        "FR",
        "192.0.2.10",
    )
    assert event.received_at is not None
    assert event.received_at.utcoffset() == timedelta(hours=-4)


def test_click_event() -> None:
    event = parse_webhook(sample("click.json"))
    assert isinstance(event, ClickEvent)
    assert event.original_link == "https://example.com/orders/A-77"
    assert event.click_location == "HTML"
    assert event.geo is not None and event.geo.region_iso_code == "QC"
    assert event.os is not None and event.os.family == "iOS"
    assert event.user_agent.startswith("Mozilla/5.0 (iPhone")


def test_subscription_change_event() -> None:
    event = parse_webhook(sample("subscription_change.json"))
    assert isinstance(event, SubscriptionChangeEvent)
    assert event.suppress_sending is True
    assert event.suppression_reason == "SpamComplaint"
    assert event.origin == "Recipient"
    assert event.changed_at == datetime(2024, 6, 4, 9, 0, 2, 250000, tzinfo=timezone.utc)


def test_inbound_event() -> None:
    event = parse_webhook(sample("inbound.json"))
    assert isinstance(event, InboundEvent)
    assert event.record_type == "Inbound"
    assert event.sender == "ana@example.net"
    assert event.from_full is not None and event.from_full.name == "Ana Reyes"
    assert [a.mailbox_hash for a in event.to_full] == ["ticket-88"]
    assert event.cc_full[0].email == "ben@example.net"
    assert event.bcc_full == []
    assert event.mailbox_hash == "ticket-88"
    assert event.stripped_text_reply == "Thanks, it arrived."
    assert event.date == datetime(2024, 6, 3, 20, 45, 32, tzinfo=timezone.utc)
    assert (event.headers[0].name, event.headers[0].value) == ("X-Spam-Status", "No")
    attachment = event.attachments[0]
    assert attachment.name == "receipt.txt" and attachment.content_type == "text/plain"
    assert attachment.data == b"Thanks for your order."
    assert attachment.content_length == len(attachment.data)


def test_unknown_record_type_keeps_the_raw_data() -> None:
    event = parse_webhook({"RecordType": "Teleport", "Where": "Mars", "MessageID": "m"})
    assert isinstance(event, UnknownEvent)
    assert event.record_type == "Teleport"
    assert event.raw["Where"] == "Mars"
    assert event.message_id == "m"
    assert isinstance(parse_webhook(b"{}"), UnknownEvent)


def test_posts_without_record_type_are_recognised() -> None:
    legacy = json.loads(sample("bounce.json"))
    del legacy["RecordType"]
    assert type(parse_webhook(legacy)) is BounceEvent
    legacy["Type"] = "SpamComplaint"
    assert type(parse_webhook(legacy)) is SpamComplaintEvent
    delivery = json.loads(sample("delivery.json"))
    del delivery["RecordType"]
    assert type(parse_webhook(delivery)) is DeliveryEvent


@responses.activate
def test_a_bounce_event_can_fetch_its_dump() -> None:
    event = parse_webhook(sample("bounce.json"))
    assert isinstance(event, BounceEvent)
    responses.get(f"https://api.postmarkapp.com/bounces/{event.id}/dump", json={"Body": "raw"})
    assert event.dump(api_key="k").dump == "raw"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b"", "invalid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"RecordType": "Bounce", "ID": NaN}', "NaN is not allowed"),
        (b'{"ReadSeconds": Infinity}', "Infinity is not allowed"),
        (b'{"ReadSeconds": 1e999}', "out of range"),
        (b'{"ID": ' + b"9" * 5000 + b"}", "digits"),
        (b'{"RecordType": "Open", "RecordType": "Click"}', "repeats a key"),
        (b'{"RecordType": 5}', "RecordType must be a string"),
        (b'{"RecordType": "Bounce", "ID": "abc"}', "BounceEvent"),
        (b'{"RecordType": "Bounce", "BouncedAt": 12}', "bounced_at"),
        (b'{"RecordType": "Open", "Geo": []}', "OpenEvent"),
        (b'{"RecordType": "Open", "FirstOpen": "yes"}', "first_open"),
        (b'{"RecordType": "Delivery", "Metadata": "x"}', "metadata"),
        (b'{"FromFull": {"Email": 5}}', "InboundEvent"),
        (b'{"MailboxHash": "", "Attachments": {}}', "attachments"),
    ],
)
def test_bad_posts_raise_webhook_error(body: bytes, message: str) -> None:
    with pytest.raises(WebhookError, match=message) as caught:
        parse_webhook(body)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, pystmark.PystmarkError)


def test_absurd_nesting_is_refused() -> None:
    deep = b'{"Metadata": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    with pytest.raises(WebhookError, match="deep"):
        parse_webhook(deep)
    moderate = b'{"Metadata": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}"
    with pytest.raises(WebhookError, match="deeper than 32"):
        parse_webhook(moderate)
    assert isinstance(parse_webhook(moderate, max_depth=50), UnknownEvent)


def test_size_limit() -> None:
    body = sample("delivery.json")
    with pytest.raises(WebhookError, match="larger than"):
        parse_webhook(body, max_bytes=len(body) - 1)
    with pytest.raises(WebhookError, match="larger than"):
        parse_webhook(body.decode(), max_bytes=len(body) - 1)
    assert isinstance(parse_webhook(body, max_bytes=len(body)), DeliveryEvent)
    padded = b'{"Details": "' + b"x" * pystmark.MAX_WEBHOOK_BYTES + b'"}'
    with pytest.raises(WebhookError, match="larger than 10485760"):
        parse_webhook(padded)


def test_non_json_body_types_are_refused() -> None:
    with pytest.raises(WebhookError, match="expected bytes, str or dict"):
        parse_webhook(42)  # type: ignore[arg-type]


# ---- check_basic_auth -----------------------------------------------------------

CREDENTIALS = [("postmark", "old-secret"), ("postmark", "new-secret")]


def test_basic_auth_accepts_every_configured_pair() -> None:
    assert check_basic_auth(basic("postmark", "old-secret"), CREDENTIALS)
    assert check_basic_auth(basic("postmark", "new-secret"), CREDENTIALS)
    assert check_basic_auth(basic("postmark", "new-secret").encode(), CREDENTIALS)
    assert check_basic_auth("basic " + basic("u", "p:with:colons")[6:], ("u", "p:with:colons"))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer " + base64.b64encode(b"postmark:new-secret").decode(),
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"postmark:wrong").decode(),
        "Basic " + base64.b64encode(b"other:new-secret").decode(),
        "Basic " + base64.b64encode(b"postmark:new-secret\xff").decode(),
        "Basic \u00e9\u00e9\u00e9",
        b"Basic \xff\xfe",
    ],
)
def test_basic_auth_refuses_bad_headers(header: Any) -> None:
    assert check_basic_auth(header, CREDENTIALS) is False


def test_basic_auth_with_utf8_credentials() -> None:
    header = "Basic " + base64.b64encode("h\u00e9:p\u00e4ss".encode()).decode()
    assert check_basic_auth(header, [("h\u00e9", "p\u00e4ss")])


def test_basic_auth_refuses_bad_credentials_config() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        check_basic_auth(basic("a", "b"), [("only-one",)])  # type: ignore[list-item]


# ---- WebhookApp -------------------------------------------------------------------


def make_app(**kwargs: Any) -> tuple[WebhookApp, list[WebhookEvent]]:
    received: list[WebhookEvent] = []
    app = WebhookApp(CREDENTIALS, **kwargs)

    @app.on(BounceEvent)
    def bounced(event: WebhookEvent) -> None:
        received.append(event)

    @app.on("Open")
    def opened(event: WebhookEvent) -> None:
        received.append(event)

    return app, received


AUTH = {"Authorization": basic("postmark", "new-secret")}


def test_app_dispatches_events_to_their_handlers() -> None:
    app, received = make_app()
    client = Client(app)
    response = client.post("/", data=sample("bounce.json"), headers=AUTH)
    assert response.status_code == 200 and response.text == "OK"
    response = client.post("/", data=sample("open.json"), headers=AUTH)
    assert response.status_code == 200
    assert [type(event) for event in received] == [BounceEvent, OpenEvent]
    # A spam complaint is not a bounce for dispatch; no handler: still 200.
    response = client.post("/", data=sample("spam_complaint.json"), headers=AUTH)
    assert response.status_code == 200 and len(received) == 2


def test_app_catch_all_handler() -> None:
    seen: list[str] = []
    app = WebhookApp(("u", "p"), {WebhookEvent: lambda event: seen.append(event.record_type)})
    client = Client(app)
    for name in ("click.json", "inbound.json", "subscription_change.json"):
        assert client.post("/", data=sample(name), headers={"Authorization": basic("u", "p")})
    assert seen == ["Click", "Inbound", "SubscriptionChange"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": basic("postmark", "wrong")},
        {"Authorization": "Basic %%%"},
        {"Authorization": "Digest abc"},
    ],
)
def test_app_answers_401_without_valid_credentials(headers: dict[str, str]) -> None:
    app, received = make_app()
    response = Client(app).post("/", data=sample("bounce.json"), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="postmark"')
    assert received == []


def test_app_answers_401_before_looking_at_a_large_body() -> None:
    app, _ = make_app(max_bytes=100)
    response = Client(app).post("/", data=b"{" + b" " * 1000 + b"}")
    assert response.status_code == 401


def test_app_answers_400_for_bad_posts() -> None:
    app, received = make_app(max_bytes=2000)
    client = Client(app)
    assert client.post("/", data=b"{bad", headers=AUTH).status_code == 400
    assert client.post("/", data=b"[]", headers=AUTH).status_code == 400
    response = client.post("/", data=b'{"RecordType": "Bounce", "ID": "x"}', headers=AUTH)
    assert response.status_code == 400 and "BounceEvent" in response.text
    assert client.post("/", data=b"{" + b" " * 3000 + b"}", headers=AUTH).status_code == 400
    assert received == []


def test_app_refuses_other_methods() -> None:
    app, _ = make_app()
    response = Client(app).get("/", headers=AUTH)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"


def test_app_bad_content_length_is_400() -> None:
    app, _ = make_app()
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "HTTP_AUTHORIZATION": AUTH["Authorization"],
        "CONTENT_LENGTH": "-5",
    }
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["400 Bad Request"] and body.startswith(b"Bad Request")


def test_app_handler_errors_propagate() -> None:
    def broken(event: WebhookEvent) -> None:
        raise RuntimeError("database down")

    app = WebhookApp(("u", "p"), {"Delivery": broken})
    with pytest.raises(RuntimeError):
        app.handle(basic("u", "p"), sample("delivery.json"))


def test_handle_for_framework_views() -> None:
    app, received = make_app()
    reply = app.handle(AUTH["Authorization"], sample("bounce.json"))
    assert (reply.status, reply.text, reply.headers) == (200, "OK", [])
    status, text, headers = app.handle(None, sample("bounce.json"))
    assert text == "Unauthorized"
    assert status == 401 and headers[0][0] == "WWW-Authenticate"
    assert len(received) == 1


def test_app_without_credentials_and_configuration_errors() -> None:
    app = WebhookApp(None)
    assert app.handle(None, sample("delivery.json")).status == 200
    with pytest.raises(pystmark.ConfigurationError):
        WebhookApp([])
    with pytest.raises(pystmark.ConfigurationError):
        WebhookApp(("u", "p"), {"Nope": print})
    with pytest.raises(pystmark.ConfigurationError):
        WebhookApp(("u", "p")).on(dict)  # type: ignore[arg-type]


def test_inbound_details() -> None:
    event = parse_webhook({"MailboxHash": "h", "Date": "2024-06-03T16:45:32-04:00"})
    assert isinstance(event, InboundEvent)
    assert event.date == datetime(2024, 6, 3, 20, 45, 32, tzinfo=timezone.utc)
    bad = parse_webhook({"MailboxHash": "", "Attachments": [{"Name": "a", "Content": "@@"}]})
    assert isinstance(bad, InboundEvent)
    with pytest.raises(pystmark.DataError, match="not base64"):
        bad.attachments[0].data  # noqa: B018
    assert parse_webhook({"RecordType": "Teleport"}).occurred_at is None


def test_app_reads_a_body_without_content_length() -> None:
    import io

    app, received = make_app(max_bytes=4000)
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "HTTP_AUTHORIZATION": AUTH["Authorization"],
        "wsgi.input": io.BytesIO(sample("bounce.json")),
        "wsgi.input_terminated": True,
    }
    app(environ, lambda status, headers: statuses.append(status))
    environ["wsgi.input"] = io.BytesIO(b"{" + b" " * 5000 + b"}")
    app(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK", "400 Bad Request"]
    assert len(received) == 1


def test_app_in_a_real_wsgi_server() -> None:
    """Over a real socket: the size limit is enforced from Content-Length."""
    import socket
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import requests

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    app, received = make_app()
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        ok = requests.post(url, data=sample("bounce.json"), headers=AUTH, timeout=10)
        assert ok.status_code == 200 and ok.text == "OK"
        # Announce a body over the limit but send none: the answer comes from
        # Content-Length alone, without reading (or waiting for) the body.
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock:
            length = pystmark.MAX_WEBHOOK_BYTES + 1
            sock.sendall(
                f"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\n"
                f"Content-Length: {length}\r\n\r\n".encode()
            )
            assert sock.recv(100).startswith(b"HTTP/1.0 400")
        anonymous = requests.post(url, data=sample("bounce.json"), timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    finally:
        server.shutdown()
        server.server_close()
    assert [type(event) for event in received] == [BounceEvent]


def test_floats_and_empty_bodies() -> None:
    event = parse_webhook(b'{"RecordType": "Survey", "Score": 4.5}')
    assert event.raw["Score"] == 4.5
    app, _ = make_app()
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "HTTP_AUTHORIZATION": AUTH["Authorization"]}
    app(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["400 Bad Request"]  # no body at all is not a post
