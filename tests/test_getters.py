"""The bounce and message getters: one verb per job, earlier names kept, settings kept.

Every call of these classes goes through the declared endpoints; the requests
they make are pinned in test_bounces.py, test_messages_api.py and
test_paging.py. This file checks what the move onto declarations promises on
top: the verbs (``get_page``, ``iter``, ``get``) and their earlier names, the
settings a bounce keeps for ``dump()`` and ``activate()``, and mistakes in the
pystmark 0.5 bounce classes raising ``BounceError`` before any request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

import pystmark

API = "https://api.postmarkapp.com"
K = {"api_key": "server-token"}
BOUNCE = {"ID": 3, "BouncedAt": "2024-01-15T16:09:19-05:00", "Type": "HardBounce"}


def query(call: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.request.url).query))


@pytest.mark.parametrize(
    ("cls", "earlier", "verb"),
    [
        (pystmark.BounceGetter, "get_bounces", "get_page"),
        (pystmark.BounceGetter, "iter_bounces", "iter"),
        (pystmark.OutboundMessageGetter, "search", "get_page"),
        (pystmark.OutboundMessageGetter, "get_details", "get"),
        (pystmark.OpensGetter, "search", "get_page"),
        (pystmark.ClicksGetter, "search", "get_page"),
        (pystmark.InboundMessageGetter, "search", "get_page"),
        (pystmark.InboundMessageGetter, "get_details", "get"),
    ],
)
def test_the_earlier_name_is_the_same_method(cls: type, earlier: str, verb: str) -> None:
    assert getattr(cls, earlier) is getattr(cls, verb)


@responses.activate
def test_pages_by_either_name_send_the_same_request() -> None:
    responses.get(f"{API}/messages/outbound", json={"TotalCount": 0, "Messages": []})
    getter = pystmark.OutboundMessageGetter(**K)
    getter.get_page(count=5, tag="welcome")
    getter.search(count=5, tag="welcome")
    first, second = (call.request.url for call in responses.calls)
    assert first == second
    assert query(responses.calls[0]) == {"tag": "welcome", "count": "5", "offset": "0"}


@responses.activate
def test_iterated_bounces_keep_the_call_settings_for_dump_and_activate() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 1, "Bounces": [BOUNCE]})
    responses.get(f"{API}/bounces/3/dump", json={"Body": "d"})
    responses.put(f"{API}/bounces/3/activate", json={"Message": "OK", "Bounce": BOUNCE})
    getter = pystmark.BounceGetter(api_key="instance-token")
    [bounce] = getter.iter(api_key="call-token")
    assert bounce.dump().dump == "d"
    activated = bounce.activate().bounce
    activated.dump()  # the activation's bounce keeps the settings too
    tokens = [call.request.headers["X-Postmark-Server-Token"] for call in responses.calls]
    assert tokens == ["call-token"] * 4


@responses.activate
def test_a_page_of_bounces_keeps_the_getter_settings() -> None:
    responses.get(f"{API}/bounces", json={"TotalCount": 1, "Bounces": [BOUNCE]})
    responses.get(f"{API}/bounces/3", json=BOUNCE)
    responses.get(f"{API}/bounces/3/dump", json={"Body": "d"})
    getter = pystmark.BounceGetter(api_key="instance-token")
    getter.get_page().bounces[0].dump()
    getter.get(3).bounce.dump(api_key="other-token")
    tokens = [call.request.headers["X-Postmark-Server-Token"] for call in responses.calls]
    assert tokens == ["instance-token", "instance-token", "instance-token", "other-token"]


@responses.activate
def test_one_message_listing_sends_its_page_and_checks_the_id_at_call_time() -> None:
    responses.get(f"{API}/messages/outbound/clicks/m-1", json={"TotalCount": 0, "Clicks": []})
    assert pystmark.ClicksGetter(**K).get_for_message("m-1", count=7).clicks == []
    assert query(responses.calls[0]) == {"count": "7", "offset": "0"}
    for bad in ("", "..", None):
        with pytest.raises(pystmark.ArgumentError):
            pystmark.OpensGetter(**K).iter_for_message(bad)  # type: ignore[arg-type]
    assert len(responses.calls) == 1


@responses.activate
def test_bulk_status_is_read_by_its_id() -> None:
    responses.get(f"{API}/email/bulk/b%201", json={"Id": "b 1", "Status": "Completed"})
    status = pystmark.BulkSender(**K).get_status("b 1").bulk
    assert (status.id, status.status) == ("b 1", "Completed")


@pytest.fixture
def no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request was attempted")

    monkeypatch.setattr(pystmark, "_perform", refuse)
    yield


@pytest.mark.parametrize(
    ("call", "arguments"),
    [
        (lambda: pystmark.Bounces(**K).get, {"count": 0}),
        (lambda: pystmark.Bounces(**K).get, {"offset": 10_000}),
        (lambda: pystmark.Bounces(**K).get, {"inactive": "yes"}),
        (lambda: pystmark.Bounces(**K).get, {"bounce_type": 5}),
        (lambda: pystmark.Bounces(**K).get, {"email_filter": 5}),
        (lambda: pystmark.BounceDump(**K).get, {"bounce_id": "12a"}),
        (lambda: pystmark.BounceDump(**K).get, {"bounce_id": 0}),
        (lambda: pystmark.BounceActivate(**K).activate, {"bounce_id": ""}),
        (lambda: pystmark.BounceActivate(**K).activate, {"bounce_id": None}),
    ],
)
@pytest.mark.usefixtures("no_io")
def test_a_mistake_in_the_05_bounce_classes_is_a_bounce_error(
    call: Any, arguments: dict[str, Any]
) -> None:
    with pytest.raises(pystmark.BounceError):
        call()(**arguments)


@pytest.mark.parametrize(
    "metadata", [{"k": "\ud800"}, {"\udc00": "v"}, {"k": None}, {"": "v"}, ["k"]]
)
@pytest.mark.usefixtures("no_io")
def test_a_metadata_filter_that_cannot_be_sent_is_an_argument_error(metadata: Any) -> None:
    with pytest.raises(pystmark.ArgumentError):
        pystmark.get_outbound_messages(metadata=metadata, **K)
    with pytest.raises(pystmark.ArgumentError):
        pystmark.iter_outbound_messages(metadata=metadata, **K)
