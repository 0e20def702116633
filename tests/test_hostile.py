"""Hostile input (issue 15): bounded reads, one error family, webhooks, settings.

Every byte from outside is treated as hostile: a server's status line,
headers and body, a webhook post and its WSGI environ, an inbound mail's
fields, and the user's own message fields and settings. Each case ends in a
typed ``PystmarkError`` (or a 4xx for a webhook), never anything else.
"""

from __future__ import annotations

import copy
import email
import email.policy
import gzip
import io
import json
import pickle
import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests
import requests.adapters
import responses

import pystmark
from tests import faults
from tests.conftest import API, MESSAGE, TOKEN, ok_result
from tests.faults import RawServer

pytestmark = pytest.mark.timeout(30)


def answering(head: bytes, body: bytes = b"") -> faults.Handler:
    """Read each request, write ``head`` + ``body`` as they are, then close."""

    def handler(server: RawServer, conn: socket.socket) -> None:
        if server.read(conn) is not None:
            conn.sendall(head + body)
            conn.shutdown(socket.SHUT_WR)
            server.wait(0.2)

    return handler


def json_head(status: int = 200, extra: str = "", length: int | None = 0) -> bytes:
    lines = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\n"
    if length is not None:
        lines += f"Content-Length: {length}\r\n"
    return (lines + extra + "\r\n").encode("utf-8")  # a server may send any bytes


OPTIONS = {**faults.FAST, "max_retries": 0}


def send(server: RawServer, **options: Any) -> Any:
    return pystmark.send(faults.message(), base_url=server.url, **{**OPTIONS, **options})


def read(server: RawServer, **options: Any) -> Any:
    return pystmark.get_server(base_url=server.url, **{**OPTIONS, **options})


# ---- bounded reads ------------------------------------------------------------


def test_default_limit_fits_postmark_largest_answers() -> None:
    # A 10 MB message's source, every byte JSON-escaped to six, still fits.
    assert pystmark.DEFAULT_MAX_RESPONSE_BYTES >= 6 * pystmark.MAX_MESSAGE_BYTES
    assert "max_response_bytes" in pystmark.Options.__annotations__


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "100", float("nan")])
def test_max_response_bytes_must_be_a_positive_integer(value: Any, no_requests: Any) -> None:
    with pytest.raises(pystmark.ConfigurationError, match="max_response_bytes"):
        pystmark.get_server(api_key=TOKEN, max_response_bytes=value)


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_refused(mocked: Any) -> None:
    body = json.dumps({"Name": "x" * 100}).encode()
    mocked.add(responses.GET, API + "/server", body=body)
    assert pystmark.get_server(api_key=TOKEN, max_response_bytes=len(body)).data["Name"]
    with pytest.raises(pystmark.UnexpectedResponseError, match="max_response_bytes") as caught:
        pystmark.get_server(api_key=TOKEN, max_response_bytes=len(body) - 1)
    assert not isinstance(caught.value, pystmark.SendOutcomeUnknownError)
    assert caught.value.attempts == 1  # the same request would get the same answer


def test_a_send_answered_over_the_limit_has_an_unknown_outcome(mocked: Any) -> None:
    mocked.add(responses.POST, API + "/email", json=ok_result())
    with pytest.raises(pystmark.SendOutcomeUnknownError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN, max_response_bytes=10)
    assert isinstance(caught.value, pystmark.UnexpectedResponseError)
    assert len(mocked.calls) == 1


def test_a_gzip_bomb_is_refused_at_the_limit(raw: Callable[..., RawServer]) -> None:
    # 64 MiB of zeros compress to about 64 KiB.
    bomb = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)
    head = json_head(extra="Content-Encoding: gzip\r\n", length=len(bomb))
    server = raw(answering(head, bomb))
    with pytest.raises(pystmark.UnexpectedResponseError, match="max_response_bytes"):
        read(server, max_response_bytes=1024 * 1024)
    with pytest.raises(pystmark.SendOutcomeUnknownError):
        send(server, max_response_bytes=1024 * 1024)
    assert len(faults.bodies(server.requests)) == 1


def test_a_compressed_answer_within_the_limit_is_decoded(raw: Callable[..., RawServer]) -> None:
    body = gzip.compress(json.dumps(faults.accepted()).encode())
    server = raw(answering(json_head(extra="Content-Encoding: gzip\r\n", length=len(body)), body))
    assert send(server).message_id


def test_an_announced_length_over_the_limit_is_refused_before_reading(
    raw: Callable[..., RawServer],
) -> None:
    # Announces 1 GB and sends nothing more: the read never waits for it.
    server = raw(answering(json_head(length=10**9), b"{"))
    with pytest.raises(pystmark.UnexpectedResponseError, match="max_response_bytes"):
        read(server)


def test_a_chunked_body_over_the_limit_is_refused(raw: Callable[..., RawServer]) -> None:
    chunk = b"x" * 4096
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 64 + b"0\r\n\r\n"
    server = raw(answering(json_head(extra="Transfer-Encoding: chunked\r\n", length=None), body))
    with pytest.raises(pystmark.UnexpectedResponseError, match="max_response_bytes"):
        read(server, max_response_bytes=100_000)


