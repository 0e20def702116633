"""The same mistake gets the same error, before any I/O, in every area.

Every endpoint function of the simple API is listed in ``CALLS`` with a valid
call; the common mistakes are then derived from each function's signature
(its ``count``/``offset``, ``max_results``, date filters, typed fields and ids),
so a new endpoint is covered as soon as it is listed, and the listing test
fails until it is. Each mistake must raise :class:`pystmark.ArgumentError`
(on the bounce calls its subclass :class:`pystmark.BounceError`, pystmark
0.5's name) at call time: iterators raise before the first ``next()``, and no
request is made. The simple functions pass their arguments straight to the
manager classes, so the classes are covered through them.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import responses

import pystmark

TOKENS = {"api_key": "server-token", "account_api_key": "account-token"}

#: Every endpoint function, with the arguments of a valid call.
CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "get_bulk_status": (("bulk-id",), {}),
    # bounces
    "get_delivery_stats": ((), {}),
    "get_bounces": ((), {}),
    "iter_bounces": ((), {}),
    "get_bounce": ((7,), {}),
    "get_bounce_dump": ((7,), {}),
    "activate_bounce": ((7,), {}),
    "get_bounce_tags": ((), {}),
    # messages
    "get_outbound_messages": ((), {}),
    "iter_outbound_messages": ((), {}),
    "get_outbound_message_details": (("msg-1",), {}),
    "get_outbound_message_dump": (("msg-1",), {}),
    "get_opens": ((), {}),
    "iter_opens": ((), {}),
    "get_message_opens": (("msg-1",), {}),
    "iter_message_opens": (("msg-1",), {}),
    "get_clicks": ((), {}),
    "iter_clicks": ((), {}),
    "get_message_clicks": (("msg-1",), {}),
    "iter_message_clicks": (("msg-1",), {}),
    "get_inbound_messages": ((), {}),
    "iter_inbound_messages": ((), {}),
    "get_inbound_message_details": (("msg-1",), {}),
    "retry_inbound_message": (("msg-1",), {}),
    "bypass_inbound_message": (("msg-1",), {}),
    # templates
    "get_templates": ((), {}),
    "iter_templates": ((), {}),
    "get_template": ((7,), {}),
    "create_template": (("Welcome",), {"subject": "Hi", "html_body": "<p>Hi</p>"}),
    "edit_template": ((7,), {"name": "Welcome"}),
    "delete_template": ((7,), {}),
    "validate_template": ((), {"subject": "Hi"}),
    "push_templates": ((1, 2), {}),
    # server, streams, webhooks, suppressions, stats, inbound rules
    "get_server": ((), {}),
    "edit_server": ((), {"name": "Production"}),
    "get_message_streams": ((), {}),
    "get_message_stream": (("news",), {}),
    "create_message_stream": (("news", "News", "Broadcasts"), {}),
    "edit_message_stream": (("news",), {"name": "News"}),
    "archive_message_stream": (("news",), {}),
    "unarchive_message_stream": (("news",), {}),
    "get_webhooks": ((), {}),
    "get_webhook": ((5,), {}),
    "create_webhook": (("https://example.com/hook",), {}),
    "edit_webhook": ((5,), {"url": "https://example.com/hook"}),
    "delete_webhook": ((5,), {}),
    "get_suppressions": ((), {}),
    "create_suppressions": ((["a@example.com"],), {}),
    "delete_suppressions": ((["a@example.com"],), {}),
    "get_stats": ((), {}),
    "get_inbound_rules": ((), {}),
    "iter_inbound_rules": ((), {}),
    "create_inbound_rule": (("spam@example.com",), {}),
    "delete_inbound_rule": ((3,), {}),
    # account
    "get_servers": ((), {}),
    "iter_servers": ((), {}),
    "get_account_server": ((1,), {}),
    "create_server": (("Production",), {}),
    "edit_account_server": ((1,), {"name": "Production"}),
    "delete_server": ((1,), {}),
    "get_domains": ((), {}),
    "iter_domains": ((), {}),
    "get_domain": ((21,), {}),
    "create_domain": (("example.com",), {}),
    "edit_domain": ((21,), {"return_path_domain": "pm.example.com"}),
    "delete_domain": ((21,), {}),
    "verify_domain_dkim": ((21,), {}),
    "verify_domain_return_path": ((21,), {}),
    "verify_domain_spf": ((21,), {}),
    "rotate_domain_dkim": ((21,), {}),
    "get_sender_signatures": ((), {}),
    "iter_sender_signatures": ((), {}),
    "get_sender_signature": ((31,), {}),
    "create_sender_signature": (("billing@example.com", "Billing"), {}),
    "edit_sender_signature": ((31,), {"name": "Billing"}),
    "delete_sender_signature": ((31,), {}),
    "resend_sender_confirmation": ((31,), {}),
    "verify_sender_signature_spf": ((31,), {}),
    "request_new_sender_signature_dkim": ((31,), {}),
    "create_data_removal": (("privacy@example.com", "someone@example.org"), {}),
    "get_data_removal": ((41,), {}),
}

#: Exported functions that are not endpoint calls with these arguments: the
#: sends (whose mistakes are message errors, tested in test_message.py and
#: test_senders.py), settings and webhook parsing.
NOT_ENDPOINTS = {
    "send",
    "send_with_template",
    "send_batch",
    "send_batch_with_templates",
    "send_bulk",
    "send_bulk_with_template",
    "configure",
    "close",
    "parse_datetime",
    "parse_webhook",
    "check_basic_auth",
}

#: Bounce calls raise BounceError (pystmark 0.5's name), an ArgumentError.
BOUNCE_CALLS = {"get_bounces", "iter_bounces", "get_bounce", "get_bounce_dump", "activate_bounce"}

#: Enums whose unknown values are passed through on purpose (BounceType: a type
#: Postmark adds later is still a valid filter): only a wrong type is a mistake.
OPEN_ENUMS = {"BounceType"}

#: Parameters whose checks are kinds of their own (paging, dates, ids).
SPECIAL = {"count", "offset", "max_results", "from_date", "to_date"}


def _functions() -> dict[str, Callable[..., Any]]:
    return {
        name: getattr(pystmark, name)
        for name in pystmark.__all__
        if inspect.isfunction(getattr(pystmark, name)) and name != "main"
    }


def _parameters(function: Callable[..., Any]) -> dict[str, str]:
    """Each named parameter's annotation text (``**settings`` TypedDicts unpacked)."""
    found: dict[str, str] = {}
    for parameter in inspect.signature(function).parameters.values():
        annotation = str(parameter.annotation)
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            if "ServerSettings" in annotation:
                own = set(pystmark.ServerSettings.__annotations__) - set(
                    pystmark.Options.__annotations__
                )
                for name in own:
                    hint = pystmark.ServerSettings.__annotations__[name]
                    found[name] = str(getattr(hint, "__forward_arg__", hint))
            continue
        found[parameter.name] = annotation
    return found


