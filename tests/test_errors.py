"""Errors: the class for each status and ErrorCode, their fields, 0.5 names, no token leaks."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import pytest
import requests
import responses as responses_lib

import pystmark
from pystmark import (
    APIError,
    InactiveRecipientError,
    InternalServerError,
    InvalidEmailRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PystmarkError,
    RateLimitError,
    SenderSignatureError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnexpectedResponseError,
    UnprocessableEntityError,
)
from tests.conftest import API, MESSAGE, TOKEN

INACTIVE = (
    "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
    "addresses: a@example.com, b@example.com. Inactive recipients are ones that have "
    "generated a hard bounce, a spam complaint, or a manual suppression."
)

# (status, body, content type, expected class, expected error_code)
TABLE: list[tuple[int, Any, str, type[APIError], int | None]] = [
    (401, {"ErrorCode": 10, "Message": "No token"}, "json", UnauthorizedError, 10),
    (401, {"Message": "No token"}, "json", UnauthorizedError, None),
    (422, {"ErrorCode": 10, "Message": "Bad token"}, "json", UnauthorizedError, 10),
    (404, {"ErrorCode": 0, "Message": "Not found"}, "json", NotFoundError, 0),
    (413, {"ErrorCode": 0, "Message": "Too large"}, "json", PayloadTooLargeError, 0),
    (422, {"ErrorCode": 1234, "Message": "Other"}, "json", UnprocessableEntityError, 1234),
    (422, {"Message": "No code"}, "json", UnprocessableEntityError, None),
    (422, {"ErrorCode": "300", "Message": "Str code"}, "json", UnprocessableEntityError, None),
    (422, {"ErrorCode": 300, "Message": "Invalid"}, "json", InvalidEmailRequestError, 300),
    (422, {"ErrorCode": 400, "Message": "No sig"}, "json", SenderSignatureError, 400),
    (422, {"ErrorCode": 401, "Message": "Unconfirmed"}, "json", SenderSignatureError, 401),
    (422, {"ErrorCode": 406, "Message": INACTIVE}, "json", InactiveRecipientError, 406),
    (429, {"ErrorCode": 429, "Message": "Slow down"}, "json", RateLimitError, 429),
    (422, {"ErrorCode": 429, "Message": "Slow down"}, "json", RateLimitError, 429),
    (500, {"ErrorCode": 0, "Message": "Oops"}, "json", InternalServerError, 0),
    (500, "<html>Internal</html>", "html", InternalServerError, None),
    (503, {"ErrorCode": 100, "Message": "Maintenance"}, "json", ServiceUnavailableError, 100),
    (503, "", "html", ServiceUnavailableError, None),
    (422, {"ErrorCode": 100, "Message": "Maintenance"}, "json", ServiceUnavailableError, 100),
    (502, "<html><h1>502 Bad Gateway</h1></html>", "html", UnexpectedResponseError, None),
    (418, {"ErrorCode": 1, "Message": "Teapot"}, "json", UnexpectedResponseError, 1),
    (400, {"Message": "Bad"}, "json", UnexpectedResponseError, None),
    (200, "<html>proxy login</html>", "html", UnexpectedResponseError, None),
    (302, "", "html", UnexpectedResponseError, None),
]


def _register(mocked: responses_lib.RequestsMock, status: int, body: Any, kind: str) -> None:
    if kind == "json":
        mocked.add(responses_lib.POST, API + "/email", status=status, json=body)
        mocked.add(responses_lib.GET, API + "/email/bulk/x", status=status, json=body)
    else:
        for method, path in (("POST", "/email"), ("GET", "/email/bulk/x")):
            mocked.add(method, API + path, status=status, body=body, content_type="text/html")


@pytest.mark.parametrize(("status", "body", "kind", "expected", "code"), TABLE)
def test_error_class_for_status_and_error_code(
    mocked: responses_lib.RequestsMock,
    status: int,
    body: Any,
    kind: str,
    expected: type[APIError],
    code: int | None,
) -> None:
    _register(mocked, status, body, kind)
    for call in (
        lambda: pystmark.send(MESSAGE, api_key=TOKEN),
        lambda: pystmark.get_bulk_status("x", api_key=TOKEN, max_retries=0),
    ):
        with pytest.raises(expected) as caught:
            call()
        error = caught.value
        assert isinstance(error, PystmarkError)
        assert isinstance(error, requests.HTTPError)
        assert isinstance(error, pystmark.ResponseError)
        assert error.status_code == status
        assert error.error_code == code
        assert error.response is not None and error.response.status_code == status
        assert isinstance(error.message, str) and error.message
        if kind == "json" and isinstance(body.get("Message"), str):
            assert error.message == body["Message"]
            assert error.data == body
        text = str(error)
        assert "\n" not in text
        assert f"HTTP {status}" in text
        if code is not None:
            assert f"ErrorCode {code}" in text
        assert TOKEN not in text and TOKEN not in repr(error)


# ---- the ErrorCode map -------------------------------------------------------------

# The complete ErrorCode -> class map, pinned as it stood before the map became
# one table: runs of consecutive codes with one class (first, last, class name).
ERROR_CODE_MAP: list[tuple[int, int, str]] = [
    (10, 10, "UnauthorizedError"),
    (100, 100, "ServiceUnavailableError"),
    (300, 300, "InvalidEmailRequestError"),
    (400, 401, "SenderSignatureError"),
    (406, 406, "InactiveRecipientError"),
    (429, 429, "RateLimitError"),
    (500, 500, "SenderSignatureManagementError"),
    (501, 501, "SenderSignatureNotFoundError"),
    (502, 506, "SenderSignatureManagementError"),
    (507, 507, "SenderSignatureNotFoundError"),
    (510, 510, "DomainNotFoundError"),
    (511, 512, "DomainError"),
    (513, 513, "DomainNotFoundError"),
    (514, 516, "DomainError"),
    (520, 522, "SenderSignatureManagementError"),
    (600, 600, "ServerManagementError"),
    (601, 601, "ServerNotFoundError"),
    (602, 602, "ServerManagementError"),
    (603, 603, "ServerNameTakenError"),
    (604, 611, "ServerManagementError"),
    (701, 701, "MessageNotFoundError"),
    (702, 702, "InboundBypassError"),
    (703, 703, "InboundRetryError"),
    (800, 813, "InboundRuleError"),
    (900, 900, "StatsQueryError"),
    (1000, 1000, "BounceQueryError"),
    (1001, 1001, "BounceNotFoundError"),
    (1002, 1002, "BounceQueryError"),
    (1003, 1003, "BounceActivationError"),
    (1100, 1100, "TemplateError"),
    (1101, 1101, "TemplateNotFoundError"),
    (1102, 1131, "TemplateError"),
    (1221, 1225, "MessageStreamError"),
    (1226, 1226, "MessageStreamNotFoundError"),
    (1227, 1237, "MessageStreamError"),
    (1300, 1302, "DataRemovalError"),
]
EXPECTED_CODES = {
    code: name for first, last, name in ERROR_CODE_MAP for code in range(first, last + 1)
}


def test_error_code_map_is_complete_and_unchanged() -> None:
    mapped = {code: error.__name__ for code, error in pystmark._ERROR_CODE_ERRORS.items()}
    assert mapped == EXPECTED_CODES
    assert len(mapped) == 111


@pytest.mark.parametrize("code", sorted({*EXPECTED_CODES, 1, 99, 508, 517, 612, 1132, 1303}))
def test_every_error_code_gets_its_class(code: int) -> None:
    # What a user sees: a refused batch item's error, and _error_class for any 422.
    expected = EXPECTED_CODES.get(code, "UnprocessableEntityError")
    error = pystmark.SendResult({"ErrorCode": code, "Message": "refused"}).error
    assert type(error).__name__ == expected
    assert getattr(pystmark, expected) is type(error)  # every class is exported
    assert isinstance(error, APIError) and error.error_code == code
    if expected.endswith("NotFoundError"):
        assert isinstance(error, NotFoundError)
        assert isinstance(error, UnprocessableEntityError)


def test_error_code_table_has_one_reading() -> None:
    # A one-code row wins over a range; ranges do not overlap one another and no
    # code has two one-code rows, so the order of the table's rows cannot matter.
    rows = pystmark._ERROR_CODES
    ranges = sorted((first, last) for first, last, _ in rows if first < last)
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end < start
    singles = [first for first, last, _ in rows if first == last]
    assert len(singles) == len(set(singles))
    assert all(first <= last for first, last, _ in rows)
    for first, last, error in rows:
        assert issubclass(error, APIError)
        if first == last:  # a one-code row is never overridden
            assert pystmark._ERROR_CODE_ERRORS[first] is error


def test_inactive_recipients_are_parsed(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email",
        status=422,
        json={"ErrorCode": 406, "Message": INACTIVE},
    )
    with pytest.raises(InactiveRecipientError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert caught.value.recipients == ["a@example.com", "b@example.com"]
    assert InactiveRecipientError("no list here", error_code=406).recipients == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Found inactive addresses: a@example.com", ["a@example.com"]),
        ("Found inactive addresses: a.b@example.co.uk.", ["a.b@example.co.uk"]),
        (
            "Found inactive addresses: a@example.com, b@example.com. More.",
            ["a@example.com", "b@example.com"],
        ),
        (
            "Found inactive addresses: a@example.com,\nb@example.com.\n",
            ["a@example.com", "b@example.com"],
        ),
        ("Nothing to see", []),
    ],
)
def test_inactive_address_parsing(text: str, expected: list[str]) -> None:
    assert InactiveRecipientError(text, error_code=406).recipients == expected


def test_html_error_page_message_is_readable(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email",
        status=502,
        body="<html>\n<h1>502 Bad Gateway</h1>\n</html>",
        content_type="text/html; charset=utf-8",
    )
    with pytest.raises(UnexpectedResponseError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert str(caught.value).startswith("HTTP 502 Bad Gateway (text/html)")
    assert caught.value.data is None
    # A send answered by 502 may have been delivered.
    assert isinstance(caught.value, pystmark.SendOutcomeUnknownError)
    assert "not sent again" in str(caught.value)


def test_500_on_a_send_leaves_the_outcome_unknown(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(
        responses_lib.POST, API + "/email", status=500, json={"ErrorCode": 0, "Message": "Oops"}
    )
    with pytest.raises(InternalServerError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert isinstance(caught.value, pystmark.SendOutcomeUnknownError)
    assert len(mocked.calls) == 1


def test_non_json_200_answer(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(responses_lib.POST, API + "/email", body="not json", content_type="text/plain")
    with pytest.raises(UnexpectedResponseError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert caught.value.status_code == 200
    assert "not valid JSON" in str(caught.value)


def test_retryable_flags() -> None:
    assert RateLimitError("x").retryable
    assert ServiceUnavailableError("x").retryable
    assert not InternalServerError("x").retryable
    assert not UnauthorizedError("x").retryable


def test_str_of_error_without_status_or_code() -> None:
    assert str(APIError("plain")) == "plain"
    assert str(APIError("m", status_code=422, error_code=300)) == "[ErrorCode 300] m (HTTP 422)"


def test_message_error_names_field() -> None:
    error = pystmark.MessageError("to", "needs a recipient")
    assert error.field == "to"
    assert error.problem == "needs a recipient"
    assert str(error) == "to: needs a recipient"
    assert isinstance(error, ValueError)


def test_hierarchy() -> None:
    for cls in (
        pystmark.MessageError,
        pystmark.ConfigurationError,
        pystmark.DataError,
        pystmark.BatchSendError,
        pystmark.SendOutcomeUnknownError,
        pystmark.TransportError,
        APIError,
    ):
        assert issubclass(cls, PystmarkError)
    for cls in (pystmark.MessageError, pystmark.ConfigurationError, pystmark.DataError):
        assert issubclass(cls, ValueError)
    for cls in (UnauthorizedError, InactiveRecipientError, UnexpectedResponseError):
        assert issubclass(cls, requests.HTTPError)
    for cls in (InvalidEmailRequestError, SenderSignatureError, InactiveRecipientError):
        assert issubclass(cls, UnprocessableEntityError)
    assert issubclass(InternalServerError, pystmark.ServerError)
    assert issubclass(ServiceUnavailableError, pystmark.ServerError)


def test_pystmark_0_5_names_are_importable() -> None:
    from pystmark import (  # noqa: F401
        BatchSender,
        BatchTemplateSender,
        InternalServerError,
        Message,
        MessageError,
        PystmarkError,
        ResponseError,
        Sender,
        TemplateSender,
        UnauthorizedError,
        UnprocessableEntityError,
        send,
        send_batch,
        send_batch_with_templates,
        send_with_template,
    )

    assert ResponseError is APIError
    assert callable(pystmark.Response.raise_for_status)
    for name in pystmark.__all__:
        assert hasattr(pystmark, name), name


# ---- the token never appears in text ------------------------------------------------


def test_token_not_in_any_repr_or_str() -> None:
    sender = pystmark.Sender(api_key=TOKEN, account_api_key="account-secret-77")
    for interface in (
        sender,
        pystmark.BatchSender(api_key=TOKEN),
        pystmark.Interface(api_key=TOKEN),
    ):
        text = repr(interface) + str(interface)
        assert TOKEN not in text
        assert "account-secret-77" not in text
    assert "api_key='***'" in repr(sender)
    assert "api_key=None" in repr(pystmark.Sender(api_key=None))


def test_token_not_in_logs(
    mocked: responses_lib.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email",
        json={"MessageID": "1", "ErrorCode": 0, "Message": "OK"},
    )
    mocked.add(
        responses_lib.POST,
        API + "/email/batch",
        status=401,
        json={"ErrorCode": 10, "Message": "Bad or missing server token."},
    )
    caplog.set_level(logging.DEBUG)
    pystmark.send(MESSAGE, api_key=TOKEN)
    with pytest.raises(UnauthorizedError) as caught:
        pystmark.send_batch([MESSAGE], api_key=TOKEN)
    assert any("POST /email" in record.getMessage() for record in caplog.records)
    assert any("failed" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    assert TOKEN not in caplog.text
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_token_not_in_transport_errors(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(responses_lib.POST, API + "/email", body=requests.ConnectionError("reset"))
    with pytest.raises(PystmarkError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_error_json_body_is_kept(mocked: responses_lib.RequestsMock) -> None:
    body = {"ErrorCode": 300, "Message": "Invalid", "Extra": [1]}
    mocked.add(responses_lib.POST, API + "/email", status=422, body=json.dumps(body))
    with pytest.raises(InvalidEmailRequestError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert caught.value.data == body


def test_str_is_one_line_even_when_postmark_writes_several(
    mocked: responses_lib.RequestsMock,
) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email",
        status=422,
        json={"ErrorCode": 300, "Message": "Invalid 'To'.\r\nSee the docs.\n"},
    )
    with pytest.raises(InvalidEmailRequestError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert str(caught.value) == "[ErrorCode 300] Invalid 'To'. See the docs. (HTTP 422)"
    # The original text stays available.
    assert caught.value.message == "Invalid 'To'.\r\nSee the docs.\n"
