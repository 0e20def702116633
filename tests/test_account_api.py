"""Account API: servers, domains, sender signatures and data removals."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import pytest
import responses
import yaml

import pystmark
from tests.contract import SWAGGER_DIR

BASE = "https://api.postmarkapp.com"
TOKEN = "account-secret"
SWAGGER = SWAGGER_DIR / "account.swagger.yaml"


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("POSTMARK_SERVER_TOKEN", "POSTMARK_ACCOUNT_TOKEN", "POSTMARK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    saved = dict(pystmark._configured)
    pystmark._configured.clear()
    pystmark.configure(account_api_key=TOKEN, api_key="server-secret")
    yield
    pystmark._configured.clear()
    pystmark._configured.update(saved)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


# ---- Request bodies against Postmark's Swagger definitions -----------------


def _definitions() -> dict[str, Any]:
    definitions = copy.deepcopy(yaml.safe_load(SWAGGER.read_text())["definitions"])
    # Correction: the Swagger file lists TrackLinks as HtmlAndTextTracking etc.;
    # Postmark's servers API page and its official clients use the values of
    # message TrackLinks (None, HtmlAndText, HtmlOnly, TextOnly).
    for name in ("CreateServerPayload", "EditServerPayload"):
        definitions[name]["properties"]["TrackLinks"]["enum"] = [
            "None",
            "HtmlAndText",
            "HtmlOnly",
            "TextOnly",
        ]
    # Fields Postmark's API pages document that the (stale) Swagger file lacks.
    extra = {
        "CreateServerPayload": {
            "DeliveryType": {"enum": ["Live", "Sandbox"]},
            "IncludeBounceContentInHook": {"type": "boolean"},
            "EnableSmtpApiErrorHooks": {"type": "boolean"},
        },
        "EditServerPayload": {
            "IncludeBounceContentInHook": {"type": "boolean"},
            "EnableSmtpApiErrorHooks": {"type": "boolean"},
        },
        "SenderSignatureCreationModel": {"ConfirmationPersonalNote": {"type": "string"}},
        "SenderSignatureEditingModel": {"ConfirmationPersonalNote": {"type": "string"}},
    }
    for name, properties in extra.items():
        definitions[name]["properties"].update(properties)
    # Data removals are missing from the Swagger file; this follows Postmark's
    # data removals API page.
    definitions["DataRemovalCreationModel"] = {
        "properties": {
            "RequestedBy": {"type": "string"},
            "RequestedFor": {"type": "string"},
            "NotifyWhenCompleted": {"type": "boolean"},
        },
        "required": ["RequestedBy", "RequestedFor"],
    }
    for definition in definitions.values():
        # Stricter than the file: a misspelt key must fail the test.
        definition["additionalProperties"] = False
    return definitions


DEFINITIONS = _definitions() if SWAGGER.exists() else {}


def check_body(definition: str, body: Any) -> None:
    """Validate a request body against the Swagger file (where it is available)."""
    if not DEFINITIONS:  # pragma: no cover - the file lives outside the checkout
        return
    schema = {**DEFINITIONS[definition], "definitions": DEFINITIONS}
    jsonschema.validate(body, schema)


@pytest.mark.skipif(not SWAGGER.exists(), reason="the Swagger file is not available")
def test_schema_check_catches_a_misspelt_key() -> None:
    with pytest.raises(jsonschema.ValidationError):
        check_body("EditServerPayload", {"TrackLink": "None"})
    with pytest.raises(jsonschema.ValidationError):
        check_body("DataRemovalCreationModel", {"RequestedBy": "a@example.com"})


# ---- Every endpoint: method, path, query, body, token, parsed result --------

SERVER = {
    "ID": 11,
    "Name": "Production",
    "ApiTokens": ["srv-token-1"],
    "Color": "blue",
    "SmtpApiActivated": True,
    "RawEmailEnabled": False,
    "DeliveryType": "Live",
    "ServerLink": "https://postmarkapp.com/servers/11/streams",
    "InboundAddress": "abc@inbound.postmarkapp.com",
    "InboundHookUrl": None,
    "BounceHookUrl": "https://hooks.example.com/bounce",
    "PostFirstOpenOnly": False,
    "InboundDomain": "",
    "InboundHash": "abc",
    "InboundSpamThreshold": 5,
    "TrackOpens": True,
    "TrackLinks": "HtmlAndText",
    "IncludeBounceContentInHook": True,
    "EnableSmtpApiErrorHooks": False,
}
DOMAIN = {
    "ID": 21,
    "Name": "example.com",
    "SPFVerified": True,
    "SPFHost": "example.com",
    "SPFTextValue": "v=spf1 a mx include:spf.mtasv.net ~all",
    "DKIMVerified": False,
    "WeakDKIM": False,
    "DKIMHost": "",
    "DKIMTextValue": "",
    "DKIMPendingHost": "20261123pm._domainkey.example.com",
    "DKIMPendingTextValue": "k=rsa;p=MIGf",
    "DKIMRevokedHost": "",
    "DKIMRevokedTextValue": "",
    "SafeToRemoveRevokedKeyFromDNS": False,
    "DKIMUpdateStatus": "Pending",
    "ReturnPathDomain": "pm-bounces.example.com",
    "ReturnPathDomainVerified": True,
    "ReturnPathDomainCNAMEValue": "pm.mtasv.net",
}
SIGNATURE = {
    **{key: value for key, value in DOMAIN.items() if key != "Name"},
    "ID": 31,
    "Domain": "example.com",
    "EmailAddress": "billing@example.com",
    "ReplyToEmailAddress": "help@example.com",
    "Name": "Billing",
    "Confirmed": True,
    "ConfirmationPersonalNote": "From the billing team",
}
REMOVAL = {"ID": 41, "Status": "Pending"}
DELETED = {"ErrorCode": 0, "Message": "Server Production removed."}


class Case:
    def __init__(
        self,
        call: Callable[[], Any],
        method: str,
        path: str,
        answer: Any,
        check: Callable[[Any], Any],
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        definition: str | None = None,
    ) -> None:
        self.call, self.method, self.path, self.answer = call, method, path, answer
        self.check, self.query, self.body, self.definition = check, query or {}, body, definition

    def __repr__(self) -> str:
        return f"{self.method} {self.path}"


CASES = [
    # Servers
    Case(
        lambda: pystmark.get_servers(50, 100, name="Prod"),
        "GET",
        "/servers",
        {"TotalCount": 1, "Servers": [SERVER]},
        lambda r: (
            (r.total_count, r.servers[0].name, r.servers[0].api_tokens)
            == (1, "Production", ["srv-token-1"])
        ),
        query={"count": "50", "offset": "100", "name": "Prod"},
    ),
    Case(
        lambda: pystmark.get_account_server(11),
        "GET",
        "/servers/11",
        SERVER,
        lambda r: (
            (r.server.id, r.server.track_links, r.server.inbound_spam_threshold)
            == (11, "HtmlAndText", 5)
        ),
    ),
    Case(
        lambda: pystmark.create_server(
            "Production",
            color="blue",
            delivery_type=pystmark.ServerDeliveryType.SANDBOX,
            track_links=pystmark.TrackLinks.HTML_AND_TEXT,
            smtp_api_activated=True,
            inbound_spam_threshold=5,
            bounce_hook_url="https://hooks.example.com/bounce",
            include_bounce_content_in_hook=True,
        ),
        "POST",
        "/servers",
        SERVER,
        lambda r: r.server.delivery_type == "Live" and r.server.include_bounce_content_in_hook,
        body={
            "Name": "Production",
            "Color": "blue",
            "DeliveryType": "Sandbox",
            "TrackLinks": "HtmlAndText",
            "SmtpApiActivated": True,
            "InboundSpamThreshold": 5,
            "BounceHookUrl": "https://hooks.example.com/bounce",
            "IncludeBounceContentInHook": True,
        },
        definition="CreateServerPayload",
    ),
    Case(
        lambda: pystmark.edit_account_server(
            11, name="Production EU", post_first_open_only=True, open_hook_url=""
        ),
        "PUT",
        "/servers/11",
        {**SERVER, "Name": "Production EU"},
        lambda r: r.server.name == "Production EU",
        body={"Name": "Production EU", "PostFirstOpenOnly": True, "OpenHookUrl": ""},
        definition="EditServerPayload",
    ),
    Case(
        lambda: pystmark.delete_server(11),
        "DELETE",
        "/servers/11",
        DELETED,
        lambda r: r.data["Message"] == "Server Production removed.",
    ),
    # Domains
    Case(
        lambda: pystmark.get_domains(10, 20),
        "GET",
        "/domains",
        {"TotalCount": 2, "Domains": [{"ID": 21, "Name": "example.com", "SPFVerified": True}]},
        lambda r: (
            (r.total_count, r.domains[0].name, r.domains[0].spf_verified)
            == (2, "example.com", True)
        ),
        query={"count": "10", "offset": "20"},
    ),
    Case(
        lambda: pystmark.get_domain(21),
        "GET",
        "/domains/21",
        DOMAIN,
        lambda r: r.domain.return_path_domain_cname_value == "pm.mtasv.net",
    ),
    Case(
        lambda: pystmark.create_domain("example.com", return_path_domain="pm-bounces.example.com"),
        "POST",
        "/domains",
        DOMAIN,
        lambda r: r.domain.id == 21,
        body={"Name": "example.com", "ReturnPathDomain": "pm-bounces.example.com"},
        definition="DomainCreationModel",
    ),
    Case(
        lambda: pystmark.edit_domain(21, return_path_domain="bounces.example.com"),
        "PUT",
        "/domains/21",
        {**DOMAIN, "ReturnPathDomain": "bounces.example.com"},
        lambda r: r.domain.return_path_domain == "bounces.example.com",
        body={"ReturnPathDomain": "bounces.example.com"},
        definition="DomainEditingModel",
    ),
    Case(
        lambda: pystmark.delete_domain(21),
        "DELETE",
        "/domains/21",
        {"ErrorCode": 0, "Message": "Domain example.com removed."},
        lambda r: r.status_code == 200,
    ),
    Case(
        lambda: pystmark.verify_domain_dkim(21),
        "PUT",
        "/domains/21/verifyDkim",
        DOMAIN,
        lambda r: r.domain.dkim_verified is False and r.domain.dkim_update_status == "Pending",
    ),
    Case(
        lambda: pystmark.verify_domain_return_path(21),
        "PUT",
        "/domains/21/verifyReturnPath",
        DOMAIN,
        lambda r: r.domain.return_path_domain_verified is True,
    ),
    Case(
        lambda: pystmark.verify_domain_spf(21),
        "POST",
        "/domains/21/verifyspf",
        {"SPFHost": "example.com", "SPFVerified": True, "SPFTextValue": "v=spf1 ~all"},
        lambda r: (r.domain.spf_verified, r.domain.spf_text_value) == (True, "v=spf1 ~all"),
    ),
    Case(
        lambda: pystmark.rotate_domain_dkim(21),
        "POST",
        "/domains/21/rotatedkim",
        {key: DOMAIN[key] for key in ("ID", "Name", "DKIMPendingHost", "DKIMUpdateStatus")},
        lambda r: r.domain.dkim_pending_host == "20261123pm._domainkey.example.com",
    ),
    # Sender signatures
    Case(
        lambda: pystmark.get_sender_signatures(),
        "GET",
        "/senders",
        {"TotalCount": 1, "SenderSignatures": [SIGNATURE]},
        lambda r: (
            (r.total_count, r.sender_signatures[0].email_address) == (1, "billing@example.com")
        ),
        query={"count": "100", "offset": "0"},
    ),
    Case(
        lambda: pystmark.get_sender_signature(31),
        "GET",
        "/senders/31",
        SIGNATURE,
        lambda r: (
            (r.sender_signature.confirmed, r.sender_signature.reply_to_email_address)
            == (True, "help@example.com")
        ),
    ),
    Case(
        lambda: pystmark.create_sender_signature(
            "billing@example.com",
            "Billing",
            reply_to_email="help@example.com",
            confirmation_personal_note="From the billing team",
        ),
        "POST",
        "/senders",
        SIGNATURE,
        lambda r: r.sender_signature.confirmation_personal_note == "From the billing team",
        body={
            "FromEmail": "billing@example.com",
            "Name": "Billing",
            "ReplyToEmail": "help@example.com",
            "ConfirmationPersonalNote": "From the billing team",
        },
        definition="SenderSignatureCreationModel",
    ),
    Case(
        lambda: pystmark.edit_sender_signature(
            31, name="Billing team", return_path_domain="pm-bounces.example.com"
        ),
        "PUT",
        "/senders/31",
        {**SIGNATURE, "Name": "Billing team"},
        lambda r: r.sender_signature.name == "Billing team",
        body={"Name": "Billing team", "ReturnPathDomain": "pm-bounces.example.com"},
        definition="SenderSignatureEditingModel",
    ),
    Case(
        lambda: pystmark.delete_sender_signature(31),
        "DELETE",
        "/senders/31",
        {"ErrorCode": 0, "Message": "Signature billing@example.com removed."},
        lambda r: r.data["ErrorCode"] == 0,
    ),
    Case(
        lambda: pystmark.resend_sender_confirmation(31),
        "POST",
        "/senders/31/resend",
        {"ErrorCode": 0, "Message": "Confirmation email for Sender Signature sent."},
        lambda r: r.status_code == 200,
    ),
    # Deprecated by Postmark, still callable
    Case(
        lambda: pystmark.verify_sender_signature_spf(31),
        "POST",
        "/senders/31/verifyspf",
        {"ID": 31, "Domain": "example.com", "SPFVerified": True},
        lambda r: r.sender_signature.spf_verified,
    ),
    Case(
        lambda: pystmark.request_new_sender_signature_dkim(31),
        "POST",
        "/senders/31/requestnewdkim",
        {"ErrorCode": 0, "Message": "A new DKIM key was requested."},
        lambda r: r.status_code == 200,
    ),
    # Data removals
    Case(
        lambda: pystmark.create_data_removal(
            "privacy@example.com", "someone@example.org", notify_when_completed=True
        ),
        "POST",
        "/data-removals",
        REMOVAL,
        lambda r: (
            (r.data_removal.id, r.data_removal.status, r.data_removal.done)
            == (41, "Pending", False)
        ),
        body={
            "RequestedBy": "privacy@example.com",
            "RequestedFor": "someone@example.org",
            "NotifyWhenCompleted": True,
        },
        definition="DataRemovalCreationModel",
    ),
    Case(
        lambda: pystmark.get_data_removal(41),
        "GET",
        "/data-removals/41",
        {"ID": 41, "Status": "Done"},
        lambda r: r.data_removal.done,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_endpoint(api: responses.RequestsMock, case: Case) -> None:
    api.add(case.method, BASE + case.path, json=case.answer)
    result = case.call()
    assert len(api.calls) == 1
    request = api.calls[0].request
    url = urlsplit(request.url)
    assert request.method == case.method
    assert url.path == case.path
    assert dict(parse_qsl(url.query)) == case.query
    assert request.headers["X-Postmark-Account-Token"] == TOKEN
    assert "X-Postmark-Server-Token" not in request.headers
    assert request.headers["Accept"] == "application/json"
    if case.body is None:
        assert not request.body
    else:
        body = json.loads(request.body)
        assert body == case.body
        assert case.definition is not None
        check_body(case.definition, body)
    assert isinstance(result, pystmark.Response)
    assert case.check(result)


def test_every_simple_function_has_a_case() -> None:
    names = {
        "get_servers", "get_account_server", "create_server", "edit_account_server",
        "delete_server", "get_domains", "get_domain", "create_domain", "edit_domain",
        "delete_domain", "verify_domain_dkim", "verify_domain_return_path",
        "verify_domain_spf", "rotate_domain_dkim", "get_sender_signatures",
        "get_sender_signature", "create_sender_signature", "edit_sender_signature",
        "delete_sender_signature", "resend_sender_confirmation", "verify_sender_signature_spf",
        "request_new_sender_signature_dkim", "create_data_removal", "get_data_removal",
    }  # fmt: skip
    assert names <= set(pystmark.__all__)
    assert len({(case.method, case.path) for case in CASES}) == len(CASES) == len(names)


# ---- Paging -----------------------------------------------------------------


def test_iter_servers_pages_with_the_name_filter(api: responses.RequestsMock) -> None:
    first = [{**SERVER, "ID": index} for index in range(500)]
    api.get(BASE + "/servers", json={"TotalCount": 502, "Servers": first})
    api.get(BASE + "/servers", json={"TotalCount": 502, "Servers": [SERVER, SERVER]})
    servers = list(pystmark.iter_servers(name="Prod"))
    assert len(servers) == 502
    assert isinstance(servers[0], pystmark.AccountServer)
    queries = [dict(parse_qsl(urlsplit(call.request.url).query)) for call in api.calls]
    assert queries == [
        {"name": "Prod", "count": "500", "offset": "0"},
        {"name": "Prod", "count": "500", "offset": "500"},
    ]
    assert all(c.request.headers["X-Postmark-Account-Token"] == TOKEN for c in api.calls)


@pytest.mark.parametrize(
    ("iterate", "path", "key", "item", "record"),
    [
        (pystmark.iter_domains, "/domains", "Domains", DOMAIN, pystmark.Domain),
        (
            pystmark.iter_sender_signatures,
            "/senders",
            "SenderSignatures",
            SIGNATURE,
            pystmark.SenderSignature,
        ),
    ],
)
def test_iterators_stop_at_max_results(
    api: responses.RequestsMock,
    iterate: Callable[..., Iterator[Any]],
    path: str,
    key: str,
    item: dict[str, Any],
    record: type,
) -> None:
    api.get(BASE + path, json={"TotalCount": 9, key: [item, item, item]})
    items = list(iterate(max_results=3))
    assert len(items) == 3
    assert all(isinstance(each, record) for each in items)
    query = dict(parse_qsl(urlsplit(api.calls[0].request.url).query))
    assert query == {"count": "3", "offset": "0"}


def test_iteration_is_lazy(api: responses.RequestsMock) -> None:
    iterator = pystmark.iter_domains()
    assert len(api.calls) == 0
    api.get(BASE + "/domains", json={"TotalCount": 1, "Domains": [DOMAIN]})
    assert next(iterator).id == 21


@pytest.mark.parametrize(
    ("count", "offset"), [(0, 0), (501, 0), (100, -1), (500, 9600), (True, 0), ("10", 0)]
)
def test_bad_page_arguments_fail_before_io(
    api: responses.RequestsMock, count: Any, offset: Any
) -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.get_servers(count, offset)
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.get_sender_signatures(count, offset)
    assert len(api.calls) == 0


# ---- Bad input: refused before any I/O -------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: pystmark.create_server("Prod", colour="blue"), TypeError, "colour"),
        (lambda: pystmark.edit_account_server(1, trak_opens=True), TypeError, "trak_opens"),
        (lambda: pystmark.create_domain("example.com", name2="x"), TypeError, "name2"),
        (lambda: pystmark.edit_sender_signature(1, from_email="a@b.c"), TypeError, "from_email"),
        (lambda: pystmark.create_server(""), pystmark.ConfigurationError,
         "name must be a non-empty string"),
        (lambda: pystmark.create_server("P", track_links="Always"), pystmark.ConfigurationError,
         "track_links must be one of None, HtmlAndText"),
        (lambda: pystmark.create_server("P", delivery_type="Test"), pystmark.ConfigurationError,
         "delivery_type"),
        (lambda: pystmark.edit_account_server(1, delivery_type="Live"), TypeError,
         "delivery_type"),
        (lambda: pystmark.create_server("P", track_opens="yes"), pystmark.ConfigurationError,
         "track_opens must be bool"),
        (lambda: pystmark.create_server("P", inbound_spam_threshold=True),
         pystmark.ConfigurationError, "inbound_spam_threshold must be int"),
        (lambda: pystmark.edit_account_server(1), pystmark.ConfigurationError, "at least one"),
        (lambda: pystmark.edit_domain(21), pystmark.ConfigurationError, "at least one"),
        (lambda: pystmark.edit_sender_signature(31), pystmark.ConfigurationError, "at least one"),
        (lambda: pystmark.create_sender_signature("not-an-address", "Billing"),
         pystmark.ConfigurationError, "from_email must be an email address"),
        (lambda: pystmark.create_sender_signature("a@example.com", "  "),
         pystmark.ConfigurationError, "name must be a non-empty string"),
        (lambda: pystmark.create_data_removal("privacy@example.com", ""),
         pystmark.ConfigurationError, "requested_for"),
        (lambda: pystmark.create_data_removal(None, "someone@example.org"),  # type: ignore[arg-type]
         pystmark.ConfigurationError, "requested_by must be a non-empty string"),
        (lambda: pystmark.create_data_removal("privacy@example.com", "someone"),
         pystmark.ConfigurationError, "requested_for must be an email address"),
        (lambda: pystmark.create_sender_signature(None, "Billing"),  # type: ignore[arg-type]
         pystmark.ConfigurationError, "from_email must be a non-empty string"),
        (lambda: pystmark.edit_account_server(1, bounce_hook_url="https://x\r\nX-Evil: 1"),
         pystmark.ConfigurationError, "bounce_hook_url must be a string without CR, LF"),
        (lambda: pystmark.edit_sender_signature(31, name="Billing\nteam"),
         pystmark.ConfigurationError, "name must be a string without CR, LF"),
        (lambda: pystmark.AccountServerManager().create("P", colour="blue"), TypeError,
         "unknown server setting 'colour'; the settings are: color, "),
        (lambda: pystmark.create_data_removal("p@example.com", "s@example.org",
                                              notify_when_completed="yes"),
         pystmark.ConfigurationError, "notify_when_completed must be bool"),
        (lambda: pystmark.get_domain(True), pystmark.ConfigurationError, "id"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_io(
    api: responses.RequestsMock, call: Callable[[], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()
    assert len(api.calls) == 0


def test_ids_are_quoted_into_one_path_segment(api: responses.RequestsMock) -> None:
    api.get(BASE + "/servers/1%2F..%2Fdomains", json=SERVER)
    pystmark.get_account_server("1/../domains")  # type: ignore[arg-type]
    assert urlsplit(api.calls[0].request.url).path == "/servers/1%2F..%2Fdomains"


def test_none_leaves_a_field_out(api: responses.RequestsMock) -> None:
    api.put(BASE + "/servers/11", json=SERVER)
    pystmark.edit_account_server(11, color="red", track_opens=None, name=None)
    assert json.loads(api.calls[0].request.body) == {"Color": "red"}


# ---- Advanced classes -------------------------------------------------------


def test_manager_settings_and_call_override(api: responses.RequestsMock) -> None:
    api.post(BASE + "/domains", json=DOMAIN)
    manager = pystmark.DomainManager(account_api_key="instance-token", timeout=3)
    manager.create("example.com")
    manager.create("example.com", account_api_key="call-token")
    tokens = [call.request.headers["X-Postmark-Account-Token"] for call in api.calls]
    assert tokens == ["instance-token", "call-token"]


def test_create_server_passes_options_to_the_request(api: responses.RequestsMock) -> None:
    api.post("http://127.0.0.1:9/servers", json=SERVER)
    manager = pystmark.AccountServerManager()
    manager.create("Production", base_url="http://127.0.0.1:9", account_api_key="per-call")
    request = api.calls[0].request
    assert request.headers["X-Postmark-Account-Token"] == "per-call"
    assert json.loads(request.body) == {"Name": "Production"}


def test_records_are_typed_and_keep_raw() -> None:
    server = pystmark.AccountServer(SERVER)
    assert server.raw is SERVER
    assert server.to_dict()["bounce_hook_url"] == "https://hooks.example.com/bounce"
    assert pystmark.SenderSignature(SIGNATURE).validate().domain == "example.com"
    assert pystmark.Domain(DOMAIN).validate().safe_to_remove_revoked_key_from_dns is False
    with pytest.raises(pystmark.DataError, match=r"AccountServer\.id"):
        _ = pystmark.AccountServer({"ID": "eleven"}).id


def test_server_settings_match_the_endpoint_declarations() -> None:
    settings = set(pystmark.ServerSettings.__annotations__) - set(pystmark.Options.__annotations__)
    manager = pystmark.AccountServerManager
    assert manager.create_endpoint.body is not None and manager.edit_endpoint.body is not None
    assert set(manager.create_endpoint.body) == settings | {"name", "delivery_type"}
    assert set(manager.edit_endpoint.body) == settings | {"name"}
    # One table of server fields: the account API checks them as edit_server does.
    assert manager.edit_endpoint.body == pystmark.ServerManager.edit_endpoint.body


def test_the_earlier_iterator_names_are_aliases() -> None:
    for manager in (
        pystmark.AccountServerManager,
        pystmark.DomainManager,
        pystmark.SenderSignatureManager,
    ):
        assert manager.iterate is manager.iter


def test_iter_and_settings_take_options_per_call(api: responses.RequestsMock) -> None:
    api.get("http://127.0.0.1:9/senders", json={"TotalCount": 1, "SenderSignatures": [SIGNATURE]})
    api.put("http://127.0.0.1:9/servers/11", json=SERVER)
    manager = pystmark.SenderSignatureManager(account_api_key="instance-token")
    signatures = manager.iter(base_url="http://127.0.0.1:9", account_api_key="per-call")
    assert [signature.id for signature in signatures] == [31]
    pystmark.AccountServerManager().edit(
        11, track_opens=False, base_url="http://127.0.0.1:9", account_api_key="per-call"
    )
    assert [call.request.headers["X-Postmark-Account-Token"] for call in api.calls] == [
        "per-call",
        "per-call",
    ]
    assert json.loads(api.calls[1].request.body) == {"TrackOpens": False}


# ---- Error mappings: at least one per area ----------------------------------


@pytest.mark.parametrize(
    ("call", "method", "path", "code", "error"),
    [
        (lambda: pystmark.create_server("Production"), "POST", "/servers", 603,
         pystmark.ServerNameTakenError),
        (lambda: pystmark.get_account_server(99), "GET", "/servers/99", 601,
         pystmark.ServerNotFoundError),
        (lambda: pystmark.delete_server(11), "DELETE", "/servers/11", 604,
         pystmark.ServerManagementError),
        (lambda: pystmark.get_domain(99), "GET", "/domains/99", 510,
         pystmark.DomainNotFoundError),
        (lambda: pystmark.create_domain("example.com"), "POST", "/domains", 512,
         pystmark.DomainError),
        (lambda: pystmark.get_sender_signature(99), "GET", "/senders/99", 501,
         pystmark.SenderSignatureNotFoundError),
        (lambda: pystmark.create_sender_signature("a@example.com", "A"), "POST", "/senders",
         504, pystmark.SenderSignatureManagementError),
        (lambda: pystmark.resend_sender_confirmation(31), "POST", "/senders/31/resend", 506,
         pystmark.SenderSignatureManagementError),
        (lambda: pystmark.rotate_domain_dkim(21), "POST", "/domains/21/rotatedkim", 505,
         pystmark.SenderSignatureManagementError),
        (lambda: pystmark.create_data_removal("p@example.com", "s@example.org"), "POST",
         "/data-removals", 1300, pystmark.DataRemovalError),
        (lambda: pystmark.get_data_removal(7), "GET", "/data-removals/7", 1302,
         pystmark.DataRemovalError),
    ],
)  # fmt: skip
def test_error_codes_map_to_typed_errors(
    api: responses.RequestsMock,
    call: Callable[[], Any],
    method: str,
    path: str,
    code: int,
    error: type[pystmark.APIError],
) -> None:
    api.add(method, BASE + path, status=422, json={"ErrorCode": code, "Message": f"code {code}"})
    with pytest.raises(error) as caught:
        call()
    assert caught.value.error_code == code
    assert caught.value.status_code == 422
    assert isinstance(caught.value, pystmark.UnprocessableEntityError)
    assert len(api.calls) == 1  # refusals are never retried


def test_not_found_errors_are_also_not_found_errors(api: responses.RequestsMock) -> None:
    api.get(BASE + "/domains/5", status=422, json={"ErrorCode": 513, "Message": "Not yours"})
    with pytest.raises(pystmark.NotFoundError):
        pystmark.get_domain(5)
    assert not issubclass(pystmark.SenderSignatureManagementError, pystmark.SenderSignatureError)


def test_verify_spf_is_retried_but_rotate_dkim_is_not(api: responses.RequestsMock) -> None:
    api.post(BASE + "/domains/21/verifyspf", status=500, json={"ErrorCode": 0, "Message": "x"})
    api.post(BASE + "/domains/21/verifyspf", json={"SPFVerified": True})
    assert pystmark.verify_domain_spf(21, backoff_base=0).domain.spf_verified
    api.post(BASE + "/domains/21/rotatedkim", status=500, json={"ErrorCode": 0, "Message": "x"})
    with pytest.raises(pystmark.InternalServerError):
        pystmark.rotate_domain_dkim(21, backoff_base=0)
    assert [call.request.url.rsplit("/", 1)[1] for call in api.calls] == [
        "verifyspf",
        "verifyspf",
        "rotatedkim",
    ]
