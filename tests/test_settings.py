"""Settings: accepted everywhere, precedence, test token, base_url and token checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses as responses_lib
from responses import matchers

import pystmark
from pystmark import ConfigurationError
from tests.conftest import API, MESSAGE, TOKEN, ok_result

TEMPLATE = {"sender": "me@example.com", "to": "you@example.com", "template_id": 1}
BATCH_ANSWER = [ok_result()]
BULK_ANSWER = {"ID": "x", "Status": "Accepted", "SubmittedAt": "2024-01-01T00:00:00Z"}

# (name, HTTP method, path, answer, call(options)) for every class and function.
CALLS: list[tuple[str, str, str, Any, Callable[..., Any]]] = [
    ("send", "POST", "/email", ok_result(), lambda **o: pystmark.send(MESSAGE, **o)),
    (
        "send_with_template",
        "POST",
        "/email/withTemplate",
        ok_result(),
        lambda **o: pystmark.send_with_template(TEMPLATE, **o),
    ),
    (
        "send_batch",
        "POST",
        "/email/batch",
        BATCH_ANSWER,
        lambda **o: pystmark.send_batch([MESSAGE], **o),
    ),
    (
        "send_batch_with_templates",
        "POST",
        "/email/batchWithTemplates",
        BATCH_ANSWER,
        lambda **o: pystmark.send_batch_with_templates([TEMPLATE], **o),
    ),
    (
        "send_bulk",
        "POST",
        "/email/bulk",
        BULK_ANSWER,
        lambda **o: pystmark.send_bulk(
            {"sender": "me@example.com", "text": "x"}, ["a@example.com"], **o
        ),
    ),
    (
        "send_bulk_with_template",
        "POST",
        "/email/bulk",
        BULK_ANSWER,
        lambda **o: pystmark.send_bulk_with_template(
            {"sender": "me@example.com", "template_alias": "news"}, ["a@example.com"], **o
        ),
    ),
    (
        "get_bulk_status",
        "GET",
        "/email/bulk/x",
        BULK_ANSWER,
        lambda **o: pystmark.get_bulk_status("x", **o),
    ),
    ("Sender", "POST", "/email", ok_result(), lambda **o: pystmark.Sender(**o).send(MESSAGE)),
    (
        "TemplateSender",
        "POST",
        "/email/withTemplate",
        ok_result(),
        lambda **o: pystmark.TemplateSender(**o).send(TEMPLATE),
    ),
    (
        "BatchSender",
        "POST",
        "/email/batch",
        BATCH_ANSWER,
        lambda **o: pystmark.BatchSender(**o).send([MESSAGE]),
    ),
    (
        "BatchTemplateSender",
        "POST",
        "/email/batchWithTemplates",
        BATCH_ANSWER,
        lambda **o: pystmark.BatchTemplateSender(**o).send([TEMPLATE]),
    ),
    (
        "BulkSender",
        "POST",
        "/email/bulk",
        BULK_ANSWER,
        lambda **o: pystmark.BulkSender(**o).send(
            {"sender": "me@example.com", "text": "x"}, ["a@example.com"]
        ),
    ),
    (
        "BulkTemplateSender",
        "POST",
        "/email/bulk",
        BULK_ANSWER,
        lambda **o: pystmark.BulkTemplateSender(**o).send(
            {"sender": "me@example.com", "template_id": 7}, ["a@example.com"]
        ),
    ),
    (
        "BulkSender.get_status",
        "GET",
        "/email/bulk/x",
        BULK_ANSWER,
        lambda **o: pystmark.BulkSender(**o).get_status("x"),
    ),
]
IDS = [item[0] for item in CALLS]


class RecordingSession(requests.Session):
    """A session that records the keyword arguments of each request."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.seen.append({"method": method, "url": url, **kwargs})
        return super().request(method, url, **kwargs)


@pytest.mark.parametrize(("name", "method", "path", "answer", "call"), CALLS, ids=IDS)
def test_every_class_and_function_takes_every_setting(
    mocked: responses_lib.RequestsMock,
    name: str,
    method: str,
    path: str,
    answer: Any,
    call: Callable[..., Any],
) -> None:
    base = "https://postmark.example.net/api"
    mocked.add(
        method,
        base + path,
        json=answer,
        match=[
            matchers.header_matcher(
                {"X-Postmark-Server-Token": "POSTMARK_API_TEST", "X-Extra": "1"}
            )
        ],
    )
    session = RecordingSession()
    call(
        api_key=TOKEN,
        test=True,
        timeout=(2, 9),
        session=session,
        base_url=base + "/",
        proxies={"https": "http://proxy.invalid:3128"},
        verify="/etc/ssl/certs/ca.pem",
        cert="/tmp/client.pem",
        headers={"X-Extra": "1"},
        cookies={"c": "1"},
        hooks={"response": []},
        max_retries=0,
        deadline=30,
        secure=True,
    )
    assert len(mocked.calls) == 1
    (seen,) = session.seen
    assert seen["method"] == method
    assert seen["url"] == base + path
    assert seen["timeout"] == (2.0, 9.0)
    assert seen["proxies"] == {"https": "http://proxy.invalid:3128"}
    assert seen["verify"] == "/etc/ssl/certs/ca.pem"
    assert seen["cert"] == "/tmp/client.pem"
    assert seen["cookies"] == {"c": "1"}
    assert seen["hooks"] == {"response": []}


