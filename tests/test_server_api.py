"""Server API: server settings, message streams, webhooks, suppressions, stats, rules."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

import pystmark

BASE = "https://api.postmarkapp.com"
SERVER: pystmark.Options = {"api_key": "server-token"}


def sent(index: int = -1) -> tuple[str, str, dict[str, list[str]], Any, dict[str, str]]:
    request = responses.calls[index].request
    parts = urlsplit(str(request.url))
    body = json.loads(request.body) if request.body else None
    return str(request.method), parts.path, parse_qs(parts.query), body, dict(request.headers)


def assert_server_token(headers: dict[str, str]) -> None:
    assert headers["X-Postmark-Server-Token"] == "server-token"
    assert "X-Postmark-Account-Token" not in headers


# ---- Server ----------------------------------------------------------------

SERVER_JSON = {
    "ID": 1,
    "Name": "Production",
    "ApiTokens": ["tok"],
    "Color": "Purple",
    "SmtpApiActivated": True,
    "RawEmailEnabled": False,
    "DeliveryType": "Live",
    "ServerLink": "https://account.postmarkapp.com/servers/1/streams",
    "InboundAddress": "hash@inbound.postmarkapp.com",
    "InboundHookUrl": "https://example.com/inbound",
    "PostFirstOpenOnly": False,
    "InboundSpamThreshold": 5,
    "TrackOpens": True,
    "TrackLinks": "HtmlAndText",
    "IncludeBounceContentInHook": True,
    "EnableSmtpApiErrorHooks": False,
}


@responses.activate
def test_get_server() -> None:
    responses.get(f"{BASE}/server", json=SERVER_JSON)
    server = pystmark.get_server(**SERVER).server
    method, path, query, body, headers = sent()
    assert (method, path, query, body) == ("GET", "/server", {}, None)
    assert_server_token(headers)
    assert server.id == 1
    assert server.name == "Production"
    assert server.api_tokens == ["tok"]
    assert server.track_links == "HtmlAndText"
    assert server.inbound_spam_threshold == 5
    assert server.include_bounce_content_in_hook is True
    assert server.bounce_hook_url is None


@responses.activate
def test_edit_server_sends_only_the_settings_given() -> None:
    responses.put(f"{BASE}/server", json={**SERVER_JSON, "Name": "Staging"})
    edited = pystmark.edit_server(
        name="Staging",
        track_links=pystmark.TrackLinks.HTML_ONLY,
        post_first_open_only=True,
        inbound_spam_threshold=3,
        include_bounce_content_in_hook=False,
        **SERVER,
    )
    method, path, _, body, headers = sent()
    assert (method, path) == ("PUT", "/server")
    assert body == {
        "Name": "Staging",
        "TrackLinks": "HtmlOnly",
        "PostFirstOpenOnly": True,
        "InboundSpamThreshold": 3,
        "IncludeBounceContentInHook": False,
    }
    assert_server_token(headers)
    assert edited.server.name == "Staging"


def test_edit_server_without_changes_is_refused() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.edit_server(**SERVER)


@responses.activate
def test_server_errors_map_by_status_and_code() -> None:
    responses.put(
        f"{BASE}/server", status=422, json={"ErrorCode": 611, "Message": "Invalid threshold"}
    )
    responses.get(f"{BASE}/server", status=401, json={"ErrorCode": 10, "Message": "Bad token"})
    with pytest.raises(pystmark.UnprocessableEntityError) as caught:
        pystmark.edit_server(inbound_spam_threshold=99, **SERVER)
    assert caught.value.error_code == 611
    with pytest.raises(pystmark.UnauthorizedError):
        pystmark.get_server(**SERVER)


# ---- Message streams -------------------------------------------------------

STREAM = {
    "ID": "broadcasts",
    "ServerID": 1,
    "Name": "Newsletters",
    "Description": "Monthly news",
    "MessageStreamType": "Broadcasts",
    "CreatedAt": "2020-07-01T00:00:00-04:00",
    "UpdatedAt": None,
    "ArchivedAt": None,
    "ExpectedPurgeDate": None,
    "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "Postmark"},
}


@responses.activate
def test_get_message_streams_filters() -> None:
    responses.get(f"{BASE}/message-streams", json={"MessageStreams": [STREAM], "TotalCount": 1})
    listing = pystmark.get_message_streams(
        stream_type=pystmark.MessageStreamType.BROADCASTS, include_archived=True, **SERVER
    )
    method, path, query, _, headers = sent()
    assert (method, path) == ("GET", "/message-streams")
    assert query == {"MessageStreamType": ["Broadcasts"], "IncludeArchivedStreams": ["true"]}
    assert_server_token(headers)
    assert listing.total_count == 1
    stream = listing.message_streams[0]
    assert stream.id == "broadcasts"
    assert stream.message_stream_type == "Broadcasts"
    assert stream.unsubscribe_handling_type == "Postmark"
    assert stream.created_at == datetime(2020, 7, 1, 4, tzinfo=timezone.utc)
    assert stream.archived_at is None


@responses.activate
def test_get_message_stream_not_found_maps_1226() -> None:
    responses.get(
        f"{BASE}/message-streams/nope",
        status=422,
        json={
            "ErrorCode": 1226,
            "Message": "The message stream for the provided 'ID' was not found.",
        },
    )
    with pytest.raises(pystmark.MessageStreamNotFoundError) as caught:
        pystmark.get_message_stream("nope", **SERVER)
    assert isinstance(caught.value, pystmark.MessageStreamError)
    assert isinstance(caught.value, pystmark.NotFoundError)


@responses.activate
def test_get_message_stream() -> None:
    responses.get(f"{BASE}/message-streams/broadcasts", json=STREAM)
    stream = pystmark.get_message_stream("broadcasts", **SERVER).message_stream
    assert sent()[:2] == ("GET", "/message-streams/broadcasts")
    assert stream.name == "Newsletters"


@responses.activate
def test_create_message_stream() -> None:
    responses.post(f"{BASE}/message-streams", json=STREAM)
    created = pystmark.create_message_stream(
        "broadcasts",
        "Newsletters",
        "Broadcasts",
        description="Monthly news",
        unsubscribe_handling_type="Postmark",
        **SERVER,
    )
    method, path, _, body, _ = sent()
    assert (method, path) == ("POST", "/message-streams")
    assert body == {
        "ID": "broadcasts",
        "Name": "Newsletters",
        "MessageStreamType": "Broadcasts",
        "Description": "Monthly news",
        "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "Postmark"},
    }
    assert created.message_stream.server_id == 1


def test_create_message_stream_needs_an_id_and_name() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.create_message_stream("", "Name", "Broadcasts", **SERVER)


@responses.activate
def test_edit_message_stream_is_a_patch() -> None:
    responses.patch(f"{BASE}/message-streams/broadcasts", json={**STREAM, "Name": "News"})
    edited = pystmark.edit_message_stream("broadcasts", name="News", **SERVER)
    method, path, _, body, _ = sent()
    assert (method, path, body) == ("PATCH", "/message-streams/broadcasts", {"Name": "News"})
    assert edited.message_stream.name == "News"
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.edit_message_stream("broadcasts", **SERVER)


@responses.activate
def test_archive_and_unarchive_message_stream() -> None:
    responses.post(
        f"{BASE}/message-streams/broadcasts/archive",
        json={
            "ID": "broadcasts",
            "ServerID": 1,
            "ExpectedPurgeDate": "2020-08-30T12:30:00.00-04:00",
        },
    )
    responses.post(f"{BASE}/message-streams/broadcasts/unarchive", json=STREAM)
    archived = pystmark.archive_message_stream("broadcasts", **SERVER)
    assert sent()[:2] == ("POST", "/message-streams/broadcasts/archive")
    assert archived.id == "broadcasts"
    assert archived.server_id == 1
    assert archived.expected_purge_date == datetime(2020, 8, 30, 16, 30, tzinfo=timezone.utc)
    restored = pystmark.unarchive_message_stream("broadcasts", **SERVER)
    assert sent()[:2] == ("POST", "/message-streams/broadcasts/unarchive")
    assert restored.message_stream.id == "broadcasts"


# ---- Webhooks --------------------------------------------------------------

WEBHOOK = {
    "ID": 1234567,
    "Url": "https://www.example.com/webhook",
    "MessageStream": "outbound",
    "HttpAuth": {"Username": "user", "Password": "secret-pass"},
    "HttpHeaders": [{"Name": "X-Name", "Value": "value"}],
    "Triggers": {
        "Open": {"Enabled": True, "PostFirstOpenOnly": False},
        "Click": {"Enabled": True},
        "Delivery": {"Enabled": True},
        "Bounce": {"Enabled": False, "IncludeContent": False},
        "SpamComplaint": {"Enabled": False, "IncludeContent": False},
        "SubscriptionChange": {"Enabled": False},
    },
}


@responses.activate
def test_get_webhooks_per_stream() -> None:
    responses.get(f"{BASE}/webhooks", json={"Webhooks": [WEBHOOK]})
    webhooks = pystmark.get_webhooks(message_stream="outbound", **SERVER).webhooks
    method, path, query, _, headers = sent()
    assert (method, path, query) == ("GET", "/webhooks", {"MessageStream": ["outbound"]})
    assert_server_token(headers)
    [webhook] = webhooks
    assert webhook.id == 1234567
    assert webhook.http_auth == ("user", "secret-pass")
    assert webhook.http_headers == {"X-Name": "value"}
    triggers = webhook.triggers
    assert triggers.opens == pystmark.WebhookTrigger(True, post_first_open_only=False)
    assert triggers.clicks is not None and triggers.clicks.enabled
    assert triggers.bounces == pystmark.WebhookTrigger(False, include_content=False)
    assert triggers.subscription_changes == pystmark.WebhookTrigger(False)
    assert "secret-pass" not in repr(webhook)


@responses.activate
def test_get_webhook_and_delete_webhook() -> None:
    responses.get(f"{BASE}/webhooks/1234567", json=WEBHOOK)
    responses.delete(
        f"{BASE}/webhooks/1234567", json={"ErrorCode": 0, "Message": "Webhook 1234567 removed."}
    )
    assert pystmark.get_webhook(1234567, **SERVER).webhook.url == WEBHOOK["Url"]
    assert sent()[:2] == ("GET", "/webhooks/1234567")
    pystmark.delete_webhook(1234567, **SERVER)
    assert sent()[:2] == ("DELETE", "/webhooks/1234567")


@responses.activate
def test_create_webhook_builds_triggers_auth_and_headers() -> None:
    responses.post(f"{BASE}/webhooks", json=WEBHOOK)
    triggers = pystmark.WebhookTriggers(
        opens=pystmark.WebhookTrigger(post_first_open_only=True),
        bounces=pystmark.WebhookTrigger(include_content=True),
        spam_complaints=pystmark.WebhookTrigger(False),
    )
    created = pystmark.create_webhook(
        "https://www.example.com/webhook",
        message_stream="outbound",
        triggers=triggers,
        http_auth=("user", "secret-pass"),
        http_headers={"X-Name": "value"},
        **SERVER,
    )
    method, path, _, body, _ = sent()
    assert (method, path) == ("POST", "/webhooks")
    assert body == {
        "Url": "https://www.example.com/webhook",
        "MessageStream": "outbound",
        "HttpAuth": {"Username": "user", "Password": "secret-pass"},
        "HttpHeaders": [{"Name": "X-Name", "Value": "value"}],
        "Triggers": {
            "Open": {"Enabled": True, "PostFirstOpenOnly": True},
            "Bounce": {"Enabled": True, "IncludeContent": True},
            "SpamComplaint": {"Enabled": False},
        },
    }
    assert created.webhook.message_stream == "outbound"


@responses.activate
def test_webhook_triggers_read_back_can_be_sent_again() -> None:
    responses.get(f"{BASE}/webhooks/1", json=WEBHOOK)
    responses.put(f"{BASE}/webhooks/1", json=WEBHOOK)
    triggers = pystmark.get_webhook(1, **SERVER).webhook.triggers
    pystmark.edit_webhook(1, triggers=triggers, **SERVER)
    method, path, _, body, _ = sent()
    assert (method, path) == ("PUT", "/webhooks/1")
    assert body == {"Triggers": WEBHOOK["Triggers"]}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"url": "ftp://example.com/hook"},
        {"url": "not a url"},
        {"url": "https://example.com", "http_headers": {"X-Bad": "a\r\nb"}},
        {"url": "https://example.com", "triggers": {"Open": {"Enabled": True}}},
        {"url": "https://example.com", "http_auth": "user:password"},
    ],
)
def test_create_webhook_refuses_bad_input_before_io(kwargs: dict[str, Any]) -> None:
    url = kwargs.pop("url")
    with pytest.raises((pystmark.ConfigurationError, pystmark.MessageError)):
        pystmark.create_webhook(url, **kwargs, **SERVER)


def test_edit_webhook_without_changes_is_refused() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.edit_webhook(1, **SERVER)


@responses.activate
def test_webhook_errors_are_typed() -> None:
    responses.post(
        f"{BASE}/webhooks", status=422, json={"ErrorCode": 1226, "Message": "stream not found"}
    )
    with pytest.raises(pystmark.MessageStreamNotFoundError):
        pystmark.create_webhook("https://example.com/h", message_stream="nope", **SERVER)


# ---- Suppressions ----------------------------------------------------------


@responses.activate
def test_get_suppressions_with_filters() -> None:
    responses.get(
        f"{BASE}/message-streams/outbound/suppressions/dump",
        json={
            "Suppressions": [
                {
                    "EmailAddress": "a@example.com",
                    "SuppressionReason": "ManualSuppression",
                    "Origin": "Customer",
                    "CreatedAt": "2019-12-10T08:58:33-05:00",
                }
            ]
        },
    )
    dump = pystmark.get_suppressions(
        suppression_reason="ManualSuppression",
        origin="Customer",
        from_date=date(2019, 12, 1),
        to_date=date(2019, 12, 31),
        email_address="a@example.com",
        **SERVER,
    )
    method, path, query, _, headers = sent()
    assert (method, path) == ("GET", "/message-streams/outbound/suppressions/dump")
    assert query == {
        "SuppressionReason": ["ManualSuppression"],
        "Origin": ["Customer"],
        "fromdate": ["2019-12-01"],
        "todate": ["2019-12-31"],
        "EmailAddress": ["a@example.com"],
    }
    assert_server_token(headers)
    [item] = dump.suppressions
    assert item.email_address == "a@example.com"
    assert item.origin == "Customer"
    assert item.created_at == datetime(2019, 12, 10, 13, 58, 33, tzinfo=timezone.utc)


def _echo(status: str) -> Any:
    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        entries = json.loads(request.body)["Suppressions"]
        results = [
            {
                "EmailAddress": entry["EmailAddress"],
                "Status": "Failed" if entry["EmailAddress"].startswith("bad") else status,
                "Message": "Invalid email address"
                if entry["EmailAddress"].startswith("bad")
                else None,
            }
            for entry in entries
        ]
        return 200, {}, json.dumps({"Suppressions": results})

    return callback


@responses.activate
def test_create_suppressions_splits_into_requests_of_50() -> None:
    responses.add_callback(
        responses.POST,
        f"{BASE}/message-streams/broadcasts/suppressions",
        callback=_echo("Suppressed"),
        content_type="application/json",
    )
    addresses = [f"user{n}@example.com" for n in range(120)] + ["bad-address"]
    results = pystmark.create_suppressions(addresses, "broadcasts", **SERVER)
    sizes = [len(json.loads(call.request.body or "")["Suppressions"]) for call in responses.calls]
    assert sizes == [50, 50, 21]
    assert len(results.responses) == 3
    assert [result.email_address for result in results] == addresses
    assert len(results) == 121
    assert [result.email_address for result in results.failed] == ["bad-address"]
    assert results.failed[0].message == "Invalid email address"
    assert all(result.status == "Suppressed" for result in results.results[:120])


@responses.activate
def test_delete_suppressions_posts_to_the_delete_path() -> None:
    responses.add_callback(
        responses.POST,
        f"{BASE}/message-streams/outbound/suppressions/delete",
        callback=_echo("Deleted"),
        content_type="application/json",
    )
    results = pystmark.delete_suppressions("a@example.com", **SERVER)
    method, path, _, body, headers = sent()
    assert (method, path) == ("POST", "/message-streams/outbound/suppressions/delete")
    assert body == {"Suppressions": [{"EmailAddress": "a@example.com"}]}
    assert_server_token(headers)
    assert results.results[0].status == "Deleted"
    assert results.results[0].ok


def test_suppressions_need_addresses() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.create_suppressions([], **SERVER)
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.delete_suppressions(["ok@example.com", ""], **SERVER)


@responses.activate
def test_suppression_stream_not_found_is_typed() -> None:
    responses.post(
        f"{BASE}/message-streams/nope/suppressions",
        status=422,
        json={"ErrorCode": 1226, "Message": "not found"},
    )
    with pytest.raises(pystmark.MessageStreamNotFoundError):
        pystmark.create_suppressions(["a@example.com"], "nope", **SERVER)


# ---- Stats -----------------------------------------------------------------

STATS_PATHS = {
    "overview": "/stats/outbound",
    "sends": "/stats/outbound/sends",
    "bounces": "/stats/outbound/bounces",
    "spam": "/stats/outbound/spam",
    "tracked": "/stats/outbound/tracked",
    "opens": "/stats/outbound/opens",
    "opens_platforms": "/stats/outbound/opens/platforms",
    "opens_email_clients": "/stats/outbound/opens/emailclients",
    "opens_read_times": "/stats/outbound/opens/readtimes",
    "clicks": "/stats/outbound/clicks",
    "clicks_browser_families": "/stats/outbound/clicks/browserfamilies",
    "clicks_platforms": "/stats/outbound/clicks/platforms",
    "clicks_location": "/stats/outbound/clicks/location",
}


def test_every_statistic_is_in_the_table() -> None:
    assert {kind: endpoint.path for kind, endpoint in pystmark.STATS.items()} == STATS_PATHS
    assert all(endpoint.method == "GET" for endpoint in pystmark.STATS.values())


@responses.activate
@pytest.mark.parametrize(("kind", "path"), sorted(STATS_PATHS.items()))
def test_get_stats_path_and_filters(kind: str, path: str) -> None:
    responses.get(f"{BASE}{path}", json={"Days": [], "Total": 0})
    pystmark.get_stats(
        kind,
        tag="welcome",
        from_date=date(2024, 1, 1),
        to_date="2024-01-31",
        message_stream="outbound",
        **SERVER,
    )
    method, sent_path, query, body, headers = sent()
    assert (method, sent_path, body) == ("GET", path, None)
    assert query == {
        "tag": ["welcome"],
        "fromdate": ["2024-01-01"],
        "todate": ["2024-01-31"],
        "messagestream": ["outbound"],
    }
    assert_server_token(headers)


@responses.activate
def test_stats_results_are_snake_case() -> None:
    responses.get(
        f"{BASE}/stats/outbound/bounces",
        json={
            "Days": [{"Date": "2014-01-01", "HardBounce": 12, "SMTPApiError": 1}],
            "HardBounce": 12,
            "SMTPApiError": 1,
        },
    )
    responses.get(f"{BASE}/stats/outbound", json={"Sent": 615, "BounceRate": 10.406})
    stats = pystmark.get_stats("bounces", **SERVER).stats
    assert stats.hard_bounce == 12
    assert stats.smtp_api_error == 1
    assert stats.totals == {"hard_bounce": 12, "smtp_api_error": 1}
    [day] = stats.days
    assert day.date == date(2014, 1, 1)
    assert day.hard_bounce == 12
    assert day.counts == {"hard_bounce": 12, "smtp_api_error": 1}
    with pytest.raises(AttributeError):
        _ = stats.nothing_like_this
    overview = pystmark.get_stats(**SERVER).stats
    assert (overview.sent, overview.bounce_rate, overview.days) == (615, 10.406, [])
    assert overview.to_dict() == {"sent": 615, "bounce_rate": 10.406, "days": []}
    assert repr(overview) == "Stats(sent=615, bounce_rate=10.406, days=<0 days>)"


def test_unknown_statistic_is_refused_before_io() -> None:
    with pytest.raises(pystmark.ConfigurationError, match="overview"):
        pystmark.get_stats("sent", **SERVER)


@responses.activate
def test_stats_query_error_maps_900() -> None:
    responses.get(
        f"{BASE}/stats/outbound/sends", status=422, json={"ErrorCode": 900, "Message": "x"}
    )
    with pytest.raises(pystmark.StatsQueryError):
        pystmark.StatsGetter(**SERVER).get("sends")


# ---- Inbound rules ---------------------------------------------------------


@responses.activate
def test_get_inbound_rules() -> None:
    responses.get(
        f"{BASE}/triggers/inboundrules",
        json={"InboundRules": [{"ID": 3, "Rule": "someone@example.com"}], "TotalCount": 1},
    )
    page = pystmark.get_inbound_rules(count=50, offset=0, **SERVER)
    method, path, query, _, headers = sent()
    assert (method, path, query) == (
        "GET",
        "/triggers/inboundrules",
        {"count": ["50"], "offset": ["0"]},
    )
    assert_server_token(headers)
    assert page.total_count == 1
    assert page.inbound_rules[0].id == 3
    assert page.inbound_rules[0].rule == "someone@example.com"


@responses.activate
def test_iter_inbound_rules_pages() -> None:
    responses.get(
        f"{BASE}/triggers/inboundrules",
        json={
            "InboundRules": [{"ID": n, "Rule": f"d{n}.com"} for n in range(500)],
            "TotalCount": 502,
        },
    )
    responses.get(
        f"{BASE}/triggers/inboundrules",
        json={"InboundRules": [{"ID": 500, "Rule": "x.com"}, {"ID": 501, "Rule": "y.com"}]},
    )
    rules = list(pystmark.iter_inbound_rules(**SERVER))
    assert [rule.id for rule in rules] == list(range(502))
    assert sent(1)[2] == {"count": ["500"], "offset": ["500"]}


@responses.activate
def test_create_and_delete_inbound_rule() -> None:
    responses.post(f"{BASE}/triggers/inboundrules", json={"ID": 15, "Rule": "spam.example"})
    responses.delete(
        f"{BASE}/triggers/inboundrules/15", json={"ErrorCode": 0, "Message": "Rule 15 removed."}
    )
    created = pystmark.create_inbound_rule("spam.example", **SERVER)
    method, path, _, body, _ = sent()
    assert (method, path, body) == ("POST", "/triggers/inboundrules", {"Rule": "spam.example"})
    assert created.inbound_rule.id == 15
    pystmark.delete_inbound_rule(15, **SERVER)
    assert sent()[:2] == ("DELETE", "/triggers/inboundrules/15")
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.create_inbound_rule(" ", **SERVER)


@responses.activate
def test_inbound_rule_errors_are_typed() -> None:
    responses.post(
        f"{BASE}/triggers/inboundrules",
        status=422,
        json={"ErrorCode": 809, "Message": "Rule already exists."},
    )
    with pytest.raises(pystmark.InboundRuleError) as caught:
        pystmark.create_inbound_rule("spam.example", **SERVER)
    assert caught.value.error_code == 809


# ---- Advanced classes and settings ----------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("make_call", "method", "url"),
    [
        (lambda m: m.get(), "GET", "/server"),
        (lambda m: m.get_all(), "GET", "/message-streams"),
        (lambda m: m.get_all(), "GET", "/webhooks"),
        (lambda m: m.get_all(), "GET", "/message-streams/outbound/suppressions/dump"),
        (lambda m: m.get(), "GET", "/stats/outbound"),
        (lambda m: m.get_page(), "GET", "/triggers/inboundrules"),
    ],
    ids=["server", "streams", "webhooks", "suppressions", "stats", "rules"],
)
def test_managers_use_instance_settings(make_call: Any, method: str, url: str) -> None:
    classes = {
        "/server": pystmark.ServerManager,
        "/message-streams": pystmark.MessageStreamManager,
        "/webhooks": pystmark.WebhookManager,
        "/message-streams/outbound/suppressions/dump": pystmark.SuppressionManager,
        "/stats/outbound": pystmark.StatsGetter,
        "/triggers/inboundrules": pystmark.InboundRuleManager,
    }
    responses.add(method, f"http://127.0.0.1:9/{url.lstrip('/')}", json={})
    manager = classes[url](api_key="instance-token", base_url="http://127.0.0.1:9")
    make_call(manager)
    assert responses.calls[0].request.headers["X-Postmark-Server-Token"] == "instance-token"


def test_server_endpoints_need_a_server_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN", raising=False)
    with pytest.raises(pystmark.ConfigurationError, match="server token"):
        pystmark.get_server(account_api_key="account-only")


# ---- Edge cases --------------------------------------------------------------


@responses.activate
def test_webhook_without_auth_or_headers_and_default_stream() -> None:
    responses.post(f"{BASE}/webhooks", json={"ID": 1, "Url": "https://example.com/h"})
    webhook = pystmark.create_webhook("https://example.com/h", **SERVER).webhook
    assert sent()[3] == {"Url": "https://example.com/h"}
    assert webhook.http_auth is None
    assert webhook.http_headers == {}
    assert webhook.triggers == pystmark.WebhookTriggers()


def test_webhook_with_malformed_headers_raises_data_error() -> None:
    webhook = pystmark.Webhook({"HttpHeaders": {"X": "y"}})
    with pytest.raises(pystmark.DataError):
        _ = webhook.http_headers


def test_webhook_trigger_of_the_wrong_type_is_refused() -> None:
    triggers = pystmark.WebhookTriggers(opens=True)  # type: ignore[arg-type]
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.create_webhook("https://example.com/h", triggers=triggers, **SERVER)


def test_suppression_results_repr_and_stats_day_details() -> None:
    results = pystmark.SuppressionResults(
        [], [pystmark.SuppressionResult({"EmailAddress": "a@b.c", "Status": "Failed"})]
    )
    assert repr(results) == "<SuppressionResults 1 (1 failed)>"
    day = pystmark.StatsDay({"Date": "2024-01-02", "Opens": 3})
    assert day.to_dict() == {"date": date(2024, 1, 2), "opens": 3}
    with pytest.raises(AttributeError):
        _ = day.clicks
    assert pystmark.StatsDay({}).date is None


def test_negative_offsets_are_refused() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.get_inbound_rules(offset=-1, **SERVER)


def test_webhook_triggers_compare_and_show_their_fields():
    trigger = pystmark.WebhookTrigger(post_first_open_only=True)
    assert trigger == pystmark.WebhookTrigger(True, True, None)
    assert trigger != pystmark.WebhookTrigger()
    assert trigger != "WebhookTrigger"
    assert repr(trigger) == (
        "WebhookTrigger(enabled=True, post_first_open_only=True, include_content=None)"
    )
    triggers = pystmark.WebhookTriggers(opens=trigger)
    assert triggers == pystmark.WebhookTriggers(opens=pystmark.WebhookTrigger(True, True))
    assert repr(triggers).startswith("WebhookTriggers(opens=WebhookTrigger(enabled=True")


# ---- Mistakes the signatures do not show (issue 16) ----------------------------

HOOK = "https://example.com/hook"


@pytest.fixture
def no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request was attempted")

    monkeypatch.setattr(pystmark, "_perform", refuse)


@pytest.mark.usefixtures("no_io")
@pytest.mark.parametrize(
    "call",
    [
        lambda: pystmark.get_stats(from_date=12345, **SERVER),
        lambda: pystmark.get_stats(["overview"], **SERVER),  # type: ignore[arg-type]
        lambda: pystmark.edit_server(track_opens="yes", **SERVER),  # type: ignore[arg-type]
        lambda: pystmark.create_webhook(None, **SERVER),  # type: ignore[arg-type]
        lambda: pystmark.create_webhook("http://[::1", **SERVER),
        lambda: pystmark.create_webhook(HOOK, http_headers=[("X", "y")], **SERVER),  # type: ignore[arg-type]
        lambda: pystmark.create_webhook(HOOK, http_headers={"X Y": "z"}, **SERVER),
        lambda: pystmark.edit_webhook(1, http_headers={"X": "a\r\nb"}, **SERVER),
        lambda: pystmark.edit_webhook(1, http_headers={"X": "\ud800"}, **SERVER),
        lambda: pystmark.edit_webhook(1, http_auth=("user",), **SERVER),  # type: ignore[arg-type]
        lambda: pystmark.edit_webhook(
            1,
            triggers=pystmark.WebhookTriggers(
                opens=pystmark.WebhookTrigger(post_first_open_only="yes")  # type: ignore[arg-type]
            ),
            **SERVER,
        ),
        lambda: pystmark.create_suppressions(5, **SERVER),  # type: ignore[arg-type]
        lambda: pystmark.create_suppressions({"a@example.com": 1}, **SERVER),
        lambda: pystmark.delete_suppressions(["a@example.com", None], **SERVER),  # type: ignore[list-item]
        lambda: pystmark.create_message_stream("news", "News", None, **SERVER),  # type: ignore[arg-type]
        lambda: pystmark.create_inbound_rule("spam\r\n.example", **SERVER),
    ],
)
def test_a_mistake_of_this_area_is_an_argument_error_before_io(call: Any) -> None:
    with pytest.raises(pystmark.ArgumentError):
        call()


@pytest.mark.usefixtures("no_io")
def test_every_suppression_address_is_checked_before_the_first_request() -> None:
    addresses = [f"user{n}@example.com" for n in range(120)]
    addresses[110] = " "
    with pytest.raises(pystmark.ArgumentError, match="email address"):
        pystmark.create_suppressions(addresses, **SERVER)


def test_inbound_rule_manager_iterates_with_iter_and_keeps_iterate() -> None:
    assert pystmark.InboundRuleManager.iterate is pystmark.InboundRuleManager.iter
