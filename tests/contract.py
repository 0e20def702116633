"""Check recorded requests against Postmark's Swagger files (plus our overlay).

``check_request(method, path, query_names, body, headers=...)`` returns a list of
problems (empty when the request matches), or ``None`` when neither Swagger file
describes the path, so the caller can skip it. Postmark's files are stale in
places; ``swagger_overlay.yaml`` corrects them, each change with its reason.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml

#: Where Postmark's Swagger files live (read-only copies, never edited): the
#: project's shared/ folder beside the checkout, or PYSTMARK_SWAGGER_DIR.
SWAGGER_DIR = Path(
    os.environ.get(
        "PYSTMARK_SWAGGER_DIR",
        Path(__file__).resolve().parents[2] / "shared" / "postmark-api",
    )
)
OVERLAY = Path(__file__).with_name("swagger_overlay.yaml")
SPECS = {"server": "server.swagger.yaml", "account": "account.swagger.yaml"}
TOKEN_HEADERS = ("X-Postmark-Server-Token", "X-Postmark-Account-Token")


def available() -> bool:
    """True when both Swagger files can be read."""
    return all((SWAGGER_DIR / name).is_file() for name in SPECS.values())


@dataclass
class Operation:
    """One method of one path, as the (corrected) Swagger describes it."""

    spec: str
    method: str
    template: str
    query: dict[str, bool] = field(default_factory=dict)  # name -> required
    query_patterns: list[str] = field(default_factory=list)
    header: str | None = None
    body_schema: dict[str, Any] | None = None
    body_required: bool = False


@dataclass
class _Path:
    template: str
    regex: re.Pattern[str]
    literal_segments: int
    operations: dict[str, Operation]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: ``None`` deletes a key, dicts merge, the rest replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _resolve(node: Any, definitions: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Inline every ``#/definitions/...`` reference (the files have no cycles)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                raise ValueError(f"recursive definition {name}")
            return _resolve(definitions[name], definitions, (*seen, name))
        return {key: _resolve(value, definitions, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, definitions, seen) for item in node]
    return node


def _closed(schema: Any) -> Any:
    """A copy in which objects with declared properties allow no others."""
    if isinstance(schema, dict):
        result = {key: _closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            result["additionalProperties"] = False
        return result
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


def _swagger_to_jsonschema(schema: Any) -> Any:
    """Drop Swagger-only keywords jsonschema would misread (``format: int``...)."""
    if isinstance(schema, dict):
        result = {}
        for key, value in schema.items():
            if key == "format" and value in ("int", "int64", "date-time", "email", "date"):
                continue  # not checked: Swagger's formats are loose descriptions here
            if key == "properties" and isinstance(value, dict):
                result[key] = {name: _swagger_to_jsonschema(sub) for name, sub in value.items()}
            else:
                result[key] = _swagger_to_jsonschema(value)
        return result
    if isinstance(schema, list):
        return [_swagger_to_jsonschema(item) for item in schema]
    return schema


class Contract:
    """Every operation of both Swagger files, with the overlay applied."""

    def __init__(self, swagger_dir: Path = SWAGGER_DIR, overlay: Path = OVERLAY) -> None:
        corrections = yaml.safe_load(overlay.read_text()) or {}
        self.paths: list[_Path] = []
        for spec_name, file_name in SPECS.items():
            document = yaml.safe_load((swagger_dir / file_name).read_text())
            fix = corrections.get(spec_name) or {}
            document = merge_patch(document, fix.get("patch") or {})
            self._load(spec_name, document, fix)
        # Literal paths win over templated ones (/templates/push before /templates/{id}).
        self.paths.sort(key=lambda item: -item.literal_segments)

    def _load(self, spec: str, document: Mapping[str, Any], fix: Mapping[str, Any]) -> None:
        definitions = document.get("definitions") or {}
        extra_query = fix.get("query_parameters") or {}
        optional_query = fix.get("optional_query_parameters") or {}
        for template, item in (document.get("paths") or {}).items():
            operations = {}
            for method, spec_op in item.items():
                method = method.upper()
                op = Operation(spec, method, template)
                for parameter in spec_op.get("parameters") or []:
                    where, name = parameter.get("in"), parameter.get("name")
                    if where == "query":
                        op.query[name] = bool(parameter.get("required"))
                    elif where == "header" and name in TOKEN_HEADERS:
                        op.header = name
                    elif where == "body":
                        schema = _resolve(parameter.get("schema") or {}, definitions)
                        op.body_schema = _swagger_to_jsonschema(schema)
                        op.body_required = bool(parameter.get("required"))
                key = f"{method} {template}"
                for name in extra_query.get(key) or []:
                    if any(char in name for char in "*?["):
                        op.query_patterns.append(name)
                    else:
                        op.query.setdefault(name, False)
                for name in optional_query.get(key) or []:
                    op.query[name] = False
                operations[method] = op
            segments = template.strip("/").split("/")
            pattern = "/".join(
                "[^/]+" if segment.startswith("{") else re.escape(segment) for segment in segments
            )
            self.paths.append(
                _Path(
                    template,
                    re.compile(f"^/{pattern}/?$", re.IGNORECASE),  # Postmark ignores case
                    sum(not segment.startswith("{") for segment in segments),
                    operations,
                )
            )

    def find(self, method: str, path: str) -> tuple[Operation | None, bool]:
        """The operation for ``method path``, and whether any file describes the path."""
        described = False
        for candidate in self.paths:
            if candidate.regex.match(path):
                described = True
                operation = candidate.operations.get(method.upper())
                if operation is not None:
                    return operation, True
        return None, described

    def check(
        self,
        method: str,
        path: str,
        query_names: Iterable[str] = (),
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        strict: bool = False,
    ) -> list[str] | None:
        """Problems of one request, or ``None`` when no file describes its path.

        ``strict`` also refuses body fields the schema does not declare.
        """
        operation, described = self.find(method, path)
        if not described:
            return None
        where = f"{method} {path}"
        if operation is None:
            return [f"{where}: the path is described, but not for {method}"]
        problems = []
        names = set(query_names)
        for name, required in operation.query.items():
            if required and name not in names:
                problems.append(f"{where}: required query parameter {name!r} missing")
        for name in sorted(names):
            declared = name in operation.query or any(
                fnmatch.fnmatchcase(name, pattern) for pattern in operation.query_patterns
            )
            if not declared:
                problems.append(f"{where}: undeclared query parameter {name!r}")
        if headers is not None and operation.header is not None:
            present = {name.lower() for name in headers}
            if operation.header.lower() not in present:
                problems.append(f"{where}: the {operation.header} header is missing")
            wrong = [
                name
                for name in TOKEN_HEADERS
                if name != operation.header and name.lower() in present
            ]
            if wrong:
                problems.append(
                    f"{where}: sends {wrong[0]}, the operation takes {operation.header}"
                )
        if body is None:
            if operation.body_required:
                problems.append(f"{where}: a body is required")
        elif operation.body_schema is None:
            if body not in ({}, []):
                problems.append(f"{where}: the operation takes no body")
        else:
            schema = _closed(operation.body_schema) if strict else operation.body_schema
            validator = jsonschema.Draft4Validator(schema)
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.path)):
                location = "/".join(str(part) for part in error.path) or "(body)"
                problems.append(f"{where}: body {location}: {error.message}")
        return problems


@functools.lru_cache(maxsize=1)
def contract() -> Contract:
    """The contract, loaded once per process."""
    return Contract()


def check_request(
    method: str,
    path: str,
    query_names: Iterable[str] = (),
    body: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    strict: bool = False,
) -> list[str] | None:
    """Check one request against the Swagger files; ``None`` when they lack its path."""
    return contract().check(method, path, query_names, body, headers=headers, strict=strict)


def decode_body(body: bytes | str | None) -> Any:
    """The JSON value of a request body (``None`` for no body)."""
    if body is None or body in (b"", ""):
        return None
    return json.loads(body)
