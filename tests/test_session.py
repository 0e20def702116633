"""Wire behaviour against a real HTTP server on 127.0.0.1: connection reuse, User-Agent."""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest
import requests

import pystmark
from tests.conftest import MESSAGE, TOKEN, LocalServer


@pytest.fixture
def server(local_server: LocalServer) -> tuple[str, LocalServer]:
    return local_server.url, local_server


def test_50_sends_use_one_connection(
    server: tuple[str, LocalServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, recorder = server
    monkeypatch.setenv("POSTMARK_API_URL", url)
    for n in range(50):
        response = pystmark.send({**MESSAGE, "subject": f"#{n}"}, api_key=TOKEN)
        assert response.message == "OK"
    assert len(recorder.ports) == 50
    assert len(set(recorder.ports)) == 1
    assert [json.loads(seen.body)["Subject"] for seen in recorder.requests] == [
        f"#{n}" for n in range(50)
    ]


def test_user_agent_and_token_header(server: tuple[str, LocalServer]) -> None:
    url, recorder = server
    pystmark.send(MESSAGE, api_key=TOKEN, base_url=url)
    headers = recorder.requests[0].headers
    assert headers["User-Agent"].startswith(f"pystmark/{pystmark.__version__} ")
    assert headers["X-Postmark-Server-Token"] == TOKEN
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"


def test_close_then_send_opens_a_new_connection(server: tuple[str, LocalServer]) -> None:
    url, recorder = server
    sender = pystmark.Sender(api_key=TOKEN, base_url=url)
    sender.send(MESSAGE)
    sender.send(MESSAGE)
    pystmark.close()
    sender.send(MESSAGE)
    with sender:
        sender.send(MESSAGE)
    sender.send(MESSAGE)
    first, second, third, fourth, fifth = recorder.ports
    assert first == second
    assert third != second
    assert fourth == third
    assert fifth != fourth


def test_instances_and_functions_share_the_thread_connection(
    server: tuple[str, LocalServer],
) -> None:
    url, recorder = server
    pystmark.send(MESSAGE, api_key=TOKEN, base_url=url)
    pystmark.Sender(api_key=TOKEN, base_url=url).send(MESSAGE)
    pystmark.BatchSender(api_key=TOKEN, base_url=url)  # another instance, no request
    pystmark.Sender(api_key=TOKEN, base_url=url).send(MESSAGE)
    assert len(set(recorder.ports)) == 1


def test_each_thread_has_its_own_session() -> None:
    sessions: list[object] = []

    def grab() -> None:
        sessions.append(pystmark._POOL.get())
        sessions.append(pystmark._POOL.get())

    threads = [threading.Thread(target=grab) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sessions) == 6
    assert len({id(session) for session in sessions}) == 3
    assert sessions[0] is sessions[1]


def test_forked_child_forgets_the_parents_sessions() -> None:
    pool = pystmark._SessionPool()
    parent = pool.get()
    pool._forget()
    child = pool.get()
    assert child is not parent
    pool.close()


def test_token_not_in_any_log_line_on_the_wire(
    server: tuple[str, LocalServer], caplog: pytest.LogCaptureFixture
) -> None:
    url, recorder = server
    caplog.set_level(logging.DEBUG)
    pystmark.send(MESSAGE, api_key=TOKEN, base_url=url)
    recorder.answer = lambda seen: (401, {}, b'{"ErrorCode": 10, "Message": "Bad token"}')
    with pytest.raises(pystmark.UnauthorizedError):
        pystmark.send(MESSAGE, api_key=TOKEN, base_url=url)
    messages = [record.getMessage() for record in caplog.records]
    assert any(record.name == "pystmark" for record in caplog.records)
    assert any(record.name.startswith("urllib3") for record in caplog.records)
    assert len(messages) >= 3
    assert all(TOKEN not in message for message in messages)
    assert recorder.requests[0].headers["X-Postmark-Server-Token"] == TOKEN


def test_a_refused_connection_names_the_host_and_the_reason() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(pystmark.ConnectionFailedError) as caught:
        pystmark.send(
            {"sender": "a@example.com", "to": "b@example.com", "text": "hi"},
            api_key="token",
            base_url=f"http://127.0.0.1:{port}",
            max_retries=0,
        )
    assert str(caught.value) == "could not connect to 127.0.0.1 (connection refused)"


def _prepared(url: str) -> requests.PreparedRequest:
    request = requests.PreparedRequest()
    request.prepare(method="POST", url=url, data=b"{}", headers={"Content-Type": "x"})
    return request


def test_the_adapter_keeps_each_origins_pool_until_its_manager_drops_it(
    local_server: LocalServer,
) -> None:
    second = LocalServer()
    second.thread.start()
    # Room for one pool: each origin's request drops (closes) the other's pool.
    adapter = pystmark._DeadlineAdapter(pool_connections=1)
    try:
        first_url, second_url = local_server.url + "/email", second.url + "/email"
        kept = adapter.get_connection_with_tls_context(_prepared(first_url), True)
        # requests' own lookup finds the very pool the adapter keeps.
        looked_up = requests.adapters.HTTPAdapter.get_connection_with_tls_context(
            adapter, _prepared(first_url + "?x=1"), True
        )
        assert looked_up is kept
        assert adapter.get_connection_with_tls_context(_prepared(first_url), True) is kept
        assert not kept.retired
        for url in (first_url, second_url, first_url, second_url, first_url):
            response = adapter.send(_prepared(url), timeout=(5, 5))
            assert response.status_code == 200
            response.close()
        assert len(local_server.requests) == 3
        assert len(second.requests) == 2
        # The manager dropped the first pool to make room: it is not handed out
        # again; the pool handed out is the one the manager keeps now.
        fresh = adapter.get_connection_with_tls_context(_prepared(first_url), True)
        assert fresh is not kept and not fresh.retired
        assert (
            requests.adapters.HTTPAdapter.get_connection_with_tls_context(
                adapter, _prepared(first_url), True
            )
            is fresh
        )
        adapter.close()
        assert fresh.retired
        assert adapter.send(_prepared(first_url), timeout=(5, 5)).status_code == 200
    finally:
        adapter.close()
        second.server.shutdown()
        second.server.server_close()


def test_the_adapter_keeps_a_pool_per_tls_setting_and_leaves_proxies_to_requests() -> None:
    adapter = pystmark._DeadlineAdapter()
    url = "https://example.invalid/email"
    trusted = adapter.get_connection_with_tls_context(_prepared(url), True)
    assert adapter.get_connection_with_tls_context(_prepared(url), __file__) is not trusted
    assert adapter.get_connection_with_tls_context(_prepared(url), True) is trusted
    proxies = {"http": "http://127.0.0.1:9"}
    request = _prepared("http://example.invalid/a/b?x=1#part")
    pool = adapter.get_connection_with_tls_context(request, True, proxies=proxies)
    assert pool.proxy is not None and pool.proxy.port == 9
    assert adapter.get_connection_with_tls_context(request, True) is not pool
    # Through a proxy, plain HTTP asks for the whole URL; else the path and query.
    assert adapter.request_url(request, proxies) == "http://example.invalid/a/b?x=1"
    assert adapter.request_url(request, {}) == "/a/b?x=1"
    assert adapter.request_url(_prepared("http://example.invalid"), None) == "/"
    adapter.close()


@pytest.mark.parametrize(
    "answer_headers",
    [
        {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "r1"},
        {"Content-Type": "text/plain", "set-cookie": "session=abc; Path=/"},
    ],
    ids=["no cookie", "a cookie"],
)
def test_the_adapters_responses_are_those_requests_builds(
    local_server: LocalServer, answer_headers: dict[str, str]
) -> None:
    local_server.answer = lambda seen: (202, answer_headers, b'{"ErrorCode": 0}')
    url = local_server.url + "/email?x=1"
    adapter = pystmark._DeadlineAdapter()
    plain = requests.adapters.HTTPAdapter()
    try:
        ours = adapter.send(_prepared(url), timeout=(5, 5))
        theirs = plain.send(_prepared(url), timeout=(5, 5))
        # Every attribute requests sets, with the same values.
        assert sorted(vars(ours)) == sorted(vars(theirs))
        for response, owner in ((ours, adapter), (theirs, plain)):
            assert response.connection is owner
        for name in ("status_code", "headers", "encoding", "reason", "url", "content"):
            assert getattr(ours, name) == getattr(theirs, name), name
        assert ours.request.url == theirs.request.url == url
        assert ours.cookies.get_dict() == theirs.cookies.get_dict()
        assert ours.cookies.get_dict() == (
            {"session": "abc"} if "set-cookie" in answer_headers else {}
        )
        assert ours.json() == {"ErrorCode": 0}
    finally:
        adapter.close()
        plain.close()
