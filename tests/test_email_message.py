"""Standard-library email messages, both ways: sent as they are, and converted back."""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import json
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pystmark
from pystmark import Message, MessageError
from tests.conftest import API, TOKEN, ok_result, request_json


def build_email() -> EmailMessage:
    """A message with every feature the conversion carries."""
    message = EmailMessage()
    message["From"] = "Jöhn Doe <john@example.com>"
    message["To"] = '"Doe, Jane" <jane@example.com>, bob@example.com'
    message["Cc"] = "Ünïcode <c@münchen.de>"
    message["Bcc"] = "hidden@example.com"
    message["Reply-To"] = "Support <help@example.com>"
    message["Subject"] = "Grüße ☃"
    message["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"
    message["Message-ID"] = "<abc@example.com>"
    message["X-Custom"] = "yes"
    message["X-PM-Tag"] = "welcome"
    message["X-PM-Metadata-color"] = "blue"
    message["X-PM-Message-Stream"] = "broadcasts"
    message["X-PM-TrackOpens"] = "true"
    message["X-PM-TrackLinks"] = "HtmlOnly"
    message.set_content("Hello ☃")
    message.add_alternative("<p>Hello <img src='cid:logo@x'></p>", subtype="html")
    message.get_payload()[1].add_related(
        b"\x89PNG-logo", maintype="image", subtype="png", cid="<logo@x>"
    )
    message.add_attachment(
        b"%PDF-1.4", maintype="application", subtype="pdf", filename="rapport é.pdf"
    )
    return message


EXPECTED = Message(
    sender="Jöhn Doe <john@example.com>",
    to=['"Doe, Jane" <jane@example.com>', "bob@example.com"],
    cc=["Ünïcode <c@münchen.de>"],
    bcc=["hidden@example.com"],
    reply_to="Support <help@example.com>",
    subject="Grüße ☃",
    tag="welcome",
    metadata={"color": "blue"},
    message_stream="broadcasts",
    track_opens=True,
    track_links="HtmlOnly",
    text="Hello ☃\n",
    html="<p>Hello <img src='cid:logo@x'></p>\n",
    headers=[("Message-ID", "<abc@example.com>"), ("X-Custom", "yes")],
    attachments=[
        pystmark.Attachment("logo.png", b"\x89PNG-logo", "image/png", "logo@x"),
        pystmark.Attachment("rapport é.pdf", b"%PDF-1.4", "application/pdf"),
    ],
)


def test_every_feature_of_an_email_message_maps_to_its_field() -> None:
    assert Message.from_email_message(build_email()) == EXPECTED


@pytest.mark.parametrize("policy", [email.policy.compat32, email.policy.default])
@pytest.mark.parametrize("as_bytes", [True, False])
def test_parsed_messages_give_the_same_message(policy: Any, as_bytes: bool) -> None:
    # What email.message_from_* returns: a compat32 Message (encoded words
    # still in the headers) or an EmailMessage; from bytes or from text.
    built = build_email()
    if as_bytes:
        parsed = email.message_from_bytes(built.as_bytes(), policy=policy)
    else:
        parsed = email.message_from_string(built.as_string(), policy=policy)
    assert Message.from_email_message(parsed) == EXPECTED


def test_8bit_text_parsed_from_a_string_keeps_characters_beyond_latin_1() -> None:
    raw = (
        "From: a@example.com\nTo: b@example.com\nSubject: x\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "Hällo ☃ 雪\n"
    )
    for policy in (email.policy.compat32, email.policy.default):
        message = Message.from_email_message(email.message_from_string(raw, policy=policy))
        assert message.text == "Hällo ☃ 雪\n"
    parsed = email.message_from_bytes(raw.encode("utf-8"))
    assert Message.from_email_message(parsed).text == "Hällo ☃ 雪\n"


def test_legacy_mime_classes_with_encoded_headers() -> None:
    message = MIMEMultipart("mixed")
    message["From"] = "=?utf-8?q?Doe=2C_J=C3=B6hn?= <john@example.com>"
    message["To"] = "a@example.com,\n =?utf-8?b?w4RiYw==?= <c@example.com>"
    message["Subject"] = "=?utf-8?q?Gr=C3=BC=C3=9Fe?= and\n more"
    message["X-Folded"] = "one\n two"
    message.attach(MIMEText("hi ☃", "plain", "utf-8"))
    image = MIMEImage(b"GIF89a", "gif")
    image.add_header("Content-ID", "<img1@example.com>")
    message.attach(image)
    unnamed = MIMEApplication(b"raw")
    message.attach(unnamed)
    named = MIMEApplication(b"data")
    named.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "naïve.csv"))
    message.attach(named)
    converted = Message.from_email_message(message)
    assert converted.sender == '"Doe, Jöhn" <john@example.com>'
    assert converted.to == "a@example.com, Äbc <c@example.com>"
    assert converted.subject == "Grüße and more"
    assert converted.headers == [("X-Folded", "one two")]
    assert converted.text == "hi ☃"
    assert [(a.name, a.content_type, a.content_id, a.data) for a in converted.attachments] == [
        ("img1.gif", "image/gif", "cid:img1@example.com", b"GIF89a"),
        ("attachment-2", "application/octet-stream", None, b"raw"),
        ("naïve.csv", "application/octet-stream", None, b"data"),
    ]