def test_a_chunked_body_over_the_limit_is_refused_whatever_length_it_announces(
    raw: Callable[..., RawServer],
) -> None:
    # Transfer-Encoding wins over Content-Length: the small length announced
    # bounds nothing, so the body is still read in steps and counted.
    chunk = b"x" * 4096
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 64 + b"0\r\n\r\n"
    head = json_head(extra="Transfer-Encoding: chunked\r\n", length=2)
    server = raw(answering(head, body))
    with pytest.raises(pystmark.UnexpectedResponseError, match="max_response_bytes"):
        read(server, max_response_bytes=100_000)


# ---- one error family ------------------------------------------------------------


@pytest.mark.parametrize("status", [501, 505, 507, 520, 521, 522, 523, 524, 526, 599, 600, 999])
def test_every_5xx_but_503_leaves_a_send_unknown_and_is_sent_once(
    status: int, raw: Callable[..., RawServer]
) -> None:
    page = b"<html>proxy error</html>"
    server = raw(answering(json_head(status, length=len(page)), page))
    with pytest.raises(pystmark.SendOutcomeUnknownError) as caught:
        send(server, max_retries=2)
    assert isinstance(caught.value, pystmark.APIError)
    assert len(faults.bodies(server.requests)) == 1
    faults.assert_no_token(caught.value)


def test_a_read_answered_by_a_proxy_52x_is_retried(raw: Callable[..., RawServer]) -> None:
    server = raw(answering(json_head(522)))
    with pytest.raises(pystmark.UnexpectedResponseError) as caught:
        read(server, max_retries=1)
    assert not isinstance(caught.value, pystmark.SendOutcomeUnknownError)
    assert len(server.requests) == 2


BROKEN_ANSWERS = {
    "conflicting lengths": json_head(extra="Content-Length: 5\r\n", length=7) + b"{}",
    "malformed status line": b"HTTP/1.1 OK\r\n\r\n",
    "not HTTP": b"SSH-2.0-OpenSSH\r\n\r\n",
    "header without colon": b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}",
    "too many headers": b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 150 + b"\r\n",
    "header line too long": b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 70_000 + b"\r\n\r\n",
    "body cut short": json_head(length=100) + b'{"ErrorCode": 0',
    "bad chunk size": json_head(extra="Transfer-Encoding: chunked\r\n", length=None) + b"zz\r\n",
    "truncated gzip": json_head(extra="Content-Encoding: gzip\r\n", length=10) + b"\x1f\x8b" * 5,
    "not json": json_head(length=5) + b"hello",
    "deep json": json_head(length=200_000) + b"[" * 100_000 + b"]" * 100_000,
    "huge integer": json_head(length=20_000) + b"1" * 20_000,
    "latin-1 reason": b"HTTP/1.1 500 \xff\xfe\r\nContent-Length: 0\r\n\r\n",
}


@pytest.mark.parametrize("answer", BROKEN_ANSWERS.values(), ids=list(BROKEN_ANSWERS))
def test_a_broken_answer_after_a_send_is_an_unknown_outcome(
    answer: bytes, raw: Callable[..., RawServer]
) -> None:
    server = raw(answering(answer))
    with pytest.raises(pystmark.PystmarkError) as caught:
        send(server)
    error = caught.value
    assert isinstance(error, pystmark.SendOutcomeUnknownError), repr(error)
    assert not isinstance(error, pystmark.ConfigurationError)
    assert len(faults.bodies(server.requests)) == 1
    faults.assert_no_token(error)
    with pytest.raises(pystmark.PystmarkError) as caught_read:
        read(server)
    assert not isinstance(caught_read.value, pystmark.ConfigurationError)


def test_a_hook_that_raises_gives_a_typed_error(mocked: Any) -> None:
    mocked.add(responses.POST, API + "/email", json=ok_result())

    def hook(response: requests.Response, **kwargs: Any) -> None:
        raise RuntimeError("a hook's own bug")

    with pytest.raises(pystmark.SendOutcomeUnknownError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN, hooks={"response": [hook]})
    assert isinstance(caught.value.__cause__, RuntimeError)
    mocked.add(responses.GET, API + "/server", json={})
    with pytest.raises(pystmark.TransportError):
        pystmark.get_server(api_key=TOKEN, hooks={"response": [hook]})


@pytest.mark.parametrize(
    "value", ["", "abc", "-5", "1e9", "9" * 400, "Wed, 32 Foo 2020 99:99:99 GMT", "\x00", "١٢"]
)
def test_any_retry_after_is_read_without_error(value: str, raw: Callable[..., RawServer]) -> None:
    server = raw(answering(json_head(429, extra=f"Retry-After: {value}\r\n")))
    with pytest.raises(pystmark.RateLimitError):
        read(server)


# ---- reading answers through public hooks only ----------------------------------------


