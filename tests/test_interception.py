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
    check_body(response)
    return response


def check_body(response: pystmark.Response) -> None:
    """The kept ``requests.Response`` still reads its body, whatever answered."""
    assert response.http_response.json() == ok_result()
    assert json.loads(response.http_response.text) == ok_result()
    assert json.loads(response.content) == ok_result()


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
        check_body(pystmark.send(MESSAGE, api_key=TOKEN, session=session))
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


# ---- pystmark 0.5-style mocks ---------------------------------------------------------
#
# Suites written for 0.5 patch requests.request or Session.request to return
# ``Mock(spec=requests.Response)`` with a status and ``json()``: no headers,
# no raw body, a ``content`` that is not bytes. 0.5 read such an answer
# through ``json()``; so does pystmark.

BOUNCE = {"ID": 42, "Type": "HardBounce", "TypeCode": 1, "Email": "you@example.com"}


def response_05(data: Any, status: int = 200) -> Any:
    """An answer as a 0.5-era suite mocks it."""
    response = mock.Mock(spec=requests.Response)
    response.status_code = status
    response.json.return_value = data
    return response


PATCHES_05 = {
    "requests.request": lambda answer: mock.patch("requests.request", return_value=answer),
    "Session.request": lambda answer: mock.patch.object(
        requests.Session, "request", autospec=True, return_value=answer
    ),
}


@pytest.mark.parametrize("patch", PATCHES_05.values(), ids=list(PATCHES_05))
def test_a_05_mock_answers_a_send(patch: Any, no_sockets: list[Any]) -> None:
    answer = response_05(ok_result())
    with patch(answer) as patched:
        response = pystmark.send(MESSAGE, api_key=TOKEN)
    assert patched.call_count == 1
    assert response.message_id == ok_result()["MessageID"]
    assert response.json() == ok_result()
    assert response.status_code == 200
    assert response.http_response is answer


@pytest.mark.parametrize("patch", PATCHES_05.values(), ids=list(PATCHES_05))
def test_a_05_mock_answers_a_batch(patch: Any, no_sockets: list[Any]) -> None:
    with patch(response_05([ok_result(0), ok_result(1)])):
        response = pystmark.send_batch([MESSAGE, MESSAGE], api_key=TOKEN)
    assert [result.message_id for result in response] == [
        ok_result(0)["MessageID"],
        ok_result(1)["MessageID"],
    ]


@pytest.mark.parametrize("patch", PATCHES_05.values(), ids=list(PATCHES_05))
def test_a_05_mock_answers_get_bounces(patch: Any, no_sockets: list[Any]) -> None:
    with patch(response_05({"TotalCount": 1, "Bounces": [BOUNCE]})):
        response = pystmark.get_bounces(api_key=TOKEN)
    assert response.total == 1
    assert [bounce.id for bounce in response.bounces] == [42]


def patched_request(answer: Any) -> Any:
    return mock.patch("requests.request", return_value=answer)


def test_a_05_mock_error_status_raises_the_05_error(no_sockets: list[Any]) -> None:
    refused = response_05({"ErrorCode": 300, "Message": "Invalid email request"}, status=422)
    with patched_request(refused), pytest.raises(pystmark.UnprocessableEntityError) as caught:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert caught.value.error_code == 300
    assert not isinstance(caught.value, pystmark.SendOutcomeUnknownError)
    failed = response_05(None, status=500)
    with patched_request(failed), pytest.raises(pystmark.InternalServerError) as unknown:
        pystmark.send(MESSAGE, api_key=TOKEN)
    assert isinstance(unknown.value, pystmark.SendOutcomeUnknownError)
    limited = response_05({"ErrorCode": 0, "Message": "slow down"}, status=429)
    with patched_request(limited) as patched, pytest.raises(pystmark.RateLimitError):
        pystmark.send(MESSAGE, api_key=TOKEN, max_retries=1)
    assert patched.call_count == 2  # retried: the mock has no Retry-After to read


def test_a_05_mock_whose_json_fails_is_an_unreadable_answer(no_sockets: list[Any]) -> None:
    broken = response_05(None)
    broken.json.side_effect = ValueError("not JSON")
    with patched_request(broken), pytest.raises(pystmark.SendOutcomeUnknownError, match="JSON"):
        pystmark.send(MESSAGE, api_key=TOKEN)
    a_list = response_05(["not", "an", "object"])
    with patched_request(a_list), pytest.raises(pystmark.SendOutcomeUnknownError, match="dict"):
        pystmark.send(MESSAGE, api_key=TOKEN)


def test_a_mock_with_bytes_content_is_read_from_it_within_the_limit(
    no_sockets: list[Any],
) -> None:
    answer = mock.Mock(spec=requests.Response)
    answer.status_code = 200
    answer.content = json.dumps(ok_result()).encode()
    answer.json.side_effect = AssertionError("the bytes are decoded, json() is not needed")
    with mock.patch("requests.request", return_value=answer):
        assert pystmark.send(MESSAGE, api_key=TOKEN).message_id == ok_result()["MessageID"]
        with pytest.raises(pystmark.SendOutcomeUnknownError, match="max_response_bytes"):
            pystmark.send(MESSAGE, api_key=TOKEN, max_response_bytes=10)