@pytest.mark.parametrize(("name", "method", "path", "answer", "call"), CALLS, ids=IDS)
def test_unknown_option_is_a_type_error(
    no_requests: responses_lib.RequestsMock,
    name: str,
    method: str,
    path: str,
    answer: Any,
    call: Callable[..., Any],
) -> None:
    with pytest.raises(TypeError, match="api_token"):
        call(api_token=TOKEN)


@pytest.mark.parametrize(("name", "method", "path", "answer", "call"), CALLS, ids=IDS)
def test_missing_token_is_a_configuration_error_before_io(
    no_requests: responses_lib.RequestsMock,
    name: str,
    method: str,
    path: str,
    answer: Any,
    call: Callable[..., Any],
) -> None:
    with pytest.raises(ConfigurationError, match="no server token"):
        call()


def test_unknown_option_on_a_method_call() -> None:
    with pytest.raises(TypeError):
        pystmark.Sender().send(MESSAGE, bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        pystmark.configure(bogus=1)  # type: ignore[call-arg]


# ---- precedence ---------------------------------------------------------------------


def _token_used(mocked: responses_lib.RequestsMock) -> str:
    return str(mocked.calls[-1].request.headers["X-Postmark-Server-Token"])


@pytest.fixture
def any_host(mocked: responses_lib.RequestsMock) -> responses_lib.RequestsMock:
    for base in (API, "https://env.example.com", "https://conf.example.com"):
        for suffix in ("", "/v2"):
            mocked.add(responses_lib.POST, base + suffix + "/email", json=ok_result())
    return mocked


def test_token_precedence(
    any_host: responses_lib.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    send = pystmark.send
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "from-env")
    send(MESSAGE)
    assert _token_used(any_host) == "from-env"
    pystmark.configure(api_key="from-configure")
    send(MESSAGE)
    assert _token_used(any_host) == "from-configure"
    sender = pystmark.Sender(api_key="from-instance")
    sender.send(MESSAGE)
    assert _token_used(any_host) == "from-instance"
    sender.send(MESSAGE, api_key="from-call")
    assert _token_used(any_host) == "from-call"
    send(MESSAGE, api_key="from-call")
    assert _token_used(any_host) == "from-call"
    # None means "not given": the next layer shows through.
    sender.send(MESSAGE, api_key=None)
    assert _token_used(any_host) == "from-instance"
    pystmark.configure(api_key=None)
    send(MESSAGE)
    assert _token_used(any_host) == "from-env"
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN")
    with pytest.raises(ConfigurationError):
        send(MESSAGE)


def test_base_url_precedence(
    any_host: responses_lib.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def url() -> str:
        return str(any_host.calls[-1].request.url)

    pystmark.send(MESSAGE, api_key=TOKEN)
    assert url() == API + "/email"
    monkeypatch.setenv("POSTMARK_API_URL", "https://env.example.com")
    pystmark.send(MESSAGE, api_key=TOKEN)
    assert url() == "https://env.example.com/email"
    pystmark.configure(base_url="https://conf.example.com/")
    pystmark.send(MESSAGE, api_key=TOKEN)
    assert url() == "https://conf.example.com/email"
    sender = pystmark.Sender(api_key=TOKEN, base_url="https://env.example.com/v2")
    sender.send(MESSAGE)
    assert url() == "https://env.example.com/v2/email"
    sender.send(MESSAGE, base_url="https://conf.example.com/v2")
    assert url() == "https://conf.example.com/v2/email"


def test_timeout_precedence(any_host: responses_lib.RequestsMock) -> None:
    session = RecordingSession()
    pystmark.send(MESSAGE, api_key=TOKEN, session=session)
    assert session.seen[-1]["timeout"] == pystmark.DEFAULT_TIMEOUT
    pystmark.configure(timeout=7, session=session)
    pystmark.send(MESSAGE, api_key=TOKEN)
    assert session.seen[-1]["timeout"] == (7.0, 7.0)
    sender = pystmark.Sender(api_key=TOKEN, timeout=(1, 2))
    sender.send(MESSAGE)
    assert session.seen[-1]["timeout"] == (1.0, 2.0)
    sender.send(MESSAGE, timeout=3.5)
    assert session.seen[-1]["timeout"] == (3.5, 3.5)


def test_headers_merge_across_layers(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(
        responses_lib.POST,
        API + "/email",
        json=ok_result(),
        match=[matchers.header_matcher({"X-A": "conf", "X-B": "instance", "X-C": "call"})],
    )
    pystmark.configure(headers={"X-A": "conf", "X-B": "conf"})
    sender = pystmark.Sender(api_key=TOKEN, headers={"X-B": "instance", "X-C": "instance"})
    sender.send(MESSAGE, headers={"X-C": "call"})
    # A header cannot replace the token.
    sender.send(MESSAGE, headers={"X-C": "call", "X-Postmark-Server-Token": "other"})
    assert _token_used(mocked) == TOKEN


def test_bad_extra_header_is_refused(no_requests: responses_lib.RequestsMock) -> None:
    for headers in ({"X-A": "1\r\nX-B: 2"}, {"X A": "1"}):
        with pytest.raises(ConfigurationError, match="headers"):
            pystmark.send(MESSAGE, api_key=TOKEN, headers=headers)


# ---- the test token --------------------------------------------------------------------


def test_test_true_sends_the_test_token(any_host: responses_lib.RequestsMock) -> None:
    pystmark.send(MESSAGE, test=True)
    assert _token_used(any_host) == "POSTMARK_API_TEST"
    pystmark.send(MESSAGE, api_key=TOKEN, test=True)
    assert _token_used(any_host) == "POSTMARK_API_TEST"
    sender = pystmark.Sender(api_key=TOKEN, test=True)
    assert sender.test is True
    sender.send(MESSAGE)
    assert _token_used(any_host) == "POSTMARK_API_TEST"
    sender.send(MESSAGE, test=False)
    assert _token_used(any_host) == TOKEN
    # pystmark 0.5 attributes
    sender.test = False
    sender.api_key = "changed"
    assert sender.api_key == "changed"
    sender.send(MESSAGE)
    assert _token_used(any_host) == "changed"
    assert pystmark.TEST_API_KEY == "POSTMARK_API_TEST"


# ---- base_url and security -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.0.0.5",
        "http://[::1]:9000/",
        "http://localhost:1234",
        "https://api.example.com",
    ],
)
def test_accepted_base_urls(mocked: responses_lib.RequestsMock, url: str) -> None:
    mocked.add(responses_lib.POST, url.rstrip("/") + "/email", json=ok_result())
    pystmark.send(MESSAGE, api_key=TOKEN, base_url=url)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://api.postmarkapp.com",
        "http://10.0.0.1",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "ftp://127.0.0.1",
        "api.postmarkapp.com",
        "https://",
    ],
)
def test_refused_base_urls(no_requests: responses_lib.RequestsMock, url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        pystmark.send(MESSAGE, api_key=TOKEN, base_url=url)


def test_refused_base_url_from_environment(
    no_requests: responses_lib.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_API_URL", "http://mail.example.com")
    with pytest.raises(ConfigurationError):
        pystmark.send(MESSAGE, api_key=TOKEN)


def test_secure_false_is_refused(no_requests: responses_lib.RequestsMock) -> None:
    with pytest.raises(ConfigurationError, match="secure"):
        pystmark.send(MESSAGE, api_key=TOKEN, secure=False)
    with pytest.raises(ConfigurationError):
        pystmark.Sender(api_key=TOKEN, secure=False).send(MESSAGE)


def test_verify_false_only_on_loopback(mocked: responses_lib.RequestsMock) -> None:
    with pytest.raises(ConfigurationError, match="verify"):
        pystmark.send(MESSAGE, api_key=TOKEN, verify=False)
    mocked.add(responses_lib.POST, "http://127.0.0.1:9/email", json=ok_result())
    pystmark.send(MESSAGE, api_key=TOKEN, verify=False, base_url="http://127.0.0.1:9")


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": -1},
        {"timeout": "5"},
        {"timeout": (1, 0)},
        {"timeout": True},
        {"deadline": -1},
        {"deadline": 0},
        {"max_retries": "2"},
    ],
)
def test_bad_numbers(no_requests: responses_lib.RequestsMock, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        pystmark.send(MESSAGE, api_key=TOKEN, **options)


@pytest.mark.parametrize(
    "token",
    [TOKEN + "\n", " " + TOKEN, TOKEN + "\r\nX-Evil: 1", "tok en\x00", "\t", TOKEN + "€", "tökén"],
)
def test_token_with_whitespace_is_refused_without_echoing_it(
    no_requests: responses_lib.RequestsMock, token: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        pystmark.send(MESSAGE, api_key=token)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert TOKEN not in str(caught.value)
    assert token.strip() not in str(caught.value) or not token.strip()
    assert TOKEN not in repr(caught.value)


def test_token_with_newline_from_environment(
    no_requests: responses_lib.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", TOKEN + "\n")
    with pytest.raises(ConfigurationError) as caught:
        pystmark.send(MESSAGE)
    assert TOKEN not in str(caught.value)


def test_empty_token_counts_as_missing(
    no_requests: responses_lib.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "")
    with pytest.raises(ConfigurationError, match="no server token"):
        pystmark.send(MESSAGE, api_key="")


def test_is_loopback() -> None:
    assert pystmark._is_loopback("127.0.0.1")
    assert pystmark._is_loopback("::1")
    assert pystmark._is_loopback("localhost")
    assert not pystmark._is_loopback(None)
    assert not pystmark._is_loopback("")
    assert not pystmark._is_loopback("example.com")
    assert not pystmark._is_loopback("192.168.0.1")