def test_a_kept_response_reads_its_body_after_the_bounded_read(
    raw: Callable[..., RawServer],
) -> None:
    result = faults.accepted()
    body = gzip.compress(json.dumps(result).encode())
    head = json_head(extra="Content-Encoding: gzip\r\n", length=len(body))
    server = raw(answering(head, body))
    response = send(server)
    kept = response.http_response
    assert kept.json() == result
    assert json.loads(kept.text) == result
    assert json.loads(kept.content) == json.loads(response.content) == result
    assert b"".join(kept.iter_content(7)) == kept.content
    for copied in (pickle.loads(pickle.dumps(kept)), copy.copy(kept), copy.deepcopy(kept)):
        assert copied.json() == result
    kept.close()  # what a user may do with it: nothing to release twice
    assert kept.json() == result


def test_the_connection_goes_back_to_the_pool_after_each_read(
    raw: Callable[..., RawServer],
) -> None:
    server = raw(faults.answer(body=b'{"Name": "pooled"}'))
    for _ in range(3):
        assert read(server).data == {"Name": "pooled"}
    assert len(server.requests) == 3
    assert server.accepted == 1  # one connection, reused


@pytest.mark.parametrize("reader", ["content", "json", "text"])
def test_a_response_hook_that_reads_the_body_leaves_it_to_pystmark(
    reader: str, raw: Callable[..., RawServer]
) -> None:
    result = faults.accepted()
    server = raw(faults.answer(body=json.dumps(result).encode()))
    read_by_hook: list[Any] = []

    def hook(response: requests.Response, **kwargs: Any) -> None:
        value = getattr(response, reader)
        read_by_hook.append(value() if callable(value) else value)

    response = send(server, hooks={"response": [hook]})
    assert response.message_id == result["MessageID"]
    assert response.http_response.json() == result
    assert len(read_by_hook) == 1


