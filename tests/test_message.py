"""Message: every field's JSON, building from kwargs and dicts, attachments, validation."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import responses as responses_lib

import pystmark
from pystmark import Attachment, Message, MessageError, TrackLinks
from tests.conftest import API, MESSAGE, TOKEN

# ---- serialisation, field by field -------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "key", "expected"),
    [
        ({"sender": "Me <me@example.com>"}, "From", "Me <me@example.com>"),
        ({"to": "a@example.com"}, "To", "a@example.com"),
        ({"to": "a@example.com, b@example.com"}, "To", "a@example.com, b@example.com"),
        (
            {"to": ["A <a@example.com>", '"Doe, B" <b@example.com>']},
            "To",
            'A <a@example.com>, "Doe, B" <b@example.com>',
        ),
        ({"cc": ["c@example.com", "d@example.com"]}, "Cc", "c@example.com, d@example.com"),
        ({"cc": "C <c@example.com>"}, "Cc", "C <c@example.com>"),
        ({"bcc": ["e@example.com"]}, "Bcc", "e@example.com"),
        ({"bcc": "e@example.com, f@example.com"}, "Bcc", "e@example.com, f@example.com"),
        ({"reply_to": "R <r@example.com>"}, "ReplyTo", "R <r@example.com>"),
        ({"subject": "Hello"}, "Subject", "Hello"),
        ({"tag": "welcome"}, "Tag", "welcome"),
        ({"html": "<b>Hi</b>"}, "HtmlBody", "<b>Hi</b>"),
        ({"text": "Hi"}, "TextBody", "Hi"),
        (
            {"headers": {"X-A": "1", "X-B": "2"}},
            "Headers",
            [{"Name": "X-A", "Value": "1"}, {"Name": "X-B", "Value": "2"}],
        ),
        (
            {"headers": [("X-A", "1"), ("X-A", "2")]},
            "Headers",
            [{"Name": "X-A", "Value": "1"}, {"Name": "X-A", "Value": "2"}],
        ),
        (
            {"headers": [{"Name": "X-A", "Value": "1"}]},
            "Headers",
            [{"Name": "X-A", "Value": "1"}],
        ),
        ({"metadata": {"order": "42"}}, "Metadata", {"order": "42"}),
        ({"track_opens": True}, "TrackOpens", True),
        ({"track_opens": False}, "TrackOpens", False),
        ({"track_links": TrackLinks.HTML_AND_TEXT}, "TrackLinks", "HtmlAndText"),
        ({"track_links": TrackLinks.NONE}, "TrackLinks", "None"),
        ({"track_links": "HtmlOnly"}, "TrackLinks", "HtmlOnly"),
        ({"track_links": "TextOnly"}, "TrackLinks", "TextOnly"),
        ({"message_stream": "broadcast"}, "MessageStream", "broadcast"),
        ({"template_model": {"name": "Ann", "n": [1]}}, "TemplateModel", {"name": "Ann", "n": [1]}),
        ({"inline_css": False}, "InlineCss", False),
    ],
)
def test_each_field_serialises_to_its_postmark_key(
    kwargs: dict[str, Any], key: str, expected: Any
) -> None:
    payload = Message(**kwargs).to_payload()
    assert payload == {key: expected}
    assert json.loads(Message(**kwargs).to_json()) == {key: expected}


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({"template_id": 12}, "TemplateId"), ({"template_alias": "w"}, "TemplateAlias")],
)
def test_template_key_and_an_empty_model_by_default(kwargs: dict[str, Any], key: str) -> None:
    assert Message(**kwargs).to_payload() == {key: next(iter(kwargs.values())), "TemplateModel": {}}


def test_unset_fields_are_left_out() -> None:
    assert Message().to_payload() == {}
    assert Message(headers={}, metadata={}, attachments=[]).to_payload() == {}


def test_attachments_serialise_with_base64_and_inline_content_id() -> None:
    message = Message()
    message.attach_binary(b"%PDF-1.4", "report.pdf")
    message.attach_binary(b"\x89PNG", "logo.png", content_id="logo")
    message.attach_binary(b"x", "data.bin2", content_type="application/x-thing", content_id="cid:a")
    assert message.to_payload()["Attachments"] == [
        {
            "Name": "report.pdf",
            "Content": base64.b64encode(b"%PDF-1.4").decode(),
            "ContentType": "application/pdf",
        },
        {
            "Name": "logo.png",
            "Content": base64.b64encode(b"\x89PNG").decode(),
            "ContentType": "image/png",
            "ContentID": "cid:logo",
        },
        {
            "Name": "data.bin2",
            "Content": "eA==",
            "ContentType": "application/x-thing",
            "ContentID": "cid:a",
        },
    ]


def test_unknown_extension_is_octet_stream() -> None:
    assert Attachment("blob.zzqq", b"1").content_type == "application/octet-stream"
    assert Attachment("noextension", b"1").content_type == "application/octet-stream"


def test_attach_file_reads_bytes_and_guesses_content_type(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    message = Message()
    attachment = message.attach_file(path)
    assert message.attachments == [attachment]
    assert attachment.name == "photo.jpg"
    assert attachment.content_type == "image/jpeg"
    assert attachment.data == b"\xff\xd8\xff"
    explicit = message.attach_file(str(path), content_type="application/x-raw", content_id="p")
    assert explicit.content_type == "application/x-raw"
    assert explicit.content_id == "cid:p"


@pytest.mark.parametrize(
    "name", ["/etc/dir/report.pdf", "..\\..\\report.pdf", "a/b\\report.pdf", "report.pdf"]
)
def test_attachment_name_is_reduced_to_basename(name: str) -> None:
    message = Message()
    assert message.attach_binary(b"1", name).name == "report.pdf"
    assert Attachment.from_dict({"Name": name, "Content": "MQ=="}).name == "report.pdf"


def test_attachment_from_dict_in_both_spellings() -> None:
    camel = Attachment.from_dict(
        {"Name": "a.txt", "Content": "aGk=", "ContentType": "text/plain", "ContentID": "cid:x"}
    )
    snake = Attachment.from_dict(
        {"name": "a.txt", "data": b"hi", "content_type": "text/plain", "content_id": "x"}
    )
    assert camel == snake
    assert camel.data == b"hi"
    assert snake.content == "aGk="
    assert camel.encoded_size == snake.encoded_size == 4
    assert "size=4" in repr(camel)
    with pytest.raises(MessageError, match="unknown key"):
        Attachment.from_dict({"Name": "a.txt", "Content": "aGk=", "Bogus": 1})
    with pytest.raises(MessageError, match="exactly one of data and content"):
        Attachment("a.txt")
    with pytest.raises(MessageError, match="data must be bytes"):
        Message().attach_binary("text, not bytes", "a.txt")  # type: ignore[arg-type]
    assert Attachment("a.txt", bytearray(b"hi")).content == "aGk="
    with pytest.raises(MessageError, match="name must be a string"):
        Attachment(b"a.txt", b"1")  # type: ignore[arg-type]
    assert (camel == "a.txt") is False


def test_add_header_appends_and_keeps_order() -> None:
    message = Message(headers={"X-First": "1"})
    message.add_header("X-Second", "2")
    message.add_header("X-First", "3")
    assert message.to_payload()["Headers"] == [
        {"Name": "X-First", "Value": "1"},
        {"Name": "X-Second", "Value": "2"},
        {"Name": "X-First", "Value": "3"},
    ]


def test_headers_dict_items_need_name_and_value() -> None:
    with pytest.raises(MessageError, match="headers"):
        Message(headers=[{"Name": "X-A"}])


# ---- building from kwargs and dicts ---------------------------------------------------

FULL_SNAKE: dict[str, Any] = {
    "sender": "Me <me@example.com>",
    "to": ["a@example.com", "B <b@example.com>"],
    "cc": "c@example.com",
    "bcc": "d@example.com",
    "reply_to": "r@example.com",
    "subject": "Subject",
    "tag": "tag",
    "html": "<p>Hi</p>",
    "text": "Hi",
    "headers": {"X-Thing": "1"},
    "metadata": {"k": "v"},
    "track_opens": True,
    "track_links": "HtmlOnly",
    "message_stream": "outbound",
    "attachments": [{"name": "a.txt", "data": b"hi"}],
}

FULL_CAMEL: dict[str, Any] = {
    "From": "Me <me@example.com>",
    "To": "a@example.com, B <b@example.com>",
    "Cc": "c@example.com",
    "Bcc": "d@example.com",
    "ReplyTo": "r@example.com",
    "Subject": "Subject",
    "Tag": "tag",
    "HtmlBody": "<p>Hi</p>",
    "TextBody": "Hi",
    "Headers": [{"Name": "X-Thing", "Value": "1"}],
    "Metadata": {"k": "v"},
    "TrackOpens": True,
    "TrackLinks": "HtmlOnly",
    "MessageStream": "outbound",
    "Attachments": [{"Name": "a.txt", "Content": "aGk=", "ContentType": "text/plain"}],
}


def test_kwargs_snake_dict_and_camel_dict_give_the_same_json() -> None:
    from_kwargs = Message(**FULL_SNAKE).to_payload()
    from_snake = Message.from_dict(FULL_SNAKE).to_payload()
    from_camel = Message.from_dict(FULL_CAMEL).to_payload()
    assert from_kwargs == from_snake == from_camel == FULL_CAMEL
    assert Message.load_message(FULL_CAMEL).to_payload() == FULL_CAMEL


def test_template_fields_from_camel_dict() -> None:
    camel = {
        "From": "me@example.com",
        "To": "you@example.com",
        "TemplateID": 5,
        "TemplateModel": {"x": 1},
        "InlineCss": True,
    }
    message = Message.from_dict(camel)
    assert message.template_id == 5
    assert message.to_payload() == {
        "From": "me@example.com",
        "To": "you@example.com",
        "TemplateId": 5,
        "TemplateModel": {"x": 1},
        "InlineCss": True,
    }
    assert Message.from_dict({"html_body": "<b/>", "text_body": "t"}).to_payload() == {
        "HtmlBody": "<b/>",
        "TextBody": "t",
    }


def test_from_dict_refuses_unknown_keys_and_non_dicts() -> None:
    with pytest.raises(MessageError) as caught:
        Message.from_dict({"sender": "me@example.com", "sendr": "x"})
    assert caught.value.field == "sendr"
    with pytest.raises(MessageError, match="expected a Message or a dict"):
        Message.from_dict(["sender"])  # type: ignore[arg-type]


def test_recipients_lists_addresses_without_display_names() -> None:
    message = Message(to='"Doe, J" <j@example.com>, k@example.com', cc=["C <c@example.com>"])
    message.bcc = "b@example.com"
    assert message.recipients == [
        "j@example.com",
        "k@example.com",
        "c@example.com",
        "b@example.com",
    ]


def test_equality_and_repr() -> None:
    assert Message(**MESSAGE) == Message.from_dict(MESSAGE)
    assert Message(**MESSAGE) != Message(**{**MESSAGE, "subject": "Other"})
    assert (Message() == 42) is False
    text = repr(Message(**MESSAGE, html="x" * 100))
    assert text.startswith("Message(sender='me@example.com'")
    assert "..." in text and "x" * 100 not in text


def test_verify_true_validates_on_construction() -> None:
    with pytest.raises(MessageError):
        Message(sender="me@example.com", to="you@example.com", verify=True)
    assert Message(**MESSAGE, verify=True).validate() is not None


def test_merged_with_combines_defaults() -> None:
    defaults = Message(
        sender="me@example.com",
        headers={"X-A": "default", "X-B": "b"},
        metadata={"app": "shop", "k": "default"},
        template_model={"company": "ACME"},
    )
    defaults.attach_binary(b"1", "logo.png")
    own = Message(
        to="you@example.com", headers={"x-a": "own"}, metadata={"k": "own"}, template_model={"n": 1}
    )
    own.attach_binary(b"2", "invoice.pdf")
    merged = own.merged_with(defaults)
    assert merged.sender == "me@example.com"
    assert merged.to == "you@example.com"
    assert merged.headers == [("X-B", "b"), ("x-a", "own")]
    assert merged.metadata == {"app": "shop", "k": "own"}
    assert merged.template_model == {"company": "ACME", "n": 1}
    assert [a.name for a in merged.attachments] == ["logo.png", "invoice.pdf"]
    # Neither input is changed.
    assert own.sender is None
    assert len(defaults.attachments) == 1


# ---- validation: each a MessageError (a ValueError) naming the field, before I/O ------


def _fails(message: Message | dict[str, Any], field: str, *, template: bool = False) -> None:
    """Assert send (or send_with_template) raises MessageError for ``field``, without I/O."""
    send = pystmark.send_with_template if template else pystmark.send
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses_lib.POST, API + "/email", json={})
        mock.add(responses_lib.POST, API + "/email/withTemplate", json={})
        with pytest.raises(MessageError) as caught:
            send(message, api_key=TOKEN)
        assert len(mock.calls) == 0
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, pystmark.PystmarkError)
    assert caught.value.field.startswith(field), (caught.value.field, field)
    assert str(caught.value).startswith(caught.value.field)


def msg(**changes: Any) -> dict[str, Any]:
    return {**MESSAGE, **changes}


def test_no_sender() -> None:
    _fails(msg(sender=None), "sender")
    _fails(msg(sender=""), "sender")


def test_no_recipient() -> None:
    _fails(msg(to=None), "to")
    _fails(msg(to=""), "to")
    _fails(msg(to=[]), "to")


def test_cc_or_bcc_alone_is_a_recipient(send_ok: Any) -> None:
    mock = send_ok()
    pystmark.send(msg(to=None, cc="c@example.com"), api_key=TOKEN)
    pystmark.send(msg(to=None, bcc=["b@example.com"]), api_key=TOKEN)
    assert len(mock.calls) == 2


def test_neither_body_nor_template() -> None:
    _fails(msg(text=None), "text")
    _fails(msg(text=""), "text")


def test_body_or_subject_with_template() -> None:
    base = {"sender": "me@example.com", "to": "you@example.com", "template_id": 7}
    _fails({**base, "html": "<b/>"}, "html", template=True)
    _fails({**base, "text": "hi"}, "text", template=True)
    _fails({**base, "subject": "Hi"}, "subject", template=True)


def test_both_template_id_and_alias() -> None:
    message = {
        "sender": "me@example.com",
        "to": "you@example.com",
        "template_id": 7,
        "template_alias": "welcome",
    }
    _fails(message, "template_id", template=True)


def test_send_of_template_message_and_send_with_template_of_body_message() -> None:
    _fails({"sender": "me@example.com", "to": "you@example.com", "template_id": 7}, "template_id")
    _fails(MESSAGE, "template_id", template=True)


def _addresses(count: int) -> list[str]:
    return [f'"Doe, Person {n}" <p{n}@example.com>' for n in range(count)]


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_51_recipients_refused_50_accepted(field: str, send_ok: Any) -> None:
    _fails(msg(**{field: _addresses(51)}), field)
    _fails(msg(**{field: ", ".join(_addresses(51))}), field)
    mock = send_ok()
    pystmark.send(msg(**{field: _addresses(50)}), api_key=TOKEN)
    pystmark.send(msg(**{field: ", ".join(_addresses(50))}), api_key=TOKEN)
    assert len(mock.calls) == 2
    # 50 in each field is fine: the limit is per field.
    pystmark.send(msg(to=_addresses(50), cc=_addresses(50), bcc=_addresses(50)), api_key=TOKEN)


def test_message_over_10_mb_after_base64(send_ok: Any) -> None:
    # 7.5 MiB raw is exactly 10 MiB of base64; attachment sizes are checked after base64.
    raw = 10 * 1024 * 1024 // 4 * 3
    too_big = Message(**MESSAGE)
    too_big.attach_binary(b"\0" * (raw + 3), "big.dat")
    _fails(too_big, "attachments")
    # Several attachments count together.
    split = Message(**MESSAGE)
    split.attach_binary(b"\0" * (raw // 2), "a.dat")
    split.attach_binary(b"\0" * (raw // 2 + 3), "b.dat")
    _fails(split, "attachments")
    # Attachments within the limit but a whole request over it.
    near = Message(**{**MESSAGE, "html": "x" * 10_000})
    near.attach_binary(b"\0" * (raw - 3000), "c.dat")
    _fails(near, "message")
    ok = Message(**MESSAGE)
    ok.attach_binary(b"\0" * (raw - 3000), "ok.dat")
    mock = send_ok()
    pystmark.send(ok, api_key=TOKEN)
    assert len(mock.calls) == 1


def test_body_over_5_mb() -> None:
    five = 5 * 1024 * 1024
    _fails(msg(text="x" * (five + 1)), "text")
    _fails(msg(html="x" * (five + 1)), "html")
    # Counted in UTF-8 bytes, not characters.
    _fails(msg(text="é" * (five // 2 + 1)), "text")
    Message(**msg(text="x" * five)).validate()
    Message(**msg(text="é" * (five // 2))).validate()


# Postmark's published list of refused attachment types (email API, "Attachments").
POSTMARK_FORBIDDEN = [
    "vbs",
    "exe",
    "bin",
    "bat",
    "chm",
    "com",
    "cpl",
    "crt",
    "hlp",
    "hta",
    "inf",
    "ins",
    "isp",
    "jse",
    "lnk",
    "mdb",
    "pcd",
    "pif",
    "reg",
    "scr",
    "sct",
    "shs",
    "vbe",
    "vba",
    "wsf",
    "wsh",
    "wsl",
    "msc",
    "msi",
    "msp",
    "mst",
]


@pytest.mark.parametrize(
    "name",
    [f"file.{extension}" for extension in POSTMARK_FORBIDDEN]
    + ["setup.EXE", "run.Bat", "a.tar.msi", "dir/evil.scr"],
)
def test_forbidden_extension(name: str) -> None:
    message = Message(**MESSAGE)
    with pytest.raises(MessageError, match="refuses"):
        message.attach_binary(b"MZ", name)  # refused at once, as pystmark 0.5 did
    assert message.attachments == []
    message.attachments.append(pystmark.Attachment(name, b"MZ"))
    _fails(message, "attachments")


def test_allowed_extensions_pass() -> None:
    message = Message(**MESSAGE)
    for name in ("a.pdf", "exe", "b.exe.txt", "c.zip"):
        message.attach_binary(b"1", name)
    message.validate()


BAD_CHARS = ["\r", "\n", "\x00", "a\r\nBcc: victim@example.com"]


@pytest.mark.parametrize("bad", BAD_CHARS)
@pytest.mark.parametrize(
    "field", ["sender", "to", "cc", "bcc", "reply_to", "subject", "tag", "message_stream"]
)
def test_control_characters_in_header_fields(field: str, bad: str) -> None:
    value = f"x{bad}@example.com" if field in ("sender", "to", "cc", "bcc", "reply_to") else bad
    _fails(msg(**{field: value}), field)


@pytest.mark.parametrize("bad", BAD_CHARS)
def test_control_characters_in_recipient_lists(bad: str) -> None:
    _fails(msg(to=["ok@example.com", f"x{bad}@example.com"]), "to")


@pytest.mark.parametrize("bad", BAD_CHARS)
def test_control_characters_in_headers(bad: str) -> None:
    _fails(msg(headers={"X-Ok": f"v{bad}"}), "headers")
    _fails(msg(headers={f"X-Bad{bad}": "v"}), "headers")
    message = Message(**MESSAGE)
    message.add_header("X-Later", bad)
    _fails(message, "headers")


@pytest.mark.parametrize("name", ["", "X A", "X:A", "Ü", "X-A\t"])
def test_invalid_header_names(name: str) -> None:
    _fails(msg(headers={name: "v"}), "headers")


def test_non_string_header_value() -> None:
    _fails(msg(headers={"X-A": 1}), "headers")


@pytest.mark.parametrize("bad", BAD_CHARS)
def test_control_characters_in_attachments(bad: str) -> None:
    for kwargs in (
        {"filename": f"a{bad}.txt"},
        {"filename": "a.txt", "content_type": f"text/plain{bad}"},
        {"filename": "a.txt", "content_id": f"img{bad}"},
    ):
        message = Message(**MESSAGE)
        with pytest.raises(MessageError, match="attachments"):
            message.attach_binary(b"1", **kwargs)
        message.attachments.append(
            pystmark.Attachment(
                kwargs["filename"], b"1", kwargs.get("content_type"), kwargs.get("content_id")
            )
        )
        _fails(message, "attachments")


def test_attachment_without_name() -> None:
    message = Message(**MESSAGE)
    with pytest.raises(MessageError, match="file name"):
        message.attach_binary(b"1", "dir/")
    message.attachments.append(pystmark.Attachment("dir/", b"1"))
    _fails(message, "attachments")


@pytest.mark.parametrize(
    "metadata", [{"n": 1}, {1: "x"}, {"k": None}, {"k": ["v"]}, ["k", "v"], "k=v"]
)
def test_metadata_must_be_str_to_str(metadata: Any) -> None:
    message = Message(**MESSAGE)
    message.metadata = metadata
    _fails(message, "metadata")


def test_tag_length() -> None:
    _fails(msg(tag="t" * 1001), "tag")
    Message(**msg(tag="t" * 1000)).validate()


def test_other_type_checks() -> None:
    _fails(msg(track_links="Sometimes"), "track_links")
    _fails(msg(track_opens="yes"), "track_opens")
    _fails(msg(text=b"bytes"), "text")
    _fails(msg(subject=5), "subject")
    template = {"sender": "me@example.com", "to": "you@example.com", "template_id": 1}
    _fails({**template, "inline_css": "no"}, "inline_css", template=True)
    _fails({**template, "template_id": "welcome"}, "template_id", template=True)
    _fails({**template, "template_id": True}, "template_id", template=True)
    bad_model = Message(**template)
    bad_model.template_model = ["not", "a", "dict"]  # type: ignore[assignment]
    _fails(bad_model, "template_model", template=True)
    _fails({**template, "template_model": {"when": object()}}, "template_model", template=True)
    _fails(msg(to=5), "to")


def test_send_with_template_requires_a_template() -> None:
    _fails({"sender": "me@example.com", "to": "you@example.com"}, "template_id", template=True)


def test_validation_is_done_before_the_token_is_looked_up() -> None:
    # No token configured anywhere: the message error still comes first.
    with pytest.raises(MessageError):
        pystmark.send(msg(sender=None))


def test_attachment_to_payload_and_bad_content() -> None:
    attachment = Attachment("a.txt", content="aGk=")
    assert attachment.to_payload() == {
        "Name": "a.txt",
        "Content": "aGk=",
        "ContentType": "text/plain",
    }
    bad = Attachment("a.txt", content=b"aGk=")  # type: ignore[arg-type]
    message = Message(**MESSAGE, attachments=[bad])
    _fails(message, "attachments")


def test_constructor_refuses_non_dict_metadata_and_template_model() -> None:
    with pytest.raises(MessageError) as caught:
        Message(metadata="k=v")  # type: ignore[arg-type]
    assert caught.value.field == "metadata"
    with pytest.raises(MessageError) as caught:
        Message(template_model=[("k", "v")])  # type: ignore[arg-type]
    assert caught.value.field == "template_model"


@pytest.mark.parametrize("headers", ["X-A: 1", [("X-A",)], ["X-A"], [("a", "b", "c")]])
def test_malformed_headers_argument(headers: Any) -> None:
    with pytest.raises(MessageError) as caught:
        Message(headers=headers)
    assert caught.value.field == "headers"
