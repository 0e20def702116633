"""The JSON pystmark sends matches Postmark's published request schemas."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pystmark import Message, TrackLinks
from tests.contract import SWAGGER_DIR

SWAGGER = SWAGGER_DIR / "server.swagger.yaml"
if not SWAGGER.exists():  # pragma: no cover - the file lives outside the checkout
    pytest.skip("Postmark's swagger file is not available", allow_module_level=True)

DEFINITIONS: dict[str, Any] = yaml.safe_load(SWAGGER.read_text())["definitions"]

# Fields Postmark documents for every send but the swagger file lacks.
MISSING_FIELDS = {
    "Metadata": {"type": "object", "additionalProperties": {"type": "string"}},
    "MessageStream": {"type": "string"},
}


def _strict(name: str) -> dict[str, Any]:
    """A definition with the missing fields added and unknown keys refused."""
    schema = copy.deepcopy(DEFINITIONS[name])
    schema["properties"].update(MISSING_FIELDS)
    schema["additionalProperties"] = False
    return schema


def _schema(name: str) -> dict[str, Any]:
    definitions = copy.deepcopy(DEFINITIONS)
    definitions[name] = _strict(name)
    for item in ("MessageHeader", "Attachment"):
        definitions[item]["additionalProperties"] = False
    if name == "EmailWithTemplateRequest":
        # The file wrongly requires both TemplateId and TemplateAlias; Postmark
        # takes exactly one of them (each description says "Required if the
        # other is not specified").
        definitions[name]["required"] = ["TemplateModel", "To", "From"]
        definitions[name]["oneOf"] = [{"required": ["TemplateId"]}, {"required": ["TemplateAlias"]}]
    return {"$ref": f"#/definitions/{name}", "definitions": definitions}


# Validators are built once: building one over all of the file's definitions is slow.
SEND = jsonschema.Draft4Validator(_schema("SendEmailRequest"))
TEMPLATE = jsonschema.Draft4Validator(_schema("EmailWithTemplateRequest"))


def _valid(validator: jsonschema.Draft4Validator, message: Message) -> None:
    payload = json.loads(message._encode(template=True if validator is TEMPLATE else None))
    validator.validate(payload)


def test_the_strict_schema_refuses_unknown_keys() -> None:
    with pytest.raises(jsonschema.ValidationError):
        SEND.validate({"From": "a@example.com", "Bogus": 1})
    with pytest.raises(jsonschema.ValidationError):
        SEND.validate({"Headers": [{"Name": "a", "Value": "b", "X": 1}]})
    with pytest.raises(jsonschema.ValidationError):
        SEND.validate({"TrackLinks": "Always"})
    with pytest.raises(jsonschema.ValidationError):
        SEND.validate({"Metadata": {"a": 1}})


def _full() -> Message:
    message = Message(
        sender="Me <me@example.com>",
        to=["a@example.com", '"Doe, B" <b@example.com>'],
        cc="c@example.com",
        bcc="d@example.com",
        reply_to="r@example.com",
        subject="Subject",
        tag="tag",
        html='<img src="cid:logo">',
        text="Text",
        headers={"X-Thing": "1"},
        metadata={"order": "7"},
        track_opens=True,
        track_links=TrackLinks.HTML_ONLY,
        message_stream="outbound",
    )
    message.attach_binary(b"\x89PNG", "logo.png", content_id="logo")
    message.attach_binary(b"%PDF", "a.pdf")
    return message


@pytest.mark.parametrize(
    "message",
    [
        _full(),
        Message(sender="me@example.com", to="you@example.com", text="x"),
        Message(sender="me@example.com", cc=["c@example.com"], html="<p/>"),
        Message(sender="me@example.com", bcc="b@example.com", text="x", track_links="None"),
        Message(sender="me@example.com", to="t@example.com", text="x", track_opens=False),
    ],
)
def test_send_messages_match_send_email_request(message: Message) -> None:
    _valid(SEND, message)


@pytest.mark.parametrize(
    "message",
    [
        Message(
            sender="me@example.com",
            to="you@example.com",
            template_id=12,
            template_model={"name": "Ann"},
            inline_css=True,
            tag="t",
            metadata={"k": "v"},
            message_stream="outbound",
            headers={"X-A": "1"},
            track_links="HtmlAndText",
            track_opens=True,
        ),
        Message(
            sender="me@example.com",
            to="you@example.com",
            template_alias="welcome",
            template_model={"items": [1, 2, {"x": None}]},
        ),
        # No model given: pystmark sends an empty one, which Postmark requires.
        Message(sender="me@example.com", to="you@example.com", template_alias="welcome"),
    ],
)
def test_template_messages_match_email_with_template_request(message: Message) -> None:
    _valid(TEMPLATE, message)


def test_template_schema_refuses_both_and_neither_template_key() -> None:
    base = {"From": "a@example.com", "To": "b@example.com", "TemplateModel": {}}
    TEMPLATE.validate({**base, "TemplateId": 1})
    with pytest.raises(jsonschema.ValidationError):
        TEMPLATE.validate({**base, "TemplateId": 1, "TemplateAlias": "x"})
    with pytest.raises(jsonschema.ValidationError):
        TEMPLATE.validate(base)


# ---- round trip ---------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=20,
)
_address = st.builds(
    lambda user, name: f'"{name}" <{user}@example.com>' if name else f"{user}@example.com",
    # A dot-atom local part: no leading, trailing or doubled dots (those are refused).
    st.from_regex(r"[a-z][a-z0-9]{0,5}(\.[a-z0-9]{1,4})?", fullmatch=True),
    st.sampled_from(["", "Ann", "Doe, J", "Zoë"]),
)
_addresses = st.one_of(
    _address, st.lists(_address, min_size=1, max_size=4).map(lambda items: ", ".join(items))
)
_header_name = st.from_regex(r"X-[A-Za-z0-9-]{1,10}", fullmatch=True)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    message = Message(
        sender=draw(_address),
        to=draw(_addresses),
        cc=draw(st.none() | _addresses),
        bcc=draw(st.none() | _addresses),
        reply_to=draw(st.none() | _address),
        tag=draw(st.none() | _text),
        headers=draw(st.lists(st.tuples(_header_name, _text), max_size=3)),
        metadata=draw(st.dictionaries(_text, _text, max_size=3)),
        track_opens=draw(st.none() | st.booleans()),
        track_links=draw(st.none() | st.sampled_from(list(TrackLinks))),
        message_stream=draw(st.none() | st.sampled_from(["outbound", "broadcast"])),
    )
    if draw(st.booleans()):
        message.template_alias = draw(st.from_regex(r"[a-z]{1,10}", fullmatch=True))
        message.template_model = draw(st.dictionaries(_text, _text | st.integers(), max_size=3))
        message.inline_css = draw(st.none() | st.booleans())
    else:
        message.subject = draw(_text)
        message.text = draw(_text) + "."
        message.html = draw(st.none() | _text)
    for index in range(draw(st.integers(0, 2))):
        message.attach_binary(
            draw(st.binary(max_size=30)),
            f"file{index}.{draw(st.sampled_from(['txt', 'png', 'pdf', 'dat']))}",
            content_id=draw(st.none() | st.just(f"c{index}")),
        )
    return message


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(messages())
def test_round_trip_and_schema(message: Message) -> None:
    template = message.template_alias is not None
    encoded = message._encode(template=template)
    payload = json.loads(encoded)
    assert payload == json.loads(message.to_json())
    again = Message.from_dict(payload)
    assert json.loads(again._encode(template=template)) == payload
    (TEMPLATE if template else SEND).validate(payload)