class FileAdapter(requests.adapters.BaseAdapter):
    """An adapter answering with a file-like ``raw`` (no urllib3 response), as requests allows."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code = 200
        response.raw = io.BytesIO(self.body)
        response.request, response.url = request, request.url or ""
        return response

    def close(self) -> None:
        """Nothing to close."""


def test_a_file_like_raw_body_is_read_bounded(no_requests: Any) -> None:
    body = json.dumps({"Name": "x" * 100}).encode()
    with requests.Session() as session:
        session.mount("https://", FileAdapter(body))
        response = pystmark.get_server(api_key=TOKEN, session=session)
        assert response.data["Name"] == "x" * 100
        assert response.http_response.json() == response.data
        with pytest.raises(pystmark.UnexpectedResponseError, match="max_response_bytes"):
            pystmark.get_server(api_key=TOKEN, session=session, max_response_bytes=50)


MALFORMED_HEADERS = {
    # http.client stops reading headers at the bad line: the length after it is lost.
    "a line without a colon before the length": b"no colon here\r\n",
    "a line without a colon after the length": b"",
    "a name with a space": b"X A: 1\r\n",
    "a name that is empty": b": 1\r\n",
    "the first line a continuation": b" X-A: 1\r\n",
}


@pytest.mark.parametrize("bad_line", MALFORMED_HEADERS.values(), ids=list(MALFORMED_HEADERS))
def test_an_answer_with_a_malformed_header_block_is_refused(
    bad_line: bytes, raw: Callable[..., RawServer]
) -> None:
    body = json.dumps(faults.accepted()).encode()
    head = b"HTTP/1.1 200 OK\r\n" + bad_line + b"Content-Length: %d\r\n" % len(body)
    if not bad_line:
        head += b"no colon here\r\n"
    server = raw(answering(head + b"Connection: close\r\n\r\n", body))
    with pytest.raises(pystmark.SendOutcomeUnknownError, match="malformed header") as caught:
        send(server, max_retries=2)
    assert isinstance(caught.value, pystmark.UnexpectedResponseError)
    assert caught.value.status_code == 200
    assert len(faults.bodies(server.requests)) == 1
    before = len(server.requests)
    with pytest.raises(pystmark.UnexpectedResponseError, match="malformed header") as refused:
        read(server, max_retries=2)
    assert not isinstance(refused.value, pystmark.SendOutcomeUnknownError)
    assert len(server.requests) == before + 1  # the same request would get the same answer


def test_a_multipart_content_type_is_not_a_malformed_header(
    raw: Callable[..., RawServer],
) -> None:
    # http.client notes defects for a multipart type in a header block alone;
    # urllib3's check ignores those, and so does pystmark's.
    body = json.dumps(faults.accepted()).encode()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=x\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    )
    server = raw(answering(head, body))
    assert send(server).message_id


@pytest.mark.parametrize(
    "hidden",
    [
        b"Transfer-Encoding: chunked\r\n\r\n" + b"2\r\n{}\r\n0\r\n\r\n",
        b"Content-Encoding: gzip\r\n\r\n" + gzip.compress(b"{}"),
    ],
    ids=["chunked", "gzip"],
)
def test_a_malformed_header_hiding_the_framing_leaves_a_send_unknown_in_any_session(
    hidden: bytes, raw: Callable[..., RawServer]
) -> None:
    # A session you pass has requests' own connections, which only log a
    # malformed header block: the framing it hid leaves a body that is not
    # the answer, and the send is still unknown.
    server = raw(answering(b"HTTP/1.1 200 OK\r\nConnection: close\r\nno colon\r\n" + hidden))
    with requests.Session() as session, pytest.raises(pystmark.SendOutcomeUnknownError):
        send(server, session=session)
    assert len(faults.bodies(server.requests)) == 1


# ---- the user's own input ------------------------------------------------------


SURROGATE = "\udc80"


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": "a" + SURROGATE},
        {"text": "body " + SURROGATE},
        {"html": SURROGATE},
        {"to": "a" + SURROGATE + "@example.com"},
        {"sender": "Name " + SURROGATE + " <me@example.com>"},
        {"metadata": {"k": SURROGATE}},
        {"headers": {"X-A": SURROGATE}},
        {"tag": SURROGATE},
    ],
)
def test_text_that_is_not_unicode_is_refused_before_sending(
    fields: dict[str, Any], no_requests: Any
) -> None:
    with pytest.raises(pystmark.MessageError, match="lone surrogate"):
        pystmark.send({**MESSAGE, **fields}, api_key=TOKEN)
    with pytest.raises(pystmark.MessageError, match="lone surrogate"):
        pystmark.Message(**{**MESSAGE, **fields}).validate()


def test_a_template_model_that_is_not_unicode_is_refused(no_requests: Any) -> None:
    message = {"sender": "me@example.com", "to": "you@example.com", "template_id": 1}
    with pytest.raises(pystmark.MessageError, match="template_model"):
        pystmark.send_with_template({**message, "template_model": {"x": SURROGATE}}, api_key=TOKEN)


@pytest.mark.parametrize(
    "to",
    ["(" * 5000 + "a@example.com", ["(" * 5000], "\\" * 3000 + "@x", '"' * 3001, "<" * 4000],
)
def test_hostile_addresses_give_a_message_error(to: Any, no_requests: Any) -> None:
    message = pystmark.Message(**{**MESSAGE, "to": to})
    try:
        message.validate()
        recipients = message.recipients
    except pystmark.MessageError:
        return
    assert isinstance(recipients, list)


@pytest.mark.parametrize(
    "attachments",
    [["file.txt"], [42], [{"Name": "a.txt", "Content": "é"}], [{"Name": "a", "ContentID": 5}]],
)
def test_malformed_attachments_give_a_message_error(attachments: Any, no_requests: Any) -> None:
    with pytest.raises(pystmark.MessageError):
        pystmark.send({**MESSAGE, "attachments": attachments}, api_key=TOKEN)


def test_attachment_data_that_is_not_base64_is_a_message_error() -> None:
    with pytest.raises(pystmark.MessageError, match="base64"):
        pystmark.Attachment("a.txt", content="a").data  # noqa: B018


def test_headers_that_are_not_a_collection_give_a_message_error() -> None:
    with pytest.raises(pystmark.MessageError, match="headers"):
        pystmark.Message(headers=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timeout", float("inf")),
        ("timeout", float("nan")),
        ("deadline", float("inf")),
        ("max_retries", float("inf")),
        ("max_retries", 10**400),
        ("backoff_base", float("nan")),
        ("max_retry_after", -1),
    ],
)
def test_numbers_that_cannot_be_used_are_refused(name: str, value: Any, no_requests: Any) -> None:
    with pytest.raises(pystmark.ConfigurationError, match=name):
        pystmark.get_server(api_key=TOKEN, **{name: value})


def test_a_header_value_that_http_cannot_carry_is_refused(no_requests: Any) -> None:
    with pytest.raises(pystmark.ConfigurationError, match="latin-1"):
        pystmark.get_server(api_key=TOKEN, headers={"X-Trace": "€"})


def test_timestamps_and_numbers_out_of_range_are_data_errors() -> None:
    with pytest.raises(pystmark.DataError):
        pystmark.parse_datetime("2020-01-01T00:00:00+99:00")
    with pytest.raises(pystmark.DataError):
        pystmark.BulkStatus({"PercentageCompleted": "lots"}).percentage_completed  # noqa: B018
    assert pystmark.BulkStatus({"PercentageCompleted": 12}).percentage_completed == 12.0


# ---- settings that cannot be misread ---------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1@evil.example",
        "http://evil.example\\@127.0.0.1",
        "http://evil.example/\\@127.0.0.1",
        "http://127.0.0.1:80#@evil.example",
        "http://127.0.0.1%2f@evil.example",
        "http://127.1",
        "http://0x7f000001",
        "http://2130706433",
        "http://017700000001",
        "http://localhost.",
        "http://127.0.0.1.",
        "http://127.0.0.1.evil.example",
        "http://[::ffff:127.0.0.1]",
        "http://[::1",
        "http://①②⑦.0.0.1",
        "http://127.0.0.1:99999",
        "http://127.0.0.1 .evil.example",
        "https://api.postmarkapp.com?x=1",
        "https://api.postmarkapp.com#x",
        "https://",
        "ftp://127.0.0.1",
        "//127.0.0.1",
        "127.0.0.1",
        " ",
    ],
)
def test_base_urls_that_could_send_the_token_in_clear_text_are_refused(
    url: str, no_requests: Any
) -> None:
    with pytest.raises(pystmark.ConfigurationError, match="base_url") as caught:
        pystmark.get_server(api_key=TOKEN, base_url=url)
    if "@" in url:
        assert url not in str(caught.value)  # never echoed: it may hold a password


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1"),
        ("http://127.0.0.1\\@evil.example", "127.0.0.1"),  # the \\ starts the path
        ("http://[::1]:8080/prefix/", "::1"),
        ("HTTP://LOCALHOST:8080", "localhost"),
        ("https://user:pw@api.postmarkapp.com", "api.postmarkapp.com"),
    ],
)
def test_accepted_base_urls_name_the_host_requests_connects_to(url: str, host: str) -> None:
    checked = pystmark._check_base_url(url)
    prepared = requests.PreparedRequest()
    prepared.prepare_url(checked + "/email", None)
    assert requests.utils.urlparse(prepared.url).hostname == host


@pytest.mark.parametrize("token", ["a b", "ab\t", "a\nb", " ab", "ab\x00", "tök", "a\u2028b"])
def test_a_token_with_whitespace_anywhere_is_refused_and_not_echoed(
    token: str, no_requests: Any
) -> None:
    with pytest.raises(pystmark.ConfigurationError) as caught:
        pystmark.get_server(api_key=token)
    assert token not in str(caught.value)


def test_a_kept_response_never_carries_the_token(mocked: Any) -> None:
    mocked.add(responses.POST, API + "/email", json=ok_result())
    response = pystmark.send(MESSAGE, api_key=TOKEN)
    kept = response.http_response
    assert kept.request.headers[pystmark.SERVER_TOKEN_HEADER] == "***"
    for text in (
        pickle.dumps(kept),
        repr(kept.request.headers).encode(),
        pickle.dumps(copy.copy(kept).request),
        pickle.dumps(response.data),
    ):
        assert TOKEN.encode() not in text
    assert kept.json() == ok_result()  # the body is still there
    # What went over the wire did carry it.
    assert mocked.calls[0].request.headers[pystmark.SERVER_TOKEN_HEADER] == TOKEN


@pytest.mark.parametrize("account", [False, True], ids=["server token", "account token"])
def test_a_response_from_the_short_path_never_carries_the_token(
    account: bool, raw: Callable[..., RawServer]
) -> None:
    # Nothing replaced: the pooled session's own path, which masks its request in place.
    server = raw(faults.answer(body=b'{"Name": "x"}'))
    header = pystmark.ACCOUNT_TOKEN_HEADER if account else pystmark.SERVER_TOKEN_HEADER
    call = pystmark.get_servers if account else pystmark.get_server
    key = "account_api_key" if account else "api_key"
    options = {**OPTIONS, key: TOKEN, "base_url": server.url}
    kept = [call(**options) for _ in range(2)]
    for response in kept:
        assert response.http_response.request.headers[header] == "***"
        assert TOKEN.encode() not in pickle.dumps(response.http_response)
    # Every request on the wire carried it: the masking touched no shared headers.
    assert [request.headers[header.lower()] for request in server.requests] == [TOKEN, TOKEN]
    assert server.accepted == 1


def test_an_error_response_never_carries_the_token(mocked: Any) -> None:
    mocked.add(responses.GET, API + "/server", status=404, json={"ErrorCode": 12, "Message": "no"})
    with pytest.raises(pystmark.NotFoundError) as caught:
        pystmark.get_server(api_key=TOKEN)
    assert TOKEN.encode() not in pickle.dumps(caught.value.response)
    assert caught.value.response.json()["ErrorCode"] == 12


# ---- webhooks ----------------------------------------------------------------------


def call_app(app: pystmark.WebhookApp, environ: dict[str, Any]) -> tuple[str, bytes]:
    seen: list[str] = []
    body = b"".join(app(environ, lambda status, headers: seen.append(status)))
    return seen[0], body


def environ_for(body: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **extra,
    }


OPEN = json.dumps({"RecordType": "Open", "MessageID": "m", "Recipient": "a@b.c"}).encode()


class BrokenInput:
    def read(self, size: int = -1) -> bytes:
        raise OSError("the client went away")


@pytest.mark.parametrize(
    "extra",
    [
        {"CONTENT_LENGTH": "abc"},
        {"CONTENT_LENGTH": "-1"},
        {"CONTENT_LENGTH": "²"},
        {"CONTENT_LENGTH": "١٢"},
        {"CONTENT_LENGTH": "1e3"},
        {"CONTENT_LENGTH": "0x10"},
        {"CONTENT_LENGTH": 5},
        {"CONTENT_LENGTH": "9" * 50},
        {"CONTENT_LENGTH": str(len(OPEN) + 10)},  # announced more than was sent
        {"wsgi.input": BrokenInput()},
        {"wsgi.input": None},
        {"wsgi.input": io.StringIO("{}")},
    ],
)
def test_any_content_length_or_input_gets_a_400(extra: dict[str, Any]) -> None:
    app = pystmark.WebhookApp(None)
    status, _ = call_app(app, environ_for(OPEN, **extra))
    assert status.startswith("400")


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{}",
        b'{"RecordType": "Open", "MessageID": "\\ud800"}',
        b'{"RecordType": "Open", "MessageID": "\xed\xa0\x80"}',
        b"[" * 100_000,
        b"[" + b"[]," * 1_000_000 + b"[]]",
        b'{"a": ' + b"1" * 5000 + b"}",
        b'{"a": NaN}',
        b'{"a": 1, "a": 2}',
        b"",
        b"null",
        b'"' * 100_000,
    ],
    ids=lambda body: repr(body[:24]),
)
def test_malformed_bodies_get_a_400(body: bytes) -> None:
    app = pystmark.WebhookApp(None)
    status, _ = call_app(app, environ_for(body))
    assert status.startswith("400")


def test_a_valid_surrogate_pair_escape_is_accepted() -> None:
    body = json.dumps({"RecordType": "Open", "MessageID": "😀"}).encode()  # ensure_ascii
    assert b"\\ud83d" in body
    assert pystmark.parse_webhook(body).message_id == "😀"


def test_a_str_body_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(pystmark.WebhookError, match="surrogate"):
        pystmark.parse_webhook('{"RecordType": "Open", "Tag": "\udc80"}')
    with pytest.raises(pystmark.WebhookError, match="surrogate"):
        pystmark.parse_webhook({"RecordType": "Open", "Tag": "\udc80"})


def test_an_authorization_that_is_not_text_gets_a_401() -> None:
    app = pystmark.WebhookApp(("u", "p"))
    status, _ = call_app(app, environ_for(OPEN, HTTP_AUTHORIZATION=12))
    assert status.startswith("401")
    assert pystmark.check_basic_auth(12, ("u", "p")) is False  # type: ignore[arg-type]


INBOUND: dict[str, Any] = {
    "From": "mallory@example.com",
    "FromFull": {"Email": "mallory@example.com", "Name": "Mallory"},
    "To": "inbox@example.com",
    "ToFull": [{"Email": "inbox@example.com", "Name": ""}],
    "Subject": "Hello",
    "MessageID": "m-1",
    "Date": "sometime next week",
    "TextBody": "hi",
    "Headers": [{"Name": "X-Spam", "Value": "no"}],
    "Attachments": [],
}


def test_an_inbound_mail_with_a_date_that_is_not_a_date_is_accepted() -> None:
    seen: list[pystmark.InboundEvent] = []
    app = pystmark.WebhookApp(None, {pystmark.InboundEvent: seen.append})
    status, _ = call_app(app, environ_for(json.dumps(INBOUND).encode()))
    assert status.startswith("200")
    assert seen[0].date is None  # the typed view: missing
    assert seen[0].raw["Date"] == "sometime next week"  # the raw value: kept


INJECTIONS: list[dict[str, Any]] = [
    {"Subject": "Hi\r\nBcc: victim@example.com"},
    {"Subject": "Hi\nX-Injected: 1"},
    {"Subject": "Hi\x85X-Injected: 1\u2028X-Injected: 2"},
    {"FromFull": {"Email": "a@b.c\r\nX-Injected: 1", "Name": "N\r\nX-Injected: 1"}},
    {"Headers": [{"Name": "X-Injected: 1\r\nX-A", "Value": "v"}]},
    {"Headers": [{"Name": "X-A", "Value": "v\r\nX-Injected: 1"}]},
    {"Headers": [{"Name": "X-A", "Value": "v\x00\x01\x1b"}]},
    {"Date": "Mon, 1 Jan 2024 00:00:00 +0000\r\nX-Injected: 1"},
    {
        "Attachments": [
            {
                "Name": 'a.txt"\r\nX-Injected: 1',
                "Content": "aGk=",
                "ContentType": "text/plain\r\nX-Injected: 1",
                "ContentID": "cid\r\nX-Injected: 1",
                "ContentLength": 2,
            }
        ]
    },
    {
        "Attachments": [
            {"Name": "m", "Content": "aGk=", "ContentType": "multipart/mixed", "ContentLength": 2}
        ]
    },
]


@pytest.mark.parametrize("fields", INJECTIONS)
def test_to_email_message_never_injects_a_header(fields: dict[str, Any]) -> None:
    event = pystmark.parse_webhook(json.dumps({**INBOUND, **fields}))
    message = event.to_email_message()
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    names = {name.lower() for part in parsed.walk() for name in part}
    assert "x-injected" not in names
    assert "bcc" not in names  # the post had no Bcc: none was injected


def test_to_email_message_on_unusable_content_raises_a_data_error() -> None:
    bad = {"Attachments": [{"Name": "a", "Content": "not base64!", "ContentType": "text/plain"}]}
    event = pystmark.parse_webhook(json.dumps({**INBOUND, **bad}))
    with pytest.raises(pystmark.DataError):
        event.to_email_message()
    inbound = pystmark.InboundMessage({**INBOUND, "TextBody": "a\udc80"})  # from the API
    with pytest.raises(pystmark.DataError):
        inbound.to_email_message()


def test_a_base_url_that_is_not_text_is_refused(no_requests: Any) -> None:
    with pytest.raises(pystmark.ConfigurationError, match="base_url"):
        pystmark.get_server(api_key=TOKEN, base_url=b"https://api.postmarkapp.com")


@pytest.mark.parametrize("value", [[1], "lots", float("inf"), 10**400, True])
def test_a_percentage_that_is_not_a_number_is_a_data_error(value: Any) -> None:
    with pytest.raises(pystmark.DataError):
        pystmark.BulkStatus({"PercentageCompleted": value}).percentage_completed  # noqa: B018
    assert pystmark.BulkStatus({"PercentageCompleted": ""}).percentage_completed == 0.0


def test_a_redirect_to_a_location_that_is_not_a_url_is_typed(
    raw: Callable[..., RawServer],
) -> None:
    server = raw(answering(json_head(302, extra="Location: http://[bad\r\n")))
    with pytest.raises(pystmark.UnexpectedResponseError, match="invalid location"):
        read(server)


def test_a_bad_redirect_location_under_a_mock_is_typed(mocked: Any) -> None:
    # Through requests' full path (as under a mock), requests reads the
    # location itself: still a typed error.
    mocked.add(responses.GET, API + "/server", status=302, headers={"Location": "http://[bad"})
    with pytest.raises(pystmark.PystmarkError) as caught:
        pystmark.get_server(api_key=TOKEN)
    assert not isinstance(caught.value, pystmark.ConfigurationError)


class CannedSession(requests.Session):
    """A session answering every request with a body already read (no connection)."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code = 200
        response._content = self.body
        response.request = requests.Request(method, url, headers=kwargs["headers"]).prepare()
        return response


