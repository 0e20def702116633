"""The local Postmark (pystmark_testing), driven through pystmark's public API and raw HTTP.

Most tests use the ``postmark`` fixture that the installed pytest plugin
provides: pystmark's process-wide settings point at the emulator for the test.
"""

from __future__ import annotations

import base64
import email
import json
import os
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

import pystmark
import pystmark_testing
from pystmark_testing import LocalPostmark

SENDER = "me@example.com"


def message(**fields: Any) -> dict[str, Any]:
    return {"sender": SENDER, "to": "you@example.com", "subject": "Hi", "text": "Hello", **fields}


def raw(
    postmark: LocalPostmark,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    account: bool = False,
    data: bytes | None = None,
) -> requests.Response:
    header = "X-Postmark-Account-Token" if account else "X-Postmark-Server-Token"
    default = postmark.account_token if account else postmark.server_token
    headers = {header: token or default, "Accept": "application/json"}
    if data is None and body is not None:
        data = json.dumps(body).encode()
    return requests.request(method, postmark.url + path, data=data, headers=headers, timeout=10)


class Receiver:
    """A local webhook receiver that records posts; ``statuses[path]`` answers them in turn."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], Any]] = []
        self.statuses: dict[str, list[int]] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.posts.append((self.path, dict(self.headers.items()), json.loads(body)))
                waiting = owner.statuses.get(self.path)
                status = waiting.pop(0) if waiting else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str | None = None) -> list[Any]:
        return [body for at, _, body in self.posts if path is None or at == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


# ---- the plugin and the fixture ----


def test_plugin_is_registered_through_the_entry_point(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.get_plugin("pystmark") is pystmark_testing


def test_fixture_points_pystmark_at_the_emulator(postmark: LocalPostmark) -> None:
    response = pystmark.send(message(tag="welcome"))
    assert response.message == "OK"
    assert [sent.message_id for sent in postmark.outbox] == [response.message_id]
    assert postmark.outbox[0].tag == "welcome"


def test_fixture_state_is_clean_between_tests(postmark: LocalPostmark) -> None:
    # The test before sent a message; this test starts with an empty outbox.
    assert postmark.outbox == []
    assert pystmark.get_outbound_messages().total_count == 0


def test_fixture_reuses_one_server_per_session(postmark: LocalPostmark) -> None:
    assert postmark is pystmark_testing._shared_postmark()
    assert postmark.running
    # The environment names it too, for code that reads it and for child processes.
    assert os.environ["POSTMARK_API_URL"] == postmark.url
    assert os.environ["POSTMARK_SERVER_TOKEN"] == postmark.server_token
    assert os.environ["POSTMARK_ACCOUNT_TOKEN"] == postmark.account_token


def test_other_methods_get_json_answers(postmark: LocalPostmark) -> None:
    options = raw(postmark, "OPTIONS", "/email")
    assert options.status_code == 405 and options.json()["ErrorCode"] == 0
    head = raw(postmark, "HEAD", "/email")
    assert head.status_code == 405 and head.content == b""
    # The connection is still good for the next request.
    assert raw(postmark, "GET", "/server").status_code == 200


# ---- tokens and errors ----


def test_wrong_or_missing_token_is_401_error_code_10(postmark: LocalPostmark) -> None:
    with pytest.raises(pystmark.UnauthorizedError) as caught:
        pystmark.send(message(), api_key="wrong-token")
    assert caught.value.error_code == 10
    answer = raw(postmark, "GET", "/server", token="wrong")
    assert answer.status_code == 401
    assert answer.json()["ErrorCode"] == 10
    assert (
        raw(postmark, "GET", "/servers?count=1&offset=0", account=True, token="x").status_code
        == 401
    )
    # A server token does not open account endpoints.
    assert raw(postmark, "GET", "/servers?count=1&offset=0").status_code == 401


def test_test_token_validates_and_stores_nothing(postmark: LocalPostmark) -> None:
    response = pystmark.send(message(), test=True)
    assert response.message == "Test job accepted"
    assert response.message_id
    assert postmark.outbox == []
    answer = raw(postmark, "POST", "/email", {"From": SENDER, "To": "bad", "TextBody": "x"},
                 token="POSTMARK_API_TEST")  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["ErrorCode"] == 300
    # The test token opens only the sending endpoints.
    assert raw(postmark, "GET", "/server", token="POSTMARK_API_TEST").status_code == 401


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ({"To": "you@example.com", "TextBody": "x"}, 300, "From"),
        ({"From": SENDER, "TextBody": "x"}, 300, "Zero recipients"),
        ({"From": SENDER, "To": "not-an-address", "TextBody": "x"}, 300, "'To'"),
        ({"From": SENDER, "To": "you@example.com"}, 300, "TextBody or HtmlBody"),
        ({"From": SENDER, "To": ",".join(f"a{i}@example.com" for i in range(51)), "TextBody": "x"},
         300, "50"),
        ({"From": SENDER, "To": "you@example.com", "TextBody": "x", "Tag": "t" * 1001}, 300, "Tag"),
        ({"From": SENDER, "To": "you@example.com", "TextBody": "x", "TrackLinks": "Al"}, 300,
         "TrackLinks"),
        ({"From": SENDER, "To": "you@example.com", "TextBody": "x",
          "Attachments": [{"Name": "run.exe", "Content": "", "ContentType": "x/y"}]},
         411, "run.exe"),
        ({"From": SENDER, "To": "you@example.com", "TextBody": "x", "MessageStream": "nope"},
         1235, "nope"),
        ({"From": SENDER, "To": "you@example.com", "TextBody": "x", "MessageStream": "inbound"},
         1236, "not supported"),
        ({"From": SENDER, "To": "you@example.com", "HtmlBody": "x" * (5 * 1024 * 1024 + 1)},
         300, "5 MB"),
    ],
)  # fmt: skip
def test_invalid_messages_get_postmarks_error_codes(
    postmark: LocalPostmark, body: dict[str, Any], code: int, text: str
) -> None:
    answer = raw(postmark, "POST", "/email", body)
    assert answer.status_code == 422
    assert answer.json()["ErrorCode"] == code
    assert text in answer.json()["Message"]
    assert postmark.outbox == []


def test_bad_json_and_bad_shapes(postmark: LocalPostmark) -> None:
    answer = raw(postmark, "POST", "/email", data=b"{not json")
    assert (answer.status_code, answer.json()["ErrorCode"]) == (422, 402)
    assert raw(postmark, "POST", "/email", data=b"").json()["ErrorCode"] == 402
    assert raw(postmark, "POST", "/email", [1]).json()["ErrorCode"] == 300
    assert raw(postmark, "POST", "/email/batch", {"a": 1}).json()["ErrorCode"] == 300
    too_many = [{"From": SENDER, "To": "you@example.com", "TextBody": "x"}] * 501
    assert raw(postmark, "POST", "/email/batch", too_many).json()["ErrorCode"] == 410
    missing = raw(postmark, "GET", "/no/such/endpoint")
    assert missing.status_code == 404 and "No such endpoint" in missing.json()["Message"]
    assert raw(postmark, "DELETE", "/email").status_code == 405


def test_a_body_over_the_limit_is_answered_413_without_dropping_the_connection(
    postmark: LocalPostmark,
) -> None:
    big = b'{"From": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    answer = raw(postmark, "POST", "/email", data=big)
    assert answer.status_code == 413
    assert answer.json()["ErrorCode"] == 300


def test_paging_limits(postmark: LocalPostmark) -> None:
    over = raw(postmark, "GET", "/messages/outbound?count=501&offset=0")
    assert (over.status_code, over.json()["ErrorCode"]) == (422, 700)
    cap = raw(postmark, "GET", "/bounces?count=500&offset=9501")
    assert cap.json() == {
        "ErrorCode": 1000,
        "Message": "Count + Offset cannot exceed 10000 messages.",
    }
    assert raw(postmark, "GET", "/bounces").json()["ErrorCode"] == 1000
    assert raw(postmark, "GET", "/bounces?count=x&offset=0").json()["ErrorCode"] == 1000
    assert raw(postmark, "GET", "/bounces?count=1&offset=-1").json()["ErrorCode"] == 1000
    assert raw(postmark, "GET", "/bounces?count=1&offset=0&type=Nope").json()["ErrorCode"] == 1000
    bad_date = raw(postmark, "GET", "/messages/outbound?count=1&offset=0&fromdate=soon")
    assert bad_date.status_code == 422


def test_sender_outside_signatures_and_domains_is_refused_400() -> None:
    with LocalPostmark(sender_domains=["example.com"], sender_signatures=["me@other.org"]) as pm:
        options: dict[str, Any] = {"base_url": pm.url, "api_key": pm.server_token}
        pystmark.send(message(sender="anyone@example.com"), **options)
        pystmark.send(message(sender="Me <me@other.org>"), **options)
        with pytest.raises(pystmark.SenderSignatureError) as caught:
            pystmark.send(message(sender="stranger@elsewhere.net"), **options)
        assert caught.value.error_code == 400
        assert len(pm.outbox) == 2
        signatures = pystmark.get_sender_signatures(
            base_url=pm.url, account_api_key=pm.account_token
        )
        assert [s.email_address for s in signatures.sender_signatures] == ["me@other.org"]


# ---- sending ----


def test_send_is_stored_and_read_back_through_the_messages_api(postmark: LocalPostmark) -> None:
    sent = pystmark.send(
        message(
            to="Your Name <you@example.com>",
            cc="cc@example.com",
            html="<b>Hello</b>",
            tag="welcome",
            metadata={"user": "42"},
            headers={"X-Trace": "abc"},
            attachments=[pystmark.Attachment("a.txt", b"data", "text/plain")],
        )
    )
    stored = postmark.outbox[0]
    assert stored.to == ["Your Name <you@example.com>"]
    assert stored.recipients == ["you@example.com", "cc@example.com"]
    assert (stored.text, stored.html, stored.metadata) == ("Hello", "<b>Hello</b>", {"user": "42"})
    assert "OutboxMessage(" in repr(stored)
    listing = pystmark.get_outbound_messages(tag="welcome", metadata={"user": "42"})
    assert [m.message_id for m in listing.messages] == [sent.message_id]
    for empty in (
        {"tag": "other"},
        {"recipient": "nobody@example.com"},
        {"metadata": {"user": "7"}},
        {"message_stream": "broadcast"},
        {"subject": "zzz"},
        {"from_email": "x@y.org"},
    ):
        assert pystmark.get_outbound_messages(**empty).total_count == 0, empty
    assert (
        pystmark.get_outbound_messages(recipient="cc@example.com", status="sent").total_count == 1
    )
    details = pystmark.get_outbound_message_details(sent.message_id)
    assert details.data["TextBody"] == "Hello"
    assert [event["Type"] for event in details.data["MessageEvents"]] == ["Delivered", "Delivered"]
    dump = pystmark.get_outbound_message_dump(sent.message_id)
    parsed = email.message_from_string(dump.data["Body"])
    assert parsed["Subject"] == "Hi"
    assert parsed["X-Trace"] == "abc"
    assert parsed["X-PM-Metadata-user"] == "42"
    assert [part.get_filename() for part in parsed.walk() if part.get_filename()] == ["a.txt"]
    with pytest.raises(pystmark.MessageNotFoundError):
        pystmark.get_outbound_message_details("no-such-id")


def test_listing_is_newest_first_and_paged(postmark: LocalPostmark) -> None:
    ids = [pystmark.send(message(subject=f"n{i}")).message_id for i in range(5)]
    page = pystmark.get_outbound_messages(count=2, offset=1)
    assert page.total_count == 5
    assert [m.message_id for m in page.messages] == [ids[3], ids[2]]
    assert [m.message_id for m in pystmark.iter_outbound_messages()] == ids[::-1]
    assert (
        pystmark.get_outbound_messages(from_date="2000-01-01", to_date="2999-01-01").total_count
        == 5
    )


def test_batch_items_are_answered_one_by_one(postmark: LocalPostmark) -> None:
    answer = raw(
        postmark,
        "POST",
        "/email/batch",
        [
            {"From": SENDER, "To": "a@example.com", "TextBody": "x"},
            {"From": SENDER, "To": "broken", "TextBody": "x"},
            "not an object",
        ],
    )
    assert answer.status_code == 200
    assert [item["ErrorCode"] for item in answer.json()] == [0, 300, 300]
    assert len(postmark.outbox) == 1
    response = pystmark.send_batch([message(to="b@example.com"), message(to="c@example.com")])
    assert [result.ok for result in response.results] == [True, True]
    assert len(postmark.outbox) == 3


def test_bulk_send_and_status(postmark: LocalPostmark) -> None:
    response = pystmark.send_bulk(
        {"sender": SENDER, "subject": "Hi {{name}}", "html": "<p>{{name}}</p>",
         "message_stream": "broadcast"},
        [{"to": "a@example.com", "template_model": {"name": "Ann"}}, "b@example.com"],
    )  # fmt: skip
    status = pystmark.get_bulk_status(response.data["ID"]).bulk
    assert (status.status, status.total_messages, status.percentage_completed) == (
        "Completed",
        2,
        100.0,
    )
    assert [m.subject for m in postmark.outbox] == ["Hi Ann", "Hi "]
    assert postmark.outbox[0].html == "<p>Ann</p>"
    assert raw(postmark, "GET", "/email/bulk/unknown").status_code == 404
    assert raw(postmark, "POST", "/email/bulk", {"Messages": []}).json()["ErrorCode"] == 300


# ---- templates ----


def test_templates_render_for_sending_with_layouts_and_escaping(postmark: LocalPostmark) -> None:
    pystmark.create_template(
        "Base", alias="base", template_type="Layout",
        html_body="<html>{{{@content}}}<footer>{{company}}</footer></html>",
        text_body="{{{@content}}}\n-- {{company}}",
    )  # fmt: skip
    created = pystmark.create_template(
        "Welcome",
        alias="welcome",
        subject="Welcome {{user.name}}",
        html_body="<p>{{user.name}} {{{raw}}}</p>{{#each items}}<i>{{.}}</i>{{/each}}"
        "{{^items}}none{{/items}}",
        text_body="Hi {{user.name}}{{#vip}}, VIP{{/vip}}",
        layout_template="base",
    )
    model = {"user": {"name": "<Ann & 'Bo'>"}, "raw": "<br>", "items": ["a", "b"],
             "company": "ACME", "vip": True}  # fmt: skip
    pystmark.send_with_template(
        {"sender": SENDER, "to": "you@example.com", "template_alias": "welcome",
         "template_model": model}
    )  # fmt: skip
    sent = postmark.outbox[0]
    assert sent.subject == "Welcome <Ann & 'Bo'>"
    assert sent.html == (
        "<html><p>&lt;Ann &amp; &#39;Bo&#39;&gt; <br></p><i>a</i><i>b</i>"
        "<footer>ACME</footer></html>"
    )
    assert sent.text == "Hi <Ann & 'Bo'>, VIP\n-- ACME"
    assert sent.template_id == created.data["TemplateId"]
    batch = pystmark.send_batch_with_templates(
        [{"sender": SENDER, "to": "c@example.com", "template_alias": "welcome",
          "template_model": {}}]
    )  # fmt: skip
    assert [result.ok for result in batch.results] == [True]
    answer = raw(postmark, "POST", "/email/batchWithTemplates", {"Messages": [
        {"From": SENDER, "To": "a@example.com", "TemplateId": created.data["TemplateId"],
         "TemplateModel": {"items": []}},
        {"From": SENDER, "To": "b@example.com", "TemplateAlias": "missing", "TemplateModel": {}},
    ]})  # fmt: skip
    assert [item["ErrorCode"] for item in answer.json()] == [0, 1101]
    assert "none" in postmark.outbox[2].html


def test_template_errors_as_postmark_reports_them(postmark: LocalPostmark) -> None:
    with pytest.raises(pystmark.TemplateNotFoundError):
        pystmark.send_with_template(
            {"sender": SENDER, "to": "you@example.com", "template_alias": "nope",
             "template_model": {}}
        )  # fmt: skip
    pystmark.create_template("T", alias="t", subject="s", text_body="x")
    body = {"From": SENDER, "To": "you@example.com", "TemplateAlias": "t", "Subject": "no"}
    answer = raw(postmark, "POST", "/email/withTemplate", body)
    assert answer.json()["ErrorCode"] == 1123
    no_key = raw(postmark, "POST", "/email/withTemplate", {"From": SENDER, "To": "you@example.com"})
    assert no_key.json()["ErrorCode"] == 300
    broken = raw(postmark, "POST", "/templates", {"Name": "B", "Subject": "s",
                                                  "HtmlBody": "{{#a}}open"})  # fmt: skip
    assert broken.json()["ErrorCode"] == 1122
    for body, code in (
        ({"Name": "N"}, 1120),
        ({"Subject": "s", "TextBody": "x"}, 1120),
        ({"Name": "N", "TextBody": "x"}, 1120),
        ({"Name": "N", "Subject": "s", "TextBody": "x", "TemplateType": "Odd"}, 1122),
        ({"Name": "N", "Subject": "s", "TextBody": "x", "Alias": "t"}, 1122),
        ({"Name": "N", "TextBody": "no placeholder", "TemplateType": "Layout"}, 1131),
        ({"Name": "N", "Subject": "s", "TextBody": "{{{@content}}}"}, 1131),
        ({"Name": "N", "Subject": "s", "TextBody": "x", "LayoutTemplate": "none"}, 1101),
        ({"Name": "N", "Subject": "s", "TextBody": "{{/x}}"}, 1122),
        ({"Name": "N", "Subject": "s", "TextBody": "{{#a}}{{/b}}"}, 1122),
    ):
        assert raw(postmark, "POST", "/templates", body).json()["ErrorCode"] == code, body


def test_template_crud_validate_and_push(postmark: LocalPostmark) -> None:
    created = pystmark.create_template("Hello", alias="hello", subject="Hi {{name}}",
                                       html_body="<p>{{name}}</p>")  # fmt: skip
    template_id = created.data["TemplateId"]
    assert pystmark.get_template("hello").data["Subject"] == "Hi {{name}}"
    pystmark.edit_template(template_id, subject="Hello {{name}}")
    assert pystmark.get_template(template_id).data["Subject"] == "Hello {{name}}"
    assert (
        raw(postmark, "PUT", f"/templates/{template_id}", {"TemplateType": "Layout"}).json()[
            "ErrorCode"
        ]
        == 1125
    )
    listing = pystmark.get_templates(template_type="Standard")
    assert [t["Alias"] for t in listing.data["Templates"]] == ["hello"]
    validation = pystmark.validate_template(
        subject="Hi {{name}}", html_body="{{#each rows}}{{cell}}{{/each}}{{user.email}}",
        text_body="{{#broken}}", test_render_model={"name": "Ann"},
    )  # fmt: skip
    data = validation.data
    assert data["AllContentIsValid"] is False
    assert data["Subject"]["RenderedContent"] == "Hi Ann"
    assert data["TextBody"]["ValidationErrors"][0]["Line"] == 1
    assert data["SuggestedTemplateModel"] == {
        "name": "name_Value", "rows": [{"cell": "cell_Value"}],
        "user": {"email": "email_Value"},
    }  # fmt: skip
    other = pystmark.create_server("Second", account_api_key=postmark.account_token)
    pushed = pystmark.push_templates(1, other.data["ID"], perform_changes=True)
    assert [item["Action"] for item in pushed.data["Templates"]] == ["Create"]
    again = pystmark.push_templates(1, other.data["ID"])
    assert [item["Action"] for item in again.data["Templates"]] == ["Edit"]
    pystmark.create_template(
        "Layout", alias="lay", template_type="Layout", text_body="{{{@content}}}"
    )
    pystmark.edit_template("hello", layout_template="lay")
    assert raw(postmark, "DELETE", "/templates/lay").json()["ErrorCode"] == 1130
    pystmark.delete_template("hello")
    pystmark.delete_template("lay")
    with pytest.raises(pystmark.TemplateNotFoundError):
        pystmark.get_template("hello")
    assert raw(postmark, "PUT", "/templates/push", {"SourceServerID": 99},
               account=True).json()["ErrorCode"] == 601  # fmt: skip


def test_render_template_subset() -> None:
    render = pystmark_testing.render_template
    model = {"a": {"b": {"c": 1}}, "n": None, "t": True}
    assert render("{{a.b.c}}|{{missing}}|{{n}}|{{t}}|{{a.x.y}}", model) == "1|||True|"
    assert render("{{#each xs}}{{@index}}:{{name}}{{../sep}}{{/each}}",
                  {"xs": [{"name": "a"}, {"name": "b"}], "sep": ";"}) == "0:a;1:b;"  # fmt: skip
    assert render("{{#u}}{{name}}-{{top}}{{/u}}", {"u": {"name": "x"}, "top": "T"}) == "x-T"
    assert render("{{^xs}}empty{{/xs}}{{! a comment }}", {"xs": []}) == "empty"
    assert render("{{#each xs}}{{this}}{{/each}}", {"xs": [1, 2]}) == "12"
    assert render("{{x}}", {"x": {"k": 1}}) == '{"k": 1}'
    assert render("{{x}}", {"x": "<&>"}, html=True) == "&lt;&amp;&gt;"
    for broken in ("{{}}", "{{{}}}", "{{#a}}", "{{/a}}", "{{#a}}{{/b}}"):
        with pytest.raises(pystmark_testing.TemplateSyntaxError):
            render(broken, {})


# ---- bounces and suppressions ----


BOUNCE_TYPES = ["HardBounce", "SoftBounce", "Transient", "DnsError", "Blocked", "AutoResponder"]


def test_bounce_testing_addresses_create_bounces(postmark: LocalPostmark) -> None:
    for kind in BOUNCE_TYPES:
        pystmark.send(message(to=f"{kind}@bounce-testing.postmarkapp.com", tag=kind))
    # Case and underscores do not matter (another address, so another bounce).
    pystmark.send(message(to="Hard_Bounce@Bounce-Testing.postmarkapp.com"))
    bounces = pystmark.get_bounces(count=50, offset=0)
    assert bounces.total_count == len(BOUNCE_TYPES) + 1
    by_type = {bounce.type.value: bounce for bounce in bounces.bounces}
    assert set(by_type) == set(BOUNCE_TYPES)
    hard = by_type["HardBounce"]
    assert (hard.inactive, hard.can_activate, hard.type_code) == (True, True, 1)
    assert by_type["SoftBounce"].inactive is False
    assert pystmark.get_bounces(count=10, offset=0, bounce_type="SoftBounce").total_count == 1
    assert pystmark.get_bounces(count=10, offset=0, inactive=True).total_count == 2
    assert pystmark.get_bounces(count=10, offset=0, tag="Blocked").total_count == 1
    assert pystmark.get_bounces(count=10, offset=0, email_filter="dnserror").total_count == 1
    assert pystmark.get_bounces(count=10, offset=0, message_stream="broadcast").total_count == 0
    assert pystmark.get_bounces(message_id=hard.message_id).total_count == 1
    assert pystmark.get_bounces(count=10, offset=0, from_date=date(2000, 1, 1)).total_count == 7
    assert len(list(pystmark.iter_bounces())) == 7
    one = pystmark.get_bounce(hard.id)
    assert "Subject: Hi" in one.data["Content"]
    assert "Subject: Hi" in pystmark.get_bounce_dump(hard.id).data["Body"]
    assert set(pystmark.get_bounce_tags().data) == set(BOUNCE_TYPES)
    stats = pystmark.get_delivery_stats().data
    assert stats["InactiveMails"] == 2
    assert {"Name": "All", "Count": 7} in stats["Bounces"]
    with pytest.raises(pystmark.BounceNotFoundError):
        pystmark.get_bounce(999999)
    assert raw(postmark, "GET", "/bounces/abc").json()["ErrorCode"] == 1001


def test_hard_bounce_suppresses_until_activated(postmark: LocalPostmark) -> None:
    address = "hardbounce@bounce-testing.postmarkapp.com"
    pystmark.send(message(to=address))
    assert postmark.suppressed(address)
    with pytest.raises(pystmark.InactiveRecipientError) as caught:
        pystmark.send(message(to=address))
    assert caught.value.error_code == 406
    assert address in str(caught.value)
    # Only on that stream:
    pystmark.send(message(to=address, message_stream="broadcast"))
    suppressions = pystmark.get_suppressions("outbound").data["Suppressions"]
    assert [(s["EmailAddress"], s["SuppressionReason"], s["Origin"]) for s in suppressions] == [
        (address, "HardBounce", "Recipient")
    ]
    bounce = postmark.bounces[0]
    activated = pystmark.activate_bounce(bounce["ID"])
    assert activated.data["Bounce"]["Inactive"] is False
    assert not postmark.suppressed(address)
    pystmark.send(message(to="softbounce@bounce-testing.postmarkapp.com"))
    soft = postmark.bounces[-1]
    with pytest.raises(pystmark.BounceActivationError):
        pystmark.activate_bounce(soft["ID"])


def test_suppressions_api_shares_the_data(postmark: LocalPostmark) -> None:
    results = pystmark.create_suppressions(["x@example.com", "not-an-address"])
    assert [item.status for item in results] == ["Suppressed", "Failed"]
    with pytest.raises(pystmark.InactiveRecipientError):
        pystmark.send(message(to="x@example.com"))
    listed = pystmark.get_suppressions(suppression_reason="ManualSuppression").suppressions
    assert [item.email_address for item in listed] == ["x@example.com"]
    assert pystmark.get_suppressions(origin="Recipient").suppressions == []
    assert pystmark.get_suppressions(email_address="y@example.com").suppressions == []
    deleted = pystmark.delete_suppressions(["x@example.com", "bad"])
    assert [item.status for item in deleted] == ["Deleted", "Failed"]
    pystmark.send(message(to="x@example.com"))
    # A spam complaint cannot be lifted by the customer.
    sent = postmark.outbox[-1]
    postmark.bounce(sent, "SpamComplaint")
    refused = pystmark.delete_suppressions("x@example.com")
    assert [item.status for item in refused] == ["Failed"]
    assert (
        raw(postmark, "GET", "/message-streams/none/suppressions/dump").json()["ErrorCode"] == 1226
    )
    too_many = {"Suppressions": [{"EmailAddress": f"a{i}@example.com"} for i in range(51)]}
    assert (
        raw(postmark, "POST", "/message-streams/outbound/suppressions", too_many).status_code == 422
    )


# ---- webhooks ----


def test_webhooks_fire_for_deliveries_bounces_opens_clicks(
    postmark: LocalPostmark, receiver: Receiver
) -> None:
    hook = pystmark.create_webhook(
        receiver.url.replace("http://", "http://user:secret@") + "/hook",
        triggers=pystmark.WebhookTriggers(
            deliveries=pystmark.WebhookTrigger(), opens=pystmark.WebhookTrigger(),
            clicks=pystmark.WebhookTrigger(), spam_complaints=pystmark.WebhookTrigger(),
            bounces=pystmark.WebhookTrigger(include_content=True),
        ),
        http_headers={"X-Extra": "1"},
    )  # fmt: skip
    assert hook.data["Url"].endswith("/hook")
    sent = pystmark.send(message(metadata={"order": "7"}))
    stored = postmark.outbox[0]
    postmark.open(stored)
    postmark.open(sent.message_id)
    postmark.click(stored, "https://example.com/a")
    pystmark.send(message(to="hardbounce@bounce-testing.postmarkapp.com"))
    postmark.bounce(stored, "SpamComplaint")
    calls = postmark.webhook_calls
    kinds = [call.record_type for call in calls]
    assert sorted(kinds) == sorted(["Delivery", "Open", "Open", "Click", "Bounce", "SpamComplaint"])
    assert all(call.ok for call in calls) and "WebhookCall(" in repr(calls[0])
    _, headers, _ = receiver.posts[0]
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"user:secret").decode()
    assert headers["X-Extra"] == "1"
    events = [pystmark.parse_webhook(json.dumps(body).encode()) for body in receiver.bodies()]
    names = {type(event).__name__ for event in events}
    assert names == {
        "DeliveryEvent",
        "OpenEvent",
        "ClickEvent",
        "BounceEvent",
        "SpamComplaintEvent",
    }
    delivery = next(body for body in receiver.bodies() if body["RecordType"] == "Delivery")
    assert delivery["Metadata"] == {"order": "7"} and delivery["MessageID"] == sent.message_id
    bounce = next(body for body in receiver.bodies() if body["RecordType"] == "Bounce")
    assert "Subject: Hi" in bounce["Content"]
    opens = [body for body in receiver.bodies() if body["RecordType"] == "Open"]
    assert [body["FirstOpen"] for body in opens] == [True, False]
    assert pystmark.get_opens().total_count == 2
    assert pystmark.get_message_opens(sent.message_id).total_count == 2
    assert pystmark.get_opens(platform="Mobile").total_count == 0
    assert pystmark.get_opens(client_family="Chrome", country="United States").total_count == 2
    assert pystmark.get_clicks(tag="none").total_count == 0
    assert pystmark.get_message_clicks(sent.message_id).data["Clicks"][0]["OriginalLink"] == (
        "https://example.com/a"
    )
    events_of = pystmark.get_outbound_message_details(sent.message_id).data["MessageEvents"]
    assert [event["Type"] for event in events_of] == [
        "Delivered", "Opened", "Opened", "LinkClicked", "Bounced"
    ]  # fmt: skip
    webhook_id = hook.data["ID"]
    assert pystmark.get_webhook(webhook_id).data["HttpAuth"] == {"Username": "", "Password": ""}
    first_only = pystmark.WebhookTriggers(opens=pystmark.WebhookTrigger(post_first_open_only=True))
    pystmark.edit_webhook(webhook_id, triggers=first_only)
    assert pystmark.get_webhooks().data["Webhooks"][0]["Triggers"]["Open"]["PostFirstOpenOnly"]
    pystmark.delete_webhook(webhook_id)
    assert pystmark.get_webhooks().data["Webhooks"] == []
    assert raw(postmark, "GET", "/webhooks/12345").status_code == 404


def test_server_hook_urls_and_webhook_retries(postmark: LocalPostmark, receiver: Receiver) -> None:
    pystmark.edit_server(
        delivery_hook_url=receiver.url + "/delivery",
        bounce_hook_url=receiver.url + "/bounce",
        open_hook_url=receiver.url + "/open",
        post_first_open_only=True,
    )
    receiver.statuses["/delivery"] = [500, 503]  # fails twice, then is accepted
    pystmark.send(message())
    postmark.open(postmark.outbox[0])
    postmark.open(postmark.outbox[0])
    calls = postmark.webhook_calls
    deliveries = [call for call in calls if call.record_type == "Delivery"]
    assert [call.status for call in deliveries] == [500, 503, 200]
    assert [call.record_type for call in calls].count("Open") == 1  # first open only
    receiver.statuses["/bounce"] = [403]  # 403 stops the retries
    pystmark.send(message(to="hardbounce@bounce-testing.postmarkapp.com"))
    bounces = [call for call in postmark.webhook_calls if call.record_type == "Bounce"]
    assert [call.status for call in bounces] == [403]


def test_webhook_to_a_dead_url_is_retried_then_given_up() -> None:
    with LocalPostmark(webhook_retry_delays=(0.0, 0.0), webhook_timeout=1.0) as pm:
        options: dict[str, Any] = {"base_url": pm.url, "api_key": pm.server_token}
        pystmark.edit_server(delivery_hook_url="http://127.0.0.1:9/dead", **options)
        pystmark.send(message(), **options)
        calls = pm.webhook_calls
        assert len(calls) == 3
        assert all(call.status is None and call.error for call in calls)


def test_inbound_is_posted_to_the_inbound_hook_and_listed(
    postmark: LocalPostmark, receiver: Receiver
) -> None:
    pystmark.edit_server(inbound_hook_url=receiver.url + "/inbound")
    posted = postmark.inbound(sender="Ann <ann@example.org>", subject="Question", text="Hi?",
                              mailbox_hash="abc", attachments=[{"Name": "a.txt",
                              "Content": "ZGF0YQ==", "ContentType": "text/plain",
                              "ContentLength": 4}])  # fmt: skip
    postmark.flush_webhooks()
    event = pystmark.parse_webhook(json.dumps(receiver.bodies("/inbound")[0]).encode())
    assert type(event).__name__ == "InboundEvent"
    assert receiver.bodies("/inbound")[0]["FromFull"]["Email"] == "ann@example.org"
    listing = pystmark.get_inbound_messages(from_email="ann@example.org")
    assert [item.message_id for item in listing.messages] == [posted["MessageID"]]
    assert pystmark.get_inbound_messages(subject="nothing").total_count == 0
    details = pystmark.get_inbound_message_details(posted["MessageID"])
    assert details.data["TextBody"] == "Hi?"
    assert postmark.inbound_messages[0]["Status"] == "Processed"
    with pytest.raises(pystmark.InboundBypassError):
        pystmark.bypass_inbound_message(posted["MessageID"])
    with pytest.raises(pystmark.InboundRetryError):
        pystmark.retry_inbound_message(posted["MessageID"])
    with pytest.raises(pystmark.MessageNotFoundError):
        pystmark.get_inbound_message_details("missing")


def test_webhook_app_receives_the_emulators_posts(postmark: LocalPostmark) -> None:
    received: list[Any] = []
    app = pystmark.WebhookApp(("hook", "pw"), {pystmark.WebhookEvent: received.append})
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://hook:pw@127.0.0.1:{server.server_port}/"
        pystmark.edit_server(delivery_hook_url=url)
        pystmark.send(message())
        calls = postmark.webhook_calls
        assert [call.status for call in calls] == [200]
        assert type(received[0]).__name__ == "DeliveryEvent"
    finally:
        server.shutdown()
        server.server_close()


# ---- server, streams, stats, rules, account ----


def test_server_and_message_streams_round_trip(postmark: LocalPostmark) -> None:
    assert pystmark.get_server().data["Name"] == "Local Postmark"
    pystmark.edit_server(name="Renamed", track_opens=True)
    assert pystmark.get_server().data["TrackOpens"] is True
    with pytest.raises(pystmark.ServerManagementError):
        pystmark.edit_server(bounce_hook_url="ftp://example.com")
    streams = pystmark.get_message_streams().data["MessageStreams"]
    assert [s["ID"] for s in streams] == ["outbound", "inbound", "broadcast"]
    pystmark.create_message_stream("news", "Newsletter", "Broadcasts", description="Monthly")
    assert pystmark.get_message_stream("news").data["Description"] == "Monthly"
    pystmark.edit_message_stream("news", name="News")
    assert pystmark.get_message_stream("news").data["Name"] == "News"
    pystmark.send(message(message_stream="news"))
    archived = pystmark.archive_message_stream("news")
    assert archived.data["ExpectedPurgeDate"]
    assert "news" not in [s["ID"] for s in pystmark.get_message_streams().data["MessageStreams"]]
    assert len(pystmark.get_message_streams(include_archived=True).data["MessageStreams"]) == 4
    with pytest.raises(pystmark.UnprocessableEntityError):
        pystmark.send(message(message_stream="news"))
    pystmark.unarchive_message_stream("news")
    with pytest.raises(pystmark.MessageStreamNotFoundError):
        pystmark.get_message_stream("missing")
    for body, code in (
        ({"ID": "Bad", "Name": "x", "MessageStreamType": "Broadcasts"}, 1227),
        ({"ID": "pm-x", "Name": "x", "MessageStreamType": "Broadcasts"}, 1233),
        ({"ID": "all", "Name": "x", "MessageStreamType": "Broadcasts"}, 1237),
        ({"ID": "news", "Name": "x", "MessageStreamType": "Broadcasts"}, 1230),
        ({"ID": "a", "Name": "", "MessageStreamType": "Broadcasts"}, 1223),
        ({"ID": "a", "Name": "x" * 101, "MessageStreamType": "Broadcasts"}, 1224),
        ({"ID": "a", "Name": "x", "MessageStreamType": "Inbound"}, 1228),
        ({"ID": "a", "Name": "x", "MessageStreamType": "Broadcasts", "Description": "<b>"}, 1234),
    ):
        assert raw(postmark, "POST", "/message-streams", body).json()["ErrorCode"] == code, body
    assert raw(postmark, "POST", "/message-streams/outbound/archive").json()["ErrorCode"] == 1229
    assert raw(postmark, "POST", "/message-streams/news/unarchive").json()["ErrorCode"] == 1232


def test_stats_are_computed_from_what_was_stored(postmark: LocalPostmark) -> None:
    pystmark.send(message(tag="a", track_opens=True))
    pystmark.send(message(tag="b"))
    pystmark.send(message(to="hardbounce@bounce-testing.postmarkapp.com", tag="a"))
    postmark.open(postmark.outbox[0])
    postmark.click(postmark.outbox[0], "https://example.com")
    overview = pystmark.get_stats().stats
    assert (overview.sent, overview.bounced, overview.opens, overview.total_clicks) == (3, 1, 1, 1)
    assert pystmark.get_stats(tag="a").stats.sent == 2
    sends = pystmark.get_stats("sends").stats
    assert sends.sent == 3 and sum(day.raw["Sent"] for day in sends.days) == 3
    assert pystmark.get_stats("bounces").stats.totals == {"hard_bounce": 1}
    for kind in pystmark.STATS:
        assert pystmark.get_stats(kind).status_code == 200
    assert raw(postmark, "GET", "/stats/outbound/unknown").status_code == 404


def test_inbound_rules(postmark: LocalPostmark) -> None:
    rule = pystmark.create_inbound_rule("spam.example.com")
    assert [r.rule for r in pystmark.iter_inbound_rules()] == ["spam.example.com"]
    with pytest.raises(pystmark.InboundRuleError):
        pystmark.create_inbound_rule("spam.example.com")
    pystmark.delete_inbound_rule(rule.data["ID"])
    with pytest.raises(pystmark.InboundRuleError):
        pystmark.delete_inbound_rule(rule.data["ID"])


def test_account_servers_domains_signatures_and_removals(postmark: LocalPostmark) -> None:
    server = pystmark.create_server("Staging", delivery_type="Live", color="Red")
    token = server.data["ApiTokens"][0]
    with pytest.raises(pystmark.ServerNameTakenError):
        pystmark.create_server("Staging")
    # The new server's token reaches that server's own data.
    pystmark.send(message(), api_key=token)
    assert postmark.outbox == []
    assert pystmark.get_outbound_messages(api_key=token).total_count == 1
    assert [s.name for s in pystmark.iter_servers()] == ["Local Postmark", "Staging"]
    pystmark.edit_account_server(server.data["ID"], name="Stage")
    assert pystmark.get_account_server(server.data["ID"]).data["Name"] == "Stage"
    pystmark.delete_server(server.data["ID"])
    with pytest.raises(pystmark.ServerNotFoundError):
        pystmark.get_account_server(server.data["ID"])
    domain = pystmark.create_domain("example.com")
    domain_id = domain.data["ID"]
    domain_calls = (
        pystmark.verify_domain_dkim,
        pystmark.verify_domain_return_path,
        pystmark.verify_domain_spf,
        pystmark.rotate_domain_dkim,
        pystmark.get_domain,
    )
    for call in domain_calls:
        assert call(domain_id).status_code == 200
    pystmark.edit_domain(domain_id, return_path_domain="bounces.example.com")
    assert [d.name for d in pystmark.iter_domains()] == ["example.com"]
    with pytest.raises(pystmark.SenderSignatureError):  # senders are now checked
        pystmark.send(message(sender="me@other.org"))
    signature = pystmark.create_sender_signature("me@other.org", "Me")
    pystmark.send(message(sender="me@other.org"))
    pystmark.edit_sender_signature(signature.data["ID"], name="Myself")
    assert pystmark.get_sender_signature(signature.data["ID"]).data["Name"] == "Myself"
    assert len(list(pystmark.iter_sender_signatures())) == 1
    with pytest.raises(pystmark.SenderSignatureManagementError):
        pystmark.resend_sender_confirmation(signature.data["ID"])
    pystmark.delete_sender_signature(signature.data["ID"])
    pystmark.delete_domain(domain_id)
    with pytest.raises(pystmark.DomainNotFoundError):
        pystmark.get_domain(domain_id)
    removal = pystmark.create_data_removal("me@example.com", "you@example.com")
    assert pystmark.get_data_removal(removal.data["ID"]).data["Status"] == "Done"


# ---- the server itself ----


def test_local_postmark_lifecycle_and_arguments() -> None:
    with pytest.raises(ValueError):
        LocalPostmark(server_token="POSTMARK_API_TEST")
    pm = LocalPostmark()
    with pytest.raises(RuntimeError):
        pm.url  # noqa: B018 - not started
    assert pm.start() is pm.start()
    pm.stop()
    pm.stop()
    assert not pm.running
    status, body = pm.handle("GET", "/server", {"X-Postmark-Server-Token": pm.server_token})
    assert status == 200 and body["ID"] == 1
    with pytest.raises(ValueError):
        pm.bounce("x", "NoSuchType")
    with pytest.raises(LookupError):
        pm.open("no-such-message")


def test_an_emulator_defect_is_a_json_500_not_a_dropped_connection(
    postmark: LocalPostmark, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pystmark_testing, "_outbound_json", lambda message: 1 / 0)
    pystmark.send(message())
    answer = raw(postmark, "GET", "/messages/outbound?count=1&offset=0")
    assert answer.status_code == 500
    assert "ZeroDivisionError" in answer.json()["Message"]


def test_chunked_request_bodies_are_read(postmark: LocalPostmark) -> None:
    body = json.dumps({"From": SENDER, "To": "you@example.com", "TextBody": "x"}).encode()
    answer = requests.post(
        postmark.url + "/email",
        data=iter([body[:10], body[10:]]),
        headers={"X-Postmark-Server-Token": postmark.server_token},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["ErrorCode"] == 0


def test_inbound_rules_block_and_failed_inbound_posts_can_be_retried(
    postmark: LocalPostmark, receiver: Receiver
) -> None:
    pystmark.create_inbound_rule("spam.example.com")
    blocked = postmark.inbound(sender="x@spam.example.com", subject="Buy")
    assert postmark.inbound_messages[0]["Status"] == "Blocked"
    assert pystmark.get_inbound_messages(status="blocked").total_count == 1
    pystmark.edit_server(inbound_hook_url="http://127.0.0.1:9/down")
    failing = postmark.inbound(sender="ann@example.org", subject="Hello")
    postmark.flush_webhooks()
    assert postmark.inbound_messages[1]["Status"] == "Failed"
    pystmark.edit_server(inbound_hook_url=receiver.url + "/inbound")
    pystmark.retry_inbound_message(failing["MessageID"])
    pystmark.bypass_inbound_message(blocked["MessageID"])
    postmark.flush_webhooks()
    assert [m["Status"] for m in postmark.inbound_messages] == ["Processed", "Processed"]
    assert sorted(body["Subject"] for body in receiver.bodies("/inbound")) == ["Buy", "Hello"]


def test_webhook_http_auth_and_invalid_settings(
    postmark: LocalPostmark, receiver: Receiver
) -> None:
    hook = pystmark.create_webhook(
        receiver.url + "/auth",
        message_stream="broadcast",
        http_auth=("user", "pw"),
        triggers=pystmark.WebhookTriggers(deliveries=pystmark.WebhookTrigger()),
    )
    assert pystmark.get_webhooks(message_stream="outbound").data["Webhooks"] == []
    pystmark.send(message(message_stream="broadcast"))
    pystmark.send(message())  # another stream: not posted to this webhook
    postmark.flush_webhooks()
    [(_, headers, body)] = receiver.posts
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    assert body["MessageStream"] == "broadcast"
    bad_url = raw(postmark, "PUT", f"/webhooks/{hook.data['ID']}", {"Url": "ftp://x.example"})
    assert bad_url.json()["ErrorCode"] == 606
    for body_ in ({"Url": ""}, {"Url": "http://x.example", "MessageStream": "none"}):
        assert raw(postmark, "POST", "/webhooks", body_).status_code == 422
    assert raw(postmark, "PUT", f"/webhooks/{hook.data['ID']}", {"Url": ""}).status_code == 422
    assert raw(postmark, "GET", "/webhooks/abc").status_code == 404


def test_unreadable_request_body_is_a_json_400(postmark: LocalPostmark) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", int(postmark.url.rsplit(":", 1)[1]))
    connection.putrequest("POST", "/email")
    connection.putheader("Content-Length", "-5")
    connection.putheader("X-Postmark-Server-Token", postmark.server_token)
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 400
    assert json.loads(answer.read())["ErrorCode"] == 0
    connection.close()


def test_suggested_model_for_sections_and_inverted_sections(postmark: LocalPostmark) -> None:
    validation = pystmark.validate_template(
        subject="{{#user}}{{name}}{{/user}}{{^admin}}{{note}}{{/admin}}",
        html_body="{{#user}}{{email}}{{/user}}{{../up}}{{.}}",
        test_render_model={},
    )
    assert validation.data["SuggestedTemplateModel"] == {
        "user": {"name": "name_Value", "email": "email_Value"},
        "admin": "admin_Value",
        "note": "note_Value",
    }
    assert validation.data["AllContentIsValid"] is True


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"FOO /email HTTP/1.1", 501),
        (b"GET /email HTTP/1.1 extra", 400),
        (b"GET /" + b"x" * 70000 + b" HTTP/1.1", 414),
    ],
)
def test_malformed_requests_get_json_errors(
    postmark: LocalPostmark, request_line: bytes, status: int
) -> None:
    import socket

    host, port = postmark.url[len("http://") :].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request_line + b"\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == str(status).encode()
    assert json.loads(body)["ErrorCode"] == 0


def test_iter_bounces_reads_past_the_offset_cap_with_date_windows(postmark: LocalPostmark) -> None:
    from datetime import datetime, timedelta, timezone

    pystmark.send(message(to="softbounce@bounce-testing.postmarkapp.com"))
    template = postmark._main.bounces[0]
    start = datetime(2024, 3, 1, tzinfo=timezone.utc)
    # 10,050 bounces, 100 per second: more than one listing can page through.
    postmark._main.bounces[:] = [
        {
            **template,
            "ID": index,
            "BouncedAt": (start + timedelta(seconds=index // 100)).isoformat(),
        }
        for index in range(10_050)
    ]
    assert raw(postmark, "GET", "/bounces?count=500&offset=9501").json()["ErrorCode"] == 1000
    ids = [bounce.id for bounce in pystmark.iter_bounces()]
    assert sorted(ids) == list(range(10_050))


def test_dump_encodes_headers_and_keeps_them_on_one_line(postmark: LocalPostmark) -> None:
    body = {
        "From": "Mé <me@example.com>",
        "To": "Zoë <you@example.com>",
        "Subject": "Grüße",
        "HtmlBody": "<p>Grüße</p>",
        "Headers": [
            {"Name": "X-Evil", "Value": "a\r\nBcc: x@example.com"},
            {"Name": "Bad:", "Value": "v"},
        ],
    }
    assert raw(postmark, "POST", "/email", body).json()["ErrorCode"] == 0
    mail = postmark.outbox[0].as_email()
    assert (mail["From"], mail["To"], mail["Subject"]) == (
        "Mé <me@example.com>",
        "Zoë <you@example.com>",
        "Grüße",
    )
    assert mail["X-Evil"] == "a Bcc: x@example.com"
    assert mail["Bcc"] is None and mail["Bad:"] is None
    assert mail.get_content_type() == "text/html"
    assert mail.get_content().strip() == "<p>Grüße</p>"


def _mail(**fields: Any) -> dict[str, Any]:
    return {"From": SENDER, "To": "you@example.com", "TextBody": "x", **fields}


@pytest.mark.parametrize(
    ("method", "path", "body", "account", "code"),
    [
        ("POST", "/email", _mail(To=["you@example.com"]), False, 300),
        ("POST", "/email", _mail(To="you@example.com,"), False, 0),
        ("POST", "/email", _mail(To='"Doe, Jo" <jo@example.com>, bad'), False, 300),
        ("POST", "/email", _mail(To='"Doe, Jo" <jo@example.com>'), False, 0),
        ("POST", "/email", _mail(From="not an address"), False, 300),
        ("POST", "/email", _mail(ReplyTo="nope"), False, 300),
        ("POST", "/email", _mail(Metadata=[1]), False, 300),
        ("POST", "/email", _mail(TextBody=5), False, 300),
        ("POST", "/email", _mail(Headers=[{"Value": "no name"}]), False, 300),
        ("POST", "/email", _mail(Attachments=["x"]), False, 300),
        ("POST", "/email/withTemplate", _mail(TextBody=None, TemplateId=1), False, 1101),
        ("POST", "/email/bulk", {"From": SENDER, "TextBody": "x", "Messages": [1]}, False, 300),
        ("POST", "/message-streams/outbound/suppressions", {"Nope": []}, False, 300),
        ("POST", "/templates/validate", {"TestRenderModel": [1]}, False, 300),
        ("GET", "/messages/outbound?count=1&offset=0&status=lost", None, False, 700),
        ("POST", "/message-streams", {"ID": "abc", "Name": "x", "MessageStreamType": "Broadcasts",
                                      "Description": "d" * 1001}, False, 1231),
        ("POST", "/triggers/inboundrules", {"Rule": ""}, False, 808),
        ("DELETE", "/triggers/inboundrules/abc", None, False, 810),
        ("POST", "/servers", {"Name": ""}, True, 602),
        ("PUT", "/servers/1", {"Name": "x", "TrackLinks": "Sometimes"}, True, 600),
        ("PUT", "/servers/1", {"InboundSpamThreshold": 7}, True, 611),
        ("DELETE", "/servers/1", None, True, 600),
        ("GET", "/servers/abc", None, True, 601),
        ("POST", "/domains", {"Name": "no-dot"}, True, 511),
        ("GET", "/domains/abc", None, True, 510),
        ("POST", "/senders", {"FromEmail": "nope"}, True, 300),
        ("POST", "/data-removals", {"RequestedBy": "x", "RequestedFor": "y"}, True, 1300),
        ("GET", "/data-removals/77", None, True, 1302),
    ],
)  # fmt: skip
def test_invalid_requests_across_the_api(
    postmark: LocalPostmark, method: str, path: str, body: Any, account: bool, code: int
) -> None:
    answer = raw(postmark, method, path, body, account=account)
    assert answer.json()["ErrorCode"] == code, answer.json()
    assert answer.status_code == (200 if code == 0 else 422)


def test_bulk_recipients_that_fail_are_counted_not_stored(postmark: LocalPostmark) -> None:
    body = {"From": SENDER, "Subject": "{{#x}}", "TextBody": "x", "Messages": [
        {"To": "a@example.com"}, {"To": "bad"}]}  # fmt: skip
    bulk_id = raw(postmark, "POST", "/email/bulk", body).json()["ID"]
    assert raw(postmark, "GET", f"/email/bulk/{bulk_id}").json()["TotalMessages"] == 2
    assert postmark.outbox == []  # the subject does not render, the address is invalid
    duplicate = raw(postmark, "POST", "/domains", {"Name": "example.org"}, account=True)
    assert duplicate.status_code == 200
    again = raw(postmark, "POST", "/domains", {"Name": "Example.org"}, account=True)
    assert again.json()["ErrorCode"] == 512
    signature = {"FromEmail": "me@example.org"}
    assert raw(postmark, "POST", "/senders", signature, account=True).status_code == 200
    assert raw(postmark, "POST", "/senders", signature, account=True).json()["ErrorCode"] == 504
    pystmark.create_server("Other")
    renamed = raw(postmark, "PUT", "/servers/1", {"Name": "other"}, account=True)
    assert renamed.json()["ErrorCode"] == 603


def test_json_names_are_read_without_regard_to_case(postmark: LocalPostmark) -> None:
    body = {"from": SENDER, "TO": "you@example.com", "htmlbody": "<b>x</b>",
            "metadata": {"OrderId": "7"}, "messagestream": "broadcast"}  # fmt: skip
    assert raw(postmark, "POST", "/email", body).json()["ErrorCode"] == 0
    sent = postmark.outbox[0]
    assert (sent.html, sent.message_stream) == ("<b>x</b>", "broadcast")
    assert sent.metadata == {"OrderId": "7"}  # the user's own names are kept as sent