def test_html_only_message_and_text_attachment() -> None:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["To"] = "b@example.com"
    message.set_content("<b>hi</b>", subtype="html")
    message.add_attachment("col1,col2\n", subtype="csv", filename="data.csv")
    message.add_attachment("notes", filename="notes.txt")  # text/plain, but an attachment
    converted = Message.from_email_message(message)
    assert converted.text is None
    assert converted.html == "<b>hi</b>\n"
    assert [(a.name, a.content_type, a.data) for a in converted.attachments] == [
        ("data.csv", "text/csv", b"col1,col2\n"),
        ("notes.txt", "text/plain", b"notes\n"),
    ]


def test_attached_email_travels_as_an_eml_file() -> None:
    inner = EmailMessage()
    inner["Subject"] = "forwarded"
    inner.set_content("inner body")
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["To"] = "b@example.com"
    message.set_content("see attached")
    message.add_attachment(inner)
    (attachment,) = Message.from_email_message(message).attachments
    assert (attachment.name, attachment.content_type) == ("attachment-1.eml", "message/rfc822")
    assert email.message_from_bytes(attachment.data)["Subject"] == "forwarded"


def test_postmark_writes_structure_date_and_trace_headers_itself() -> None:
    message = email.message_from_string(
        "Received: from x by y\nDKIM-Signature: v=1; a=rsa-sha256\nReturn-Path: <b@x>\n"
        "Date: Mon, 01 Jan 2024 10:00:00 +0000\nX-PM-Message-Id: 123\nMIME-Version: 1.0\n"
        "From: a@example.com\nTo: b@example.com\nX-Keep: 1\n\nbody\n"
    )
    assert Message.from_email_message(message).headers == [("X-Keep", "1")]


def test_undisclosed_recipients_group_is_no_recipient() -> None:
    message = email.message_from_string(
        "From: a@example.com\nTo: undisclosed-recipients:;\nBcc: b@example.com\n\nbody\n"
    )
    converted = Message.from_email_message(message)
    assert (converted.to, converted.bcc) == (None, "b@example.com")
    converted.validate()


@pytest.mark.parametrize(
    ("raw", "field", "problem"),
    [
        ("From: a@example.com, b@example.com\nTo: c@example.com\n\nx", "sender", "one From"),
        ("From: a@example.com\nTo: not an address\n\nx", "to", "cannot read"),
        ("From: a@example.com\nTo: <>\n\nx", "to", "cannot read"),
        ("From: a@example.com\nX-PM-TrackOpens: maybe\n\nx", "track_opens", "true or false"),
    ],
)
def test_unreadable_headers_are_named(raw: str, field: str, problem: str) -> None:
    with pytest.raises(MessageError, match=problem) as caught:
        Message.from_email_message(email.message_from_string(raw))
    assert caught.value.field == field


def test_a_part_postmark_cannot_carry_is_named() -> None:
    signed = MIMEMultipart("signed")
    signed.attach(MIMEText("body"))
    with pytest.raises(MessageError, match=r"multipart/signed") as caught:
        Message.from_email_message(signed)
    assert caught.value.field == "part 0 (multipart/signed)"

    message = EmailMessage()
    message.set_content("text")
    message.add_alternative("BEGIN:VCALENDAR", subtype="calendar")
    message.add_alternative("<p>amp</p>", subtype="html")
    message.add_alternative("<p>second</p>", subtype="html")
    with pytest.raises(MessageError, match="second text/html body") as caught:
        Message.from_email_message(message)
    assert caught.value.field == "part 0.3 (text/html)"

    report = MIMEMultipart("mixed")
    report.attach(MIMEText("x"))
    status = email.message.Message()
    status["Content-Type"] = "message/delivery-status"
    status.set_payload([email.message.Message()])
    report.attach(status)
    with pytest.raises(MessageError, match="message/delivery-status"):
        Message.from_email_message(report)

    odd = email.message_from_string(
        "Content-Type: text/plain; charset=x-unknown-charset\n"
        "Content-Transfer-Encoding: base64\n\naGk=\n"
    )
    with pytest.raises(MessageError, match="unknown charset"):
        Message.from_email_message(odd)