def test_a_body_read_by_another_session_is_held_to_the_limit() -> None:
    session = CannedSession(json.dumps({"Name": "x" * 100}).encode())
    assert pystmark.get_server(api_key=TOKEN, session=session).data["Name"]
    with pytest.raises(pystmark.UnexpectedResponseError, match="max_response_bytes"):
        pystmark.get_server(api_key=TOKEN, session=session, max_response_bytes=50)


def test_a_json_string_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(pystmark.WebhookError):
        pystmark.parse_webhook(b'"\\ud800"')


EMOJI = "\U0001f600".encode()


def sparse_astral(fragment: bytes) -> bytes:
    """An open post whose Tag ends in ``fragment``; few enough emoji to be escaped."""
    return (
        b'{"RecordType": "Open", "MessageID": "' + EMOJI + b'",\n'
        b' "Tag": "' + EMOJI + b"x" * 300 + fragment + b'"}'
    )


def test_a_mail_with_astral_characters_reads_as_sent() -> None:
    # Sparse astral characters are escaped before decoding (the JSON text
    # stays narrow): every one reads back, after quotes and backslashes too.
    text = ("a" * 999 + "\U0001f600\n") * 20 + '\U000e0067\U0010fffd \\\U0001f600 "\U0001f600"'
    post = {**INBOUND, "Subject": "\U0001f600", "TextBody": text, "\U0001f600": ["\U0001f600"]}
    body = json.dumps(post, ensure_ascii=False).encode()
    assert pystmark._escape_astral(body).isascii()  # every one escaped: the text stays narrow
    event = pystmark.parse_webhook(body)
    assert isinstance(event, pystmark.InboundEvent)
    assert event.text_body == text and event.subject == "\U0001f600"
    assert event.raw["\U0001f600"] == ["\U0001f600"]
    assert pystmark.InboundMessage.from_webhook(body).text_body == text


