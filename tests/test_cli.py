"""The command line: ``python -m pystmark send ...`` against a local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pystmark
from tests.conftest import LocalServer

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["send", "--from", "me@example.com", "--to", "a@example.com,b@example.com"]


def test_send_uses_the_test_token_when_none_is_configured(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTMARK_API_URL", local_server.url)
    code = pystmark.main([*ARGS, "--subject", "Hello", "--text", "Body", "--tag", "cli"])
    assert code == 0
    (seen,) = local_server.requests
    assert seen.method == "POST" and seen.path == "/email"
    assert seen.headers["X-Postmark-Server-Token"] == "POSTMARK_API_TEST"
    assert json.loads(seen.body) == {
        "From": "me@example.com",
        "To": "a@example.com,b@example.com",
        "Subject": "Hello",
        "Tag": "cli",
        "TextBody": "Body",
    }
    out = capsys.readouterr().out
    assert "POSTMARK_API_TEST" in out
    assert "Sent: OK (MessageID b7bc2f4a-e38e-4336-af7d-e6c392c2f000, to you@example.com)" in out


def test_other_configured_settings_still_use_the_test_token(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pystmark.configure(timeout=5, base_url=local_server.url)
    assert pystmark.main(ARGS) == 0
    assert local_server.requests[0].headers["X-Postmark-Server-Token"] == "POSTMARK_API_TEST"


def test_send_uses_the_configured_token(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTMARK_API_URL", local_server.url)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "env-token")
    assert pystmark.main([*ARGS, "--html", "<b>x</b>", "--stream", "broadcast"]) == 0
    pystmark.configure(api_key="configured-token")
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN")
    assert pystmark.main(ARGS) == 0
    assert pystmark.main([*ARGS, "--api-key", "flag-token"]) == 0
    tokens = [seen.headers["X-Postmark-Server-Token"] for seen in local_server.requests]
    assert tokens == ["env-token", "configured-token", "flag-token"]
    first, second, _ = (json.loads(seen.body) for seen in local_server.requests)
    assert first["HtmlBody"] == "<b>x</b>" and "TextBody" not in first
    assert first["MessageStream"] == "broadcast"
    # Without a body the message gets a default text.
    assert second["TextBody"] == "Sent with pystmark."
    assert "test token" not in capsys.readouterr().out


def test_send_failure_prints_the_error_and_returns_1(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTMARK_API_URL", local_server.url)
    local_server.answer = lambda seen: (
        422,
        {},
        json.dumps({"ErrorCode": 300, "Message": "Invalid 'From' address."}).encode(),
    )
    assert pystmark.main(ARGS) == 1
    assert "Not sent: [ErrorCode 300] Invalid 'From' address. (HTTP 422)" in capsys.readouterr().out


def test_bad_message_is_reported_without_a_request(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTMARK_API_URL", local_server.url)
    assert pystmark.main(["send", "--from", "me@example.com", "--to", "x\r\ny"]) == 1
    assert "Not sent: to:" in capsys.readouterr().out
    assert local_server.requests == []


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        pystmark.main(["send", "--to", "a@example.com"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit):
        pystmark.main([])


def test_python_m_pystmark_send(local_server: LocalServer) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("POSTMARK_") and key != "PYTHONPATH"
    }
    env["POSTMARK_API_URL"] = local_server.url
    env["PYTHONPATH"] = str(ROOT)
    completed = subprocess.run(
        [sys.executable, "-m", "pystmark", "send", "--from", "me@example.com",
         "--to", "you@example.com", "--subject", "Hello", "--text", "Hello from pystmark"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "Sent: OK (MessageID" in completed.stdout
    (seen,) = local_server.requests
    assert seen.headers["X-Postmark-Server-Token"] == "POSTMARK_API_TEST"
    assert json.loads(seen.body)["Subject"] == "Hello"


# ---- packaging: the README's commands and the project metadata -----------------------


def _readme_command(marker: str) -> str:
    lines = (ROOT / "README.rst").read_text().splitlines()
    start = lines.index(f".. {marker}")
    return next(line.strip() for line in lines[start:] if line.startswith("    ") and line.strip())


def test_readme_send_command_works_as_written(local_server: LocalServer) -> None:
    command = _readme_command("send-command")
    assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -q -e . && ")
    # The last step, run with this interpreter against the local server.
    send_part = command.rsplit(" && ", 1)[1]
    assert send_part.startswith(".venv/bin/python -m pystmark send ")
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTMARK_")}
    env["POSTMARK_API_URL"] = local_server.url
    env["PYTHONPATH"] = str(ROOT)
    completed = subprocess.run(
        send_part.replace(".venv/bin/python", sys.executable, 1),
        shell=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (seen,) = local_server.requests
    assert seen.headers["X-Postmark-Server-Token"] == "POSTMARK_API_TEST"


def test_readme_test_command_and_ci_script() -> None:
    command = _readme_command("test-command")
    assert command == (
        'python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" '
        "&& .venv/bin/python -m pytest"
    )
    ci = (ROOT / ".ci" / "run").read_text()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    assert "test-command" in ci
    for step in ("ruff check", "mypy --strict pystmark.py", "sphinx-build -q -W"):
        assert step in ci


def test_project_metadata() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["requires-python"] == ">=3.10"
    assert [dep.split(">")[0] for dep in project["project"]["dependencies"]] == ["requests"]
    assert "test" in project["project"]["optional-dependencies"]
    assert project["tool"]["setuptools"]["py-modules"] == ["pystmark", "pystmark_testing"]
    assert project["project"]["entry-points"]["pytest11"] == {"pystmark": "pystmark_testing"}
    assert "--cov-fail-under=95" in project["tool"]["pytest"]["ini_options"]["addopts"]
    for name in ("setup.py", "README.rst", "LICENSE", "CHANGELOG.rst", "docs/index.rst"):
        assert (ROOT / name).is_file(), name
    assert "MIT" in (ROOT / "LICENSE").read_text()
