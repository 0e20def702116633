"""The account token: where it comes from, where it goes, and where it never goes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import responses

import pystmark

SERVERS = "https://api.postmarkapp.com/servers"
EMAIL = "https://api.postmarkapp.com/email"
ACCOUNT = "X-Postmark-Account-Token"
SERVER = "X-Postmark-Server-Token"
SENT = {"ErrorCode": 0, "Message": "OK", "MessageID": "m-1", "To": "you@example.com"}
MESSAGE = {"sender": "me@example.com", "to": "you@example.com", "subject": "Hi", "text": "Hi"}


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("POSTMARK_SERVER_TOKEN", "POSTMARK_ACCOUNT_TOKEN", "POSTMARK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    saved = dict(pystmark._configured)
    pystmark._configured.clear()
    yield
    pystmark._configured.clear()
    pystmark._configured.update(saved)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(SERVERS, json={"TotalCount": 0, "Servers": []})
        mock.post(EMAIL, json=SENT)
        yield mock


def sent_headers(api: responses.RequestsMock) -> dict[str, str]:
    assert len(api.calls) == 1
    return dict(api.calls[0].request.headers)


@pytest.mark.parametrize(
    "call",
    [
        lambda: pystmark.get_servers(),
        lambda: pystmark.create_domain("example.com"),
        lambda: pystmark.get_data_removal(1),
        lambda: pystmark.AccountServerManager().iterate().__next__(),
    ],
)
def test_no_account_token_is_a_clear_error_before_any_io(
    api: responses.RequestsMock, call: object
) -> None:
    # A server token, even the test token, is no substitute for the account token.
    pystmark.configure(api_key="server-secret", test=True)
    with pytest.raises(pystmark.ConfigurationError, match="account token") as caught:
        call()  # type: ignore[operator]
    assert "POSTMARK_ACCOUNT_TOKEN" in str(caught.value)
    assert "account_api_key" in str(caught.value)
    assert len(api.calls) == 0


def test_account_endpoint_sends_only_the_account_token(api: responses.RequestsMock) -> None:
    pystmark.get_servers(api_key="server-secret", account_api_key="account-secret")
    headers = sent_headers(api)
    assert headers[ACCOUNT] == "account-secret"
    assert SERVER not in headers
    assert "server-secret" not in json.dumps(headers)


def test_test_mode_does_not_put_the_test_token_on_account_endpoints(
    api: responses.RequestsMock,
) -> None:
    pystmark.get_servers(account_api_key="account-secret", test=True)
    headers = sent_headers(api)
    assert SERVER not in headers
    assert headers[ACCOUNT] == "account-secret"


def test_server_endpoint_never_gets_the_account_token(api: responses.RequestsMock) -> None:
    pystmark.send(MESSAGE, api_key="server-secret", account_api_key="account-secret")
    headers = sent_headers(api)
    assert headers[SERVER] == "server-secret"
    assert ACCOUNT not in headers


@pytest.mark.parametrize("header", [SERVER, SERVER.lower(), ACCOUNT.upper()])
def test_token_headers_among_extra_headers_are_dropped(
    api: responses.RequestsMock, header: str
) -> None:
    pystmark.get_servers(
        account_api_key="account-secret",
        headers={header: "smuggled", "X-Trace": "t-1"},
    )
    headers = {name.lower(): value for name, value in sent_headers(api).items()}
    assert headers[ACCOUNT.lower()] == "account-secret"
    assert SERVER.lower() not in headers
    assert "smuggled" not in headers.values()
    assert headers["x-trace"] == "t-1"


def test_extra_account_header_does_not_stand_in_for_the_setting(
    api: responses.RequestsMock,
) -> None:
    with pytest.raises(pystmark.ConfigurationError, match="account token"):
        pystmark.get_servers(headers={ACCOUNT: "account-secret"})
    assert len(api.calls) == 0


def test_precedence_call_over_instance_over_configure_over_env(
    api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def token_used(**options: str) -> str:
        api.calls.reset()
        manager.get_page(**options)  # type: ignore[arg-type]
        return sent_headers(api)[ACCOUNT]

    monkeypatch.setenv("POSTMARK_ACCOUNT_TOKEN", "from-env")
    manager = pystmark.AccountServerManager()
    assert token_used() == "from-env"
    pystmark.configure(account_api_key="from-configure")
    assert token_used() == "from-configure"
    manager = pystmark.AccountServerManager(account_api_key="from-instance")
    assert token_used() == "from-instance"
    assert token_used(account_api_key="from-call") == "from-call"
    # None means "not given": the next layer down applies again.
    assert token_used(account_api_key=None) == "from-instance"  # type: ignore[arg-type]
    pystmark.configure(account_api_key=None)
    api.get("https://api.postmarkapp.com/domains", json={"TotalCount": 0, "Domains": []})
    api.calls.reset()
    pystmark.get_domains()
    assert sent_headers(api)[ACCOUNT] == "from-env"


def test_an_empty_account_token_given_is_not_replaced_by_the_environments(
    api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_ACCOUNT_TOKEN", "from-env")
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "server-from-env")
    with pytest.raises(pystmark.ConfigurationError, match="no account token"):
        pystmark.get_servers(account_api_key="")
    with pytest.raises(pystmark.ConfigurationError, match="no server token"):
        pystmark.get_delivery_stats(api_key="")
    assert len(api.calls) == 0


def test_env_token_is_used_by_the_simple_api(
    api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_ACCOUNT_TOKEN", "from-env")
    pystmark.get_servers()
    assert sent_headers(api)[ACCOUNT] == "from-env"


def test_account_token_is_masked_in_repr() -> None:
    manager = pystmark.AccountServerManager(account_api_key="account-secret", api_key="srv")
    text = repr(manager)
    assert "account-secret" not in text
    assert "srv" not in text
    assert "account_api_key='***'" in text


def test_account_token_with_a_newline_is_refused_without_echoing_it(
    api: responses.RequestsMock,
) -> None:
    with pytest.raises(pystmark.ConfigurationError) as caught:
        pystmark.get_servers(account_api_key="account-secret\r\nX-Evil: 1")
    assert "account-secret" not in str(caught.value)
    assert len(api.calls) == 0


def test_account_token_not_in_error_text(api: responses.RequestsMock) -> None:
    api.get(
        SERVERS + "/7",
        status=401,
        json={"ErrorCode": 10, "Message": "Bad or missing API token"},
    )
    with pytest.raises(pystmark.UnauthorizedError) as caught:
        pystmark.get_account_server(7, account_api_key="account-secret")
    assert "account-secret" not in str(caught.value)
    assert "account-secret" not in repr(caught.value)