def test_dense_astral_text_is_decoded_as_it_is() -> None:
    # Escapes of 12 characters would outweigh a text of emoji stored wide.
    post = {"RecordType": "Open", "Tag": "\U0001f600" * 1000}
    body = json.dumps(post, ensure_ascii=False).encode()
    assert pystmark._escape_astral(body) is body
    assert pystmark.parse_webhook(body).tag == "\U0001f600" * 1000


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        # The places count characters as sent (each emoji is one).
        (b"\\" + EMOJI, r"invalid JSON: Invalid \\escape: line 2 column 311 \(char 351\)"),
        (b'", "A": ' + EMOJI, r"invalid JSON: Expecting value: line 2 column 319 \(char 359\)"),
        (b'", "A": x', r"invalid JSON: Expecting value: line 2 column 319 \(char 359\)"),
        (b"\\ud83d" + EMOJI, "a string is not valid Unicode"),  # a lone escaped surrogate
        (EMOJI + b"\\ude00", "a string is not valid Unicode"),
    ],
)
def test_refusals_around_escaped_astral_characters_are_unchanged(
    fragment: bytes, message: str
) -> None:
    body = sparse_astral(fragment)
    assert pystmark._escape_astral(body) != body
    with pytest.raises(pystmark.WebhookError, match=message):
        pystmark.parse_webhook(body)
    status, _ = call_app(pystmark.WebhookApp(None), environ_for(body))
    assert status.startswith("400")