def _is_id(name: str, function: Callable[..., Any]) -> bool:
    parameter = inspect.signature(function).parameters.get(name)
    positional = parameter is not None and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    return positional and (
        name.endswith(("_id", "_id_or_alias")) or name in ("bulk_id", "message_stream")
    )


def _kinds(annotation: str) -> set[str]:
    return {part.strip() for part in annotation.split("|")}


def _mistakes(name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind of mistake, the arguments that make it) for one function."""
    function = getattr(pystmark, name)
    parameters = _parameters(function)
    if "count" in parameters:
        for value in (0, 501, -1, "10", True, 2.5):
            yield "count", {"count": value}
        for value in (-1, 10_000, True, "0"):
            yield "offset", {"offset": value}
    if "max_results" in parameters:
        for value in (-1, "5", True, 1.5):
            yield "max_results", {"max_results": value}
    for field in ("from_date", "to_date"):
        if field in parameters:
            yield "date", {field: 20240101}
            yield "date", {field: "yesterday"}
            if not _kinds(parameters[field]) & {"str", "DateFilter"}:
                yield "date", {field: "2024-01-01"}
    if "from_date" in parameters and "to_date" in parameters:
        yield "date", {"from_date": date(2024, 2, 1), "to_date": date(2024, 1, 1)}
    for field, annotation in parameters.items():
        kinds = _kinds(annotation)
        if field in SPECIAL or field in ("self",):
            continue
        if _is_id(field, function):
            bad: list[Any] = ["", "   ", None, True]
            if "int" in kinds:
                bad += [0, -1]
            for value in bad:
                yield "id", {field: value}
            continue
        if kinds <= {"str", "None"}:
            yield "str", {field: 5}
        if "bool" in kinds:
            yield "bool", {field: "yes"}
            yield "bool", {field: 1}
        elif "int" in kinds and "str" not in kinds:
            yield "int", {field: "5"}
            yield "int", {field: True}
        for kind in kinds:
            enum_class = getattr(pystmark, kind, None)
            if isinstance(enum_class, type) and issubclass(enum_class, enum.Enum):
                yield "enum", {field: 5}
                if kind not in OPEN_ENUMS:
                    yield "enum", {field: "NotAChoice"}


CASES = [
    pytest.param(name, kind, arguments, id=f"{name}-{kind}-{arguments!r}")
    for name in CALLS
    if hasattr(pystmark, name)
    for kind, arguments in _mistakes(name)
]


def test_every_endpoint_function_is_listed() -> None:
    """A new endpoint function fails here until it is added to CALLS."""
    functions = set(_functions())
    assert functions - set(CALLS) - NOT_ENDPOINTS == set()
    assert set(CALLS) - functions == set(), "listed but not exported"


def test_every_kind_of_mistake_is_tried() -> None:
    kinds = {case.values[1] for case in CASES}
    assert kinds == {"count", "offset", "max_results", "date", "bool", "int", "enum", "id", "str"}


@pytest.fixture
def no_io(monkeypatch: pytest.MonkeyPatch, no_requests: responses.RequestsMock) -> Iterator[None]:
    """Fail at once if a request is attempted (and assert none reached the wire)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request was attempted")

    monkeypatch.setattr(pystmark, "_perform", refuse)
    yield


