"""What pystmark 0.5 code relied on keeps working (see docs/migration.rst).

Each test pins one restored 0.5 behaviour; ``tests/compat/run_05_suite.py``
runs 0.5.3's own suite against the module.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import responses as responses_lib

import pystmark
from pystmark import Message, MessageError
from tests.conftest import API, MESSAGE, TOKEN, ok_result

#: Every public name pystmark 0.5.3 defined at module level.
NAMES_05 = [
    "POSTMARK_API_URL", "POSTMARK_API_URL_SECURE", "POSTMARK_API_TEST_KEY",
    "MAX_RECIPIENTS_PER_MESSAGE", "MAX_BATCH_MESSAGES", "bounce_types", "send",
    "send_with_template", "send_batch", "send_batch_with_templates",
    "get_outbound_message_details", "get_delivery_stats", "get_bounces", "get_bounce",
    "get_bounce_dump", "get_bounce_tags", "activate_bounce", "Message", "BouncedMessage",
    "MessageConfirmation", "BounceTypeData", "Response", "SendResponse", "BatchSendResponse",
    "BatchTemplateSendResponse", "BouncesResponse", "BounceResponse", "BounceDumpResponse",
    "BounceTagsResponse", "OutboundMessageDetailsResponse", "DeliveryStatsResponse",
    "BounceActivateResponse", "Interface", "GetInterface", "Sender", "TemplateSender",
    "BatchSender", "BatchTemplateSender", "Bounces", "Bounce", "BounceDump", "BounceTags",
    "OutboundMessageDetails", "DeliveryStats", "BounceActivate", "PystmarkError",
    "MessageError", "BounceError", "ResponseError", "UnauthorizedError",
    "UnprocessableEntityError", "InternalServerError",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES_05)
def test_every_05_name_is_exported(name: str) -> None:
    assert name in pystmark.__all__
    assert getattr(pystmark, name) is not None


def test_05_constants_with_todays_values() -> None:
    # Postmark requires TLS today: 0.5's plain-http URL is https too.
    assert pystmark.POSTMARK_API_URL == "https://api.postmarkapp.com/"
    assert pystmark.POSTMARK_API_URL_SECURE == "https://api.postmarkapp.com/"
    assert pystmark.POSTMARK_API_TEST_KEY == "POSTMARK_API_TEST" == pystmark.TEST_API_KEY
    assert pystmark.MAX_RECIPIENTS_PER_MESSAGE == 50  # 0.5 had 20
    assert pystmark.MAX_BATCH_MESSAGES == 500
    assert pystmark.bounce_types["HardBounce"] == 1
    assert pystmark.bounce_types["InboundError"] == 100008
    assert issubclass(pystmark.Bounces, pystmark.GetInterface)


def test_interface_attributes_of_05() -> None:
    sender = pystmark.Sender(api_key=TOKEN, test=True)
    assert (sender.api_key, sender.test, sender.secure) == (TOKEN, True, True)
    sender.secure = False
    assert sender.secure is False
    with pytest.raises(pystmark.ConfigurationError, match="TLS"):
        sender.send(MESSAGE)


def test_message_error_with_one_argument() -> None:
    error = MessageError("Bad message")
    assert str(error) == "Bad message"
    assert error.field is None and error.problem == "Bad message"
    assert isinstance(error, ValueError)
    assert str(MessageError("to", "missing")) == "to: missing"


def test_message_equals_the_dict_it_was_built_from() -> None:
    camel = {"From": "me@example.com", "To": "you@example.com", "TextBody": "Hello"}
    assert Message(**MESSAGE) == MESSAGE
    assert Message.from_dict(camel) == camel
    assert Message(**MESSAGE) != {**MESSAGE, "subject": "Other"}
    assert Message(**MESSAGE) != {"no such field": 1}
    headers = [{"Name": "X-A", "Value": "1"}]
    assert Message(**MESSAGE, headers=headers) == {**MESSAGE, "headers": headers}


def test_load_message_takes_verify_and_defaults() -> None:
    with pytest.raises(MessageError):
        Message.load_message({"to": "you@example.com"}, verify=True)  # no body
    # verify() as in 0.5: the sender may come from a sender's defaults later.
    message = Message.load_message({"to": "you@example.com", "text": "hi"}, verify=True)
    assert message.data() == {"To": "you@example.com", "TextBody": "hi"}
    filled = Message.load_message({"To": "you@example.com"}, sender="me@example.com")
    assert filled.sender == "me@example.com"
    assert Message.load_message({"From": "a@example.com"}, sender="b@example.com").sender == (
        "a@example.com"
    )
    with pytest.raises(TypeError) as caught:  # as 0.5 raised for an unknown field
        Message.load_message({"dog": "me"})
    assert isinstance(caught.value, MessageError)


def test_load_from_merges_and_verifies() -> None:
    defaults = Message(sender="me@example.com", text="default")
    merged = Message(to="you@example.com").load_from(defaults, verify=True)
    assert (merged.sender, merged.to, merged.text) == (
        "me@example.com",
        "you@example.com",
        "default",
    )
    with pytest.raises(MessageError):
        Message(to="you@example.com").load_from(Message(sender="me@example.com"), verify=True)
    # Keyword fields fill in what both leave out, as 0.5's **kwargs did.
    extra = Message(to="you@example.com").load_from(defaults, tag="welcome", text="own")
    assert (extra.tag, extra.text) == ("welcome", "default")


def test_verify_needs_no_sender_but_a_send_does() -> None:
    message = Message(to="you@example.com", text="hi", verify=True)
    assert message.verify() is message
    with pytest.raises(MessageError, match="sender"):
        message.validate()


def test_headers_read_as_05_dicts_and_as_pairs() -> None:
    message = Message(to="you@example.com", text="hi", headers={"X-A": "1"})
    message.add_header("X-B", "2")
    assert message.headers == [{"Name": "X-A", "Value": "1"}, {"Name": "X-B", "Value": "2"}]
    assert message.headers == [("X-A", "1"), ("X-B", "2")]
    first = message.headers[0]
    assert (first["Name"], first["Value"], first.get("Value"), first.get("Other")) == (
        "X-A",
        "1",
        "1",
        None,
    )
    assert dict(first) == {"Name": "X-A", "Value": "1"}
    name, value = first
    assert (name, value) == ("X-A", "1")
    assert first != {"Name": "X-A", "Value": "2"}
    assert first != ("X-A", "2")
    with pytest.raises(KeyError):
        first["Other"]
    assert len({first, ("X-A", "1")}) == 1  # hashable like the pair


def test_attachments_read_as_05_dicts() -> None:
    message = Message(to="you@example.com", text="hi")
    message.attach_binary(b"PNG", "logo.png", content_id="cid:logo")
    message.attach_binary(b"%PDF", "report.pdf")
    inline, plain = message.attachments
    assert "ContentID" in inline and "ContentID" not in plain
    assert plain == {
        "Name": "report.pdf",
        "Content": base64.b64encode(b"%PDF").decode(),
        "ContentType": "application/pdf",
    }
    assert dict(inline) == {
        "Name": "logo.png",
        "Content": base64.b64encode(b"PNG").decode(),
        "ContentType": "image/png",
        "ContentID": "cid:logo",
    }
    assert plain["Content"] == plain.content
    assert (len(plain), len(inline)) == (3, 4)
    assert sorted(inline.items()) == sorted(dict(inline).items())
    assert plain != {**plain, "Name": "other.pdf"}
    with pytest.raises(KeyError):
        plain["ContentID"]
    assert isinstance(plain, pystmark.Attachment)  # the typed form stays
    assert plain.data == b"%PDF"


def test_recipients_read_as_strings() -> None:
    message = Message(to=["a@example.com", "b@example.com"], cc="c@example.com", bcc=None)
    assert message.to == "a@example.com, b@example.com"
    assert message.cc == "c@example.com"
    assert message.bcc is None
    message.bcc = ("d@example.com",)
    assert message.bcc == "d@example.com"
    assert message.data()["To"] == message.to


def test_attach_file_errors_are_message_errors(tmp_path: Path) -> None:
    message = Message(to="you@example.com", text="hi")
    with pytest.raises(MessageError) as caught:
        message.attach_file(tmp_path / "missing.pdf")
    assert isinstance(caught.value, OSError)  # 0.5 raised IOError here
    assert "No such file" in str(caught.value)
    assert isinstance(caught.value, pystmark.PystmarkError)
    with pytest.raises(MessageError, match="no file name"):
        message.attach_file(str(tmp_path) + "/")
    with pytest.raises(MessageError, match="refuses"):
        message.attach_binary(b"MZ", "setup.exe")
    assert message.attachments == []


def test_response_passes_through_requests_response(mocked: responses_lib.RequestsMock) -> None:
    mocked.post(API + "/email", json=ok_result(), headers={"X-Request-Id": "r1"})
    response = pystmark.send(MESSAGE, api_key=TOKEN)
    assert response.status_code == 200
    assert response.json() == ok_result()
    assert json.loads(response.text) == ok_result()
    assert json.loads(response.content) == ok_result()
    assert response.url == API + "/email"
    assert response.headers["X-Request-Id"] == "r1"


def test_batch_response_json_lists_every_answer(mocked: responses_lib.RequestsMock) -> None:
    mocked.post(API + "/email/batch", json=[ok_result(0), ok_result(1)])
    response = pystmark.send_batch([MESSAGE, MESSAGE], api_key=TOKEN)
    assert response.json() == [ok_result(0), ok_result(1)]
    assert response.status_code == 200


def _stats(entries: list[dict[str, Any]]) -> pystmark.DeliveryStatsResponse:
    with responses_lib.RequestsMock() as mocked:
        mocked.get(API + "/deliverystats", json={"InactiveMails": 1, "Bounces": entries})
        return pystmark.get_delivery_stats(api_key=TOKEN)


def test_delivery_stats_list_the_all_entry() -> None:
    stats = _stats(
        [
            {"Name": "All", "Count": 30},
            {"Type": "HardBounce", "Name": "Hard bounce", "Count": 26},
            {"Type": "Blocked", "Name": "ISP block", "Count": 4},
        ]
    )
    assert stats.total == 30
    assert len(stats.bounces) == 3
    assert stats.bounces["All"].count == 30
    assert stats.bounces["Blocked"].name == "ISP block"
    without_all = _stats([{"Type": "HardBounce", "Name": "Hard bounce", "Count": 2}])
    assert without_all.total == 2
    assert "All" not in without_all.bounces