@pytest.mark.parametrize(
    "fragment",
    [
        EMOJI[:3],  # truncated
        b"\xf0\x80\x80\x80",  # overlong
        b"\xf4\x90\x80\x80",  # beyond U+10FFFF
        b"\xed\xa0\xbd\xed\xb8\x80",  # a surrogate pair encoded (CESU-8)
    ],
)
def test_malformed_utf8_next_to_astral_characters_is_refused(fragment: bytes) -> None:
    body = sparse_astral(fragment)
    with pytest.raises(pystmark.WebhookError, match="not UTF-8"):
        pystmark.parse_webhook(body)
    status, _ = call_app(pystmark.WebhookApp(None), environ_for(body))
    assert status.startswith("400")


def test_an_inbound_mail_full_of_punctuation_is_accepted() -> None:
    # Counting characters alone would take the commas for values: the exact
    # scan reads them as the text they are, so the mail is accepted.
    text = ',:[{"' * 400_000
    body = json.dumps({**INBOUND, "TextBody": text, "HtmlBody": text}).encode()
    event = pystmark.parse_webhook(body)
    assert event.text_body == text


def test_a_query_value_that_is_not_unicode_is_a_configuration_error(no_requests: Any) -> None:
    # A declared field refuses it before the request is built ...
    with pytest.raises(pystmark.ConfigurationError, match="lone surrogate") as caught:
        pystmark.get_bounces(tag="\udc80", api_key=TOKEN)
    assert caught.value.__cause__ is None  # the value is not echoed through a cause
    # ... and the transport refuses one that reaches it without echoing it either.
    interface = pystmark.Interface(api_key=TOKEN)
    endpoint = pystmark.Endpoint("GET", "/bounces")
    with pytest.raises(pystmark.ConfigurationError, match="cannot be encoded") as caught:
        interface._call(endpoint, {}, params={"tag": "\udc80"})
    assert caught.value.__cause__ is None


