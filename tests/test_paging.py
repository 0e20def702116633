"""Reading every item of a listing past Postmark's 10,000 offset cap."""

from __future__ import annotations

import bisect
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import responses

import pystmark
from pystmark import Bounce, PagingError, _iter_paged

API = "https://api.postmarkapp.com"
K = "server-token"
EASTERN = ZoneInfo("America/New_York")
MICRO = 1_000_000


def postmark_timestamp(micros: int) -> str:
    """A timestamp as Postmark writes it: Eastern offset, seven fractional digits."""
    moment = datetime.fromtimestamp(micros / MICRO, tz=timezone.utc).astimezone(EASTERN)
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0{offset[:3]}:{offset[3:]}"


class FakeBounces:
    """GET /bounces as Postmark serves it, strictly.

    Refuses count > 500 and count + offset > 10,000 (HTTP 422), sorts newest
    first (ties by id, descending) and reads ``todate`` as Eastern time with
    second precision: ``"instant"`` keeps items at or before that instant,
    ``"second"`` keeps the whole second it names.
    """

    def __init__(self, items: list[tuple[int, int]], semantics: str = "instant") -> None:
        self.items = sorted(items, key=lambda item: (item[1], item[0]), reverse=True)
        self.keys = [-micros for _, micros in self.items]  # ascending, for bisect
        self.semantics = semantics
        self.queries: list[dict[str, str]] = []

    @property
    def expected(self) -> list[int]:
        return [item_id for item_id, _ in self.items]

    def window_start(self, todate: str | None) -> int:
        if todate is None:
            return 0
        naive = datetime.strptime(todate, "%Y-%m-%dT%H:%M:%S")
        bound = int(naive.replace(tzinfo=EASTERN).timestamp()) * MICRO
        if self.semantics == "instant":  # keep micros <= bound
            return bisect.bisect_left(self.keys, -bound)
        return bisect.bisect_right(self.keys, -(bound + MICRO))  # keep micros < bound + 1s

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        q = dict(parse_qsl(urlsplit(request.url).query))
        self.queries.append(q)
        count, offset = int(q["count"]), int(q["offset"])
        if not 1 <= count <= 500 or offset < 0 or count + offset > 10_000:
            error = {"ErrorCode": 1000, "Message": "Count + Offset cannot exceed 10000 messages."}
            return 422, {}, json.dumps(error)
        start = self.window_start(q.get("todate"))
        page = self.items[start + offset : start + offset + count]
        body = {
            "TotalCount": len(self.items) - start,
            "Bounces": [
                {"ID": item_id, "Type": "HardBounce", "BouncedAt": postmark_timestamp(micros)}
                for item_id, micros in page
            ],
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def install(self) -> None:
        responses.add_callback(responses.GET, f"{API}/bounces", callback=self)


def build_items(total: int, clusters: list[tuple[int, int, bool]]) -> list[tuple[int, int]]:
    """``total`` bounces, newest first; each cluster (start, size, same_instant) makes
    ``size`` consecutive bounces share one instant (or one second)."""
    rng = random.Random(20240603)
    start = int(datetime(2024, 6, 20, 12, tzinfo=timezone.utc).timestamp()) * MICRO
    times: list[int] = []
    now = start
    for _ in range(total):
        now -= rng.randint(50_000, 900_000)
        times.append(now)
    for first, size, same_instant in clusters:
        base = times[first]
        second = base - base % MICRO
        for index in range(first, first + size):
            times[index] = base if same_instant else second + (MICRO - 1) - (index - first)
        for index in range(first + size, total):  # keep the rest strictly older
            times[index] = min(times[index], second - 1 - (index - first - size))
    return [(total - index, micros) for index, micros in enumerate(times)]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POSTMARK_SERVER_TOKEN", "POSTMARK_ACCOUNT_TOKEN", "POSTMARK_API_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("semantics", ["instant", "second"])
@responses.activate
def test_every_bounce_once_in_order_past_the_offset_cap(semantics: str) -> None:
    # Hundreds of bounces share one instant across the first window's boundary
    # (newest-first positions 9,700-10,399), and hundreds share one second
    # further down, where later windows end.
    items = build_items(
        25_000,
        [(9_700, 700, True), (14_000, 400, True), (19_300, 900, False), (23_000, 300, True)],
    )
    fake = FakeBounces(items, semantics)
    fake.install()
    ids = [bounce.id for bounce in pystmark.iter_bounces(api_key=K)]
    assert len(ids) == 25_000
    assert ids == fake.expected  # every bounce exactly once, newest first
    windows = [q["todate"] for q in fake.queries if q.get("offset") == "0" and "todate" in q]
    assert len(windows) >= 2  # the date window was narrowed more than once
    # The first narrowing ended just after the shared instant at the boundary.
    shared = datetime.fromtimestamp(items[9_700][1] // MICRO + 1, tz=EASTERN)
    assert windows[0] == shared.strftime("%Y-%m-%dT%H:%M:%S")
    assert all(int(q["count"]) <= 500 for q in fake.queries)


@responses.activate
def test_filters_are_kept_and_to_date_is_narrowed() -> None:
    fake = FakeBounces(build_items(10_600, []))
    fake.install()
    ids = list(b.id for b in pystmark.iter_bounces(bounce_type="HardBounce", tag="t", api_key=K))
    assert ids == fake.expected
    assert all(q["type"] == "HardBounce" and q["tag"] == "t" for q in fake.queries)
    assert fake.queries[0]["count"] == "500" and fake.queries[0]["offset"] == "0"


@responses.activate
def test_too_many_bounces_in_one_second_is_an_error_not_a_silent_skip() -> None:
    items = build_items(10_100, [(50, 10_001, True)])
    FakeBounces(items).install()
    seen: list[int] = []
    with pytest.raises(PagingError, match="cannot page past"):
        for bounce in pystmark.iter_bounces(api_key=K):
            seen.append(bounce.id)
    assert len(seen) == len(set(seen))  # nothing twice
    assert 10_000 <= len(seen) < 10_100  # and stopped loudly, not silently


@responses.activate
def test_max_results() -> None:
    fake = FakeBounces(build_items(1_200, []))
    fake.install()
    ids = [b.id for b in pystmark.iter_bounces(max_results=510, api_key=K)]
    assert ids == fake.expected[:510]
    assert [q["count"] for q in fake.queries] == ["500", "10"]
    assert list(pystmark.iter_bounces(max_results=0, api_key=K)) == []


@responses.activate
def test_short_listing_needs_one_request_and_keeps_settings() -> None:
    fake = FakeBounces(build_items(3, []))
    fake.install()
    bounces = list(pystmark.BounceGetter(api_key="inst").iter_bounces())
    assert [b.id for b in bounces] == fake.expected
    assert len(fake.queries) == 1
    responses.get(f"{API}/bounces/3/dump", json={"Body": "d"})
    assert bounces[0].dump().dump == "d"
    assert responses.calls[-1].request.headers["X-Postmark-Server-Token"] == "inst"


def test_server_ignoring_the_to_date_is_detected() -> None:
    pages = build_items(10_500, [])
    fake = FakeBounces(pages)
    ignoring = lambda query: fake(_Request({**query, "todate": None}))[2]  # noqa: E731
    with pytest.raises(PagingError, match="ignored the 'todate' filter"):
        for _ in _iter_paged(
            lambda query: json.loads(ignoring(query)),
            "Bounces",
            lambda raw: raw["ID"],
            {},
            timestamp_key="BouncedAt",
            id_key="ID",
        ):
            pass


class _Request:
    def __init__(self, query: dict[str, Any]) -> None:
        parts = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
        self.url = f"{API}/bounces?{parts}"


def test_a_listing_not_sorted_newest_first_is_refused() -> None:
    page = {
        "Bounces": [
            {"ID": 1, "BouncedAt": "2024-01-01T00:00:00Z"},
            {"ID": 2, "BouncedAt": "2024-01-02T00:00:00Z"},
        ]
    }
    with pytest.raises(PagingError, match="sorted"):
        list(
            _iter_paged(lambda q: page, "Bounces", dict, {}, timestamp_key="BouncedAt", id_key="ID")
        )


def test_an_item_shifted_onto_the_next_page_is_not_repeated() -> None:
    """A bounce arriving between two requests pushes the last one onto the next page."""
    data = [{"ID": n, "BouncedAt": f"2024-01-01T00:00:{59 - n:02d}Z"} for n in range(1, 8)]
    requests_made: list[dict[str, Any]] = []

    def fetch(query: dict[str, Any]) -> dict[str, Any]:
        requests_made.append(query)
        listing = data if len(requests_made) == 1 else [{"ID": 0, **_newest()}, *data]
        offset, count = query["offset"], query["count"]
        return {"Bounces": listing[offset : offset + count]}

    items = list(_iter_paged(fetch, "Bounces", lambda raw: raw["ID"], {}, page_size=3,
                             timestamp_key="BouncedAt", id_key="ID"))  # fmt: skip
    assert items == [1, 2, 3, 4, 5, 6, 7]


def _newest() -> dict[str, str]:
    return {"BouncedAt": "2024-01-01T00:01:00Z"}


def _plain_pages(total: int, total_count: int | None) -> Iterator[Any]:
    def fetch(query: dict[str, Any]) -> dict[str, Any]:
        assert query["count"] + query["offset"] <= 10_000
        start = query["offset"]
        page: dict[str, Any] = {"Items": list(range(start, min(total, start + query["count"])))}
        if total_count is not None:
            page["TotalCount"] = total_count
        return page

    return _iter_paged(fetch, "Items", lambda raw: raw, {"filter": "x"})


def test_without_timestamps_the_cap_is_an_error_when_more_items_exist() -> None:
    assert list(_plain_pages(10_000, 10_000)) == list(range(10_000))
    with pytest.raises(PagingError, match="narrow the filters"):
        list(_plain_pages(10_500, 10_500))
    with pytest.raises(PagingError):
        list(_plain_pages(10_000, None))
    assert list(_plain_pages(42, None)) == list(range(42))


def test_pager_contract_checks() -> None:
    with pytest.raises(TypeError):
        list(_iter_paged(lambda q: {}, "X", dict, {}, timestamp_key="T"))
    with pytest.raises(ValueError):
        list(_iter_paged(lambda q: {}, "X", dict, {}, page_size=501))
    with pytest.raises(ValueError):
        list(_iter_paged(lambda q: {}, "X", dict, {}, max_results=-1))
    with pytest.raises(pystmark.DataError):
        list(_iter_paged(lambda q: {"X": "nope"}, "X", dict, {}))
    with pytest.raises(pystmark.DataError, match="no 'ID'"):
        list(_iter_paged(lambda q: {"X": [{"T": "2024-01-01"}]}, "X", dict, {},
                         timestamp_key="T", id_key="ID"))  # fmt: skip
    with pytest.raises(pystmark.DataError, match="no timestamp"):
        list(_iter_paged(lambda q: {"X": [{"ID": 1}]}, "X", dict, {},
                         timestamp_key="T", id_key="ID"))  # fmt: skip


def test_naive_timestamps_are_taken_as_postmark_time() -> None:
    _, instant = pystmark._paging_key({"ID": 1, "T": "2024-01-15T10:00:00"}, "ID", "T")
    assert instant == datetime(2024, 1, 15, 15, 0, tzinfo=timezone.utc)
    assert instant.utcoffset() == timedelta(hours=-5)


def test_a_listing_with_offsets_is_read_without_a_time_zone_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import zoneinfo

    def missing(key: str) -> None:
        raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(pystmark, "_zone_cache", [])
    monkeypatch.setattr(zoneinfo, "ZoneInfo", missing)
    items = [{"ID": 2, "T": "2024-01-15T10:00:01Z"}, {"ID": 1, "T": "2024-01-15T04:59:59-05:00"}]
    page = {"Items": items, "TotalCount": 2}
    read = _iter_paged(lambda q: page, "Items", dict, {}, timestamp_key="T", id_key="ID")
    assert [item["ID"] for item in read] == [2, 1]
    # Only a timestamp without an offset needs Postmark's zone: then the error says how to fix it.
    naive = {"Items": [{"ID": 1, "T": "2024-01-15T10:00:00"}], "TotalCount": 1}
    with pytest.raises(pystmark.ConfigurationError, match="tzdata"):
        list(_iter_paged(lambda q: naive, "Items", dict, {}, timestamp_key="T", id_key="ID"))


@pytest.mark.parametrize("semantics", ["instant", "second"])
@responses.activate
def test_a_window_boundary_in_the_repeated_hour_loses_nothing(semantics: str) -> None:
    """When daylight saving time ends, 01:00-02:00 Eastern happens twice.

    The first window ends at 01:30 EST (the second 01:30); the fake reads a
    local ``todate`` in that hour as the earlier (EDT) 01:30, as a server may.
    """
    boundary = int(datetime(2024, 11, 3, 6, 30, tzinfo=timezone.utc).timestamp()) * MICRO
    items = [(10_500 - index, boundary + (9_999 - index) * MICRO + 500_000)
             for index in range(10_500)]  # fmt: skip
    fake = FakeBounces(items, semantics)
    fake.install()
    assert [b.id for b in pystmark.iter_bounces(api_key=K)] == fake.expected
    todates = [q["todate"] for q in fake.queries if "todate" in q]
    assert todates[0] == "2024-11-03T02:30:01"  # past the repeated hour


def test_upper_bound_outside_the_repeated_hour_is_the_local_time() -> None:
    summer = datetime(2024, 7, 1, 12, 0, 1, tzinfo=timezone.utc)
    assert pystmark._upper_bound(summer) == datetime(2024, 7, 1, 8, 0, 1)
    first_0130 = datetime(2024, 11, 3, 5, 30, tzinfo=timezone.utc)  # 01:30 EDT
    assert pystmark._upper_bound(first_0130) == datetime(2024, 11, 3, 1, 30)


@responses.activate
def test_a_window_of_nothing_but_items_already_read_is_an_error() -> None:
    # 10,001 bounces at one instant, the newest of all: the narrowed window
    # serves only bounces already yielded, and must fail loudly too.
    items = build_items(10_100, [(0, 10_001, True)])
    FakeBounces(items).install()
    seen: list[int] = []
    with pytest.raises(PagingError, match="cannot page past"):
        for bounce in pystmark.iter_bounces(api_key=K):
            seen.append(bounce.id)
    assert len(seen) == len(set(seen)) == 10_000


@pytest.mark.parametrize("arriving", [1, 2])
def test_bounces_arriving_while_paging_are_not_repeated_or_refused(arriving: int) -> None:
    """New bounces push the last items of a page onto the next one (here a minute apart)."""
    data = [{"ID": n, "BouncedAt": f"2024-01-01T00:{59 - n:02d}:00Z"} for n in range(1, 11)]
    calls = 0

    def fetch(query: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        newer = [
            {"ID": -n, "BouncedAt": f"2024-01-01T01:00:{n:02d}Z"}
            for n in range(arriving * (calls - 1))
        ]
        listing = [*reversed(newer), *data]
        return {"Bounces": listing[query["offset"] : query["offset"] + query["count"]]}

    items = list(_iter_paged(fetch, "Bounces", lambda raw: raw["ID"], {}, page_size=3,
                             timestamp_key="BouncedAt", id_key="ID"))  # fmt: skip
    assert items == list(range(1, 11))


# A page whose timestamps share one shape and offset is checked by comparing
# their texts (only its first and last are parsed); any other page is read
# item by item. Both must read every listing the same way.


def _read(fetch: Any, page_size: int, *, item_by_item: bool) -> tuple[list[Any], str | None]:
    """The ids a listing yields, and the error (class and message) that ended it."""
    saved = pystmark._sorted_page_stamps
    if item_by_item:
        pystmark._sorted_page_stamps = lambda stamps: False
    ids: list[Any] = []
    try:
        for item in _iter_paged(fetch, "Bounces", lambda raw: raw["ID"], {}, page_size=page_size,
                                timestamp_key="BouncedAt", id_key="ID"):  # fmt: skip
            ids.append(item)
    except pystmark.PystmarkError as error:
        return ids, f"{type(error).__name__}: {error}"
    finally:
        pystmark._sorted_page_stamps = saved
    return ids, None


def _serving(listing: list[Any]) -> Any:
    def fetch(query: dict[str, Any]) -> dict[str, Any]:
        offset, count = query["offset"], query["count"]
        return {"Bounces": listing[offset : offset + count], "TotalCount": len(listing)}

    return fetch


def _same_either_way(listing: list[Any], page_size: int) -> tuple[list[Any], str | None]:
    fast = _read(_serving(listing), page_size, item_by_item=False)
    assert fast == _read(_serving(listing), page_size, item_by_item=True)
    return fast


def _stamp(minute: int, second: int = 0, offset: str = "Z", digits: int = 7) -> str:
    fraction = "." + "0" * digits if digits else ""
    return f"2024-01-01T10:{minute:02d}:{second:02d}{fraction}{offset}"


def test_sorted_page_stamps_takes_only_texts_that_sort_as_their_instants() -> None:
    sortable = pystmark._sorted_page_stamps
    assert sortable([_stamp(5), _stamp(5), _stamp(4)])
    assert sortable([_stamp(5, offset="-05:00"), _stamp(4, offset="-05:00")])
    assert not sortable([_stamp(4), _stamp(5)])  # oldest first
    assert not sortable([_stamp(5, offset="-04:00"), _stamp(4, offset="-05:00")])  # two offsets
    assert not sortable([_stamp(5), _stamp(4, offset="+00:00")])  # two shapes
    assert not sortable([_stamp(5, digits=7), _stamp(4, digits=6)])  # fraction widths differ
    assert not sortable([_stamp(5, offset=""), _stamp(4, offset="")])  # no offset
    assert not sortable([_stamp(5), None, _stamp(4)])
    assert not sortable([_stamp(5), 1704103200, _stamp(4)])
    assert not sortable([_stamp(5), _stamp(4).replace("0", "x", 1)])  # a letter for a digit
    assert not sortable([_stamp(5), _stamp(4).replace("0", "\u0660", 1)])  # a non-ASCII digit
    # Texts of other widths that add up to the same length are not one shape.
    first, second = _stamp(5), _stamp(4)
    assert not sortable([first, second[:-2], "00" + second])
    # Nor is a value holding two texts with the separator the check joins them by.
    assert not sortable([first, f"{second}|{second}"])
    assert not sortable([first, second.replace("T", "|")])
    # Out of order anywhere: at the end, or one older text between newer ones.
    assert not sortable([_stamp(5), _stamp(4), _stamp(4, 1)])
    assert not sortable([_stamp(5), _stamp(3), _stamp(4), _stamp(2)])
    assert sortable([_stamp(5, offset="+01:00")] * 3)
    assert not sortable(["2024-01-01", "2023-12-31"])  # dates sort, but are not instants


@pytest.mark.parametrize(
    "listing",
    [
        # Newest first, one shape: read by texts.
        [{"ID": n, "BouncedAt": _stamp(59 - n)} for n in range(12)],
        # Out of order in the middle of a page, and across pages.
        [{"ID": n, "BouncedAt": _stamp(59 - n if n != 4 else 59)} for n in range(12)],
        [{"ID": n, "BouncedAt": _stamp(59 - n if n != 5 else 58)} for n in range(12)],
        # Without offsets (Postmark's zone), mixed with offsets, mixed offsets.
        [{"ID": n, "BouncedAt": _stamp(59 - n, offset="")} for n in range(12)],
        [{"ID": n, "BouncedAt": _stamp(59 - n, offset="" if n % 2 else "Z")} for n in range(12)],
        [
            {"ID": n, "BouncedAt": _stamp(59 - n, offset="-05:00" if n % 3 else "-04:00")}
            for n in range(12)
        ],
        # Texts that sort newest first but are not in order as instants.
        [
            {"ID": 1, "BouncedAt": _stamp(30, offset="-04:00")},
            {"ID": 2, "BouncedAt": _stamp(20, offset="-05:00")},
            {"ID": 3, "BouncedAt": _stamp(10, offset="-04:00")},
        ],
        # Duplicate ids: on one page, and on the next page (items pushed along).
        [{"ID": n // 2, "BouncedAt": _stamp(59 - n // 2)} for n in range(12)],
        [{"ID": n if n != 5 else 2, "BouncedAt": _stamp(59 - n)} for n in range(12)],
        # Ids of the page before leading the next page (pages of 3): as pushed
        # along by new items; with a changed timestamp; two; a whole page of them;
        # one leading the page and one again after it; one leading, one after.
        [{"ID": n - (n > 2), "BouncedAt": _stamp(59 - n + (n > 2))} for n in range(12)],
        [
            {"ID": n - (n > 2), "BouncedAt": _stamp(59 - n + (n > 2) if n != 3 else 59)}
            for n in range(12)
        ],
        [{"ID": n - 2 * (n > 2), "BouncedAt": _stamp(59 - n + 2 * (n > 2))} for n in range(12)],
        [{"ID": n - 3 * (n > 2), "BouncedAt": _stamp(59 - n + 3 * (n > 2))} for n in range(12)],
        [{"ID": [0, 1, 2, 2, 2, 3, 4, 5, 6, 7][n], "BouncedAt": _stamp(59 - n)} for n in range(10)],
        [{"ID": [0, 1, 2, 2, 3, 1, 4, 5, 6, 7][n], "BouncedAt": _stamp(59 - n)} for n in range(10)],
        # An id of the page before, last on the next page (not where new items push it).
        [{"ID": n if n != 7 else 3, "BouncedAt": _stamp(59 - n)} for n in range(12)],
        # Equal timestamps, and one second holding the page boundaries.
        [{"ID": n, "BouncedAt": _stamp(30)} for n in range(12)],
        [{"ID": n, "BouncedAt": _stamp(30, 59 - n // 4)} for n in range(12)],
        # Malformed answers: no timestamp, one that is not text or not a timestamp, no id.
        [{"ID": n, "BouncedAt": _stamp(59 - n) if n != 7 else None} for n in range(12)],
        [{"ID": n, "BouncedAt": _stamp(59 - n) if n != 7 else 17} for n in range(12)],
        [{"ID": n, "BouncedAt": _stamp(59 - n) if n != 7 else "yesterday"} for n in range(12)],
        [
            {"ID": n, "BouncedAt": _stamp(59 - n)} if n != 7 else {"BouncedAt": _stamp(1)}
            for n in range(12)
        ],
        [*({"ID": n, "BouncedAt": _stamp(59 - n)} for n in range(6)), "not an object"],
    ],
)
@pytest.mark.parametrize("page_size", [1, 3, 5, 500])
def test_a_page_read_by_its_texts_reads_as_item_by_item(listing: list[Any], page_size: int) -> None:
    _same_either_way(listing, page_size)


def test_the_text_check_still_refuses_what_item_by_item_refuses() -> None:
    ids, error = _same_either_way(
        [{"ID": n, "BouncedAt": _stamp(59 - n if n != 4 else 59)} for n in range(12)], 3
    )
    assert ids == [0, 1, 2] and error == "PagingError: the listing is not sorted newest first"
    ids, error = _same_either_way(
        [{"ID": n, "BouncedAt": _stamp(59 - n) if n != 7 else None} for n in range(12)], 5
    )
    assert ids == [0, 1, 2, 3, 4] and error == "DataError: an item of the listing has no timestamp"


def test_an_impossible_date_of_the_right_shape_raises_when_the_bounce_reads_it() -> None:
    """Text order checks the order; each record's own timestamp is converted when read."""
    listing = [{"ID": n, "BouncedAt": _stamp(59 - n)} for n in range(6)]
    listing[2]["BouncedAt"] = _stamp(57, 60)  # 10:57:60: sorts between 10:58 and 10:56
    fast = list(_iter_paged(_serving(listing), "Bounces", pystmark.Bounce, {},
                            timestamp_key="BouncedAt", id_key="ID"))  # fmt: skip
    assert [bounce.id for bounce in fast] == list(range(6))
    with pytest.raises(pystmark.DataError, match="bounced_at"):
        fast[2].bounced_at  # noqa: B018


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The timestamps the pager parses, in order."""
    seen: list[Any] = []
    original = pystmark._paging_instant
    monkeypatch.setattr(pystmark, "_paging_instant", lambda v: seen.append(v) or original(v))
    return seen


def test_a_page_of_one_shape_parses_only_its_first_and_last_timestamps(parsed: list[Any]) -> None:
    listing = [{"ID": n, "BouncedAt": _stamp(59 - n, offset="-05:00")} for n in range(12)]
    assert _read(_serving(listing), 500, item_by_item=False) == (list(range(12)), None)
    assert parsed == [listing[0]["BouncedAt"], listing[-1]["BouncedAt"]]
    # Pages of 5: a page later, the timestamps of the last two seconds are
    # parsed too (here the last one, as the items are a minute apart).
    parsed.clear()
    assert _read(_serving(listing), 5, item_by_item=False) == (list(range(12)), None)
    assert len(parsed) == 2 * 3 + 2


def test_an_id_that_is_not_hashable_ends_the_listing_with_a_data_error_either_way() -> None:
    listing = [{"ID": n if n != 4 else [n], "BouncedAt": _stamp(59 - n)} for n in range(6)]
    ids, error = _same_either_way(listing, 3)
    assert ids == [0, 1, 2]
    assert error == "DataError: an item of the listing has an 'ID' of type list"


def test_a_page_led_by_items_read_before_is_read_by_its_texts(parsed: list[Any]) -> None:
    """As the first page of a narrowed window is: it starts with the last second read."""
    # Pages of 3; the first item of the second page is the last of the first.
    listing = [{"ID": n - (n > 2), "BouncedAt": _stamp(59 - n + (n > 2))} for n in range(6)]
    assert _read(_serving(listing), 3, item_by_item=False) == ([0, 1, 2, 3, 4], None)
    stamps = [item["BouncedAt"] for item in listing]
    # Each page's first fresh item and its last; a page later, the last again.
    assert parsed == [stamps[0], stamps[2], stamps[4], stamps[5], stamps[2]]


def test_bounces_of_a_listing_are_made_as_the_class_makes_them() -> None:
    getter, options = pystmark.BounceGetter(api_key="inst"), {"timeout": 5}
    raw = {"ID": 7, "Type": "HardBounce", "BouncedAt": _stamp(1)}
    [made] = Bounce._page_maker(getter, options)([raw])
    assert type(made) is Bounce and made == Bounce(raw, getter, options)
    assert made._getter is getter and made._options is options
    assert made.id == 7 and made.type is pystmark.BounceType.HARD_BOUNCE
    from types import MappingProxyType

    [proxied] = Bounce._page_maker(getter, options)([MappingProxyType(raw)])
    assert proxied.id == 7
    with pytest.raises(pystmark.DataError, match="Bounce: expected an object, not str"):
        list(Bounce._page_maker(getter, options)([raw, "not an object"]))


def test_a_page_longer_than_asked_for_stops_at_max_results() -> None:
    listing = [{"ID": n, "BouncedAt": _stamp(59 - n)} for n in range(12)]
    page = {"Bounces": listing, "TotalCount": 12}  # whatever the count asked for
    for narrow in ({}, {"timestamp_key": "BouncedAt", "id_key": "ID"}):
        read = _iter_paged(lambda q: page, "Bounces", lambda raw: raw["ID"], {}, max_results=5,
                           **narrow)  # fmt: skip
        assert list(read) == [0, 1, 2, 3, 4]
