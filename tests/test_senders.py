"""Senders (advanced API) and sending functions (simple API): requests and results."""

from __future__ import annotations

import json
from datetime import timezone
from typing import Any, ClassVar

import pytest
import responses as responses_lib
from responses import matchers

import pystmark
from pystmark import (
    BatchSender,
    BatchSendError,
    BatchTemplateSender,
    BulkSender,
    InactiveRecipientError,
    Message,
    MessageError,
    Sender,
    TemplateSender,
)
from tests.conftest import API, MESSAGE, TOKEN, ok_result, request_json

TEMPLATE_MESSAGE: dict[str, Any] = {
    "sender": "me@example.com",
    "to": "you@example.com",
    "template_alias": "welcome",
    "template_model": {"name": "Ann"},
}


def _token_header() -> Any:
    return matchers.header_matcher({"X-Postmark-Server-Token": TOKEN})


# ---- single sends ---------------------------------------------------------------------


@pytest.mark.parametrize("use_class", [False, True])
def test_send_posts_the_message(mocked: responses_lib.RequestsMock, use_class: bool) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email",
        json=ok_result(),
        match=[
            _token_header(),
            matchers.header_matcher(
                {"Accept": "application/json", "Content-Type": "application/json"}
            ),
        ],
    )
    if use_class:
        response = Sender(api_key=TOKEN).send(MESSAGE)
    else:
        response = pystmark.send(MESSAGE, api_key=TOKEN)
    assert request_json(mocked.calls[0]) == {
        "From": "me@example.com",
        "To": "you@example.com",
        "Subject": "Hi",
        "TextBody": "Hello",
    }
    assert response.status_code == 200
    assert response.message_id == "b7bc2f4a-e38e-4336-af7d-e6c392c2f000"
    assert response.to == "you@example.com"
    assert response.error_code == 0
    assert response.message == "OK"
    assert response.submitted_at is not None
    assert response.submitted_at.utcoffset() is not None
    assert response.submitted_at.astimezone(timezone.utc).hour == 15
    assert response.submitted_at.microsecond == 123456
    # pystmark 0.5 spellings
    assert response.message.id == response.message_id
    assert response.message.message_id == response.message_id
    assert response.message.to == "you@example.com"
    assert response.message.error_code == 0
    assert response.message.submitted_at == response.submitted_at
    assert response.message.message == "OK"
    assert response.raise_for_status() is response
    assert response.ok and response.json() == ok_result()
    assert response.headers["Content-Type"] == "application/json"
    assert response.inactive_recipients == []
    assert response.result.id == response.message_id
    assert repr(response) == "<SendResponse [200]>"


def test_send_accepts_a_message_object_and_kwargs_built_messages(
    mocked: responses_lib.RequestsMock,
) -> None:
    mocked.add(responses_lib.POST, API + "/email", json=ok_result())
    pystmark.send(Message(**MESSAGE), api_key=TOKEN)
    pystmark.send(
        {"From": "me@example.com", "To": "you@example.com", "HtmlBody": "<b/>"}, api_key=TOKEN
    )
    assert request_json(mocked.calls[1])["HtmlBody"] == "<b/>"


def test_accepted_send_with_inactive_recipients(mocked: responses_lib.RequestsMock) -> None:
    answer = ok_result() | {
        "Message": "Message OK, but will not deliver to these inactive addresses: "
        "x@example.com, y@example.com. Inactive recipients are ones that..."
    }
    mocked.add(responses_lib.POST, API + "/email", json=answer)
    response = pystmark.send(MESSAGE, api_key=TOKEN)
    assert response.inactive_recipients == ["x@example.com", "y@example.com"]


@pytest.mark.parametrize("use_class", [False, True])
def test_send_with_template(mocked: responses_lib.RequestsMock, use_class: bool) -> None:
    mocked.add(responses_lib.POST, API + "/email/withTemplate", json=ok_result())
    if use_class:
        TemplateSender(api_key=TOKEN).send(TEMPLATE_MESSAGE)
    else:
        pystmark.send_with_template(TEMPLATE_MESSAGE, api_key=TOKEN)
    assert request_json(mocked.calls[0]) == {
        "From": "me@example.com",
        "To": "you@example.com",
        "TemplateAlias": "welcome",
        "TemplateModel": {"name": "Ann"},
    }


# ---- default messages ------------------------------------------------------------------