def test_from_email_message_refuses_other_objects() -> None:
    with pytest.raises(MessageError, match=r"expected an email\.message\.Message, not dict"):
        Message.from_email_message({})  # type: ignore[arg-type]


# ---- sending a standard-library message --------------------------------------------


def test_send_and_send_batch_take_email_messages(mocked: responses.RequestsMock) -> None:
    mocked.add(responses.POST, f"{API}/email", json=ok_result())
    mocked.add(responses.POST, f"{API}/email/batch", json=[ok_result(0), ok_result(1)])
    built = build_email()
    parsed = email.message_from_bytes(built.as_bytes())
    pystmark.send(built, api_key=TOKEN)
    response = pystmark.send_batch([built, parsed], api_key=TOKEN)
    assert len(response.results) == 2
    single = request_json(mocked.calls[0])
    assert single == EXPECTED.to_payload()
    assert request_json(mocked.calls[1]) == [single, single]


def test_sender_defaults_merge_under_an_email_message(mocked: responses.RequestsMock) -> None:
    mocked.add(responses.POST, f"{API}/email", json=ok_result())
    message = EmailMessage()
    message["To"] = "b@example.com"
    message.set_content("hi")
    sender = pystmark.Sender(message={"sender": "me@example.com", "tag": "t"}, api_key=TOKEN)
    sender.send(message)
    assert request_json(mocked.calls[0]) == {
        "From": "me@example.com",
        "To": "b@example.com",
        "Tag": "t",
        "TextBody": "hi\n",
    }


def test_an_email_message_postmark_cannot_carry_sends_nothing(no_requests: Any) -> None:
    message = MIMEMultipart("encrypted")
    message["From"] = "a@example.com"
    with pytest.raises(MessageError, match="multipart/encrypted"):
        pystmark.send_batch(
            [{"sender": "a@example.com", "to": "b@example.com", "text": "x"}, message],
            api_key=TOKEN,
        )


# ---- round trip: to_email_message() and back ---------------------------------------

_WORD = st.text(
    st.characters(
        categories=("L", "N"), include_characters="-'.,()&!\"", exclude_characters="\r\n"
    ),
    min_size=1,
    max_size=8,
).filter(lambda word: "=?" not in word)
_NAME = st.lists(_WORD, max_size=3).map(" ".join)
_LOCAL = st.from_regex(r"[a-z0-9][a-z0-9_+-]{0,10}", fullmatch=True)
_DOMAIN = st.sampled_from(["example.com", "mail.example.org", "münchen.de", "xn--bcher-kva.ch"])
_ADDRESS = st.tuples(_NAME, st.builds(lambda local, domain: f"{local}@{domain}", _LOCAL, _DOMAIN))
_BODY = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\r"), min_size=1, max_size=200
)
_ATTACHMENT = st.fixed_dictionaries(
    {
        "name": st.builds(
            lambda stem, extension: stem + extension,
            st.text(st.characters(categories=("L", "N")), min_size=1, max_size=12),
            st.sampled_from([".pdf", ".png", ".txt", ".csv", ""]),
        ),
        "data": st.binary(max_size=300),
        "content_type": st.sampled_from(
            ["application/pdf", "image/png", "text/plain", "text/csv", "application/octet-stream"]
        ),
        "content_id": st.none() | st.from_regex(r"[a-z0-9]{1,8}@[a-z]{1,6}", fullmatch=True),
    }
)
_MESSAGE = st.fixed_dictionaries(
    {
        "sender": _ADDRESS,
        "to": st.lists(_ADDRESS, min_size=1, max_size=3),
        "cc": st.lists(_ADDRESS, max_size=2),
        "subject": st.lists(_WORD, min_size=1, max_size=6).map(" ".join),
        "text": st.none() | _BODY,
        "html": st.none() | _BODY.map(lambda body: f"<p>{body}</p>"),
        "attachments": st.lists(_ATTACHMENT, max_size=3),
    }
).filter(lambda fields: fields["text"] is not None or fields["html"] is not None)


def _inbound_json(fields: dict[str, Any]) -> dict[str, Any]:
    """Postmark's inbound JSON for the generated fields."""

    def full(pair: tuple[str, str]) -> dict[str, str]:
        return {"Name": pair[0], "Email": pair[1]}

    return {
        "From": fields["sender"][1],
        "FromFull": full(fields["sender"]),
        "ToFull": [full(pair) for pair in fields["to"]],
        "CcFull": [full(pair) for pair in fields["cc"]],
        "Subject": fields["subject"],
        "TextBody": fields["text"] or "",
        "HtmlBody": fields["html"] or "",
        "Attachments": [
            {
                "Name": item["name"],
                "Content": base64.b64encode(item["data"]).decode(),
                "ContentType": item["content_type"],
                "ContentLength": len(item["data"]),
                **({"ContentID": item["content_id"]} if item["content_id"] else {}),
            }
            for item in fields["attachments"]
        ],
    }


