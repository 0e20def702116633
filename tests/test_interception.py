"""Every request pystmark makes goes through what users' test suites patch.

One test per interception style. Each proves that the tool saw the request
(method, URL, headers and body) and that nothing reached a socket meanwhile.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import betamax
import pytest
import requests
import requests.adapters
import requests_mock
import responses
import vcr

import pystmark
from tests.conftest import API, MESSAGE, TOKEN, LocalServer, ok_result

URL = API + "/email"
EXPECTED_BODY = {"From": "me@example.com", "To": "you@example.com", "Subject": "Hi"}


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Refuse every socket connection; yields the addresses that were tried."""
    tried: list[Any] = []

    def refuse(sock: socket.socket, address: Any) -> None:
        tried.append(address)
        raise OSError(f"test guard: connection to {address!r} refused")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield tried
    assert tried == [], f"a request reached a socket: {tried}"


def ok_response(request: Any = None) -> requests.Response:
    """A real ``requests.Response`` carrying Postmark's answer to a send."""
    response = requests.Response()
    response.status_code = 200
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps(ok_result()).encode()
    response.request = request
    response.url = URL
    return response


def check_seen(method: str, url: str, headers: Any, body: Any) -> None:
    """The intercepted request is the one pystmark would have sent."""
    assert method == "POST"
    assert url == URL
    assert headers["X-Postmark-Server-Token"] == TOKEN
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("pystmark/")
    sent = json.loads(body)
    assert {key: sent[key] for key in EXPECTED_BODY} == EXPECTED_BODY
    assert sent["TextBody"] == "Hello"


def send() -> pystmark.SendResponse:
    response = pystmark.send(MESSAGE, api_key=TOKEN)
    assert response.message_id == ok_result()["MessageID"]
    return response


def test_patched_session_request(no_sockets: list[Any]) -> None:
    with mock.patch.object(
        requests.Session, "request", autospec=True, return_value=ok_response()
    ) as patched:
        send()
        send()  # the pooled session's second request too
    assert patched.call_count == 2
    args, kwargs = patched.call_args
    method, url = args[1:3] if len(args) > 2 else (kwargs["method"], kwargs["url"])
    check_seen(method, url, kwargs["headers"], kwargs["data"])


@pytest.mark.parametrize(
    "target", [(requests.Session, "send"), (requests.adapters.HTTPAdapter, "send")]
)
def test_patched_send(target: tuple[type, str], no_sockets: list[Any]) -> None:
    owner, name = target
    with mock.patch.object(
        owner, name, autospec=True, side_effect=lambda _, r, **kw: ok_response(r)
    ) as patched:
        send()
        send()
    assert patched.call_count == 2
    prepared = patched.call_args.args[1]
    check_seen(prepared.method, prepared.url, prepared.headers, prepared.body)


def test_patched_requests_request(no_sockets: list[Any]) -> None:
    """pystmark 0.5 sent through ``requests.request``; suites written for it patch that."""
    with mock.patch("requests.request", autospec=True, return_value=ok_response()) as patched:
        send()
        send()
    assert patched.call_count == 2
    (method, url), kwargs = patched.call_args
    check_seen(method, url, kwargs["headers"], kwargs["data"])


def test_responses(no_sockets: list[Any]) -> None:
    with responses.RequestsMock() as mocked:
        mocked.post(URL, json=ok_result())
        send()
        send()
        assert len(mocked.calls) == 2
        request = mocked.calls[1].request
    check_seen(request.method, request.url, request.headers, request.body)


def test_requests_mock(no_sockets: list[Any]) -> None:
    with requests_mock.Mocker() as mocked:
        mocked.post(URL, json=ok_result())
        send()
        send()
    assert mocked.call_count == 2
    request = mocked.request_history[1]
    check_seen(request.method, request.url, request.headers, request.body)


def _recorded_interaction() -> tuple[dict[str, Any], dict[str, Any]]:
    request = {"method": "POST", "uri": URL, "body": "", "headers": {}}
    answer = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["application/json"]},
        "body": {"string": json.dumps(ok_result())},
    }
    return request, answer


