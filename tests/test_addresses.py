"""From, To, Cc, Bcc and Reply-To are checked as addresses before any I/O, on every path."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
import responses as responses_lib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pystmark
from pystmark import Message, MessageError
from tests.conftest import MESSAGE, LocalServer

ADDRESS_FIELDS = ["sender", "to", "cc", "bcc", "reply_to"]

# Each is one address Postmark takes: display names, quoting, comments, IDN domains.
VALID = [
    "a@example.com",
    "first.last+tag@sub.example.co.uk",
    "!#$%&'*+/=?^_`{|}~-@example.com",
    "user@localhost",
    "a@xn--bcher-kva.de",
    "a@bücher.de",
    "jo@例え.テスト",
    "Name <a@example.com>",
    "  Name <a@example.com>  ",
    "<a@example.com>",
    "Joe Q. Public <john.q.public@example.com>",
    '"Doe, Jane" <jane@example.com>',
    '"john doe"@example.com',
    '"a\\"b"@example.com',
    'Name <"quoted local"@example.com>',
    "José Müller <jose@example.com>",
    "=?utf-8?q?Zo=C3=AB?= <zoe@example.com>",
    "a@example.com (a comment)",
    "(comment) a@example.com",
    "a" * 64 + "@example.com",
    "a@" + ".".join(["b" * 63] * 3) + "." + "c" * 61,  # 253 characters
]

# Each is refused; the comment says why.
INVALID = [
    "nobody",  # no @
    "a@",  # no domain (the standard library's parser crashes on it)
    "@example.com",  # no local part
    "a@b@example.com",
    "a b@example.com",  # unquoted space
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    '""@example.com',  # empty quoted local part
    "a@-example.com",  # label starts with a hyphen
    "a@example-.com",
    "a@exa mple.com",
    "a@example..com",
    "a@example.com.",
    "a@.example.com",
    "a@exa_mple.com",  # not a host name
    "a@[127.0.0.1]",  # domain literals
    "a@" + "b" * 64 + ".com",  # label over 63 characters
    "a@" + ".".join(["b" * 63] * 4),  # domain over 253 characters
    "a" * 65 + "@example.com",  # local part over 64 characters
    "jösé@example.com",  # internationalised local part
    "Name <a@example.com",
    "Name a@example.com>",
    "Name <a@example.com> trailing",
    "a@example.com <b@example.com>",
    "<>",
    "a@example.com; b@example.com",  # semicolons do not separate addresses
    "group: a@example.com;",  # address groups
    "undisclosed-recipients:;",
    "=?utf-8?b?invalid?= <a@example.com>",  # an encoded word that does not decode
    '"unterminated@example.com',
    "a@example.com\t\x0b",
]


def _fails(message: dict[str, Any], field: str, send: Any = pystmark.send) -> MessageError:
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        with pytest.raises(MessageError) as caught:
            send(message, api_key="k")
        assert len(mock.calls) == 0
    assert caught.value.field == field
    return caught.value


@pytest.mark.parametrize("address", VALID)
@pytest.mark.parametrize("field", ADDRESS_FIELDS)
def test_valid_addresses_are_accepted(field: str, address: str) -> None:
    assert Message(**{**MESSAGE, field: address}).validate()
    assert pystmark._check_addresses(field, address) == 1


@pytest.mark.parametrize("address", INVALID)
@pytest.mark.parametrize("field", ADDRESS_FIELDS)
def test_invalid_addresses_are_refused_before_io(field: str, address: str) -> None:
    error = _fails({**MESSAGE, field: address}, field)
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize("address", INVALID)
@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_one_invalid_address_in_a_list_is_refused(field: str, address: str) -> None:
    _fails({**MESSAGE, field: ["ok@example.com", address]}, field)
    _fails({**MESSAGE, field: f"ok@example.com, {address}"}, field)


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("a@example.com, b@example.com", 2),
        ("A <a@example.com>, B <b@example.com>", 2),
        ('"Doe, Jane" <jane@example.com>, b@example.com', 2),
        (["a@example.com", "Name <b@example.com>", "c@example.com, d@example.com"], 4),
        ("", 0),
        ("   ", 0),
        ([], 0),
        (None, 0),
    ],
)
def test_address_lists_are_counted(value: Any, count: int) -> None:
    assert pystmark._check_addresses("to", value) == count


def test_sender_is_exactly_one_address() -> None:
    error = _fails({**MESSAGE, "sender": "a@example.com, b@example.com"}, "sender")
    assert "one address" in str(error)
    _fails({**MESSAGE, "sender": "   "}, "sender")
    Message(**{**MESSAGE, "reply_to": "a@example.com, b@example.com"}).validate()


@pytest.mark.parametrize(
    "value",
    [
        [f"u{i}@example.com" for i in range(51)],
        ", ".join(f"u{i}@example.com" for i in range(51)),
        ", ".join(f"User {i} <u{i}@example.com>" for i in range(51)),
    ],
)
def test_more_than_50_recipients_get_the_same_error_on_every_path(value: Any) -> None:
    error = _fails({**MESSAGE, "cc": value}, "cc")
    assert str(error) == "cc: 51 recipients; Postmark takes 50"


def test_non_ascii_local_parts_are_refused_even_without_the_parsers_defect() -> None:
    assert pystmark._address_problem("jösé", "example.com") is not None
    assert pystmark._address_problem("jose", "example.com") is None


def test_reply_to_may_be_empty() -> None:
    Message(**{**MESSAGE, "reply_to": ""}).validate()


def test_the_recipient_limit_still_counts_parsed_addresses() -> None:
    names = ", ".join(f'"Doe, {i}" <u{i}@example.com>' for i in range(50))
    Message(**{**MESSAGE, "to": names}).validate()
    _fails({**MESSAGE, "to": names + ", last@example.com"}, "to")


def test_every_send_path_checks_addresses(no_requests: responses_lib.RequestsMock) -> None:
    bad = {**MESSAGE, "to": "not-an-address"}
    for call in (
        lambda: pystmark.send(bad, api_key="k"),
        lambda: pystmark.send_batch([MESSAGE, bad], api_key="k"),
        lambda: pystmark.send_with_template(
            {"sender": "nobody", "to": "a@example.com", "template_id": 1}, api_key="k"
        ),
        lambda: pystmark.send_batch_with_templates(
            [{"sender": "me@example.com", "to": "a@", "template_alias": "t"}], api_key="k"
        ),
        lambda: pystmark.send_bulk(
            {"sender": "me@example.com", "subject": "s", "text": "t"},
            ["a@example.com", "not-an-address"],
            api_key="k",
        ),
        lambda: pystmark.send_bulk(
            {"sender": "nobody", "subject": "s", "text": "t"}, ["a@example.com"], api_key="k"
        ),
        lambda: pystmark.Sender(message={"reply_to": "a@"}, api_key="k").send(MESSAGE),
    ):
        with pytest.raises(MessageError):
            call()


def test_plain_dict_shortcut_checks_sender_and_reply_to(
    no_requests: responses_lib.RequestsMock,
) -> None:
    plain = {"From": "me@example.com", "To": "a@example.com", "TextBody": "t"}
    _fails({**plain, "From": "nobody"}, "sender")
    _fails({**plain, "ReplyTo": "nobody"}, "reply_to")
    _fails({**plain, "To": "a@"}, "to")
    assert pystmark._plain_payload({**plain, "From": "Me <me@example.com>"}, False) is None


# The usual shape of address, checked for many at once: letters, digits, dots,
# hyphens and "@", with the characters around them that decide.
_USUAL_PIECES = st.sampled_from(["a", "Z", "7", "bc", ".", "-", "@", "_", "+", "\n", "é", " "])
_USUAL_LIKE = st.lists(_USUAL_PIECES, min_size=0, max_size=12).map("".join) | st.sampled_from(
    ["a@b", "a.b@c.d", "-a@b", "a-@b", "a@b--c.d", "a.-b@c", "a@b-.c", "a" * 60 + "@b.cd", "é@b"]
)


def _pattern_takes(address: str) -> bool:
    return pystmark._SIMPLE_ADDRESS.match(address) is not None


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(addresses=st.lists(_USUAL_LIKE, min_size=1, max_size=4))
def test_usual_addresses_are_only_what_the_pattern_takes(addresses: list[str]) -> None:
    # The check of many at once never takes an address the pattern refuses...
    together = pystmark._usual_addresses(addresses)
    if together:
        assert all(map(_pattern_takes, addresses))
    # ...is the same as checking each alone...
    assert together == all(pystmark._usual_addresses([address]) for address in addresses)
    # ...and with the pattern after it, decides as the pattern does.
    assert pystmark._bare_addresses(addresses) == all(map(_pattern_takes, addresses))


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    local=st.from_regex(r"[A-Za-z0-9]{1,8}([.-][A-Za-z0-9]{1,8}){0,2}", fullmatch=True),
    domain=st.from_regex(r"[A-Za-z0-9]{1,8}([.-][A-Za-z0-9]{1,8}){0,3}", fullmatch=True),
)
def test_usual_addresses_take_the_usual_shape(local: str, domain: str) -> None:
    # The quick check must be taken by ordinary addresses, or it is no shortcut.
    address = f"{local}@{domain}"
    assert _pattern_takes(address) == (len(address) <= 64)
    assert pystmark._usual_addresses([address, "a@example.com"]) == (len(address) <= 64)


def test_cli_refuses_a_bad_address_without_a_request(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTMARK_API_URL", local_server.url)
    # The command line's usage status (2), its one-line error on stderr.
    assert pystmark.main(["send", "--from", "nobody", "--to", "a@example.com"]) == 2
    assert capsys.readouterr().err.startswith("pystmark: send: sender:")
    assert pystmark.main(["send", "--from", "me@example.com", "--to", "a@example.com, b@"]) == 2
    assert capsys.readouterr().err.startswith("pystmark: send: to:")
    assert local_server.requests == []


# ---- Property tests: hostile text, and the fast paths against the parser ----

_HOSTILE = st.text(
    alphabet=st.sampled_from([*string.ascii_letters[:6], *'@.,;:<>()[]"\\ \t-_=?', "é", "例"]),
    max_size=30,
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=_HOSTILE | st.text(max_size=30))
def test_any_text_gives_a_count_or_a_message_error(text: str) -> None:
    try:
        count = pystmark._check_addresses("to", text)
    except MessageError as error:
        assert error.field == "to"
    else:
        assert count >= 0
        # Whatever passes has an @ in every address.
        assert text.count("@") >= count


# The fast paths' shapes, without their length lookaheads (which hypothesis cannot draw).
_BARE = rf"{pystmark._ATOM}(\.{pystmark._ATOM})*@{pystmark._LABEL}(\.{pystmark._LABEL})*"
_NAMED = rf"[ \t]*{pystmark._WORD}([ \t.]+{pystmark._WORD})*[ \t]*<{_BARE}>[ \t]*"


_FAST_BARE = pystmark._SIMPLE_ADDRESS.pattern.replace("(?!.{65})", "")


@settings(max_examples=500, deadline=None)
@given(text=st.from_regex(_FAST_BARE, fullmatch=True) | st.from_regex(_BARE, fullmatch=True))
def test_the_bare_address_fast_path_agrees_with_the_parser(text: str) -> None:
    if pystmark._SIMPLE_ADDRESS.match(text):
        assert pystmark._parse_address_list(text) == 1


@settings(max_examples=500, deadline=None)
@given(text=st.from_regex(_NAMED, fullmatch=True) | st.from_regex(_BARE, fullmatch=True))
def test_the_display_name_fast_path_agrees_with_the_parser(text: str) -> None:
    if re.match(pystmark._NAMED_ADDRESS, text):
        assert pystmark._parse_address_list(text) == 1


_LOCAL = st.from_regex(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\.[a-z0-9_-]{1,5}){0,2}", fullmatch=True)
_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?|[a-zäöü例]{1,6}", fullmatch=True)


@st.composite
def _addresses(draw: st.DrawFn) -> tuple[str, str]:
    local = draw(_LOCAL | st.from_regex(r'"[a-z ,@.<>]{1,12}"', fullmatch=True))
    domain = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=3)))
    address = f"{local}@{domain}"
    name = draw(st.sampled_from(["", "Jane", "Jane Q. Doe", '"Doe, Jane"', "Zoë"]))
    return address, f"{name} <{address}>" if name else address


@settings(max_examples=400, deadline=None)
@given(addresses=st.lists(_addresses(), min_size=1, max_size=4))
def test_well_formed_address_lists_are_accepted_and_counted(
    addresses: list[tuple[str, str]],
) -> None:
    text = ", ".join(full for _, full in addresses)
    assert pystmark._check_addresses("to", text) == len(addresses)
    assert pystmark._check_addresses("to", [full for _, full in addresses]) == len(addresses)


@settings(max_examples=400, deadline=None)
@given(address=_addresses(), breakage=st.sampled_from(["drop @", "double @", "space", "bad end"]))
def test_broken_addresses_are_refused(address: tuple[str, str], breakage: str) -> None:
    spec, _ = address
    local, domain = spec.rsplit("@", 1)
    broken = {
        "drop @": local + domain,
        "double @": f"{local}@@{domain}",
        "space": f"{local}@{domain} {domain}",
        "bad end": f"{local}@{domain}-",
    }[breakage]
    with pytest.raises(MessageError):
        pystmark._check_addresses("to", broken)


def test_quoted_commas_comments_and_angle_brackets_do_not_split_addresses() -> None:
    text = '"Doe, Jane" <jane@example.com>, (work, mostly) joe@example.com, <@a,@b:c@example.com>'
    assert pystmark._split_address_list(text) == [
        '"Doe, Jane" <jane@example.com>',
        " (work, mostly) joe@example.com",
        " <@a,@b:c@example.com>",
    ]
    assert pystmark._split_address_list('"a\\", b" <a@example.com>') == [
        '"a\\", b" <a@example.com>'
    ]
    assert pystmark._check_addresses("to", text) == 3


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a@" + "b." * 12_000 + "c", "longer than 512 characters"),
        ("a" * 1_000_000, "longer than 50 addresses can be"),
        (", ".join(f'"N, {i}" <u{i}@example.com>' for i in range(60)), "60 recipients"),
        ([f'"N, {i}" <u{i}@example.com>' for i in range(60)], "over 50 recipients"),
    ],
)
def test_long_hostile_text_is_refused_before_the_parser_sees_it(value: Any, problem: str) -> None:
    # The standard library's parser takes quadratic time: it only ever gets one
    # address of bounded length, and never more than 50 of them.
    with pytest.raises(MessageError, match=problem):
        pystmark._check_addresses("to", value)