def _as_written(body: str | None) -> str | None:
    # The email package ends a text part with a newline.
    return None if body is None else body if body.endswith("\n") else body + "\n"


def _addresses(value: Any) -> list[tuple[str, str]]:
    text = ", ".join(value) if isinstance(value, list) else value or ""
    return email.utils.getaddresses([text]) if text else []


def _check_round_trip(fields: dict[str, Any], message: Message) -> None:
    assert _addresses(message.sender) == [fields["sender"]]
    assert _addresses(message.to) == fields["to"]
    assert _addresses(message.cc) == fields["cc"]
    assert message.subject == fields["subject"]
    assert message.text == _as_written(fields["text"])
    assert message.html == _as_written(fields["html"])
    assert [
        (a.name, a.data, a.content_type, (a.content_id or "").removeprefix("cid:") or None)
        for a in message.attachments
    ] == [(a["name"], a["data"], a["content_type"], a["content_id"]) for a in fields["attachments"]]
    message.validate()


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_MESSAGE)
def test_round_trip_of_an_inbound_message(fields: dict[str, Any]) -> None:
    inbound = pystmark.InboundMessage(_inbound_json(fields))
    _check_round_trip(fields, Message.from_email_message(inbound.to_email_message()))


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_MESSAGE, st.sampled_from(["\n", "\r\n"]))
def test_round_trip_of_an_outbound_dump(fields: dict[str, Any], linesep: str) -> None:
    # The dump is the source Postmark stored: the message as written on the
    # wire. Written unfolded: Python's folding of long non-ASCII headers has
    # bugs of its own (it can add spaces between encoded words, or fail),
    # which are not what this test is about.
    source = pystmark.InboundMessage(_inbound_json(fields)).to_email_message()
    wire = source.as_string(policy=source.policy.clone(linesep=linesep, max_line_length=None))
    http_response = requests.Response()
    http_response.status_code = 200
    dump = pystmark.OutboundMessageDumpResponse(
        http_response, json.loads(json.dumps({"Body": wire}))
    )
    converted = Message.from_email_message(dump.to_email_message())
    if linesep == "\r\n":
        # Bodies keep the line endings they were written with.
        converted.text = converted.text and converted.text.replace("\r\n", "\n")
        converted.html = converted.html and converted.html.replace("\r\n", "\n")
    _check_round_trip(fields, converted)


def test_headers_the_parser_cannot_read() -> None:
    # An unreadable header that Postmark passes on keeps its raw text...
    message = email.message_from_string(
        "From: a@example.com\nTo: b@example.com\nSender: x@, y\n\nbody\n"
    )
    assert Message.from_email_message(message).headers == [("Sender", "x@, y")]
    # ...an unreadable address field is an error naming it.
    message = email.message_from_string("From: a@example.com\nCc: x@\n\nbody\n")
    with pytest.raises(MessageError, match="cannot read") as caught:
        Message.from_email_message(message)
    assert caught.value.field == "cc"


def test_part_decoding_edge_cases() -> None:
    mislabelled = email.message_from_string(
        "From: a@example.com\nTo: b@example.com\n"
        "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: base64\n\n"
        + base64.b64encode("naïve ☃".encode()).decode()
        + "\n"
    )
    assert Message.from_email_message(mislabelled).text == "naïve ☃"

    encoded_name = email.message_from_string(
        "Content-Type: application/pdf\n"
        'Content-Disposition: attachment; filename="=?utf-8?q?na=C3=AFve.pdf?="\n'
        "Content-Transfer-Encoding: base64\n\nJVBERg==\n"
    )
    (attachment,) = Message.from_email_message(encoded_name).attachments
    assert (attachment.name, attachment.data) == ("naïve.pdf", b"%PDF")

    empty = email.message.Message()
    empty["Content-Type"] = "image/png"
    with pytest.raises(MessageError, match="without content"):
        Message.from_email_message(empty)

    broken = email.message.Message()
    broken["Content-Type"] = "text/plain"
    broken.set_payload([email.message.Message()])
    with pytest.raises(MessageError, match="without text"):
        Message.from_email_message(broken)


def test_email_address_text_for_internationalised_addresses() -> None:
    def text(address: str) -> str:
        return str(pystmark.EmailAddress({"Name": "Ann", "Email": address}))

    assert text("ann@münchen.de") == "Ann <ann@münchen.de>"
    # Not an address the email package can read: shown as it is, never an error.
    assert text("a@b@münchen.de") == "Ann <a@b@münchen.de>"
    assert text("a b@münchen.de") == "Ann <a b@münchen.de>"
