"""The bounce API: requests made, answers parsed, errors mapped."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

import pystmark
from pystmark import (
    Bounce,
    BounceActivationError,
    BounceError,
    BounceGetter,
    BounceNotFoundError,
    BounceQueryError,
    BounceType,
    NotFoundError,
    UnauthorizedError,
    UnprocessableEntityError,
)

API = "https://api.postmarkapp.com"
K = "server-token"

BOUNCE = {
    "RecordType": "Bounce",
    "ID": 692560173,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "MessageID": "2c1b63fe-43f2-4db5-91b0-8bdfa44a9316",
    "ServerID": 23,
    "MessageStream": "outbound",
    "Description": "The server was unable to deliver your message.",
    "Details": "action: failed",
    "Email": "anything@blackhole.postmarkapp.com",
    "From": "sender@example.com",
    "BouncedAt": "2024-01-15T16:09:19.6421112-05:00",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "Hello",
    "Tag": "welcome",
    "Content": "Return-Path: <>",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POSTMARK_SERVER_TOKEN", "POSTMARK_ACCOUNT_TOKEN", "POSTMARK_API_URL"):
        monkeypatch.delenv(name, raising=False)


def query(call: responses.Call) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.request.url).query, keep_blank_values=True))


def path(call: responses.Call) -> str:
    return urlsplit(call.request.url).path


# ---- delivery stats -------------------------------------------------------


@responses.activate
def test_delivery_stats_request_and_parsing() -> None:
    responses.get(
        f"{API}/deliverystats",
        json={
            "InactiveMails": 192,
            "Bounces": [
                {"Name": "All", "Count": 253},
                {"Type": "HardBounce", "Name": "Hard bounce", "Count": 195},
                {"Type": "Transient", "Name": "Message delayed", "Count": 10},
                {"Type": "SomethingNew", "Name": "New kind", "Count": 48},
            ],
        },
    )
    s = pystmark.get_delivery_stats(api_key=K)
    call = responses.calls[0]
    assert call.request.method == "GET"
    assert call.request.headers["X-Postmark-Server-Token"] == K
    assert call.request.headers["Accept"] == "application/json"
    assert s.inactive == 192
    assert s.total == 253
    # The total is listed under "All", as pystmark 0.5 listed it.
    assert set(s.bounces) == {"All", "HardBounce", "Transient", "SomethingNew"}
    assert s.bounces["All"].count == 253
    hard = s.bounces["HardBounce"]
    assert (hard.type, hard.name, hard.count) == (BounceType.HARD_BOUNCE, "Hard bounce", 195)
    # pystmark 0.5 style loop
    seen = {(t.type, t.name, t.count) for t in s.bounces.values()}
    assert ("SomethingNew", "New kind", 48) in seen
    assert len(s.counts) == 4


@responses.activate
def test_delivery_stats_total_without_all_entry_is_the_sum() -> None:
    responses.get(
        f"{API}/deliverystats",
        json={"InactiveMails": 0, "Bounces": [{"Type": "HardBounce", "Name": "H", "Count": 3}]},
    )
    assert pystmark.get_delivery_stats(api_key=K).total == 3


@pytest.mark.parametrize("position", [0, 1, 2])
def test_delivery_stats_total_is_the_entry_named_all_whatever_it_carries(
    position: int,
) -> None:
    entries: list[dict[str, Any]] = [
        {"Type": "HardBounce", "Name": "Hard bounce", "Count": 5},
        {"Type": "Transient", "Name": "Message delayed", "Count": 4},
    ]
    # The total also carries a Type (and one Postmark lists for another entry).
    entries.insert(position, {"Name": "All", "Type": "HardBounce", "Count": 9})
    stats = pystmark.DeliveryStatsResponse(requests.Response(), {"Bounces": entries})
    assert stats.total == 9
    assert set(stats.bounces) == {"All", "HardBounce", "Transient"}
    assert stats.bounces["All"].count == 9
    assert stats.bounces["HardBounce"].count == 5
    assert [entry.is_total for entry in stats.counts] == [
        entry["Name"] == "All" for entry in entries
    ]


def test_delivery_stats_without_a_total_sums_the_types() -> None:
    entries = [
        {"Type": "HardBounce", "Name": "Hard bounce", "Count": 5},
        {"Type": "Transient", "Name": "Message delayed", "Count": 4},
        {"Type": "", "Name": "Allowed", "Count": 100},  # neither a type nor the total
    ]
    stats = pystmark.DeliveryStatsResponse(requests.Response(), {"Bounces": entries})
    assert stats.total == 9
    assert set(stats.bounces) == {"HardBounce", "Transient"}


# ---- listing ----------------------------------------------------------------


@responses.activate
def test_get_bounces_defaults_and_parsing() -> None:
    unknown = {**BOUNCE, "ID": 2, "Type": "BrandNewType", "TypeCode": 999}
    responses.get(f"{API}/bounces", json={"TotalCount": 2, "Bounces": [BOUNCE, unknown]})
    r = pystmark.get_bounces(api_key=K)
    call = responses.calls[0]
    assert call.request.method == "GET"
    assert path(call) == "/bounces"
    assert query(call) == {"count": "25", "offset": "0"}
    assert call.request.headers["X-Postmark-Server-Token"] == K
    assert r.total == 2
    assert len(r) == 2
    b = r.bounces[0]
    assert isinstance(b, Bounce)
    assert b.id == 692560173
    assert b.type is BounceType.HARD_BOUNCE and b.type == "HardBounce"
    assert b.type_code == 1
    assert b.name == "Hard bounce"
    assert b.message_id == BOUNCE["MessageID"]
    assert b.server_id == 23
    assert b.message_stream == "outbound"
    assert b.email == "anything@blackhole.postmarkapp.com"
    assert b.from_address == "sender@example.com"
    assert b.bounced_at == datetime(2024, 1, 15, 21, 9, 19, 642111, tzinfo=timezone.utc)
    assert b.bounced_at.utcoffset() == timedelta(hours=-5)
    assert (b.dump_available, b.inactive, b.can_activate) == (True, True, True)
    assert (b.subject, b.tag, b.content) == ("Hello", "welcome", "Return-Path: <>")
    assert b.description.startswith("The server")
    assert b.details == "action: failed"
    # An unknown type is kept as the server's string, never an error.
    other = list(r)[1]
    assert other.type == "BrandNewType" and not isinstance(other.type, BounceType)


@responses.activate
def test_get_bounces_pystmark_05_calls() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 0, "Bounces": []})
    pystmark.get_bounces(count=100, offset=0, api_key=K)
    pystmark.get_bounces(bounce_type="HardBounce", api_key=K)
    pystmark.get_bounces(email_filter="x", api_key=K)
    pystmark.get_bounces(message_id="abc-123", api_key=K)
    queries = [query(call) for call in responses.calls]
    assert queries[0] == {"count": "100", "offset": "0"}
    assert queries[1] == {"count": "25", "offset": "0", "type": "HardBounce"}
    assert queries[2] == {"count": "25", "offset": "0", "emailFilter": "x"}
    # Postmark needs neither count nor offset with a message id.
    assert queries[3] == {"messageID": "abc-123"}


@responses.activate
def test_get_bounces_every_filter() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 0, "Bounces": []})
    pystmark.get_bounces(
        count=500,
        offset=9500,
        bounce_type=BounceType.SPAM_COMPLAINT,
        inactive=False,
        email_filter="example.org",
        tag="welcome",
        message_id="m-1",
        from_date=date(2024, 1, 2),
        to_date=datetime(2024, 1, 3, 4, 5, 6),
        message_stream="outbound",
        api_key=K,
    )
    assert query(responses.calls[0]) == {
        "count": "500",
        "offset": "9500",
        "type": "SpamComplaint",
        "inactive": "false",
        "emailFilter": "example.org",
        "tag": "welcome",
        "messageID": "m-1",
        "fromdate": "2024-01-02",
        "todate": "2024-01-03T04:05:06",
        "messagestream": "outbound",
    }


@responses.activate
def test_bounce_type_is_matched_case_insensitively() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 0, "Bounces": []})
    pystmark.get_bounces(bounce_type="dmarcpolicy", api_key=K)
    assert query(responses.calls[0])["type"] == "DMARCPolicy"


@responses.activate
def test_bounce_type_unknown_to_the_library_is_sent_unchanged() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 0, "Bounces": []})
    pystmark.get_bounces(bounce_type="SomeNewType", api_key=K)
    assert query(responses.calls[0])["type"] == "SomeNewType"


@responses.activate
def test_aware_datetimes_are_sent_in_postmark_eastern_time() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 0, "Bounces": []})
    winter = datetime(2024, 1, 15, 12, 0, tzinfo=timezone.utc)  # EST, UTC-5
    summer = datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc)  # EDT, UTC-4
    pystmark.get_bounces(from_date=winter, to_date=summer, api_key=K)
    q = query(responses.calls[0])
    assert q["fromdate"] == "2024-01-15T07:00:00"
    assert q["todate"] == "2024-07-01T08:00:00"


def test_missing_time_zone_database_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import zoneinfo

    def missing(key: str) -> None:
        raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(pystmark, "_zone_cache", [])
    monkeypatch.setattr(zoneinfo, "ZoneInfo", missing)
    aware = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(pystmark.ConfigurationError, match="tzdata"):
        pystmark.get_bounces(from_date=aware, api_key=K)
    # Naive datetimes need no conversion, so they still work offline of a tz database.
    assert pystmark._query_value(datetime(2024, 1, 1, 9, 30)) == "2024-01-01T09:30:00"


@responses.activate
def test_advanced_class_settings_and_test_token() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 0, "Bounces": []})
    getter = BounceGetter(api_key="instance-token")
    getter.get_bounces(count=10)
    getter.get_bounces(count=10, api_key="call-token")
    pystmark.get_bounces(test=True)
    tokens = [call.request.headers["X-Postmark-Server-Token"] for call in responses.calls]
    assert tokens == ["instance-token", "call-token", "POSTMARK_API_TEST"]
    assert "instance-token" not in repr(getter)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 0}, "count must be between"),
        ({"count": 501}, "count must be between"),
        ({"count": True}, "count must be an integer"),
        ({"count": "25"}, "count must be an integer"),
        ({"offset": -1}, "offset must be >= 0"),
        ({"count": 500, "offset": 9501}, "may not exceed 10000"),
        ({"bounce_type": ""}, "bounce_type must be a BounceType"),
        ({"bounce_type": 1}, "bounce_type must be a BounceType"),
        ({"inactive": "yes"}, "inactive must be"),
        ({"tag": "a\r\nb"}, "tag must be a string"),
        ({"email_filter": 5}, "email_filter must be a string"),
        ({"from_date": "2024-01-01"}, "from_date must be a date"),
        ({"from_date": date(2024, 2, 1), "to_date": date(2024, 1, 1)}, "after to_date"),
    ],
)
@responses.activate
def test_bad_arguments_fail_before_any_request(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(BounceError, match=message) as caught:
        pystmark.get_bounces(api_key=K, **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, pystmark.PystmarkError)
    assert len(responses.calls) == 0


def test_iter_bounces_checks_arguments_before_the_first_request() -> None:
    with pytest.raises(BounceError):
        pystmark.iter_bounces(bounce_type="", api_key=K)
    with pytest.raises(BounceError):
        pystmark.iter_bounces(max_results=-1, api_key=K)
    with pytest.raises(TypeError):
        pystmark.iter_bounces(not_an_option=1)  # type: ignore[call-arg]


# ---- single bounces ---------------------------------------------------------


@responses.activate
def test_get_bounce_and_dump_reuse_the_settings_read_with() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 1, "Bounces": [BOUNCE]})
    responses.get(f"{API}/bounces/692560173", json=BOUNCE)
    responses.get(f"{API}/bounces/692560173/dump", json={"Body": "SMTP dump"})
    r = pystmark.get_bounces(count=1, api_key=K, timeout=7)
    for b in r.bounces:
        single = pystmark.get_bounce(b.id, api_key=K)
        assert single.bounce.id == b.id
        assert single.bounce.bounced_at == b.bounced_at
        dump = b.dump()  # uses api_key=K from the listing call
        assert dump.dump == "SMTP dump"
        assert dump.body == "SMTP dump"
        b.dump(api_key="other")
    assert [path(call) for call in responses.calls] == [
        "/bounces",
        "/bounces/692560173",
        "/bounces/692560173/dump",
        "/bounces/692560173/dump",
    ]
    tokens = [call.request.headers["X-Postmark-Server-Token"] for call in responses.calls]
    assert tokens == [K, K, K, "other"]


@responses.activate
def test_get_bounce_dump_and_activate_functions() -> None:
    responses.get(f"{API}/bounces/12/dump", json={"Body": ""})
    activated = {**BOUNCE, "ID": 12, "Inactive": False, "CanActivate": False}
    responses.put(f"{API}/bounces/12/activate", json={"Message": "OK", "Bounce": activated})
    assert pystmark.get_bounce_dump(12, api_key=K).dump == ""
    a = pystmark.activate_bounce("12", api_key=K)
    assert a.message == "OK"
    assert a.bounce.id == 12 and a.bounce.inactive is False
    put = responses.calls[1]
    assert put.request.method == "PUT"
    assert path(put) == "/bounces/12/activate"
    assert put.request.headers["X-Postmark-Server-Token"] == K


@responses.activate
def test_bounce_activate_helper_uses_record_settings() -> None:
    responses.get(f"{API}/bounces/5", json={**BOUNCE, "ID": 5})
    responses.put(f"{API}/bounces/5/activate", json={"Message": "OK", "Bounce": BOUNCE})
    getter = BounceGetter(api_key="instance")
    bounce = getter.get(5).bounce
    assert bounce.activate().message == "OK"
    assert responses.calls[1].request.headers["X-Postmark-Server-Token"] == "instance"


@responses.activate
def test_record_without_settings_uses_the_default_getter() -> None:
    responses.get(f"{API}/bounces/7/dump", json={"Body": "x"})
    assert Bounce({"ID": 7}).dump(api_key=K).dump == "x"


@pytest.mark.parametrize("bad", [0, -3, "1/activate", "../email", "", "12a", True, 1.5, None])
@responses.activate
def test_bad_bounce_ids_fail_before_any_request(bad: object) -> None:
    for call in (pystmark.get_bounce, pystmark.get_bounce_dump, pystmark.activate_bounce):
        with pytest.raises(BounceError):
            call(bad, api_key=K)  # type: ignore[arg-type]
    assert len(responses.calls) == 0


@responses.activate
def test_bounce_tags() -> None:
    responses.get(f"{API}/bounces/tags", json=["Signup", "Commit Notification"])
    tags = pystmark.get_bounce_tags(api_key=K)
    assert tags.tags == ["Signup", "Commit Notification"]
    assert list(tags) == tags.tags and len(tags) == 2
    assert path(responses.calls[0]) == "/bounces/tags"
    assert responses.calls[0].request.method == "GET"


# ---- errors -------------------------------------------------------------------


def _error(code: int, message: str) -> dict[str, object]:
    return {"ErrorCode": code, "Message": message}


@responses.activate
def test_error_code_1001_is_a_not_found_error() -> None:
    responses.get(f"{API}/bounces/99", status=422, json=_error(1001, "Bounce not found."))
    with pytest.raises(BounceNotFoundError) as caught:
        pystmark.get_bounce(99, api_key=K)
    error = caught.value
    assert isinstance(error, NotFoundError) and isinstance(error, UnprocessableEntityError)
    assert (error.status_code, error.error_code) == (422, 1001)
    assert K not in str(error)


@responses.activate
def test_error_code_1003_cannot_activate() -> None:
    responses.put(f"{API}/bounces/5/activate", status=422, json=_error(1003, "Cannot activate"))
    with pytest.raises(BounceActivationError):
        pystmark.activate_bounce(5, api_key=K)


@pytest.mark.parametrize("code", [1000, 1002])
@responses.activate
def test_query_error_codes(code: int) -> None:
    responses.get(f"{API}/bounces", status=422, json=_error(code, "Bounce query exception"))
    with pytest.raises(BounceQueryError) as caught:
        pystmark.get_bounces(api_key=K)
    assert caught.value.error_code == code


@responses.activate
def test_unauthorized() -> None:
    responses.get(f"{API}/bounces/tags", status=401, json=_error(10, "Bad token"))
    with pytest.raises(UnauthorizedError):
        pystmark.get_bounce_tags(api_key=K)


@responses.activate
def test_malformed_bounce_data_is_a_data_error() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 1, "Bounces": [{"ID": "x"}]})
    r = pystmark.get_bounces(api_key=K)
    with pytest.raises(pystmark.DataError, match=r"Bounce\.id"):
        r.bounces[0].validate()
    responses.get(f"{API}/bounces", json={"TotalCount": 1, "Bounces": "nope"})
    with pytest.raises(pystmark.DataError):
        pystmark.get_bounces(api_key=K).bounces  # noqa: B018
    responses.get(f"{API}/bounces", json={"TotalCount": 1, "Bounces": [5]})
    with pytest.raises(pystmark.DataError):
        pystmark.get_bounces(api_key=K).bounces  # noqa: B018


def test_bounce_type_enum() -> None:
    assert BounceType.HARD_BOUNCE.code == 1
    assert BounceType.DMARC_POLICY.code == 100009
    assert BounceType.TEMPLATE_RENDERING_FAILED.code is None
    assert str(BounceType.SOFT_BOUNCE) == "SoftBounce"
    assert f"{BounceType.BLOCKED}" == "Blocked"
    assert len(BounceType) == 23
    # The numeric id may come as a string (Swagger says string).
    assert Bounce({"ID": "42"}).id == 42
    assert pystmark.BouncedMessage is Bounce


def test_bounce_records_round_trip_to_dict() -> None:
    data = Bounce(BOUNCE).validate().to_dict()
    assert data["type"] == "HardBounce" and data["id"] == 692560173
    assert json.loads(json.dumps(BOUNCE)) == Bounce(BOUNCE).raw


@responses.activate
def test_a_page_without_bounces_is_empty() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 0})
    r = pystmark.get_bounces(api_key=K)
    assert r.bounces == [] and r.total == 0


# ---- pystmark 0.5 classes ----------------------------------------------------


@responses.activate
def test_pystmark_05_bounce_classes_still_work() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 1, "Bounces": [BOUNCE]})
    responses.get(f"{API}/bounces/692560173/dump", json={"Body": "raw source"})
    responses.get(f"{API}/bounces/tags", json=["welcome"])
    responses.get(
        f"{API}/deliverystats",
        json={"InactiveMails": 3, "Bounces": [{"Name": "All", "Count": 7}]},
    )
    responses.put(f"{API}/bounces/692560173/activate", json={"Message": "OK", "Bounce": BOUNCE})

    listed = pystmark.Bounces(api_key=K).get(bounce_type="HardBounce", count=10, offset=0)
    assert [bounce.id for bounce in listed.bounces] == [692560173]
    assert listed.total == listed.total_count == 1
    assert query(responses.calls[0]) == {"type": "HardBounce", "count": "10", "offset": "0"}
    assert pystmark.BounceDump(api_key=K).get(692560173).dump == "raw source"
    assert pystmark.BounceTags(api_key=K).get().tags == ["welcome"]
    stats = pystmark.DeliveryStats(api_key=K).get()
    assert (stats.inactive, stats.total) == (3, 7)
    activated = pystmark.BounceActivate(api_key=K).activate(692560173)
    assert activated.bounce is not None and activated.bounce.id == 692560173
    for call in responses.calls:
        assert call.request.headers["X-Postmark-Server-Token"] == K