def test_sender_default_message_is_merged(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(responses_lib.POST, API + "/email", json=ok_result())
    sender = Sender(
        message={"sender": "me@example.com", "tag": "default", "metadata": {"app": "shop"}},
        api_key=TOKEN,
    )
    sender.send({"to": "a@example.com", "text": "1", "tag": "own", "metadata": {"n": "1"}})
    sender.send(Message(to="b@example.com", html="2"))
    first, second = (request_json(call) for call in mocked.calls)
    assert first == {
        "From": "me@example.com",
        "To": "a@example.com",
        "Tag": "own",
        "TextBody": "1",
        "Metadata": {"app": "shop", "n": "1"},
    }
    assert second == {
        "From": "me@example.com",
        "To": "b@example.com",
        "Tag": "default",
        "HtmlBody": "2",
        "Metadata": {"app": "shop"},
    }
    # The defaults are not changed by sending.
    assert sender.message == Message(
        sender="me@example.com", tag="default", metadata={"app": "shop"}
    )


def test_default_message_may_be_a_message_and_is_copied(
    mocked: responses_lib.RequestsMock,
) -> None:
    mocked.add(responses_lib.POST, API + "/email", json=ok_result())
    defaults = Message(sender="me@example.com", subject="Default")
    sender = Sender(message=defaults, api_key=TOKEN)
    defaults.subject = "Changed later"
    sender.send({"to": "a@example.com", "text": "x"})
    assert request_json(mocked.calls[0])["Subject"] == "Default"


class ShopSender(Sender):
    message: ClassVar[dict[str, Any]] = {  # type: ignore[misc]
        "sender": "shop@example.com",
        "reply_to": "help@example.com",
    }


class ShopBatchSender(BatchSender):
    message: ClassVar[dict[str, Any]] = {"sender": "shop@example.com"}  # type: ignore[misc]


def test_subclass_defaults(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(responses_lib.POST, API + "/email", json=ok_result())
    mocked.add(responses_lib.POST, API + "/email/batch", json=[ok_result(), ok_result(1)])
    ShopSender(api_key=TOKEN).send({"to": "a@example.com", "text": "x"})
    assert request_json(mocked.calls[0]) == {
        "From": "shop@example.com",
        "To": "a@example.com",
        "ReplyTo": "help@example.com",
        "TextBody": "x",
    }
    # An explicit message= wins over the class attribute.
    ShopSender(message={"sender": "other@example.com"}, api_key=TOKEN).send(
        {"to": "a@example.com", "text": "x"}
    )
    assert request_json(mocked.calls[1])["From"] == "other@example.com"
    ShopBatchSender(api_key=TOKEN).send(
        [{"to": "a@example.com", "text": "1"}, {"to": "b@example.com", "text": "2"}]
    )
    assert [item["From"] for item in request_json(mocked.calls[2])] == ["shop@example.com"] * 2
    # The class attribute is not replaced by an instance's coerced copy.
    assert ShopSender.message == {"sender": "shop@example.com", "reply_to": "help@example.com"}


def test_simple_send_with_a_sender_keyword_merges_nothing_else(
    mocked: responses_lib.RequestsMock,
) -> None:
    mocked.add(responses_lib.POST, API + "/email", json=ok_result())
    ShopSender(api_key=TOKEN)
    pystmark.send({"to": "a@example.com", "text": "x"} | {"sender": "x@example.com"}, api_key=TOKEN)
    assert "ReplyTo" not in request_json(mocked.calls[0])


# ---- batches ------------------------------------------------------------------------


def _batch_callback(request: Any) -> tuple[int, dict[str, str], str]:
    """Answer a batch with one OK result per message, echoing each To."""
    body = json.loads(request.body)
    items = body["Messages"] if isinstance(body, dict) else body
    results = [ok_result(to=item["To"]) for item in items]
    return 200, {"Content-Type": "application/json"}, json.dumps(results)


def _messages(count: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"sender": "me@example.com", "to": f"r{n}@example.com", "text": "x", **extra}
        for n in range(count)
    ]


@pytest.mark.parametrize("use_class", [False, True])
def test_batch_posts_a_json_list(mocked: responses_lib.RequestsMock, use_class: bool) -> None:
    mocked.add_callback(responses_lib.POST, API + "/email/batch", callback=_batch_callback)
    messages = _messages(3)
    if use_class:
        response = BatchSender(api_key=TOKEN).send(messages)
    else:
        response = pystmark.send_batch(messages, api_key=TOKEN)
    assert len(mocked.calls) == 1
    body = request_json(mocked.calls[0])
    assert [item["To"] for item in body] == ["r0@example.com", "r1@example.com", "r2@example.com"]
    assert len(response) == 3
    assert [result.to for result in response] == [item["To"] for item in body]
    assert [result.index for result in response.results] == [0, 1, 2]
    assert response[1].to == "r1@example.com"
    assert response.messages == response.results
    assert response.failed == []
    assert response.raise_for_errors() is response
    assert response.raise_for_status() is response
    assert response.status_code == 200
    assert repr(response) == "<BatchSendResponse 3 messages, 0 failed>"


@pytest.mark.parametrize("use_class", [False, True])
def test_batch_with_templates_posts_messages_object(
    mocked: responses_lib.RequestsMock, use_class: bool
) -> None:
    mocked.add_callback(
        responses_lib.POST, API + "/email/batchWithTemplates", callback=_batch_callback
    )
    messages = [TEMPLATE_MESSAGE, {**TEMPLATE_MESSAGE, "to": "b@example.com"}]
    if use_class:
        response = BatchTemplateSender(api_key=TOKEN).send(messages)
    else:
        response = pystmark.send_batch_with_templates(messages, api_key=TOKEN)
    body = request_json(mocked.calls[0])
    assert list(body) == ["Messages"]
    assert [item["To"] for item in body["Messages"]] == ["you@example.com", "b@example.com"]
    assert body["Messages"][0]["TemplateAlias"] == "welcome"
    assert [result.to for result in response] == ["you@example.com", "b@example.com"]


def test_batch_of_1201_messages_takes_three_requests_in_order(
    mocked: responses_lib.RequestsMock,
) -> None:
    mocked.add_callback(responses_lib.POST, API + "/email/batch", callback=_batch_callback)
    response = pystmark.send_batch(_messages(1201), api_key=TOKEN)
    sizes = [len(request_json(call)) for call in mocked.calls]
    assert sizes == [500, 500, 201]
    assert len(response.responses) == 3
    assert [result.to for result in response] == [f"r{n}@example.com" for n in range(1201)]
    assert [result.index for result in response] == list(range(1201))


def test_batch_template_split_keeps_the_messages_object(
    mocked: responses_lib.RequestsMock,
) -> None:
    mocked.add_callback(
        responses_lib.POST, API + "/email/batchWithTemplates", callback=_batch_callback
    )
    messages = [{**TEMPLATE_MESSAGE, "to": f"t{n}@example.com"} for n in range(501)]
    response = pystmark.send_batch_with_templates(messages, api_key=TOKEN)
    assert [len(request_json(call)["Messages"]) for call in mocked.calls] == [500, 1]
    assert response[500].to == "t500@example.com"


def test_batch_is_split_by_50_mb(mocked: responses_lib.RequestsMock) -> None:
    mocked.add_callback(responses_lib.POST, API + "/email/batch", callback=_batch_callback)
    # Each message is about 6 MiB after base64: 8 fit in 50 MiB, not 9.
    messages = []
    for n in range(10):
        message = Message(sender="me@example.com", to=f"r{n}@example.com", text="x")
        message.attach_binary(b"\0" * (6 * 1024 * 1024 // 4 * 3), "f.dat")
        messages.append(message)
    response = pystmark.send_batch(messages, api_key=TOKEN)
    assert [len(request_json(call)) for call in mocked.calls] == [8, 2]
    assert all(len(call.request.body) <= 50 * 1024 * 1024 for call in mocked.calls)
    assert [result.to for result in response] == [f"r{n}@example.com" for n in range(10)]


@pytest.mark.parametrize(
    "call",
    [
        lambda: pystmark.send_batch([], api_key=TOKEN),
        lambda: BatchSender().send(api_key=TOKEN),
        lambda: pystmark.send_batch_with_templates(iter(()), api_key=TOKEN),
    ],
)
def test_empty_batch_is_an_error_and_makes_no_request(
    no_requests: responses_lib.RequestsMock, call: Any
) -> None:
    """As pystmark 0.5 did: an empty batch is a MessageError, not a silent no-op."""
    with pytest.raises(MessageError, match="No messages to send"):
        call()


def test_batch_validates_every_message_before_any_request(
    no_requests: responses_lib.RequestsMock,
) -> None:
    messages: list[dict[str, Any]] = _messages(600)
    messages[550]["sender"] = None
    with pytest.raises(MessageError) as caught:
        pystmark.send_batch(messages, api_key=TOKEN)
    assert caught.value.field == "sender"
    with pytest.raises(MessageError):
        pystmark.send_batch([TEMPLATE_MESSAGE], api_key=TOKEN)
    with pytest.raises(MessageError):
        pystmark.send_batch_with_templates(_messages(1), api_key=TOKEN)


def _partial_answer(request: Any) -> tuple[int, dict[str, str], str]:
    items = json.loads(request.body)
    results = []
    for item in items:
        if item["To"] == "inactive@example.com":
            results.append(
                {
                    "ErrorCode": 406,
                    "Message": "You tried to send to recipient(s) that have been marked as "
                    "inactive. Found inactive addresses: inactive@example.com. "
                    "Inactive recipients are ones that have generated a hard bounce.",
                }
            )
        elif item["To"] == "bad@example.invalid":  # well formed, but refused by Postmark
            results.append({"ErrorCode": 300, "Message": "Invalid 'To' address."})
        else:
            results.append(ok_result(to=item["To"]))
    return 200, {}, json.dumps(results)


def test_partially_failed_batch_does_not_raise(mocked: responses_lib.RequestsMock) -> None:
    mocked.add_callback(responses_lib.POST, API + "/email/batch", callback=_partial_answer)
    messages = _messages(4)
    messages[1]["to"] = "inactive@example.com"
    messages[3]["to"] = "bad@example.invalid"
    response = pystmark.send_batch(messages, api_key=TOKEN)
    assert [result.index for result in response.failed] == [1, 3]
    assert [result.ok for result in response] == [True, False, True, False]
    inactive, invalid = response.failed
    assert inactive.error_code == 406
    assert inactive.inactive_recipients == ["inactive@example.com"]
    assert isinstance(inactive.error, InactiveRecipientError)
    assert inactive.error.recipients == ["inactive@example.com"]
    assert isinstance(invalid.error, pystmark.InvalidEmailRequestError)
    assert response[0].error is None
    assert repr(response) == "<BatchSendResponse 4 messages, 2 failed>"
    with pytest.raises(BatchSendError) as caught:
        response.raise_for_errors()
    error = caught.value
    assert [result.index for result in error.failed] == [1, 3]
    assert len(error.results) == 4
    assert error.unsent == []
    assert "2 of 4" in str(error) and "message 1" in str(error)


def test_failing_later_chunk_raises_with_earlier_results(
    mocked: responses_lib.RequestsMock,
) -> None:
    answers = iter(
        [
            (200, {}, json.dumps([ok_result(n) for n in range(500)])),
            (401, {}, json.dumps({"ErrorCode": 10, "Message": "Bad token"})),
        ]
    )
    mocked.add_callback(responses_lib.POST, API + "/email/batch", callback=lambda r: next(answers))
    with pytest.raises(BatchSendError) as caught:
        pystmark.send_batch(_messages(700), api_key=TOKEN)
    error = caught.value
    assert len(error.results) == 500
    assert error.failed == []
    assert error.unsent == list(range(500, 700))
    assert isinstance(error.__cause__, pystmark.UnauthorizedError)
    assert "500 to 699" in str(error)


def test_later_chunk_with_unknown_outcome(mocked: responses_lib.RequestsMock) -> None:
    answers = iter(
        [
            (200, {}, json.dumps([ok_result(n) for n in range(500)])),
            (500, {}, json.dumps({"ErrorCode": 0, "Message": "boom"})),
        ]
    )
    mocked.add_callback(responses_lib.POST, API + "/email/batch", callback=lambda r: next(answers))
    with pytest.raises(BatchSendError) as caught:
        pystmark.send_batch(_messages(1100), api_key=TOKEN)
    # Messages 500..999 may have arrived; only those after are certainly unsent.
    assert caught.value.unsent == list(range(1000, 1100))
    assert isinstance(caught.value.__cause__, pystmark.SendOutcomeUnknownError)
    assert len(mocked.calls) == 2  # a send is never repeated


def test_first_chunk_failure_raises_the_api_error(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email/batch",
        status=422,
        json={"ErrorCode": 300, "Message": "Invalid request"},
    )
    with pytest.raises(pystmark.InvalidEmailRequestError):
        pystmark.send_batch(_messages(2), api_key=TOKEN)


@pytest.mark.parametrize("answer", [[ok_result()], {"Message": "OK"}])
def test_batch_answer_of_the_wrong_length(mocked: responses_lib.RequestsMock, answer: Any) -> None:
    mocked.add(responses_lib.POST, API + "/email/batch", json=answer)
    with pytest.raises(pystmark.UnexpectedResponseError) as caught:
        pystmark.send_batch(_messages(2), api_key=TOKEN)
    assert isinstance(caught.value, pystmark.SendOutcomeUnknownError)


# ---- bulk ---------------------------------------------------------------------------


@pytest.mark.parametrize("use_class", [False, True])
def test_send_bulk(mocked: responses_lib.RequestsMock, use_class: bool) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email/bulk",
        json={"ID": "f24af63c-533d-4b7a", "Status": "Accepted", "SubmittedAt": "2024-08-06T12:00Z"},
        match=[_token_header()],
    )
    content = {
        "sender": "me@example.com",
        "subject": "Hi {{name}}",
        "html": "<p>Hi {{name}}</p>",
        "message_stream": "broadcast",
    }
    recipients: list[Any] = [
        "a@example.com",
        {"to": "b@example.com", "template_model": {"name": "B"}, "metadata": {"k": "v"}},
        Message(to=["c@example.com"], cc="d@example.com", headers={"X-A": "1"}),
    ]
    if use_class:
        response = BulkSender(api_key=TOKEN).send(content, recipients)
    else:
        response = pystmark.send_bulk(content, recipients, api_key=TOKEN)
    assert request_json(mocked.calls[0]) == {
        "From": "me@example.com",
        "Subject": "Hi {{name}}",
        "HtmlBody": "<p>Hi {{name}}</p>",
        "MessageStream": "broadcast",
        "Messages": [
            {"To": "a@example.com"},
            {"To": "b@example.com", "Metadata": {"k": "v"}, "TemplateModel": {"name": "B"}},
            {
                "To": "c@example.com",
                "Cc": "d@example.com",
                "Headers": [{"Name": "X-A", "Value": "1"}],
            },
        ],
    }
    assert response.id == "f24af63c-533d-4b7a"
    assert response.status == "Accepted"
    assert response.submitted_at is not None and response.submitted_at.tzinfo is not None


def test_bulk_validation(no_requests: responses_lib.RequestsMock) -> None:
    content = {"sender": "me@example.com", "subject": "s", "text": "t"}
    with pytest.raises(MessageError, match="recipients"):
        pystmark.send_bulk(content, [], api_key=TOKEN)
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk({**content, "to": "a@example.com"}, ["b@example.com"], api_key=TOKEN)
    assert caught.value.field == "to"
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk(content, [{"to": "a@example.com", "subject": "x"}], api_key=TOKEN)
    assert caught.value.field == "subject"
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk(content, [{"metadata": {"k": "v"}}], api_key=TOKEN)
    assert caught.value.field == "to"
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk(content, ["bad\r\n@example.com"], api_key=TOKEN)
    assert caught.value.field == "to"
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk({**content, "text": None}, ["a@example.com"], api_key=TOKEN)
    assert caught.value.field == "text"


@pytest.mark.parametrize("use_class", [False, True])
def test_send_bulk_with_template(mocked: responses_lib.RequestsMock, use_class: bool) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email/bulk",
        json={"ID": "b-1", "Status": "Accepted", "SubmittedAt": "2024-08-06T12:00Z"},
        match=[_token_header()],
    )
    content = {
        "sender": "me@example.com",
        "template_alias": "newsletter",
        "template_model": {"issue": 12},
        "message_stream": "broadcast",
    }
    recipients: list[Any] = [
        {"to": "a@example.com", "template_model": {"name": "A"}},
        "b@example.com",
    ]
    if use_class:
        response = pystmark.BulkTemplateSender(api_key=TOKEN).send(content, recipients)
    else:
        response = pystmark.send_bulk_with_template(content, recipients, api_key=TOKEN)
    assert request_json(mocked.calls[0]) == {
        "From": "me@example.com",
        "MessageStream": "broadcast",
        "TemplateAlias": "newsletter",
        "TemplateModel": {"issue": 12},
        "Messages": [
            {"To": "a@example.com", "TemplateModel": {"name": "A"}},
            {"To": "b@example.com"},
        ],
    }
    assert response.id == "b-1"


def test_send_bulk_with_template_by_id_gets_an_empty_model(
    mocked: responses_lib.RequestsMock,
) -> None:
    mocked.add(responses_lib.POST, API + "/email/bulk", json={"ID": "b-2", "Status": "Accepted"})
    content = {"sender": "me@example.com", "template_id": 7}
    pystmark.send_bulk_with_template(content, ["a@example.com"], api_key=TOKEN)
    body = request_json(mocked.calls[0])
    assert (body["TemplateId"], body["TemplateModel"]) == (7, {})
    assert "Subject" not in body and "TextBody" not in body


def test_bulk_template_and_content_are_not_mixed(no_requests: responses_lib.RequestsMock) -> None:
    template = {"sender": "me@example.com", "template_alias": "newsletter"}
    content = {"sender": "me@example.com", "subject": "s", "text": "t"}
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk(template, ["a@example.com"], api_key=TOKEN)
    assert caught.value.field == "template_id"
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk_with_template(content, ["a@example.com"], api_key=TOKEN)
    assert caught.value.field == "template_id"
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk_with_template({**template, "text": "t"}, ["a@x.com"], api_key=TOKEN)
    assert caught.value.field == "text"


def test_bulk_recipients_must_be_a_list(no_requests: responses_lib.RequestsMock) -> None:
    content = {"sender": "me@example.com", "subject": "s", "text": "t"}
    for single in ("a@example.com", {"to": "a@example.com"}, Message(to="a@example.com")):
        with pytest.raises(MessageError) as caught:
            pystmark.send_bulk(content, single, api_key=TOKEN)  # type: ignore[arg-type]
        assert caught.value.field == "recipients"


@pytest.mark.parametrize("answer", [[ok_result()], "OK", None])
def test_send_answer_that_is_not_an_object(mocked: responses_lib.RequestsMock, answer: Any) -> None:
    mocked.add(responses_lib.POST, API + "/email", json=answer)
    with pytest.raises(pystmark.UnexpectedResponseError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert isinstance(caught.value, pystmark.SendOutcomeUnknownError)
    assert caught.value.status_code == 200


def test_bulk_over_50_mb(no_requests: responses_lib.RequestsMock) -> None:
    content = Message(sender="me@example.com", subject="s", text="t")
    recipients = [
        {"to": f"r{n}@example.com", "template_model": {"x": "y" * 100_000}} for n in range(600)
    ]
    with pytest.raises(MessageError) as caught:
        pystmark.send_bulk(content, recipients, api_key=TOKEN)
    assert caught.value.field == "message"


@pytest.mark.parametrize("use_class", [False, True])
def test_get_bulk_status(mocked: responses_lib.RequestsMock, use_class: bool) -> None:
    mocked.add(
        responses_lib.GET,
        API + "/email/bulk/a%2Fb",
        json={
            "Id": "a/b",
            "SubmittedAt": "2024-03-04T05:06:07Z",
            "TotalMessages": 100,
            "PercentageCompleted": 42.5,
            "Status": "Processing",
        },
        match=[_token_header()],
    )
    if use_class:
        response = BulkSender(api_key=TOKEN).get_status("a/b")
    else:
        response = pystmark.get_bulk_status("a/b", api_key=TOKEN)
    bulk = response.bulk
    assert bulk.id == "a/b"
    assert bulk.total_messages == 100
    assert bulk.percentage_completed == 42.5
    assert bulk.status == "Processing"
    assert bulk.submitted_at is not None and bulk.submitted_at.tzinfo == timezone.utc
    assert "Processing" in repr(bulk)
    assert bulk.to_dict()["total_messages"] == 100


# ---- sessions, close, context manager ----------------------------------------------


def test_context_manager_closes_pooled_connections(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(responses_lib.POST, API + "/email", json=ok_result())
    closed: list[bool] = []
    original = pystmark._POOL.close
    try:
        pystmark._POOL.close = lambda: closed.append(True)  # type: ignore[method-assign]
        with Sender(api_key=TOKEN) as sender:
            sender.send(MESSAGE)
        assert closed == [True]
    finally:
        pystmark._POOL.close = original  # type: ignore[method-assign]


def test_given_session_is_used_and_never_closed(mocked: responses_lib.RequestsMock) -> None:
    import requests

    mocked.add(responses_lib.POST, API + "/email", json=ok_result())

    class CountingSession(requests.Session):
        requests_made = 0
        closed = False

        def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            self.requests_made += 1
            return super().request(*args, **kwargs)

        def close(self) -> None:
            self.closed = True
            super().close()

    session = CountingSession()
    with Sender(api_key=TOKEN, session=session) as sender:
        sender.send(MESSAGE)
        pystmark.send(MESSAGE, api_key=TOKEN, session=session)
    assert session.requests_made == 2
    assert session.closed is False
