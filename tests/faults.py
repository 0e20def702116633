"""Fault-injection helpers: a raw-socket server and checks shared by the reliability tests.

pytest-httpserver covers faults at the HTTP level; :class:`RawServer` covers what
an HTTP framework cannot do (reset a connection, send a short body, trickle
bytes, drop a kept-alive connection, never answer).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

import pystmark

TOKEN = "tok-9f3c2a71-SECRET"
#: Small timeouts so every fault ends in well under a second or two.
TIMEOUT = (0.5, 0.4)
DEADLINE = 1.5
FAST = {
    "api_key": TOKEN,
    "timeout": TIMEOUT,
    "deadline": DEADLINE,
    "max_retries": 2,
    "backoff_base": 0.01,
    "backoff_cap": 0.02,
}
#: The raw exception types that must never escape from pystmark.
RAW_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,
    json.JSONDecodeError,
    KeyError,
    TypeError,
)


def message() -> dict[str, Any]:
    """A valid message with a unique body, so the server's log can be matched."""
    return {
        "sender": "from@example.com",
        "to": "to@example.com",
        "subject": "Fault",
        "text": f"body-{uuid.uuid4().hex}",
    }


def accepted(to: str = "to@example.com") -> dict[str, Any]:
    """Postmark's answer to an accepted send."""
    return {
        "ErrorCode": 0,
        "Message": "OK",
        "MessageID": str(uuid.uuid4()),
        "SubmittedAt": "2026-11-23T10:00:00Z",
        "To": to,
    }


@dataclass
class RawRequest:
    """One request as the raw server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def read_request(conn: socket.socket) -> RawRequest | None:
    """Read one HTTP/1.1 request (Content-Length bodies only); None at end of stream."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawRequest(method, path, headers, body)


def reply(status: int = 200, body: bytes | None = None, *, keep_alive: bool = False) -> bytes:
    """Bytes of a complete HTTP response with a JSON body."""
    body = json.dumps(accepted()).encode() if body is None else body
    connection = "keep-alive" if keep_alive else "close"
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: {connection}\r\n\r\n"
    ).encode() + body


Handler = Callable[["RawServer", socket.socket], None]


@dataclass
class RawServer:
    """A small threaded TCP server on 127.0.0.1 that runs ``handler`` per connection.

    At most ``max_connections`` are served; every thread stops when the server
    is closed (sockets are closed under them), so a test never hangs on it.
    """

    handler: Handler
    max_connections: int = 64
    requests: list[RawRequest] = field(default_factory=list)
    accepted: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _conns: list[socket.socket] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._stop.is_set() and self.accepted < self.max_connections:
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.accepted += 1
                self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.handler(self, conn)
        with contextlib.suppress(OSError):
            conn.close()

    def read(self, conn: socket.socket) -> RawRequest | None:
        """Read a request and record it."""
        request = read_request(conn)
        if request is not None:
            with self._lock:
                self.requests.append(request)
        return request

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if the server is stopping."""
        return self._stop.wait(seconds)

    def close(self) -> None:
        """Stop accepting, close every connection, and join the threads."""
        self._stop.set()
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            # shutdown() wakes a thread blocked in recv(); close() alone does not.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        self._acceptor.join(2)
        for thread in self._threads:
            thread.join(2)

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ---- handlers for RawServer -------------------------------------------------


def never_respond(server: RawServer, conn: socket.socket) -> None:
    """Read the request, then stay silent until the server stops."""
    if server.read(conn) is not None:
        server.wait(30)


def reset_after_request(server: RawServer, conn: socket.socket) -> None:
    """Read the request, then reset the connection (RST, not FIN)."""
    if server.read(conn) is not None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


def short_body(server: RawServer, conn: socket.socket) -> None:
    """Announce 200 bytes, send 10, then close (FIN)."""
    if server.read(conn) is not None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n" + b'{"ErrorCod'
        )
        conn.shutdown(socket.SHUT_WR)
        server.wait(0.5)


def trickle(interval: float, *, body_only: bool = False) -> Handler:
    """Answer one byte per ``interval`` seconds, each just inside the read timeout."""

    def handler(server: RawServer, conn: socket.socket) -> None:
        if server.read(conn) is None:
            return
        payload = b"x" * 100_000
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
        if body_only:
            conn.sendall(head)
        else:
            payload = head + payload
        for index in range(len(payload)):
            if server.wait(interval):
                return
            conn.sendall(payload[index : index + 1])

    return handler


def stale_keep_alive(server: RawServer, conn: socket.socket) -> None:
    """Answer the first request kept-alive; read the next one and close unanswered."""
    if server.read(conn) is None:
        return
    conn.sendall(reply(keep_alive=True))
    if server.read(conn) is not None:
        conn.close()


def answer(status: int = 200, body: bytes | None = None) -> Handler:
    """Answer every request on the connection (kept alive) with one response."""

    def handler(server: RawServer, conn: socket.socket) -> None:
        while server.read(conn) is not None:
            conn.sendall(reply(status, body, keep_alive=True))

    return handler


# ---- listeners that fail the connect phase ----------------------------------


def refused_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def backlog_full_listener() -> Iterator[int]:
    """A listener that never accepts, its backlog filled: connects time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(64):
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            # A probe that cannot complete means the backlog is full.
            time.sleep(0.01)
            with socket.socket() as probe:
                probe.settimeout(0.05)
                try:
                    probe.connect(("127.0.0.1", port))
                except (TimeoutError, OSError):
                    break
                fillers.append(probe.dup())
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# ---- checks ------------------------------------------------------------------


def chain(error: BaseException) -> list[BaseException]:
    """The error and its ``__cause__``/``__context__`` chain."""
    seen: list[BaseException] = []
    item: BaseException | None = error
    while item is not None and all(item is not other for other in seen):
        seen.append(item)
        item = item.__cause__ or item.__context__
    return seen


def assert_typed(error: BaseException, expected: type[pystmark.PystmarkError]) -> None:
    """The documented class, not a raw library error; the cause kept; no token."""
    assert isinstance(error, expected), f"{type(error).__name__}: {error}"
    assert isinstance(error, pystmark.PystmarkError)
    assert not isinstance(error, RAW_ERRORS) or isinstance(error, pystmark.APIError)
    assert_no_token(error)


def assert_cause(error: BaseException) -> None:
    """A chained cause exists (the low-level failure is kept)."""
    assert error.__cause__ is not None, f"no cause chained on {error!r}"


def assert_no_token(error: BaseException, token: str = TOKEN) -> None:
    """The token appears nowhere in the error chain's text or kept requests."""
    for item in chain(error):
        texts = [str(item), repr(item), *map(repr, item.args)]
        request = getattr(item, "request", None)
        if request is not None:
            texts.append(repr(dict(getattr(request, "headers", {}) or {})))
        for text in texts:
            assert token not in text, f"token leaked by {type(item).__name__}"


@contextlib.contextmanager
def timed(limit: float) -> Iterator[None]:
    """Assert that the block ends within ``limit`` seconds."""
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed <= limit, f"took {elapsed:.2f} s, limit {limit:.2f} s"


def bodies(server_requests: list[RawRequest], method: str = "POST") -> list[bytes]:
    """The bodies of the recorded requests of ``method``."""
    return [request.body for request in server_requests if request.method == method]
