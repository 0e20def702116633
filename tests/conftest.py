"""Shared fixtures for pystmark's tests.

Every test runs with pystmark's process-wide state reset (no ``configure()``
defaults, no ``POSTMARK_*`` environment variables, fresh pooled sessions), so
tests never depend on each other or on the machine they run on.
"""

from __future__ import annotations

import importlib
import json
import signal
import threading
from collections.abc import Callable, Iterator
from collections.abc import Iterator as _Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from typing import Any as _Any

import pytest
import pytest as _pytest
import responses as responses_lib
from hypothesis import settings as hypothesis_settings

import pystmark
import pystmark as _pystmark
import pystmark_testing
from tests import contract as _contract
from tests import faults as _faults

# pytest imports the pystmark plugin (pystmark_testing, through its pytest11
# entry point) before pytest-cov starts measuring: run the module's code again,
# now measured, so its coverage counts the definitions too.
importlib.reload(pystmark_testing)

API = pystmark.API_URL
TOKEN = "server-token-3f9a1c"

# Property-based tests draw the same examples on every run, so the README's test
# command cannot fail at random. ``pytest --hypothesis-profile=explore`` draws
# new random examples on each run, to look for new failures.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile("repeatable")

_ENV_NAMES = ("POSTMARK_SERVER_TOKEN", "POSTMARK_ACCOUNT_TOKEN", "POSTMARK_API_URL")


@pytest.fixture(autouse=True)
def clean_pystmark(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reset configure() defaults, POSTMARK_* variables and pooled sessions."""
    for name in _ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pystmark, "_configured", {})
    # Retries wait with time.sleep; never wait in unit tests.
    monkeypatch.setattr(pystmark, "_sleep", lambda seconds: None)
    pystmark.close()
    yield
    pystmark.close()


@pytest.fixture
def raw() -> Iterator[Callable[[_faults.Handler], _faults.RawServer]]:
    """Start raw 127.0.0.1 servers that answer with a scripted handler; all closed after."""
    servers: list[_faults.RawServer] = []

    def start(handler: _faults.Handler) -> _faults.RawServer:
        server = _faults.RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in this test, however pytest was started.

    A process started in the background by a non-interactive shell inherits
    SIGINT as ignored, and Python then leaves it ignored: a simulated Ctrl-C
    would do nothing and a test of it would hang.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def sigint_at_default() -> None:
    """For ``subprocess.Popen(preexec_fn=...)``: the child starts with SIGINT at its default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def mocked() -> Iterator[responses_lib.RequestsMock]:
    """A ``responses`` mock that fails on any request not registered."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def no_requests() -> Iterator[responses_lib.RequestsMock]:
    """A ``responses`` mock with nothing registered; asserts no request was made."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
        assert len(mock.calls) == 0, "a request was made"


def ok_result(index: int = 0, to: str = "you@example.com") -> dict[str, Any]:
    """Postmark's answer for one accepted message."""
    return {
        "To": to,
        "SubmittedAt": "2024-02-01T10:11:12.1234567-05:00",
        "MessageID": f"b7bc2f4a-e38e-4336-af7d-e6c392c2f{index:03d}",
        "ErrorCode": 0,
        "Message": "OK",
    }


def request_json(call: Any) -> Any:
    """The decoded JSON body of a recorded ``responses`` call."""
    body = call.request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body)


@pytest.fixture
def send_ok(mocked: responses_lib.RequestsMock) -> Callable[..., responses_lib.RequestsMock]:
    """Register a successful answer for ``POST {API}{path}``; returns the mock."""

    def register(path: str = "/email", base: str = API) -> responses_lib.RequestsMock:
        mocked.add(responses_lib.POST, base + path, json=ok_result())
        return mocked

    return register


MESSAGE: dict[str, Any] = {
    "sender": "me@example.com",
    "to": "you@example.com",
    "subject": "Hi",
    "text": "Hello",
}


class Seen(NamedTuple):
    """One request as the local server saw it."""

    client_port: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Seen], "tuple[int, dict[str, str], bytes]"]


class LocalServer:
    """A stdlib HTTP/1.1 server on 127.0.0.1 that keeps connections alive.

    (Werkzeug, behind pytest-httpserver, closes every connection, so it cannot
    show connection reuse.) ``requests`` lists what arrived, with the client
    port: one port means one TCP connection. ``answer`` makes each reply.
    """

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.answer: Answer = lambda seen: (200, {}, json.dumps(ok_result()).encode())
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.client_address[1],
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    self.rfile.read(length),
                )
                owner.requests.append(seen)
                status, headers, body = owner.answer(seen)
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def ports(self) -> list[int]:
        """The client port of each request, in arrival order."""
        return [seen.client_port for seen in self.requests]


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A keep-alive HTTP/1.1 server on 127.0.0.1; see :class:`LocalServer`."""
    server = LocalServer()
    server.thread.start()
    try:
        yield server
    finally:
        pystmark.close()
        server.server.shutdown()
        server.server.server_close()


# ---- Contract: every request the suite makes matches Postmark's Swagger ----
# Wraps pystmark._perform for each test; at teardown, each recorded request to a
# path that the Swagger files describe must match them (tests/contract.py).
# Opt out with @pytest.mark.no_contract for a test that sends a bad request on purpose.


def pytest_configure(config: _pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_contract: do not check this test's requests against the Swagger files"
    )


@_pytest.fixture(autouse=True)
def _swagger_contract(
    request: _pytest.FixtureRequest, monkeypatch: _pytest.MonkeyPatch
) -> _Iterator[list[dict[str, _Any]]]:
    recorded: list[dict[str, _Any]] = []
    if request.node.get_closest_marker("no_contract") or not _contract.available():
        yield recorded
        return
    original = _pystmark._perform

    def recording_perform(session, endpoint, url, *, params, body, headers, settings):  # type: ignore[no-untyped-def]
        path = url[len(settings.base_url) :] if url.startswith(settings.base_url) else url
        recorded.append(
            {
                "method": endpoint.method,
                "path": path.split("?", 1)[0],
                "query": list(params or {}),
                "body": body,
                "headers": dict(headers),
            }
        )
        return original(
            session, endpoint, url, params=params, body=body, headers=headers, settings=settings
        )

    monkeypatch.setattr(_pystmark, "_perform", recording_perform)
    yield recorded
    problems: list[str] = []
    for item in recorded:
        try:
            body = _contract.decode_body(item["body"])
        except ValueError:
            continue  # not JSON: nothing a JSON schema can say
        found = _contract.check_request(
            item["method"], item["path"], item["query"], body, headers=item["headers"]
        )
        problems.extend(found or [])
    if problems:
        _pytest.fail("requests that break the Postmark API contract:\n" + "\n".join(problems))
