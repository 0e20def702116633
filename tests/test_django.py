"""The Django email backend, driven through Django's own mail API against a local server.

What arrives at the 127.0.0.1 server is what Postmark would receive. Runs on
whatever Django the environment has (the test extra installs the newest that
supports this Python; CI also runs this file under Django 4.2 LTS).
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from email.message import MIMEPart
from email.mime.image import MIMEImage
from pathlib import Path
from typing import Any

import pytest

django = pytest.importorskip("django")

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEFAULT_FROM_EMAIL="Site <site@example.com>",
        SERVER_EMAIL="server@example.com",
        ADMINS=(
            ["Admin <admin@example.com>"]
            if django.VERSION >= (6, 0)
            else [("Admin", "admin@example.com")]
        ),
        EMAIL_BACKEND="pystmark.DjangoEmailBackend",
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()

from django.core import mail  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402

import pystmark  # noqa: E402
from pystmark import (  # noqa: E402
    BatchSendError,
    ConfigurationError,
    DjangoEmailBackend,
    InactiveRecipientError,
    MessageError,
    SendOutcomeUnknownError,
    UnauthorizedError,
)
from tests.conftest import TOKEN, LocalServer, Seen  # noqa: E402

_ids = itertools.count()


def postmark_answer(seen: Seen) -> tuple[int, dict[str, str], bytes]:
    """Answer a batch as Postmark does; recipients containing "inactive" are refused."""
    items = json.loads(seen.body)
    if isinstance(items, dict):
        items = items["Messages"]
    answers = []
    for item in items:
        to = item.get("To", "")
        if "inactive" in to:
            answers.append(
                {"ErrorCode": 406, "Message": "You tried to send to inactive recipients.", "To": to}
            )
        else:
            answers.append(
                {
                    "ErrorCode": 0,
                    "Message": "OK",
                    "MessageID": f"00000000-0000-0000-0000-{next(_ids):012d}",
                    "SubmittedAt": "2024-02-01T10:11:12.1234567-05:00",
                    "To": to,
                }
            )
    return 200, {}, json.dumps(answers).encode()


@pytest.fixture
def server(local_server: LocalServer) -> Iterator[LocalServer]:
    """The local server answering as Postmark, and Django set to use it."""
    local_server.answer = postmark_answer
    with override_settings(POSTMARK={"TOKEN": TOKEN, "BASE_URL": local_server.url}):
        yield local_server


def sent(server: LocalServer, index: int = 0) -> Any:
    """The JSON body of the index-th request."""
    return json.loads(server.requests[index].body)


# ---- Django's mail API ------------------------------------------------------------


def test_importing_pystmark_does_not_import_django() -> None:
    code = (
        "import sys, pystmark\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(loaded)\n"
        "pystmark.DjangoEmailBackend\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


def test_send_mail(server: LocalServer) -> None:
    count = mail.send_mail("Hello", "Body text", None, ["you@example.com"])
    assert count == 1
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", "/email/batch")
    assert seen.headers["X-Postmark-Server-Token"] == TOKEN
    assert sent(server) == [
        {
            "From": "Site <site@example.com>",
            "To": "you@example.com",
            "Subject": "Hello",
            "TextBody": "Body text",
        }
    ]


def test_send_mail_with_html_message(server: LocalServer) -> None:
    mail.send_mail(
        "Hi", "text", "Me <me@example.com>", ["a@example.com"], html_message="<p>html</p>"
    )
    (message,) = sent(server)
    assert (message["TextBody"], message["HtmlBody"]) == ("text", "<p>html</p>")
    assert message["From"] == "Me <me@example.com>"


def test_send_mass_mail_is_one_batch_request(server: LocalServer) -> None:
    datatuple = [
        (f"Subject {n}", f"Body {n}", "me@example.com", [f"r{n}@example.com"]) for n in range(3)
    ]
    assert mail.send_mass_mail(datatuple) == 3
    assert len(server.requests) == 1
    assert [item["To"] for item in sent(server)] == [f"r{n}@example.com" for n in range(3)]


def test_mail_admins(server: LocalServer) -> None:
    mail.mail_admins("Broken", "Traceback", html_message="<pre>Traceback</pre>")
    assert sent(server) == [
        {
            "From": "server@example.com",
            "To": "admin@example.com",
            "Subject": "[Django] Broken",
            "TextBody": "Traceback",
            "HtmlBody": "<pre>Traceback</pre>",
        }
    ]


def test_email_multi_alternatives_maps_every_field(server: LocalServer, tmp_path: Path) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4")
    logo = MIMEImage(b"\x89PNG-logo", "png")
    logo.add_header("Content-ID", "<logo@example.com>")
    logo.add_header("Content-Disposition", "inline", filename="logo.png")
    message = mail.EmailMultiAlternatives(
        subject="Grüße",
        body="Plain ☃",
        from_email='"Shop, Inc." <shop@example.com>',
        to=["Jöhn <john@example.com>", "jane@example.com"],
        cc=["Cc Person <cc@example.com>"],
        bcc=["hidden@example.com"],
        reply_to=["Support <help@example.com>", "second@example.com"],
        headers={"X-Custom": "yes", "Message-ID": "<thread-1@example.com>"},
    )
    message.attach_alternative("<p>HTML ☃ <img src='cid:logo@example.com'></p>", "text/html")
    message.attach_file(report)
    message.attach("notes.txt", "some notes ☃", "text/plain")
    message.attach(logo)
    part = MIMEPart()  # Django 6's way to attach a part with headers of its own
    part.set_content(b"GIF89a", maintype="image", subtype="gif", cid="<anim@example.com>")
    message.attachments.append(part)
    message.tag = "welcome"
    message.metadata = {"order": "42"}
    message.message_stream = "outbound"
    message.track_opens = True
    message.track_links = pystmark.TrackLinks.HTML_ONLY
    assert message.send() == 1

    def attachment(name: str, data: bytes, content_type: str, cid: str = "") -> dict[str, Any]:
        item = {
            "Name": name,
            "Content": base64.b64encode(data).decode(),
            "ContentType": content_type,
        }
        return {**item, "ContentID": cid} if cid else item

    assert sent(server) == [
        {
            "From": '"Shop, Inc." <shop@example.com>',
            "To": "Jöhn <john@example.com>, jane@example.com",
            "Cc": "Cc Person <cc@example.com>",
            "Bcc": "hidden@example.com",
            "ReplyTo": "Support <help@example.com>, second@example.com",
            "Subject": "Grüße",
            "Tag": "welcome",
            "HtmlBody": "<p>HTML ☃ <img src='cid:logo@example.com'></p>",
            "TextBody": "Plain ☃",
            "Headers": [
                {"Name": "X-Custom", "Value": "yes"},
                {"Name": "Message-ID", "Value": "<thread-1@example.com>"},
            ],
            "TrackOpens": True,
            "TrackLinks": "HtmlOnly",
            "Metadata": {"order": "42"},
            "MessageStream": "outbound",
            "Attachments": [
                attachment("report.pdf", b"%PDF-1.4", "application/pdf"),
                attachment("notes.txt", "some notes ☃".encode(), "text/plain"),
                attachment("logo.png", b"\x89PNG-logo", "image/png", "cid:logo@example.com"),
                attachment("anim.gif", b"GIF89a", "image/gif", "cid:anim@example.com"),
            ],
        }
    ]
    assert message.postmark_error_code == 0
    assert message.postmark_message_id.startswith("00000000-")
    assert message.postmark_result.ok


def test_html_only_message(server: LocalServer) -> None:
    message = mail.EmailMessage("Hi", "<b>bold</b>", "me@example.com", ["you@example.com"])
    message.content_subtype = "html"
    message.send()
    (item,) = sent(server)
    assert item["HtmlBody"] == "<b>bold</b>"
    assert "TextBody" not in item


def test_html_body_with_a_plain_text_alternative(server: LocalServer) -> None:
    message = mail.EmailMultiAlternatives("Hi", "<b>bold</b>", "me@example.com", ["a@example.com"])
    message.content_subtype = "html"
    message.attach_alternative("bold", "text/plain")
    message.send()
    (item,) = sent(server)
    assert (item["HtmlBody"], item["TextBody"]) == ("<b>bold</b>", "bold")


def test_extra_headers_from_and_postmark_smtp_headers(server: LocalServer) -> None:
    message = mail.EmailMessage(
        "Hi",
        "body",
        "envelope@example.com",
        ["you@example.com"],
        headers={
            "From": "Shown <shown@example.com>",
            "To": "You <you@example.com>",
            "Reply-To": "r@example.com",
            "X-PM-Tag": "from-header",
            "X-PM-Metadata-user": "7",
        },
    )
    message.send()
    (item,) = sent(server)
    assert (item["From"], item["To"], item["ReplyTo"]) == (
        "Shown <shown@example.com>",
        "you@example.com",
        "r@example.com",
    )
    assert (item["Tag"], item["Metadata"]) == ("from-header", {"user": "7"})
    assert "Headers" not in item


def test_template_messages_use_the_template_batch_endpoint(server: LocalServer) -> None:
    welcome = mail.EmailMessage(to=["a@example.com"], from_email="me@example.com")
    welcome.template_alias = "welcome"
    welcome.template_model = {"name": "Ann"}
    plain = mail.EmailMessage("Hi", "body", "me@example.com", ["b@example.com"])
    connection = mail.get_connection()
    assert connection.send_messages([welcome, plain]) == 2
    assert [seen.path for seen in server.requests] == ["/email/batch", "/email/batchWithTemplates"]
    assert sent(server, 1) == {
        "Messages": [
            {
                "From": "me@example.com",
                "To": "a@example.com",
                "TemplateAlias": "welcome",
                "TemplateModel": {"name": "Ann"},
            }
        ]
    }
    assert welcome.postmark_message_id and plain.postmark_message_id


def test_more_than_500_messages_are_split(server: LocalServer) -> None:
    messages = [
        mail.EmailMessage(f"#{n}", "body", "me@example.com", [f"r{n}@example.com"])
        for n in range(501)
    ]
    assert mail.get_connection().send_messages(messages) == 501
    assert [len(sent(server, index)) for index in range(2)] == [500, 1]
    ids = [message.postmark_message_id for message in messages]
    assert len(set(ids)) == 501 and all(ids)
    assert sent(server, 1)[0]["Subject"] == "#500"


def test_messages_without_recipients_are_skipped(server: LocalServer) -> None:
    nobody = mail.EmailMessage("Hi", "body", "me@example.com", [])
    assert mail.get_connection().send_messages([nobody]) == 0
    assert mail.get_connection().send_messages([]) == 0
    assert server.requests == []


# ---- what Postmark answered, and failures -------------------------------------------


def test_a_refused_message_raises_its_typed_error_and_is_recorded(server: LocalServer) -> None:
    message = mail.EmailMessage("Hi", "body", "me@example.com", ["inactive@example.com"])
    with pytest.raises(InactiveRecipientError):
        message.send()
    assert message.postmark_error_code == 406
    assert message.postmark_message_id is None


def test_refusals_in_a_batch_raise_batch_send_error_after_recording(server: LocalServer) -> None:
    messages = [
        mail.EmailMessage("Hi", "body", "me@example.com", [to])
        for to in ("a@example.com", "inactive@example.com", "b@example.com")
    ]
    with pytest.raises(BatchSendError) as caught:
        mail.get_connection().send_messages(messages)
    assert [result.index for result in caught.value.failed] == [1]
    assert [message.postmark_error_code for message in messages] == [0, 406, 0]


def test_fail_silently_counts_what_was_accepted(server: LocalServer) -> None:
    messages = [
        mail.EmailMessage("Hi", "body", "me@example.com", [to])
        for to in ("a@example.com", "inactive@example.com")
    ]
    assert mail.get_connection(fail_silently=True).send_messages(messages) == 1
    assert mail.send_mail("Hi", "b", None, ["inactive@example.com"], fail_silently=True) == 0


def test_request_failure_raises_typed_error_or_returns_0_silently(server: LocalServer) -> None:
    server.answer = lambda seen: (401, {}, b'{"ErrorCode": 10, "Message": "Bad token"}')
    with pytest.raises(UnauthorizedError):
        mail.send_mail("Hi", "body", None, ["a@example.com"])
    assert mail.send_mail("Hi", "body", None, ["a@example.com"], fail_silently=True) == 0


@pytest.mark.parametrize("fail_silently", [False, True])
def test_a_send_with_unknown_outcome_is_never_retried(
    server: LocalServer, fail_silently: bool
) -> None:
    server.answer = lambda seen: (500, {}, b'{"ErrorCode": 0, "Message": "oops"}')
    message = mail.EmailMessage("Hi", "body", "me@example.com", ["a@example.com"])
    if fail_silently:
        assert message.send(fail_silently=True) == 0
    else:
        with pytest.raises(SendOutcomeUnknownError):
            message.send()
    assert len(server.requests) == 1
    assert message.postmark_result is None


def test_an_invalid_message_fails_before_any_request(server: LocalServer) -> None:
    good = mail.EmailMessage("Hi", "body", "me@example.com", ["a@example.com"])
    bad = mail.EmailMultiAlternatives("Hi", "body", "me@example.com", ["b@example.com"])
    bad.attach_alternative("BEGIN:VCALENDAR", "text/calendar")
    with pytest.raises(MessageError, match="text/calendar") as caught:
        mail.get_connection().send_messages([good, bad])
    assert caught.value.field == "alternatives[0]"
    assert server.requests == []
    # fail_silently: the invalid message is left out, the others go.
    assert mail.get_connection(fail_silently=True).send_messages([good, bad]) == 1
    assert len(sent(server)) == 1


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda m: setattr(m, "tags", ["a", "b"]), "tags", "one tag"),
        (lambda m: setattr(m, "send_at", 1700000000), "send_at", "schedule"),
        (lambda m: setattr(m, "content_subtype", "xml"), "content_subtype", "'xml'"),
        (lambda m: m.extra_headers.update(To="other@example.com"), "extra_headers", "To header"),
        (lambda m: m.attach_alternative("<p>1</p>", "text/html"), "alternatives[1]", "text/html"),
        (lambda m: m.attach_alternative("2", "text/plain"), "alternatives[1]", "text/plain"),
        (lambda m: m.attach("run.exe", b"MZ", None), "attachments['run.exe']", ".exe"),
        (lambda m: setattr(m, "template_alias", "welcome"), "html", "template"),
    ],
)
def test_features_the_backend_cannot_map_raise(
    server: LocalServer, change: Any, field: str, problem: str
) -> None:
    message = mail.EmailMultiAlternatives("Hi", "body", "me@example.com", ["a@example.com"])
    message.attach_alternative("<p>0</p>", "text/html")
    change(message)
    with pytest.raises(MessageError, match=problem) as caught:
        message.send()
    assert caught.value.field == field
    assert server.requests == []


# ---- settings and connections ---------------------------------------------------------


def test_settings_names_and_precedence(local_server: LocalServer) -> None:
    local_server.answer = postmark_answer
    base = {"BASE_URL": local_server.url}

    def token_used(**kwargs: Any) -> str:
        mail.send_mail(
            "Hi", "body", None, ["a@example.com"], connection=mail.get_connection(**kwargs)
        )
        return local_server.requests[-1].headers["X-Postmark-Server-Token"]

    with override_settings(POSTMARK=base, POSTMARK_SERVER_TOKEN="from-setting"):
        assert token_used() == "from-setting"
        assert token_used(api_key="from-connection") == "from-connection"
    with override_settings(POSTMARK={**base, "TOKEN": "from-dict"}):
        assert token_used() == "from-dict"
    with override_settings(POSTMARK={**base, "TOKEN": "t", "TEST_MODE": True}):
        assert token_used() == pystmark.TEST_API_KEY
    with (
        override_settings(POSTMARK={**base, "TOKEN": "a"}, POSTMARK_SERVER_TOKEN="b"),
        pytest.raises(ConfigurationError, match="different tokens"),
    ):
        mail.get_connection()


def test_message_defaults_from_settings_and_connection(server: LocalServer) -> None:
    config = {
        **settings.POSTMARK,
        "MESSAGE_STREAM": "notices",
        "TRACK_OPENS": True,
        "TRACK_LINKS": "HtmlAndText",
    }
    with override_settings(POSTMARK=config):
        mail.send_mail("Hi", "body", None, ["a@example.com"])
        own = mail.EmailMessage("Hi", "body", None, ["b@example.com"])
        own.message_stream = "other"
        own.track_opens = False
        mail.get_connection(track_links="None").send_messages([own])
    first, second = sent(server, 0)[0], sent(server, 1)[0]
    assert (first["MessageStream"], first["TrackOpens"], first["TrackLinks"]) == (
        "notices",
        True,
        "HtmlAndText",
    )
    assert (second["MessageStream"], second["TrackOpens"], second["TrackLinks"]) == (
        "other",
        False,
        "None",
    )


@pytest.mark.parametrize(
    ("setting", "kwargs", "problem"),
    [
        ({"VERBOSITY": 3}, {}, "unknown key"),
        ("not a dict", {}, "must be a dict"),
        ({"TIMEOUT": -1}, {}, "timeout"),
        ({"BASE_URL": "http://example.com"}, {}, "base_url"),
        ({}, {"password": "secret"}, "server token"),
        ({}, {"colour": "blue"}, "unknown option"),
    ],
)
def test_bad_settings_fail_when_the_connection_is_made(
    setting: Any, kwargs: dict[str, Any], problem: str
) -> None:
    with override_settings(POSTMARK=setting), pytest.raises(ConfigurationError, match=problem):
        mail.get_connection(**kwargs)


def test_one_session_per_open_connection(server: LocalServer) -> None:
    def message(n: int) -> Any:
        return mail.EmailMessage(f"#{n}", "body", "me@example.com", ["a@example.com"])

    with mail.get_connection() as connection:
        connection.send_messages([message(0)])
        connection.send_messages([message(1)])
    connection.send_messages([message(2)])  # not open: opens and closes its own session
    connection.send_messages([message(3)])
    first, second, third, fourth = server.ports
    assert first == second
    assert len({second, third, fourth}) == 3
    backend = DjangoEmailBackend()
    assert backend.open() is True
    assert backend.open() is False
    backend.close()
    backend.close()


def test_a_given_session_is_used_and_left_open(server: LocalServer) -> None:
    import requests

    session = requests.Session()
    connection = mail.get_connection(session=session)
    with connection:
        connection.send_messages([mail.EmailMessage("Hi", "b", None, ["a@example.com"])])
    assert session.adapters["http://"].poolmanager.pools  # the connection stayed pooled
    session.close()


def test_the_token_is_not_in_the_repr(server: LocalServer) -> None:
    text = repr(mail.get_connection(fail_silently=True))
    assert TOKEN not in text
    assert text.startswith("DjangoEmailBackend(fail_silently=True, ")


# ---- webhooks: WebhookApp as a Django view (the docs' example) -------------------


def test_webhook_app_as_a_django_view() -> None:
    from django.http import HttpResponse
    from django.views.decorators.csrf import csrf_exempt

    events: list[pystmark.WebhookEvent] = []
    hooks = pystmark.WebhookApp(("postmark", "s3cret"))
    hooks.on(pystmark.DeliveryEvent)(events.append)

    @csrf_exempt
    def postmark_webhook(request: Any) -> HttpResponse:
        body = request.read(hooks.max_bytes + 1)
        reply = hooks.handle(request.headers.get("Authorization"), body, request.method)
        response = HttpResponse(reply.text, status=reply.status, content_type="text/plain")
        for name, value in reply.headers:
            response[name] = value
        return response

    payload = {
        "RecordType": "Delivery",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Recipient": "john@example.com",
        "DeliveredAt": "2024-02-01T10:11:12Z",
        "ServerID": 23,
        "MessageStream": "outbound",
    }
    factory = RequestFactory()
    auth = "Basic " + base64.b64encode(b"postmark:s3cret").decode()
    request = factory.post(
        "/hooks", json.dumps(payload), content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert postmark_webhook(request).status_code == 200
    assert [event.recipient for event in events] == ["john@example.com"]
    denied = postmark_webhook(factory.post("/hooks", "{}", content_type="application/json"))
    assert denied.status_code == 401
    assert denied["WWW-Authenticate"].startswith("Basic")


def test_attached_messages_and_multipart_parts(server: LocalServer) -> None:
    from email.mime.multipart import MIMEMultipart

    inner = mail.EmailMessage("Forwarded", "inner body", "x@example.com", ["y@example.com"])
    stdlib_inner = pystmark.InboundMessage(
        {"From": "z@example.com", "Subject": "Stdlib", "TextBody": "t"}
    ).to_email_message()
    message = mail.EmailMessage(
        "Hi",
        "body",
        "me@example.com",
        ["a@example.com"],
        headers={"X-PM-TrackOpens": "false", "X-PM-TrackLinks": "TextOnly"},
    )
    message.attach("fwd.eml", inner, "message/rfc822")
    message.attachments.append(("stdlib.eml", stdlib_inner, "message/rfc822"))
    message.attachments.append((None, b"\x00\x01", None))
    message.send()
    (item,) = sent(server)
    assert (item["TrackOpens"], item["TrackLinks"]) == (False, "TextOnly")
    names = [(a["Name"], a["ContentType"]) for a in item["Attachments"]]
    assert names == [
        ("fwd.eml", "message/rfc822"),
        ("stdlib.eml", "message/rfc822"),
        ("attachment-3", "application/octet-stream"),
    ]
    forwarded = base64.b64decode(item["Attachments"][0]["Content"])
    assert b"Subject: Forwarded" in forwarded

    nested = mail.EmailMessage("Hi", "body", "me@example.com", ["a@example.com"])
    nested.attachments.append(MIMEMultipart("related"))
    with pytest.raises(MessageError, match="multipart attachment"):
        nested.send()


def test_a_failed_request_mid_batch_keeps_what_was_answered(server: LocalServer) -> None:
    def answer(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if len(json.loads(seen.body)) == 1:  # the second request of 501 messages
            return 401, {}, b'{"ErrorCode": 10, "Message": "Bad token"}'
        return postmark_answer(seen)

    server.answer = answer
    messages = [
        mail.EmailMessage("Hi", "body", "me@example.com", [f"r{n}@example.com"]) for n in range(501)
    ]
    with pytest.raises(BatchSendError) as caught:
        mail.get_connection().send_messages(messages)
    assert caught.value.unsent == [500]
    assert all(message.postmark_error_code == 0 for message in messages[:500])
    assert messages[500].postmark_result is None
    assert mail.get_connection(fail_silently=True).send_messages(messages) == 500


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"from_email": "nobody", "to": ["a@example.com"]}, "sender"),
        ({"to": ["a@"]}, "to"),
        ({"to": ["a@example.com"], "cc": ["Name <a@example.com"]}, "cc"),
        ({"to": ["a@example.com"], "bcc": ["a b@example.com"]}, "bcc"),
        ({"to": ["a@example.com"], "reply_to": ["team: a@example.com;"]}, "reply_to"),
    ],
)
def test_a_bad_address_is_refused_before_any_request(
    server: LocalServer, kwargs: dict[str, Any], field: str
) -> None:
    message = mail.EmailMessage("Subject", "Body", **kwargs)
    with pytest.raises(MessageError) as caught:
        message.send()
    assert caught.value.field.endswith(field), caught.value.field
    assert server.requests == []