def test_vcrpy_cassette(tmp_path: Path, no_sockets: list[Any]) -> None:
    request, answer = _recorded_interaction()
    cassette_file = tmp_path / "send.yaml"
    cassette_file.write_text(
        json.dumps({"version": 1, "interactions": [{"request": request, "response": answer}]})
    )
    seen: ClassVar[list[Any]] = []
    recorder = vcr.VCR(record_mode="none", serializer="json")
    recorder.register_matcher("recording", lambda live, recorded: seen.append(live))
    with recorder.use_cassette(
        str(cassette_file), match_on=["method", "uri", "recording"], allow_playback_repeats=True
    ) as cassette:
        send()
        send()
    assert cassette.play_count == 2
    live = seen[-1]
    check_seen(live.method, live.uri, live.headers, live.body)


class _RecordingMatcher(betamax.BaseMatcher):  # type: ignore[misc]
    name = "pystmark-recording"
    seen: ClassVar[list[Any]] = []

    def match(self, request: Any, recorded_request: Any) -> bool:
        self.seen.append(request)
        return True


def test_betamax_cassette(tmp_path: Path, no_sockets: list[Any]) -> None:
    """betamax works on a session you pass: ``session=`` takes requests' full path."""
    request, answer = _recorded_interaction()
    answer = {
        **answer,
        "url": URL,
        "body": {"string": json.dumps(ok_result()), "encoding": "utf-8"},
    }
    recorded = {
        "http_interactions": [
            {
                "request": {**request, "body": {"string": "", "encoding": "utf-8"}},
                "response": answer,
                "recorded_at": "2026-01-01T00:00:00",
            }
        ],
        "recorded_with": "betamax",
    }
    (tmp_path / "send.json").write_text(json.dumps(recorded))
    betamax.Betamax.register_request_matcher(_RecordingMatcher)
    _RecordingMatcher.seen = []
    session = requests.Session()
    recorder = betamax.Betamax(session, cassette_library_dir=str(tmp_path))
    with recorder.use_cassette(
        "send",
        record="none",
        match_requests_on=["method", "uri", "pystmark-recording"],
        allow_playback_repeats=True,
    ):
        pystmark.send(MESSAGE, api_key=TOKEN, session=session)
        pystmark.send(MESSAGE, api_key=TOKEN, session=session)
    assert len(_RecordingMatcher.seen) == 2
    live = _RecordingMatcher.seen[-1]
    check_seen(live.method, live.url, live.headers, live.body)


def test_stand_ins_are_told_from_the_library() -> None:
    """A mock already in place when pystmark was imported must not pass for the original."""
    assert pystmark._FAST_PATH_ALLOWED
    assert all(map(pystmark._from_library, pystmark._session_path()))
    assert all(map(pystmark._from_library, pystmark._module_level_path()))
    autospecced = mock.create_autospec(requests.Session.request)
    assert not pystmark._from_library(autospecced)
    assert not pystmark._from_library(mock.MagicMock())
    assert not pystmark._from_library(vcr.stubs.VCRHTTPConnection)


def test_imported_under_a_patch_never_takes_the_fast_path(
    monkeypatch: pytest.MonkeyPatch, no_sockets: list[Any]
) -> None:
    """As if pystmark had been imported inside a test that patched requests.request."""
    with mock.patch("requests.request", autospec=True, return_value=ok_response()) as patched:
        monkeypatch.setattr(pystmark, "_MODULE_LEVEL_PATH", pystmark._module_level_path())
        monkeypatch.setattr(pystmark, "_FAST_PATH_ALLOWED", False)
        send()
    assert patched.call_count == 1


def test_short_path_only_while_nothing_is_replaced(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unpatched, requests skip Session.request; patched, they go through the patch."""
    full_path: list[str] = []
    original = pystmark._PooledSession.request

    def counting(self: Any, *args: Any, **kwargs: Any) -> requests.Response:
        full_path.append("request")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pystmark._PooledSession, "request", counting)
    pystmark.send(MESSAGE, api_key=TOKEN, base_url=local_server.url)
    assert full_path == []  # the short path
    real_send = requests.Session.send
    with mock.patch.object(requests.Session, "send", autospec=True, side_effect=real_send) as spy:
        pystmark.send(MESSAGE, api_key=TOKEN, base_url=local_server.url)
    assert full_path == ["request"] and spy.call_count == 1
    pystmark.send(MESSAGE, api_key=TOKEN, base_url=local_server.url)
    assert full_path == ["request"]  # short again once the patch is gone
    assert len(local_server.requests) == 3
