"""Fault injection against real servers on 127.0.0.1 (see docs/reliability.rst).

Every fault ends in its documented ``PystmarkError`` subclass with the cause
chained, within the deadline plus half a second; a send is never repeated once
it may have reached the server, and reads are retried as the policy says.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from pytest_httpserver import HTTPServer

import pystmark
from tests import faults
from tests.faults import DEADLINE, FAST, RawServer, assert_cause, assert_typed, timed

pytestmark = pytest.mark.timeout(20)

LIMIT = DEADLINE + 0.5
ATTEMPTS = FAST["max_retries"] + 1


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pystmark.close()
    yield
    pystmark.close()


def send(base_url: str, **options: Any) -> tuple[dict[str, Any], Any]:
    message = faults.message()
    return message, pystmark.send(message, base_url=base_url, **{**FAST, **options})


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("").rstrip("/")


def posted(httpserver: HTTPServer) -> list[bytes]:
    return [request.get_data() for request, _ in httpserver.log if request.method == "POST"]


# ---- A. post-write faults on a send: never sent twice ------------------------

RAW_SEND_FAULTS = {
    "1 read timeout": faults.never_respond,
    "2 reset after the request": faults.reset_after_request,
    "3 short body then FIN": faults.short_body,
    "4 trickle, one byte per (read timeout - 0.1 s)": faults.trickle(FAST["timeout"][1] - 0.1),
    "4 trickle in the body": faults.trickle(FAST["timeout"][1] - 0.1, body_only=True),
}


@pytest.mark.parametrize("handler", RAW_SEND_FAULTS.values(), ids=RAW_SEND_FAULTS.keys())
def test_raw_fault_on_send_is_outcome_unknown_and_sent_once(
    raw: Callable[[faults.Handler], RawServer], handler: faults.Handler
) -> None:
    server = raw(handler)
    message = faults.message()
    with timed(LIMIT), pytest.raises(pystmark.SendOutcomeUnknownError) as caught:
        pystmark.send(message, base_url=server.url, **FAST)
    assert_typed(caught.value, pystmark.SendOutcomeUnknownError)
    assert_cause(caught.value)
    assert caught.value.attempts == 1
    assert "may or may not have been accepted" in str(caught.value)
    sent = faults.bodies(server.requests)
    assert len(sent) == 1
    assert json.loads(sent[0])["TextBody"] == message["text"]


def test_trickle_cannot_hold_a_send_past_the_deadline(
    raw: Callable[[faults.Handler], RawServer],
) -> None:
    server = raw(faults.trickle(0.05))
    with timed(0.8 + 0.5), pytest.raises(pystmark.SendOutcomeUnknownError) as caught:
        send(server.url, deadline=0.8, timeout=(0.5, 0.5))
    assert "deadline" in str(caught.value)
    assert len(faults.bodies(server.requests)) == 1


def test_stale_keep_alive_send_is_outcome_unknown(
    raw: Callable[[faults.Handler], RawServer],
) -> None:
    server = raw(faults.stale_keep_alive)
    send(server.url)  # the connection is now pooled and kept alive
    message = faults.message()
    with timed(LIMIT), pytest.raises(pystmark.SendOutcomeUnknownError) as caught:
        pystmark.send(message, base_url=server.url, **FAST)
    assert_typed(caught.value, pystmark.SendOutcomeUnknownError)
    assert_cause(caught.value)
    assert server.accepted == 1
    sent = faults.bodies(server.requests)
    assert len(sent) == 2
    assert json.loads(sent[1])["TextBody"] == message["text"]


HTTP_SEND_FAULTS: dict[str, tuple[int, str, str, type[pystmark.PystmarkError]]] = {
    "5 truncated JSON": (200, '{"ErrorCode": 0, "Mess', "application/json", pystmark.APIError),
    "6 JSON list": (200, "[]", "application/json", pystmark.UnexpectedResponseError),
    "6 JSON string": (200, '"x"', "application/json", pystmark.UnexpectedResponseError),
    "7 500 with a Postmark body": (
        500,
        '{"ErrorCode": 0, "Message": "Internal error"}',
        "application/json",
        pystmark.InternalServerError,
    ),
    "8 502 from a proxy": (
        502,
        "<html>Bad gateway</html>",
        "text/html",
        pystmark.UnexpectedResponseError,
    ),
}


@pytest.mark.parametrize(
    ("status", "body", "content_type", "also"),
    HTTP_SEND_FAULTS.values(),
    ids=HTTP_SEND_FAULTS.keys(),
)
def test_http_fault_on_send_is_outcome_unknown_and_sent_once(
    httpserver: HTTPServer,
    status: int,
    body: str,
    content_type: str,
    also: type[pystmark.PystmarkError],
) -> None:
    httpserver.expect_request("/email", method="POST").respond_with_data(
        body, status=status, content_type=content_type
    )
    message = faults.message()
    with timed(LIMIT), pytest.raises(pystmark.SendOutcomeUnknownError) as caught:
        pystmark.send(message, base_url=base(httpserver), **FAST)
    assert_typed(caught.value, pystmark.SendOutcomeUnknownError)
    assert isinstance(caught.value, also)
    assert caught.value.attempts == 1
    sent = posted(httpserver)
    assert len(sent) == 1
    assert json.loads(sent[0])["TextBody"] == message["text"]


def test_batch_answered_with_an_object_is_outcome_unknown(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/email/batch").respond_with_json({"ErrorCode": 0})
    with pytest.raises(pystmark.SendOutcomeUnknownError):
        pystmark.send_batch([faults.message()], base_url=base(httpserver), **FAST)
    assert len(posted(httpserver)) == 1


# ---- the same faults on a read: retried -------------------------------------

RAW_READ_FAULTS: dict[str, tuple[faults.Handler, type[pystmark.PystmarkError]]] = {
    "1 read timeout": (faults.never_respond, pystmark.RequestTimeoutError),
    "2 reset after the request": (faults.reset_after_request, pystmark.ConnectionFailedError),
    "3 short body then FIN": (faults.short_body, pystmark.ConnectionFailedError),
}


@pytest.mark.parametrize(("handler", "expected"), RAW_READ_FAULTS.values(), ids=RAW_READ_FAULTS)
def test_raw_fault_on_read_is_retried(
    raw: Callable[[faults.Handler], RawServer],
    handler: faults.Handler,
    expected: type[pystmark.PystmarkError],
) -> None:
    server = raw(handler)
    with timed(LIMIT), pytest.raises(expected) as caught:
        pystmark.get_bulk_status("b-1", base_url=server.url, **FAST)
    assert_typed(caught.value, expected)
    assert_cause(caught.value)
    assert caught.value.attempts == ATTEMPTS
    assert [request.method for request in server.requests] == ["GET"] * ATTEMPTS


def test_trickle_on_read_raises_deadline_exceeded(
    raw: Callable[[faults.Handler], RawServer],
) -> None:
    server = raw(faults.trickle(0.05))
    with timed(0.8 + 0.5), pytest.raises(pystmark.DeadlineExceededError) as caught:
        pystmark.get_bulk_status("b-1", base_url=server.url, **{**FAST, "deadline": 0.8})
    assert_typed(caught.value, pystmark.DeadlineExceededError)
    assert_cause(caught.value)
    assert len(server.requests) == 1


def test_stale_keep_alive_read_is_retried_on_a_new_connection(
    raw: Callable[[faults.Handler], RawServer],
) -> None:
    server = raw(faults.stale_keep_alive)
    pystmark.get_bulk_status("b-1", base_url=server.url, **FAST)
    response = pystmark.get_bulk_status("b-1", base_url=server.url, **FAST)
    assert response.status_code == 200
    assert server.accepted == 2
    assert [request.method for request in server.requests] == ["GET"] * 3


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [value for key, value in HTTP_SEND_FAULTS.items() if not key.startswith("6")],
    ids=[key for key in HTTP_SEND_FAULTS if not key.startswith("6")],
)
def test_http_fault_on_read_is_retried(
    httpserver: HTTPServer,
    status: int,
    body: str,
    content_type: str,
    expected: type[pystmark.PystmarkError],
) -> None:
    httpserver.expect_request("/email/bulk/b-1").respond_with_data(
        body, status=status, content_type=content_type
    )
    with timed(LIMIT), pytest.raises(expected) as caught:
        pystmark.get_bulk_status("b-1", base_url=base(httpserver), **FAST)
    assert_typed(caught.value, expected)
    assert not isinstance(caught.value, pystmark.SendOutcomeUnknownError)
    assert caught.value.attempts == ATTEMPTS
    assert len(httpserver.log) == ATTEMPTS


# ---- B. faults that are retried, or fail cleanly -----------------------------


@pytest.mark.parametrize("call", ["send", "read"])
def test_10_connection_refused_is_retried_for_every_request(call: str) -> None:
    url = f"http://127.0.0.1:{faults.refused_port()}"
    with timed(LIMIT), pytest.raises(pystmark.ConnectionFailedError) as caught:
        if call == "send":
            send(url)
        else:
            pystmark.get_bulk_status("b-1", base_url=url, **FAST)
    assert_typed(caught.value, pystmark.ConnectionFailedError)
    assert_cause(caught.value)
    assert caught.value.attempts == ATTEMPTS


def test_11_connect_timeout_is_retried_even_for_a_send() -> None:
    with faults.backlog_full_listener() as port:
        url = f"http://127.0.0.1:{port}"
        with timed(LIMIT), pytest.raises(pystmark.ConnectionFailedError) as caught:
            send(url, timeout=(0.2, 0.4))
    assert_typed(caught.value, pystmark.ConnectionFailedError)
    assert_cause(caught.value)
    assert caught.value.attempts == ATTEMPTS


def test_11_connect_timeout_stops_at_the_deadline() -> None:
    with faults.backlog_full_listener() as port:
        url = f"http://127.0.0.1:{port}"
        with timed(0.5 + 0.5), pytest.raises(pystmark.DeadlineExceededError) as caught:
            send(url, timeout=(5, 5), deadline=0.5)
    assert_typed(caught.value, pystmark.DeadlineExceededError)
    assert_cause(caught.value)


def test_12_dns_failure_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".invalid"):
            lookups.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with timed(LIMIT), pytest.raises(pystmark.ConnectionFailedError) as caught:
        send("https://api.postmark.invalid")
    assert_typed(caught.value, pystmark.ConnectionFailedError)
    assert_cause(caught.value)
    assert caught.value.attempts == ATTEMPTS
    assert lookups == ["api.postmark.invalid"] * ATTEMPTS


@pytest.mark.parametrize("refusals", [1, 2])
def test_13_rate_limited_send_is_retried(httpserver: HTTPServer, refusals: int) -> None:
    for _ in range(refusals):
        httpserver.expect_ordered_request("/email").respond_with_json(
            {"ErrorCode": 429, "Message": "Rate limit exceeded"}, status=429
        )
    httpserver.expect_ordered_request("/email").respond_with_json(faults.accepted())
    message, response = send(base(httpserver))
    assert response.error_code == 0
    sent = posted(httpserver)
    assert len(sent) == refusals + 1
    assert {json.loads(body)["TextBody"] for body in sent} == {message["text"]}


def test_13_rate_limit_gives_up_after_max_retries(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/email").respond_with_json({"Message": "slow down"}, status=429)
    with timed(LIMIT), pytest.raises(pystmark.RateLimitError) as caught:
        send(base(httpserver))
    assert_typed(caught.value, pystmark.RateLimitError)
    assert caught.value.attempts == ATTEMPTS
    assert len(posted(httpserver)) == ATTEMPTS


def test_14_long_retry_after_fails_fast(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/email").respond_with_json(
        {"Message": "slow down"}, status=429, headers={"Retry-After": "3600"}
    )
    with timed(0.5), pytest.raises(pystmark.RateLimitError) as caught:
        send(base(httpserver))
    assert_typed(caught.value, pystmark.RateLimitError)
    assert caught.value.attempts == 1
    assert len(posted(httpserver)) == 1


@pytest.mark.parametrize(
    "retry_after", ["Mon, 01 Jan 2024 00:00:00 GMT", "-5", "soon", "1.5e3", ""]
)
def test_15_past_negative_or_garbage_retry_after_uses_backoff(
    httpserver: HTTPServer, retry_after: str
) -> None:
    httpserver.expect_ordered_request("/email").respond_with_json(
        {"Message": "slow down"}, status=429, headers={"Retry-After": retry_after}
    )
    httpserver.expect_ordered_request("/email").respond_with_json(faults.accepted())
    with timed(0.5):
        _, response = send(base(httpserver))
    assert response.error_code == 0
    assert len(posted(httpserver)) == 2


@pytest.mark.parametrize("call", ["send", "read"])
def test_16_unavailable_then_ok_is_retried(httpserver: HTTPServer, call: str) -> None:
    path = "/email" if call == "send" else "/email/bulk/b-1"
    httpserver.expect_ordered_request(path).respond_with_data("", status=503)
    ok = faults.accepted() if call == "send" else {"Id": "b-1", "Status": "Sent"}
    httpserver.expect_ordered_request(path).respond_with_json(ok)
    if call == "send":
        _, response = send(base(httpserver))
    else:
        response = pystmark.get_bulk_status("b-1", base_url=base(httpserver), **FAST)
    assert response.status_code == 200
    assert len(httpserver.log) == 2


def test_16_maintenance_error_code_is_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/email").respond_with_json(
        {"ErrorCode": 100, "Message": "Maintenance"}, status=422
    )
    httpserver.expect_ordered_request("/email").respond_with_json(faults.accepted())
    _, response = send(base(httpserver))
    assert response.error_code == 0
    assert len(posted(httpserver)) == 2


@pytest.fixture(scope="module")
def tls_server_context() -> ssl.SSLContext:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.mark.parametrize("call", ["send", "read"])
def test_17_self_signed_tls_is_refused_and_never_retried(
    raw: Callable[[faults.Handler], RawServer], tls_server_context: ssl.SSLContext, call: str
) -> None:
    def handler(server: RawServer, conn: socket.socket) -> None:
        with tls_server_context.wrap_socket(conn, server_side=True) as tls:
            server.read(tls)

    server = raw(handler)
    url = f"https://127.0.0.1:{server.port}"
    with timed(LIMIT), pytest.raises(pystmark.TLSVerificationError) as caught:
        if call == "send":
            send(url)
        else:
            pystmark.get_bulk_status("b-1", base_url=url, **FAST)
    assert_typed(caught.value, pystmark.TLSVerificationError)
    assert_cause(caught.value)
    assert caught.value.attempts == 1
    assert server.accepted == 1
    assert server.requests == []


@pytest.fixture(scope="module")
def trusted_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    """A server context and the CA bundle path that verifies it."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return context, str(bundle)


