"""Templates API: listing, reading, writing, validating and pushing templates."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

import pystmark

BASE = "https://api.postmarkapp.com"
SERVER: pystmark.Options = {"api_key": "server-token"}
ACCOUNT: pystmark.Options = {"account_api_key": "account-token"}
BOTH: pystmark.Options = {"api_key": "server-token", "account_api_key": "account-token"}


def sent(index: int = -1) -> tuple[str, str, dict[str, list[str]], object, dict[str, str]]:
    call = responses.calls[index]
    request = call.request
    parts = urlsplit(str(request.url))
    body = json.loads(request.body) if request.body else None
    return str(request.method), parts.path, parse_qs(parts.query), body, dict(request.headers)


TEMPLATE = {
    "TemplateId": 7,
    "Name": "Welcome",
    "Alias": "welcome",
    "Subject": "Hi {{name}}",
    "HtmlBody": "<p>Hi {{name}}</p>",
    "TextBody": "Hi {{name}}",
    "Active": True,
    "AssociatedServerId": 42,
    "TemplateType": "Standard",
    "LayoutTemplate": "base",
}


@responses.activate
def test_get_templates_sends_filters_and_parses_the_page() -> None:
    responses.get(
        f"{BASE}/templates",
        json={"TotalCount": 3, "Templates": [{"TemplateId": 1, "Name": "A", "Alias": None}]},
    )
    page = pystmark.get_templates(
        count=10, offset=20, template_type="Layout", layout_template="base", **SERVER
    )
    method, path, query, body, headers = sent()
    assert (method, path, body) == ("GET", "/templates", None)
    assert query == {
        "Count": ["10"],
        "Offset": ["20"],
        "TemplateType": ["Layout"],
        "LayoutTemplate": ["base"],
    }
    assert headers["X-Postmark-Server-Token"] == "server-token"
    assert "X-Postmark-Account-Token" not in headers
    assert page.total_count == 3
    assert page.templates[0].template_id == 1
    assert page.templates[0].name == "A"
    assert page.templates[0].alias is None


@responses.activate
def test_template_type_enum_is_sent_by_value() -> None:
    responses.get(f"{BASE}/templates", json={"TotalCount": 0, "Templates": []})
    pystmark.get_templates(template_type=pystmark.TemplateType.STANDARD, **SERVER)
    assert sent()[2]["TemplateType"] == ["Standard"]


def test_get_templates_refuses_a_page_postmark_would_refuse() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.get_templates(count=501, **SERVER)
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.get_templates(count=100, offset=9_950, **SERVER)


@responses.activate
def test_iter_templates_reads_every_page() -> None:
    first = [{"TemplateId": n, "Name": f"T{n}"} for n in range(500)]
    second = [{"TemplateId": 500, "Name": "last"}]
    responses.get(f"{BASE}/templates", json={"TotalCount": 501, "Templates": first})
    responses.get(f"{BASE}/templates", json={"TotalCount": 501, "Templates": second})
    ids = [t.template_id for t in pystmark.iter_templates(template_type="Standard", **SERVER)]
    assert ids == list(range(501))
    assert [sent(i)[2]["Offset"] for i in range(2)] == [["0"], ["500"]]
    assert sent(1)[2]["TemplateType"] == ["Standard"]


@responses.activate
def test_iter_templates_stops_at_max_results() -> None:
    responses.get(
        f"{BASE}/templates",
        json={"TotalCount": 9, "Templates": [{"TemplateId": 1}, {"TemplateId": 2}]},
    )
    assert len(list(pystmark.iter_templates(max_results=2, **SERVER))) == 2
    assert sent()[2]["Count"] == ["2"]


@responses.activate
@pytest.mark.parametrize("key", [7, "welcome"])
def test_get_template_by_id_or_alias(key: int | str) -> None:
    responses.get(f"{BASE}/templates/{key}", json={**TEMPLATE, "TemplateID": 7})
    template = pystmark.get_template(key, **SERVER).template
    assert sent()[:2] == ("GET", f"/templates/{key}")
    assert template.template_id == 7
    assert template.subject == "Hi {{name}}"
    assert template.html_body == "<p>Hi {{name}}</p>"
    assert template.active is True
    assert template.associated_server_id == 42
    assert template.layout_template == "base"


@responses.activate
def test_get_template_not_found_maps_error_code_1101() -> None:
    responses.get(
        f"{BASE}/templates/nope",
        status=422,
        json={"ErrorCode": 1101, "Message": "The template was not found."},
    )
    with pytest.raises(pystmark.TemplateNotFoundError) as caught:
        pystmark.get_template("nope", **SERVER)
    assert isinstance(caught.value, pystmark.TemplateError)
    assert isinstance(caught.value, pystmark.NotFoundError)
    assert caught.value.error_code == 1101


@responses.activate
def test_other_template_error_codes_map_to_template_error() -> None:
    responses.post(f"{BASE}/templates", status=422, json={"ErrorCode": 1105, "Message": "limit"})
    with pytest.raises(pystmark.TemplateError) as caught:
        pystmark.create_template("N", subject="S", text_body="T", **SERVER)
    assert not isinstance(caught.value, pystmark.TemplateNotFoundError)


@responses.activate
def test_create_template_body() -> None:
    responses.post(
        f"{BASE}/templates",
        json={"TemplateId": 8, "Name": "Welcome", "Active": True, "Alias": "welcome"},
    )
    created = pystmark.create_template(
        "Welcome",
        subject="Hi {{name}}",
        html_body="<p>Hi</p>",
        alias="welcome",
        layout_template="base",
        **SERVER,
    )
    method, path, _, body, _ = sent()
    assert (method, path) == ("POST", "/templates")
    assert body == {
        "Name": "Welcome",
        "Subject": "Hi {{name}}",
        "HtmlBody": "<p>Hi</p>",
        "Alias": "welcome",
        "LayoutTemplate": "base",
    }
    assert created.template.template_id == 8


@responses.activate
def test_create_layout_template_needs_no_subject() -> None:
    responses.post(f"{BASE}/templates", json={"TemplateId": 9, "Name": "Base"})
    pystmark.create_template(
        "Base",
        html_body="<html>{{{@content}}}</html>",
        template_type=pystmark.TemplateType.LAYOUT,
        **SERVER,
    )
    assert sent()[3] == {
        "Name": "Base",
        "HtmlBody": "<html>{{{@content}}}</html>",
        "TemplateType": "Layout",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "", "subject": "S", "text_body": "T"},
        {"name": "N", "subject": "S"},
        {"name": "N", "text_body": "T"},
    ],
)
def test_create_template_refuses_incomplete_templates_before_io(kwargs: dict[str, str]) -> None:
    name = kwargs.pop("name")
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.create_template(name, **kwargs, **SERVER)


@responses.activate
def test_edit_template_sends_only_the_fields_given() -> None:
    responses.put(f"{BASE}/templates/welcome", json={"TemplateId": 7, "Name": "New"})
    edited = pystmark.edit_template("welcome", name="New", layout_template="", **SERVER)
    method, path, _, body, _ = sent()
    assert (method, path) == ("PUT", "/templates/welcome")
    assert body == {"Name": "New", "LayoutTemplate": ""}
    assert edited.template.name == "New"


def test_edit_template_without_changes_is_refused() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.edit_template(7, **SERVER)


@responses.activate
def test_delete_template() -> None:
    responses.delete(f"{BASE}/templates/7", json={"ErrorCode": 0, "Message": "Template 7 removed."})
    response = pystmark.delete_template(7, **SERVER)
    assert sent()[:2] == ("DELETE", "/templates/7")
    assert response.data["Message"] == "Template 7 removed."


@responses.activate
def test_template_alias_is_quoted_into_one_path_segment() -> None:
    responses.get(f"{BASE}/templates/a%2Fb", json=TEMPLATE)
    pystmark.get_template("a/b", **SERVER)
    assert responses.calls[0].request.url == f"{BASE}/templates/a%2Fb"


VALIDATION = {
    "AllContentIsValid": False,
    "HtmlBody": {
        "ContentIsValid": True,
        "ValidationErrors": [],
        "RenderedContent": "<p>Hi Ann</p>",
    },
    "TextBody": {
        "ContentIsValid": False,
        "ValidationErrors": [
            {
                "Message": "The syntax for this template is invalid.",
                "Line": 1,
                "CharacterPosition": 4,
            }
        ],
        "RenderedContent": "",
    },
    "Subject": None,
    "SuggestedTemplateModel": {"name": "name_Value"},
}


@responses.activate
def test_validate_template_returns_rendered_parts_and_issues() -> None:
    responses.post(f"{BASE}/templates/validate", json=VALIDATION)
    result = pystmark.validate_template(
        html_body="<p>Hi {{name}}</p>",
        text_body="Hi {{#name}",
        test_render_model={"name": "Ann"},
        inline_css=False,
        **SERVER,
    )
    method, path, _, body, _ = sent()
    assert (method, path) == ("POST", "/templates/validate")
    assert body == {
        "HtmlBody": "<p>Hi {{name}}</p>",
        "TextBody": "Hi {{#name}",
        "TestRenderModel": {"name": "Ann"},
        "InlineCssForHtmlTestRender": False,
    }
    assert result.all_content_is_valid is False
    assert result.subject is None
    assert result.html_body is not None and result.html_body.rendered_content == "<p>Hi Ann</p>"
    assert result.text_body is not None and not result.text_body.content_is_valid
    [issue] = result.issues
    assert isinstance(issue, pystmark.TemplateIssue)
    assert (issue.line, issue.character_position) == (1, 4)
    assert "invalid" in issue.message
    assert result.suggested_template_model == {"name": "name_Value"}


def test_validate_template_needs_content() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.validate_template(**SERVER)


@responses.activate
def test_push_templates_uses_the_account_token_only() -> None:
    responses.put(
        f"{BASE}/templates/push",
        json={
            "TotalCount": 1,
            "Templates": [{"Action": "Create", "TemplateId": 7, "Alias": "welcome", "Name": "W"}],
        },
    )
    pushed = pystmark.push_templates(1, 2, perform_changes=True, **BOTH)
    method, path, _, body, headers = sent()
    assert (method, path) == ("PUT", "/templates/push")
    assert body == {"SourceServerId": 1, "DestinationServerId": 2, "PerformChanges": True}
    assert headers["X-Postmark-Account-Token"] == "account-token"
    assert "X-Postmark-Server-Token" not in headers
    assert pushed.total_count == 1
    assert pushed.templates[0].action == "Create"
    assert pushed.templates[0].alias == "welcome"


@responses.activate
def test_push_templates_defaults_to_a_dry_run() -> None:
    responses.put(f"{BASE}/templates/push", json={"TotalCount": 0, "Templates": []})
    pystmark.push_templates(1, 2, **ACCOUNT)
    assert sent()[3]["PerformChanges"] is False  # type: ignore[index]


def test_push_templates_without_an_account_token_fails_before_io(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("POSTMARK_ACCOUNT_TOKEN", raising=False)
    with pytest.raises(pystmark.ConfigurationError, match="account token"):
        pystmark.push_templates(1, 2, **SERVER)


def test_push_templates_refuses_non_integer_ids() -> None:
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.push_templates("1", 2, **ACCOUNT)  # type: ignore[arg-type]


@responses.activate
def test_template_manager_instance_settings_and_call_override() -> None:
    responses.get(f"{BASE}/templates/7", json=TEMPLATE)
    manager = pystmark.TemplateManager(api_key="instance-token")
    manager.get(7)
    manager.get(7, api_key="call-token")
    assert sent(0)[4]["X-Postmark-Server-Token"] == "instance-token"
    assert sent(1)[4]["X-Postmark-Server-Token"] == "call-token"
    assert "instance-token" not in repr(manager)