def test_a_content_length_of_countless_digits_is_read_as_no_length(
    raw: Callable[..., RawServer],
) -> None:
    body = json.dumps(faults.accepted()).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {'0' * 5000}{len(body)}\r\n\r\n".encode()
    server = raw(answering(head, body))
    try:
        send(server)
    except pystmark.PystmarkError as error:
        assert isinstance(error, pystmark.SendOutcomeUnknownError)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_for_a_plain_http_base_url_is_refused(
    variable: str, monkeypatch: pytest.MonkeyPatch, no_requests: Any
) -> None:
    monkeypatch.setenv(variable, "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(pystmark.ConfigurationError, match="proxy"):
        pystmark.get_server(api_key=TOKEN, base_url="http://127.0.0.1:9")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with pytest.raises(pystmark.ConfigurationError, match="proxy"):
        pystmark.get_server(
            api_key=TOKEN, base_url="http://127.0.0.1:9", proxies={"http": "http://p:1"}
        )


def test_a_plain_http_base_url_without_a_proxy_is_accepted(mocked: Any) -> None:
    mocked.add(responses.GET, "http://127.0.0.1:9/server", json={})
    assert pystmark.get_server(api_key=TOKEN, base_url="http://127.0.0.1:9").data == {}


def test_inbound_from_webhook_text_is_checked_like_a_post() -> None:
    for body in (b"[" * 100_000, '{"Subject": "\udc80"}', b"\xff"):
        with pytest.raises(pystmark.DataError):
            pystmark.InboundMessage.from_webhook(body)


def test_a_dump_nested_beyond_the_parser_is_a_data_error(mocked: Any) -> None:
    nested = "".join(
        f'Content-Type: multipart/mixed; boundary="b{depth}"\n\n--b{depth}\n'
        for depth in range(3000)
    )
    mocked.add(responses.GET, API + "/messages/outbound/m/dump", json={"Body": nested})
    dump = pystmark.get_outbound_message_dump("m", api_key=TOKEN)
    with pytest.raises(pystmark.DataError):  # the email parser recurses per level
        dump.to_email_message()


def test_an_attachment_file_that_cannot_be_read_is_a_message_error(tmp_path: Any) -> None:
    with pytest.raises(pystmark.MessageError, match="cannot read"):
        pystmark.Message().attach_file(tmp_path / "missing.pdf")


def test_credentials_that_are_not_unicode_are_a_configuration_error() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.check_basic_auth("Basic eDp5", ("u\udc80", "p"))


@pytest.mark.parametrize("items", [["OK"], [None], [{"ErrorCode": "zero", "Message": "OK"}]])
def test_a_batch_answer_with_unreadable_items_has_an_unknown_outcome(
    items: list[Any], mocked: Any
) -> None:
    mocked.add(responses.POST, API + "/email/batch", json=items)
    with pytest.raises(pystmark.SendOutcomeUnknownError):
        pystmark.send_batch([MESSAGE], api_key=TOKEN)
    assert len(mocked.calls) == 1
