"""The API contract: requests match Postmark's Swagger files (with our overlay).

The checker itself is tested first (it must catch each kind of mismatch); then an
explicit table makes one real call per Swagger-described endpoint of the server
API area and of sending, and checks each request strictly (no undeclared body
fields). tests/conftest.py applies the same check, non-strictly, to every
request of the whole suite.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

import pystmark
from tests import contract

pytestmark = pytest.mark.skipif(not contract.available(), reason="Swagger files not found")

BASE = "https://api.postmarkapp.com"
TOKENS: pystmark.Options = {"api_key": "server-token", "account_api_key": "account-token"}
SERVER_HEADER = {"X-Postmark-Server-Token": "t"}
ACCOUNT_HEADER = {"X-Postmark-Account-Token": "t"}


# ---- The checker ------------------------------------------------------------


def test_paths_the_files_lack_are_skipped() -> None:
    assert contract.check_request("GET", "/message-streams", [], None) is None
    assert contract.check_request("POST", "/email/bulk", [], {"From": "x"}) is None


def test_a_matching_request_has_no_problems() -> None:
    problems = contract.check_request(
        "GET", "/templates", ["Count", "Offset"], None, headers=SERVER_HEADER
    )
    assert problems == []


def test_literal_paths_win_over_templated_ones() -> None:
    # PUT /templates/push is the account file's push, not "edit template 'push'".
    body = {"SourceServerId": 1, "DestinationServerId": 2, "PerformChanges": False}
    assert contract.check_request("PUT", "/templates/push", [], body, headers=ACCOUNT_HEADER) == []
    problems = contract.check_request("PUT", "/templates/push", [], body, headers=SERVER_HEADER)
    assert problems and "X-Postmark-Account-Token" in problems[0]


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "expected"),
    [
        ("PATCH", "/server", [], {}, "not for PATCH"),
        ("GET", "/templates", ["Count"], None, "required query parameter 'Offset'"),
        ("GET", "/templates", ["Count", "Offset", "page"], None, "undeclared query parameter"),
        ("POST", "/templates", [], None, "a body is required"),
        ("POST", "/templates", [], {"Name": 5}, "body Name"),
        ("PUT", "/server", [], {"TrackLinks": "Always"}, "body TrackLinks"),
        ("GET", "/server", [], {"Name": "x"}, "takes no body"),
        ("POST", "/email/withTemplate", [], {"From": "a", "To": "b"}, "body (body)"),
    ],
)
def test_mismatches_are_reported(
    method: str, path: str, query: list[str], body: Any, expected: str
) -> None:
    problems = contract.check_request(method, path, query, body)
    assert problems, "the mismatch went unnoticed"
    assert expected in " ".join(problems)


def test_strict_mode_refuses_undeclared_body_fields() -> None:
    body = {"Name": "n", "Subject": "s", "HtmlBody": "h", "Layout": "typo"}
    assert contract.check_request("POST", "/templates", [], body) == []
    problems = contract.check_request("POST", "/templates", [], body, strict=True)
    assert problems and "'Layout' was unexpected" in problems[0]


def test_the_wrong_token_header_is_reported() -> None:
    problems = contract.check_request("GET", "/server", [], None, headers=ACCOUNT_HEADER)
    assert problems and "X-Postmark-Server-Token" in " ".join(problems)


def test_the_overlay_corrects_known_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    raw = contract.Contract(overlay=empty)
    corrected = contract.contract()
    by_alias = {"From": "a", "To": "b", "TemplateAlias": "welcome", "TemplateModel": {}}
    # The file requires TemplateId and TemplateAlias together; Postmark takes either.
    assert raw.check("POST", "/email/withTemplate", [], by_alias)
    assert corrected.check("POST", "/email/withTemplate", [], by_alias) == []
    # Metadata and MessageStream are missing from the file.
    send = {"From": "a", "To": "b", "TextBody": "t", "Metadata": {"k": "v"}, "MessageStream": "s"}
    assert raw.check("POST", "/email", [], send, strict=True)
    assert corrected.check("POST", "/email", [], send, strict=True) == []
    # EditTemplateRequest requires a TemplateId that lives in the path.
    assert raw.check("PUT", "/templates/7", [], {"Name": "x"})
    assert corrected.check("PUT", "/templates/7", [], {"Name": "x"}) == []
    # Message stream filters on statistics.
    assert raw.check("GET", "/stats/outbound", ["messagestream"], None)
    assert corrected.check("GET", "/stats/outbound", ["messagestream"], None) == []


def test_paths_match_regardless_of_case() -> None:
    # The file says /domains/{id}/verifydkim; Postmark documents verifyDkim.
    problems = contract.check_request(
        "PUT", "/domains/5/verifyDkim", [], None, headers=ACCOUNT_HEADER
    )
    assert problems == []


def test_query_patterns_in_the_overlay() -> None:
    query = ["count", "offset", "metadata_order"]
    assert contract.check_request("GET", "/messages/outbound", query, None) == []


def test_merge_patch() -> None:
    assert contract.merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": 4}}) == {
        "b": {"c": 4, "d": 3}
    }


def test_the_suite_fixture_records_every_request(_swagger_contract: list[dict[str, Any]]) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/server", json={})
        pystmark.get_server(**TOKENS)
    [recorded] = _swagger_contract
    assert (recorded["method"], recorded["path"]) == ("GET", "/server")


# ---- Every Swagger-described endpoint this area calls, checked strictly -----

MESSAGE = {"sender": "from@example.com", "to": "to@example.com", "subject": "Hi", "text": "Hi"}
TEMPLATE_MESSAGE = {
    "sender": "from@example.com",
    "to": "to@example.com",
    "template_alias": "welcome",
    "template_model": {"name": "Ann"},
    "metadata": {"order": "42"},
    "message_stream": "outbound",
}
SEND_OK = {"ErrorCode": 0, "Message": "OK", "MessageID": "id", "To": "to@example.com"}

# (id, call, method, path, response JSON)
TABLE: list[tuple[str, Callable[[], Any], str, str, Any]] = [
    ("send", lambda: pystmark.send(MESSAGE, **TOKENS), "POST", "/email", SEND_OK),
    (
        "send_with_metadata",
        lambda: pystmark.send(
            {**MESSAGE, "metadata": {"a": "b"}, "message_stream": "outbound", "tag": "t"}, **TOKENS
        ),
        "POST",
        "/email",
        SEND_OK,
    ),
    (
        "send_batch",
        lambda: pystmark.send_batch([MESSAGE], **TOKENS),
        "POST",
        "/email/batch",
        [SEND_OK],
    ),
    (
        "send_with_template",
        lambda: pystmark.send_with_template(TEMPLATE_MESSAGE, **TOKENS),
        "POST",
        "/email/withTemplate",
        SEND_OK,
    ),
    (
        "send_batch_with_templates",
        lambda: pystmark.send_batch_with_templates(
            [TEMPLATE_MESSAGE, {**TEMPLATE_MESSAGE, "template_alias": None, "template_id": 7}],
            **TOKENS,
        ),
        "POST",
        "/email/batchWithTemplates",
        [SEND_OK, SEND_OK],
    ),
    ("get_server", lambda: pystmark.get_server(**TOKENS), "GET", "/server", {}),
    (
        "edit_server",
        lambda: pystmark.edit_server(
            name="n",
            color="Purple",
            track_links="HtmlOnly",
            inbound_spam_threshold=5,
            include_bounce_content_in_hook=True,
            enable_smtp_api_error_hooks=False,
            **TOKENS,
        ),
        "PUT",
        "/server",
        {},
    ),
    (
        "get_templates",
        lambda: pystmark.get_templates(template_type="Layout", layout_template="b", **TOKENS),
        "GET",
        "/templates",
        {"Templates": [], "TotalCount": 0},
    ),
    (
        "iter_templates",
        lambda: list(pystmark.iter_templates(**TOKENS)),
        "GET",
        "/templates",
        {"Templates": [], "TotalCount": 0},
    ),
    (
        "get_template",
        lambda: pystmark.get_template("welcome", **TOKENS),
        "GET",
        "/templates/welcome",
        {},
    ),
    (
        "create_template",
        lambda: pystmark.create_template(
            "n", subject="s", html_body="h", text_body="t", alias="a", layout_template="b", **TOKENS
        ),
        "POST",
        "/templates",
        {},
    ),
    (
        "create_layout",
        lambda: pystmark.create_template(
            "n", html_body="{{{@content}}}", template_type="Layout", **TOKENS
        ),
        "POST",
        "/templates",
        {},
    ),
    (
        "edit_template",
        lambda: pystmark.edit_template(7, subject="s", layout_template="", **TOKENS),
        "PUT",
        "/templates/7",
        {},
    ),
    (
        "delete_template",
        lambda: pystmark.delete_template(7, **TOKENS),
        "DELETE",
        "/templates/7",
        {},
    ),
    (
        "validate_template",
        lambda: pystmark.validate_template(
            subject="s",
            html_body="h",
            text_body="t",
            test_render_model={"a": 1},
            inline_css=True,
            template_type="Standard",
            layout_template="b",
            **TOKENS,
        ),
        "POST",
        "/templates/validate",
        {},
    ),
    (
        "push_templates",
        lambda: pystmark.push_templates(1, 2, perform_changes=True, **TOKENS),
        "PUT",
        "/templates/push",
        {},
    ),
    (
        "get_inbound_rules",
        lambda: pystmark.get_inbound_rules(**TOKENS),
        "GET",
        "/triggers/inboundrules",
        {"InboundRules": []},
    ),
    (
        "iter_inbound_rules",
        lambda: list(pystmark.iter_inbound_rules(**TOKENS)),
        "GET",
        "/triggers/inboundrules",
        {"InboundRules": []},
    ),
    (
        "create_inbound_rule",
        lambda: pystmark.create_inbound_rule("example.com", **TOKENS),
        "POST",
        "/triggers/inboundrules",
        {},
    ),
    (
        "delete_inbound_rule",
        lambda: pystmark.delete_inbound_rule(3, **TOKENS),
        "DELETE",
        "/triggers/inboundrules/3",
        {},
    ),
] + [
    (
        f"stats_{kind}",
        functools.partial(
            pystmark.get_stats,
            kind,
            tag="t",
            from_date="2024-01-01",
            to_date="2024-02-01",
            message_stream="s",
            **TOKENS,
        ),
        "GET",
        endpoint.path,
        {},
    )
    for kind, endpoint in pystmark.STATS.items()
    if kind != "opens_read_times"  # not in the Swagger files
]


@responses.activate
@pytest.mark.parametrize(
    ("call", "method", "path", "answer"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE]
)
def test_request_matches_the_contract(
    call: Callable[[], Any], method: str, path: str, answer: Any
) -> None:
    responses.add(method, f"{BASE}{path}", json=answer)
    call()
    assert responses.calls, "no request was made"
    for recorded in responses.calls:
        request = recorded.request
        parts = urlsplit(str(request.url))
        assert (str(request.method), parts.path) == (method, path)
        body = json.loads(request.body) if request.body else None
        problems = contract.check_request(
            method,
            parts.path,
            list(parse_qs(parts.query)),
            body,
            headers=dict(request.headers),
            strict=True,
        )
        assert problems is not None, f"{method} {path} is not in the Swagger files"
        assert problems == []


def test_the_table_covers_every_described_endpoint_of_the_area() -> None:
    described = set()
    for item in contract.contract().paths:
        for method, operation in item.operations.items():
            area = item.template == "/server" or item.template.startswith(
                ("/email", "/templates", "/stats", "/triggers")
            )
            if area:
                described.add((method, operation.template))
    called = set()
    for _, _, method, path, _ in TABLE:
        found, _ = contract.contract().find(method, path)
        assert found is not None
        called.add((method, found.template))
    assert described - called == set()