@pytest.mark.parametrize("call", ["send", "read"])
def test_4_trickle_over_tls_cannot_pass_the_deadline(
    raw: Callable[[faults.Handler], RawServer], trusted_tls: tuple[ssl.SSLContext, str], call: str
) -> None:
    context, bundle = trusted_tls
    trickling = faults.trickle(0.05)

    def handler(server: RawServer, conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            trickling(server, tls)

    server = raw(handler)
    options = {**FAST, "deadline": 0.8, "verify": bundle}
    url = f"https://127.0.0.1:{server.port}"
    expected = (
        pystmark.SendOutcomeUnknownError if call == "send" else pystmark.DeadlineExceededError
    )
    with timed(0.8 + 0.5), pytest.raises(expected) as caught:
        if call == "send":
            pystmark.send(faults.message(), base_url=url, **options)
        else:
            pystmark.get_bulk_status("b-1", base_url=url, **options)
    assert_typed(caught.value, expected)
    assert_cause(caught.value)
    assert len(server.requests) == 1


def test_17_a_sessions_verify_false_is_not_inherited(
    raw: Callable[[faults.Handler], RawServer], tls_server_context: ssl.SSLContext
) -> None:
    def handler(server: RawServer, conn: socket.socket) -> None:
        with tls_server_context.wrap_socket(conn, server_side=True) as tls:
            server.read(tls)

    server = raw(handler)
    with pystmark_session() as session:
        session.verify = False
        with pytest.raises(pystmark.TLSVerificationError):
            send(f"https://127.0.0.1:{server.port}", session=session)
    assert server.requests == []


def pystmark_session() -> Any:
    import requests

    return requests.Session()


def test_18_redirect_to_another_host_is_refused(httpserver: HTTPServer) -> None:
    other = HTTPServer(host="127.0.0.1")
    other.expect_request("/email").respond_with_json(faults.accepted())
    other.start()
    try:
        httpserver.expect_request("/email").respond_with_data(
            "", status=307, headers={"Location": other.url_for("/email")}
        )
        with timed(LIMIT), pytest.raises(pystmark.UnexpectedResponseError) as caught:
            send(base(httpserver))
        assert_typed(caught.value, pystmark.UnexpectedResponseError)
        assert caught.value.status_code == 307
        assert "redirect" in str(caught.value)
        assert caught.value.attempts == 1
        assert len(posted(httpserver)) == 1
        assert other.log == []
    finally:
        other.stop()


# ---- never retried ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (401, {"ErrorCode": 10, "Message": "Bad token"}, pystmark.UnauthorizedError),
        (404, {"Message": "Not found"}, pystmark.NotFoundError),
        (413, {"Message": "Too large"}, pystmark.PayloadTooLargeError),
        (415, {"Message": "Unsupported"}, pystmark.UnexpectedResponseError),
        (422, {"ErrorCode": 300, "Message": "Invalid"}, pystmark.InvalidEmailRequestError),
        (422, {"ErrorCode": 1101, "Message": "No template"}, pystmark.UnprocessableEntityError),
    ],
)
@pytest.mark.parametrize("call", ["send", "read"])
def test_client_errors_are_never_retried(
    httpserver: HTTPServer,
    status: int,
    payload: dict[str, Any],
    expected: type[pystmark.APIError],
    call: str,
) -> None:
    httpserver.expect_request("/email" if call == "send" else "/email/bulk/b-1").respond_with_json(
        payload, status=status
    )
    with pytest.raises(expected) as caught:
        if call == "send":
            send(base(httpserver))
        else:
            pystmark.get_bulk_status("b-1", base_url=base(httpserver), **FAST)
    assert_typed(caught.value, expected)
    assert not isinstance(caught.value, pystmark.SendOutcomeUnknownError)
    assert caught.value.attempts == 1
    assert len(httpserver.log) == 1


