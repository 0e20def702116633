"""Security (docs/reliability.rst): tokens never leak, bad input never reaches the wire."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
import responses
from pytest_httpserver import HTTPServer

import pystmark
from tests import faults
from tests.faults import FAST, TOKEN, RawServer, assert_no_token

TOKEN_FORMS = [TOKEN, base64.b64encode(TOKEN.encode()).decode(), quote(TOKEN)]


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pystmark.close()
    yield
    pystmark.close()


@pytest.fixture
def no_io(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail the test if any request is attempted."""
    attempted: list[str] = []

    def request(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        attempted.append(url)
        raise AssertionError("network I/O attempted")

    monkeypatch.setattr(requests.Session, "request", request)
    return attempted


def message(**fields: Any) -> dict[str, Any]:
    return {**faults.message(), **fields}


# ---- 19: tokens requests would echo ------------------------------------------


@pytest.mark.parametrize("bad", [TOKEN + "\n", TOKEN + "\r\n", " " + TOKEN, TOKEN + "\x00"])
def test_token_with_control_characters_gives_our_error(bad: str, no_io: list[str]) -> None:
    with pytest.raises(pystmark.ConfigurationError) as caught:
        pystmark.send(message(), **{**FAST, "api_key": bad})
    assert_no_token(caught.value)
    assert "token" in str(caught.value)
    assert no_io == []


def test_token_that_is_not_latin_1_gives_our_error() -> None:
    secret = "tok-\u2603-SECRET"
    with RawServer(faults.answer()) as server, pytest.raises(pystmark.ConfigurationError) as caught:
        pystmark.send(message(), base_url=server.url, **{**FAST, "api_key": secret})
    assert_no_token(caught.value, secret)
    assert caught.value.__cause__ is None
    assert server.requests == []


def test_header_value_requests_refuses_is_not_echoed() -> None:
    secret = " " + TOKEN  # leading whitespace: requests' InvalidHeader would print it
    with RawServer(faults.answer()) as server, pytest.raises(pystmark.ConfigurationError) as caught:
        pystmark.send(message(), base_url=server.url, headers={"X-Secret": secret}, **FAST)
    assert_no_token(caught.value)
    assert caught.value.__cause__ is None
    assert server.requests == []


# ---- 20: repr, str and logs --------------------------------------------------


def test_repr_masks_tokens() -> None:
    sender = pystmark.Sender(api_key=TOKEN, account_api_key=TOKEN)
    for text in (repr(sender), str(sender)):
        for form in TOKEN_FORMS:
            assert form not in text
    assert "***" in repr(sender)


def test_debug_logs_never_hold_the_token(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_ordered_request("/email").respond_with_data("", status=503)
    httpserver.expect_ordered_request("/email").respond_with_json(faults.accepted())
    httpserver.expect_ordered_request("/email").respond_with_json(
        {"ErrorCode": 10, "Message": "Bad token"}, status=401
    )
    url = httpserver.url_for("").rstrip("/")
    with caplog.at_level(logging.DEBUG):
        pystmark.send(message(), base_url=url, **FAST)
        with pytest.raises(pystmark.UnauthorizedError) as caught:
            pystmark.send(message(), base_url=url, **FAST)
    assert_no_token(caught.value)
    assert any(record.name == "pystmark" for record in caplog.records)
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    for form in TOKEN_FORMS:
        assert form not in logged


@pytest.mark.parametrize(
    "handler", [faults.never_respond, faults.reset_after_request, faults.short_body]
)
def test_transport_errors_and_their_causes_never_hold_the_token(handler: faults.Handler) -> None:
    with RawServer(handler) as server:
        for call in (pystmark.send, pystmark.get_bulk_status):
            argument: Any = message() if call is pystmark.send else "b-1"
            with pytest.raises(pystmark.PystmarkError) as caught:
                call(argument, base_url=server.url, **FAST)
            assert_no_token(caught.value)
            # The token is masked in the kept requests.PreparedRequest too.
            for item in faults.chain(caught.value):
                request = getattr(item, "request", None)
                if request is not None:
                    assert request.headers.get(pystmark.SERVER_TOKEN_HEADER) in (None, "***")


# ---- 21, 22: header injection, refused before any I/O -------------------------

UNSAFE = ["\r", "\n", "\x00", "\r\nBcc: evil@example.com"]


def _field_cases() -> Iterator[tuple[str, Callable[[str], dict[str, Any]]]]:
    for name in ("sender", "to", "cc", "bcc", "reply_to", "subject", "tag", "message_stream"):
        yield name, lambda bad, name=name: message(**{name: f"x{bad}@example.com"})
    yield "to list", lambda bad: message(to=["a@example.com", f"b{bad}@example.com"])
    yield "header value", lambda bad: message(headers={"X-Tag": f"v{bad}"})
    yield "header name", lambda bad: message(headers={f"X{bad}Y": "v"})
    yield (
        "attachment name",
        lambda bad: message(attachments=[{"name": f"a{bad}.txt", "data": b"x"}]),
    )
    yield (
        "attachment content_type",
        lambda bad: message(
            attachments=[{"name": "a.txt", "data": b"x", "content_type": f"text/plain{bad}"}]
        ),
    )
    yield (
        "attachment content_id",
        lambda bad: message(attachments=[{"name": "a.png", "data": b"x", "content_id": f"i{bad}"}]),
    )


@pytest.mark.parametrize("bad", UNSAFE, ids=repr)
@pytest.mark.parametrize(("field", "build"), list(_field_cases()), ids=lambda v: str(v)[:24])
def test_header_injection_is_refused_before_io(
    field: str, build: Callable[[str], dict[str, Any]], bad: str, no_io: list[str]
) -> None:
    with pytest.raises(pystmark.MessageError):
        pystmark.send(build(bad), **FAST)
    assert no_io == []


@pytest.mark.parametrize("bad", UNSAFE, ids=repr)
def test_injection_in_an_http_header_option_is_refused_before_io(
    bad: str, no_io: list[str]
) -> None:
    with pytest.raises((pystmark.MessageError, pystmark.ConfigurationError)) as caught:
        pystmark.send(message(), headers={"X-Trace": f"t{bad}"}, **FAST)
    assert "t" + bad not in str(caught.value)
    assert no_io == []


@pytest.mark.parametrize("name", ["X Tag", "X:Tag", "X-T\u00e4g", "", "X\tT"])
def test_bad_header_names_are_refused(name: str, no_io: list[str]) -> None:
    with pytest.raises(pystmark.MessageError):
        pystmark.send(message(headers={name: "v"}), **FAST)
    with pytest.raises((pystmark.MessageError, pystmark.ConfigurationError)):
        pystmark.send(message(), headers={name: "v"}, **FAST)
    assert no_io == []


# ---- 24: ids in paths ----------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("bulk_id", ["1/activate", "../email", "a?b=c", "a#b", "%2e%2e"])
def test_ids_are_quoted_into_one_path_segment(bulk_id: str) -> None:
    responses.get(
        f"https://api.postmarkapp.com/email/bulk/{quote(bulk_id, safe='')}",
        json={"Id": bulk_id, "Status": "Sent"},
    )
    pystmark.get_bulk_status(bulk_id, api_key=TOKEN)
    assert len(responses.calls) == 1
    path = responses.calls[0].request.path_url
    assert path == "/email/bulk/" + quote(bulk_id, safe="")


@pytest.mark.parametrize("bulk_id", ["", ".", "..", "a\nb", "a\rb"])
def test_invalid_ids_are_refused_before_io(bulk_id: str, no_io: list[str]) -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.get_bulk_status(bulk_id, api_key=TOKEN)
    assert no_io == []


# ---- 26, G7: TLS stays on --------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": "http://api.postmarkapp.com"},
        {"base_url": "http://10.0.0.1"},
        {"verify": False},
        {"verify": False, "base_url": "https://example.com"},
        {"secure": False},
    ],
)
def test_insecure_settings_are_refused(options: dict[str, Any], no_io: list[str]) -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.send(message(), **{**FAST, **options})
    assert no_io == []


def test_verify_false_is_accepted_for_loopback(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/email").respond_with_json(faults.accepted())
    url = httpserver.url_for("").rstrip("/")
    response = pystmark.send(message(), base_url=url, verify=False, **FAST)
    assert response.error_code == 0