@pytest.mark.parametrize(("name", "kind", "arguments"), CASES)
@pytest.mark.usefixtures("no_io")
def test_a_mistake_raises_argument_error_at_call_time(
    name: str, kind: str, arguments: dict[str, Any]
) -> None:
    function = getattr(pystmark, name)
    args, kwargs = CALLS[name]
    signature = inspect.signature(function)
    bound = signature.bind_partial(*args, **kwargs)
    named = {key: value for key, value in arguments.items() if key in signature.parameters}
    bound.arguments.update(named)
    extra = {key: value for key, value in arguments.items() if key not in named}  # **settings
    expected = pystmark.BounceError if name in BOUNCE_CALLS else pystmark.ArgumentError
    # Iterators included: the error comes from the call itself, not from next().
    with pytest.raises(expected):
        function(*bound.args, **{**bound.kwargs, **extra}, **TOKENS)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_valid_call_is_accepted(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The valid call of each row reaches the request (so each mistake is the only one)."""

    class Sent(Exception):
        pass

    def stop(*args: Any, **kwargs: Any) -> Any:
        raise Sent

    monkeypatch.setattr(pystmark, "_perform", stop)
    args, kwargs = CALLS[name]
    with pytest.raises(Sent):
        result = getattr(pystmark, name)(*args, **kwargs, **TOKENS)
        next(iter(result))


def test_argument_error_is_a_configuration_error_and_bounce_error_an_argument_error() -> None:
    # Code written for 1.0 previews caught ConfigurationError; 0.5 code catches BounceError.
    assert issubclass(pystmark.ArgumentError, pystmark.ConfigurationError)
    assert issubclass(pystmark.ArgumentError, ValueError)
    assert issubclass(pystmark.BounceError, pystmark.ArgumentError)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.usefixtures("no_io")
def test_an_unknown_keyword_is_a_type_error_at_call_time(name: str) -> None:
    args, kwargs = CALLS[name]
    with pytest.raises(TypeError, match="colour"):
        getattr(pystmark, name)(*args, **kwargs, colour="blue", **TOKENS)


@pytest.mark.parametrize(
    ("call", "arguments"),
    [
        (pystmark.create_template, {"name": "Welcome\ud800", "subject": "Hi", "text_body": "x"}),
        (pystmark.create_template, {"name": "Welcome", "subject": "Hi", "text_body": "\udc00"}),
        (pystmark.create_inbound_rule, {"rule": "\ud800"}),
        (pystmark.get_templates, {"layout_template": "\ud800"}),
        (
            pystmark.validate_template,
            {"subject": "Hi", "test_render_model": {"name": "\ud800"}},
        ),
        (pystmark.validate_template, {"subject": "Hi", "test_render_model": {"at": object()}}),
    ],
)
def test_text_that_cannot_be_sent_is_an_argument_error(
    call: Callable[..., Any], arguments: dict[str, Any]
) -> None:
    """A lone surrogate, or a value JSON cannot encode, is refused before any I/O."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        with pytest.raises(pystmark.ArgumentError):
            call(**arguments, api_key="token")
        assert not mocked.calls