def test_max_retries_zero_turns_retries_off(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/email").respond_with_data("", status=503)
    with pytest.raises(pystmark.ServiceUnavailableError) as caught:
        send(base(httpserver), max_retries=0)
    assert caught.value.attempts == 1
    assert len(httpserver.log) == 1


def bad_gzip(server: RawServer, conn: socket.socket) -> None:
    """A 200 whose gzip body cannot be decoded."""
    while server.read(conn) is not None:
        body = b"this is not gzip"
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )


def test_undecodable_body_on_send_is_outcome_unknown(
    raw: Callable[[faults.Handler], RawServer],
) -> None:
    server = raw(bad_gzip)
    with pytest.raises(pystmark.SendOutcomeUnknownError) as caught:
        send(server.url)
    assert_typed(caught.value, pystmark.SendOutcomeUnknownError)
    assert_cause(caught.value)
    assert len(faults.bodies(server.requests)) == 1


def test_undecodable_body_on_read_is_retried(raw: Callable[[faults.Handler], RawServer]) -> None:
    server = raw(bad_gzip)
    with pytest.raises(pystmark.UnexpectedResponseError) as caught:
        pystmark.get_bulk_status("b-1", base_url=server.url, **FAST)
    assert_typed(caught.value, pystmark.UnexpectedResponseError)
    assert caught.value.attempts == ATTEMPTS
    assert len(server.requests) == ATTEMPTS


def test_watch_session_keeps_a_custom_adapter_and_watches_proxies() -> None:
    import requests

    class Custom(requests.adapters.HTTPAdapter):
        pass

    session = requests.Session()
    custom = Custom(pool_maxsize=3)
    session.mount("https://", custom)
    pystmark._watch_session(session)
    assert session.adapters["https://"] is custom
    assert custom.poolmanager.pool_classes_by_scheme is pystmark._WATCHED_POOLS
    plain = session.adapters["http://"]
    assert isinstance(plain, pystmark._DeadlineAdapter)
    manager = plain.proxy_manager_for("http://127.0.0.1:9")
    assert manager.pool_classes_by_scheme is pystmark._WATCHED_POOLS
    pystmark._watch_session(session)  # once only
    assert session.adapters["http://"] is plain
    session.close()
