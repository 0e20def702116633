"""Shared fixtures for pystmark's tests."""


# ---- Contract: every request the suite makes matches Postmark's Swagger ----
# Wraps pystmark._perform for each test; at teardown, each recorded request to a
# path that the Swagger files describe must match them (tests/contract.py).
# Opt out with @pytest.mark.no_contract for a test that sends a bad request on purpose.

from collections.abc import Iterator as _Iterator
from typing import Any as _Any

import pytest as _pytest

import pystmark as _pystmark
from tests import contract as _contract


def pytest_configure(config: _pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_contract: do not check this test's requests against the Swagger files"
    )


@_pytest.fixture(autouse=True)
def _swagger_contract(
    request: _pytest.FixtureRequest, monkeypatch: _pytest.MonkeyPatch
) -> _Iterator[list[dict[str, _Any]]]:
    recorded: list[dict[str, _Any]] = []
    if request.node.get_closest_marker("no_contract") or not _contract.available():
        yield recorded
        return
    original = _pystmark._perform

    def recording_perform(session, endpoint, url, *, params, body, headers, settings):  # type: ignore[no-untyped-def]
        path = url[len(settings.base_url) :] if url.startswith(settings.base_url) else url
        recorded.append(
            {
                "method": endpoint.method,
                "path": path.split("?", 1)[0],
                "query": list(params or {}),
                "body": body,
                "headers": dict(headers),
            }
        )
        return original(
            session, endpoint, url, params=params, body=body, headers=headers, settings=settings
        )

    monkeypatch.setattr(_pystmark, "_perform", recording_perform)
    yield recorded
    problems: list[str] = []
    for item in recorded:
        try:
            body = _contract.decode_body(item["body"])
        except ValueError:
            continue  # not JSON: nothing a JSON schema can say
        found = _contract.check_request(
            item["method"], item["path"], item["query"], body, headers=item["headers"]
        )
        problems.extend(found or [])
    if problems:
        _pytest.fail("requests that break the Postmark API contract:\n" + "\n".join(problems))
