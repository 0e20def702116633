"""Records, converters, timestamps, responses and the request mechanism's plumbing."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import responses as responses_lib
from responses import matchers

import pystmark
from pystmark import DataError, Record
from tests.conftest import API, TOKEN

# ---- timestamps ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2010-11-26T12:01:05.1794748-05:00",
            datetime(2010, 11, 26, 12, 1, 5, 179474, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("2024-02-01T10:11:12Z", datetime(2024, 2, 1, 10, 11, 12, tzinfo=timezone.utc)),
        ("2024-02-01T10:11:12", datetime(2024, 2, 1, 10, 11, 12, tzinfo=timezone.utc)),
        ("2024-02-01 10:11", datetime(2024, 2, 1, 10, 11, tzinfo=timezone.utc)),
        ("2024-02-01", datetime(2024, 2, 1, tzinfo=timezone.utc)),
        (
            "2024-02-01T10:11:12.5+0130",
            datetime(2024, 2, 1, 10, 11, 12, 500000, tzinfo=timezone(timedelta(minutes=90))),
        ),
        (None, None),
        ("", None),
    ],
)
def test_parse_datetime(text: str | None, expected: datetime | None) -> None:
    parsed = pystmark.parse_datetime(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == expected.utcoffset()  # type: ignore[union-attr]


def test_parse_datetime_naive_zone_and_errors() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert pystmark.parse_datetime("2024-02-01T10:00:00", eastern) == datetime(
        2024, 2, 1, 15, tzinfo=timezone.utc
    )
    naive = pystmark.parse_datetime("2024-02-01T10:00:00.1234567", None)
    assert naive == datetime(2024, 2, 1, 10, 0, 0, 123456) and naive.tzinfo is None
    assert pystmark.parse_datetime("2024-02-01 10:00", None) == datetime(2024, 2, 1, 10, 0)
    for bad in ("yesterday", "2024-13-01", "2024-02-30T10:00:00"):
        with pytest.raises(DataError):
            pystmark.parse_datetime(bad)
    with pytest.raises(DataError):
        pystmark.parse_datetime(1700000000)


# ---- converters and records ------------------------------------------------------------


@pytest.mark.parametrize(
    ("convert", "value", "expected"),
    [
        (pystmark._as_str, None, ""),
        (pystmark._as_str, "x", "x"),
        (pystmark._as_optional_str, None, None),
        (pystmark._as_optional_str, "x", "x"),
        (pystmark._as_int, None, 0),
        (pystmark._as_int, 5, 5),
        (pystmark._as_bool, None, False),
        (pystmark._as_bool, True, True),
        (pystmark._as_optional_bool, None, None),
        (pystmark._as_optional_bool, False, False),
        (pystmark._as_str_list, None, []),
        (pystmark._as_str_list, ["a"], ["a"]),
        (pystmark._as_dict, None, {}),
        (pystmark._as_dict, {"a": 1}, {"a": 1}),
    ],
)
def test_converters(convert: Any, value: Any, expected: Any) -> None:
    assert convert(value) == expected


@pytest.mark.parametrize(
    ("convert", "value"),
    [
        (pystmark._as_str, 1),
        (pystmark._as_int, "1"),
        (pystmark._as_int, True),
        (pystmark._as_bool, "true"),
        (pystmark._as_str_list, "a"),
        (pystmark._as_str_list, [1]),
        (pystmark._as_dict, []),
    ],
)
def test_converters_refuse_wrong_shapes(convert: Any, value: Any) -> None:
    with pytest.raises(DataError):
        convert(value)


class Item(Record):
    __slots__ = ()
    name = pystmark._field("Name", pystmark._as_str)


class Box(Record):
    __slots__ = ()
    box_id = pystmark._field(("ID", "Id"), pystmark._as_int)
    created_at = pystmark._field("CreatedAt", pystmark.parse_datetime)
    items = pystmark._field("Items", pystmark._as_records(Item))
    main = pystmark._field("Main", pystmark._as_record(Item))


class BigBox(Box):
    __slots__ = ()
    size = pystmark._field("Size", pystmark._as_int)


def test_records_read_lazily_and_convert() -> None:
    raw = {
        "Id": 3,
        "CreatedAt": "2024-01-01T00:00:00Z",
        "Items": [{"Name": "a"}, {"Name": "b"}],
        "Main": {"Name": "m"},
        "Unknown": True,
    }
    box = Box(raw)
    assert box.raw is raw
    assert box.box_id == 3
    assert box.created_at == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert [item.name for item in box.items] == ["a", "b"]
    assert box.main is not None and box.main.name == "m"
    assert box.to_dict() == {
        "box_id": 3,
        "created_at": datetime(2024, 1, 1, tzinfo=timezone.utc),
        "items": [{"name": "a"}, {"name": "b"}],
        "main": {"name": "m"},
    }
    assert Box({}).items == [] and Box({}).main is None and Box({}).box_id == 0
    assert Box(raw) == Box(dict(raw))
    assert (Box(raw) == Item(raw)) is False
    assert BigBox._fields == ("box_id", "created_at", "items", "main", "size")
    assert BigBox({"Size": 2}).size == 2
    assert isinstance(Box.box_id, pystmark._Field)  # type: ignore[misc]


def test_records_are_read_only_and_report_bad_data() -> None:
    box = Box({"ID": "three", "Items": "no", "Name": "x" * 100})
    with pytest.raises(AttributeError):
        box.box_id = 4
    with pytest.raises(DataError, match=r"Box\.box_id"):
        _ = box.box_id
    with pytest.raises(DataError):
        box.validate()
    assert "box_id='<invalid>'" in repr(box)
    with pytest.raises(DataError, match="expected an object"):
        Box([1, 2])  # type: ignore[arg-type]
    assert Item({"Name": "x" * 100}).validate().name == "x" * 100
    assert "..." in repr(Item({"Name": "x" * 100}))
    with pytest.raises(DataError):
        Box({"Items": [1]}).validate()


# ---- one name per Postmark concept ----------------------------------------------------


def _record_classes() -> list[type[Record]]:
    found: list[type[Record]] = []
    todo = [Record]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found and sub.__module__ == "pystmark":
                found.append(sub)
                todo.append(sub)
    return found


# Postmark's key -> the one Python name every record gives it.
CONCEPT_NAMES = {
    "From": "from_address",
    "FromName": "from_name",
    "FromFull": "from_full",
    "Recipient": "recipient",
}


def test_every_record_names_a_concept_one_way() -> None:
    named: dict[str, set[str]] = {key: set() for key in CONCEPT_NAMES}
    for cls in _record_classes():
        for name in cls._fields:
            key = getattr(cls, name).key
            if key in named:
                named[key].add(name)
    assert named == {key: {name} for key, name in CONCEPT_NAMES.items()}


MAIL = {
    "From": "ana@example.net",
    "FromName": "Ana Reyes",
    "FromFull": {"Email": "ana@example.net", "Name": "Ana Reyes"},
    "Email": "bounced@example.com",
}
FROM_RECORDS = [
    pystmark.Bounce,
    pystmark.BounceEvent,
    pystmark.SpamComplaintEvent,
    pystmark.OutboundMessage,
    pystmark.OutboundMessageDetails,
    pystmark.InboundMessage,
    pystmark.InboundEvent,
]


@pytest.mark.parametrize("cls", FROM_RECORDS)
def test_from_address_on_every_record_with_a_sender(cls: Any) -> None:
    assert cls(MAIL).from_address == "ana@example.net"
    assert "from_address" in cls(MAIL).to_dict()


@pytest.mark.parametrize("cls", [pystmark.InboundMessage, pystmark.InboundEvent])
def test_both_inbound_records_read_from_the_same_way(cls: Any) -> None:
    record = cls(MAIL)
    assert record.from_name == "Ana Reyes"
    assert record.from_full == pystmark.EmailAddress(MAIL["FromFull"])


def test_old_names_are_aliases() -> None:
    event = pystmark.InboundEvent(MAIL)
    assert event.sender == event.from_address == "ana@example.net"
    for cls in (pystmark.Bounce, pystmark.BounceEvent, pystmark.BouncedMessage):
        bounce = cls(MAIL)
        assert bounce.recipient == bounce.email == "bounced@example.com"
    message = pystmark.InboundMessage({"Date": "Thu, 5 Apr 2012 16:59:01 +0200"})
    assert message.sent_at == message.date == datetime(2012, 4, 5, 14, 59, 1, tzinfo=timezone.utc)


UTC = timezone.utc


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Thu, 5 Apr 2012 16:59:01 +0200", datetime(2012, 4, 5, 14, 59, 1, tzinfo=UTC)),
        # RFC 5322's "-0000": a time in UTC whose sender's zone is unknown.
        ("Thu, 5 Apr 2012 16:59:01 -0000", datetime(2012, 4, 5, 16, 59, 1, tzinfo=UTC)),
        ("2024-06-03T16:45:32-04:00", datetime(2024, 6, 3, 20, 45, 32, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
        (None, None),
    ],
)
@pytest.mark.parametrize("cls", [pystmark.InboundMessage, pystmark.InboundEvent])
def test_inbound_date_is_an_aware_datetime_on_both_records(
    cls: Any, header: str | None, expected: datetime | None
) -> None:
    record = cls({} if header is None else {"Date": header})
    assert record.date == expected
    assert record.date is None or record.date.utcoffset() is not None
    assert record.date_header == (header or "")  # the text as the sender wrote it
    assert record.to_dict()["date"] == expected


def test_inbound_date_header_is_rebuilt_as_written() -> None:
    header = "Thu, 05 Apr 2012 16:59:01 +0200"  # as the email package writes it
    for record in (
        pystmark.InboundMessage({"Date": header, "TextBody": "x"}),
        pystmark.InboundEvent({"Date": header, "TextBody": "x"}),
    ):
        assert record.to_email_message()["Date"] == header


# ---- responses -----------------------------------------------------------------------


def test_send_result_fields() -> None:
    result = pystmark.SendResult(
        {
            "To": "a@example.com",
            "SubmittedAt": "2024-01-01T00:00:00-05:00",
            "MessageID": "m1",
            "ErrorCode": 0,
            "Message": "OK",
        },
        7,
    )
    assert result.index == 7
    assert result.ok and result.error is None
    assert result.id == result.message_id == "m1"
    assert result.submitted_at is not None and result.submitted_at.utcoffset() == timedelta(
        hours=-5
    )
    refused = pystmark.SendResult({"ErrorCode": 300, "Message": "Invalid"})
    assert not refused.ok
    assert isinstance(refused.error, pystmark.InvalidEmailRequestError)
    assert refused.error.error_code == 300
    other = pystmark.SendResult({"ErrorCode": 99999, "Message": "Other"})
    assert type(other.error) is pystmark.UnprocessableEntityError


# ---- request plumbing ------------------------------------------------------------------


def test_endpoint_urls_quote_each_id() -> None:
    endpoint = pystmark.Endpoint("GET", "/things/{}/parts/{}")
    assert endpoint.url(API, ["a b/c", 5]) == API + "/things/a%20b%2Fc/parts/5"
    assert repr(endpoint) == "Endpoint(GET /things/{}/parts/{})"
    assert endpoint.idempotent and not endpoint.send
    assert not pystmark.Endpoint("POST", "/x").idempotent
    assert not pystmark.Endpoint("PUT", "/x", send=True).idempotent
    assert pystmark.Endpoint("POST", "/x", idempotent=True).idempotent
    for bad in ("", ".", "..", "a\nb", True, None, 1.5):
        with pytest.raises(pystmark.ConfigurationError):
            endpoint.url(API, [bad, 1])  # type: ignore[list-item]


def test_endpoint_fields_in_postmark_form_whenever_read() -> None:
    # The declarations are expanded on first use; reading them first or calling
    # first gives the same fields and the same request.
    def declared() -> pystmark.Endpoint[pystmark.Response]:
        return pystmark.Endpoint(
            "PUT",
            "/x/{thing_id}",
            query={"count": "page", "tag": ("Tag", str)},
            body={"template_id": int, "track_opens": bool},
        )

    arguments = {"thing_id": 3, "count": 5, "tag": "t", "template_id": 9, "track_opens": None}
    read_first = declared()
    assert read_first.query == {"count": ("Count", "page"), "tag": ("Tag", str)}
    assert read_first.body == {
        "template_id": ("TemplateID", int),
        "track_opens": ("TrackOpens", bool),
    }
    called_first = declared()
    expected = ([3], {"Count": 5, "Tag": "t"}, {"TemplateID": 9})
    assert called_first.request(arguments) == read_first.request(arguments) == expected
    assert called_first.query == read_first.query and called_first.body == read_first.body
    no_fields = pystmark.Endpoint("GET", "/x")
    assert no_fields.query is None and no_fields.body is None
    assert no_fields.request({}) == ([], None, None)


def test_module_patterns_compile_on_first_use_then_are_the_global(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lazy = pystmark._lazy_pattern("_HEADER_NAME", "[A-Za-z-]+")
    monkeypatch.setattr(pystmark, "_HEADER_NAME", lazy)
    assert not isinstance(vars(pystmark)["_HEADER_NAME"], re.Pattern)
    with pytest.raises(pystmark.MessageError, match="invalid header name"):
        pystmark._check_header_text("headers", "bad name", "v")
    compiled = vars(pystmark)["_HEADER_NAME"]
    assert isinstance(compiled, re.Pattern) and compiled.pattern == "[A-Za-z-]+"
    pystmark._check_header_text("headers", "X-Ok", "v")
    assert vars(pystmark)["_HEADER_NAME"] is compiled
    assert lazy.fullmatch("X-Ok")  # a reference taken before still works


def test_query_values() -> None:
    class Kind(str, pystmark.enum.Enum):
        HARD = "HardBounce"

    assert pystmark._query(
        {
            "a": None,
            "b": True,
            "c": False,
            "d": date(2024, 1, 2),
            "e": datetime(2024, 1, 2, 3, 4, 5),
            "f": Kind.HARD,
            "g": 10,
            "h": "x",
        }
    ) == {
        "b": "true",
        "c": "false",
        "d": "2024-01-02",
        "e": "2024-01-02T03:04:05",
        "f": "HardBounce",
        "g": 10,
        "h": "x",
    }


@pytest.mark.no_contract  # an invented endpoint, to exercise the request path
def test_call_with_params_json_body_and_account_token(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(
        responses_lib.PUT,
        API + "/servers/7",
        json={"ID": 7},
        match=[
            matchers.header_matcher({"X-Postmark-Account-Token": "acct"}),
            matchers.query_param_matcher({"flag": "true"}),
            matchers.json_params_matcher({"Name": "ünï"}),
        ],
    )
    interface = pystmark.Interface(account_api_key="acct")
    endpoint = pystmark.Endpoint(
        "PUT",
        "/servers/{server_id}",
        token="account",
        query={"flag": ("flag", bool), "skip": ("skip", bool)},
        body={"name": str},
    )
    arguments = {"options": {}, "server_id": 7, "flag": True, "skip": None, "name": "ünï"}
    response = interface._request(endpoint, arguments)
    assert response.data == {"ID": 7}
    assert response.status_code == 200
    assert "X-Postmark-Server-Token" not in mocked.calls[0].request.headers
    with pytest.raises(pystmark.ConfigurationError, match="no account token"):
        pystmark.Interface(api_key=TOKEN)._call(endpoint, {}, path_args=[7])


def test_empty_answer_body_is_none(mocked: responses_lib.RequestsMock) -> None:
    mocked.add(responses_lib.DELETE, API + "/x", body=b"")
    _, data = pystmark.Interface(api_key=TOKEN)._call(pystmark.Endpoint("DELETE", "/x"), {})
    assert data is None


def test_response_wrapper() -> None:
    import requests

    http = requests.Response()
    http.status_code = 200
    http.headers["X-A"] = "1"
    response = pystmark.Response(http, {"a": 1})
    assert response.ok and response.status_code == 200
    assert response.json() == {"a": 1} and response.data == {"a": 1}
    assert response.headers["X-A"] == "1"
    assert response.http_response is http
    assert response.raise_for_status() is response
    assert repr(response) == "<Response [200]>"


def test_iter_paged_reads_pages_until_short() -> None:
    pages: list[dict[str, Any]] = []

    def fetch(query: dict[str, Any]) -> Any:
        pages.append(query)
        offset, count = query["offset"], query["count"]
        total = 7
        return {"Items": [{"n": n} for n in range(offset, min(offset + count, total))]}

    items = list(pystmark._iter_paged(fetch, "Items", lambda raw: raw["n"], {"x": 1}, page_size=3))
    assert items == list(range(7))
    assert pages == [
        {"x": 1, "count": 3, "offset": 0},
        {"x": 1, "count": 3, "offset": 3},
        {"x": 1, "count": 3, "offset": 6},
    ]
    pages.clear()
    limited = list(
        pystmark._iter_paged(fetch, "Items", lambda raw: raw["n"], {}, page_size=3, max_results=4)
    )
    assert limited == [0, 1, 2, 3]
    assert pages[-1]["count"] == 1
    assert list(pystmark._iter_paged(fetch, "Items", lambda r: r, {}, max_results=0)) == []
    with pytest.raises(DataError):
        list(pystmark._iter_paged(lambda q: {"Other": []}, "Items", lambda r: r, {}))


def test_fields_read_values_of_their_own_type_as_is_and_check_the_rest() -> None:
    """A value of the exact type a converter passes through skips the call; others do not."""
    bounce = pystmark.Bounce({"ID": 12, "Inactive": True, "Email": "a@example.com", "Tag": None})
    assert (bounce.id, bounce.inactive, bounce.email, bounce.tag) == (
        12,
        True,
        "a@example.com",
        None,
    )
    assert pystmark.Bounce({"ID": "12"}).id == 12  # a digit string still converts
    for raw, name in [
        ({"ID": True}, "id"),
        ({"TypeCode": False}, "type_code"),
        ({"Inactive": 1}, "inactive"),
        ({"Email": 5}, "email"),
        ({"Metadata": []}, "metadata"),
    ]:
        with pytest.raises(pystmark.DataError, match=f"Bounce.{name}:"):
            getattr(pystmark.Bounce(raw), name)
