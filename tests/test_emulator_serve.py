"""``python -m pystmark_testing serve``: the local Postmark in the foreground."""

from __future__ import annotations

import _thread
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

import pytest

import pystmark
import pystmark_testing
from pystmark_testing import LocalPostmark
from tests.conftest import sigint_at_default


@pytest.mark.usefixtures("ctrl_c")
def test_serve_main_prints_url_and_tokens_and_stops_on_ctrl_c(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    results: list[Any] = []
    original_start = LocalPostmark.start

    def start_then_use(self: LocalPostmark) -> LocalPostmark:
        started = original_start(self)

        def use() -> None:
            try:
                results.append(
                    pystmark.send(
                        {"sender": "a@example.com", "to": "b@example.com", "text": "x"},
                        base_url=started.url,
                        api_key="tok",
                    ).message
                )
            finally:
                _thread.interrupt_main()  # what Ctrl-C does

        threading.Thread(target=use).start()
        return started

    monkeypatch.setattr(LocalPostmark, "start", start_then_use)
    code = pystmark_testing.serve_main(["--port", "0", "--server-token", "tok"])
    out = capsys.readouterr().out
    assert code == 0
    assert results == ["OK"]
    assert "Local Postmark running at http://127.0.0.1:" in out
    assert "server token:  tok" in out
    assert "account token: local-account-token" in out
    assert out.rstrip().endswith("Local Postmark stopped.")


def test_serve_main_reports_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert pystmark_testing.serve_main(["--port", str(port)]) == 1
    assert "Cannot start the local Postmark" in capsys.readouterr().err


def test_module_needs_the_serve_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert pystmark_testing._main([]) == 2
    assert "usage: python -m pystmark_testing serve" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_python_m_pystmark_testing_serve_runs_in_the_foreground() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pystmark_testing", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=sigint_at_default,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Local Postmark running at http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        response = pystmark.send(
            {"sender": "a@example.com", "to": "b@example.com", "text": "x"},
            base_url=url,
            api_key=pystmark_testing.DEFAULT_SERVER_TOKEN,
        )
        assert response.message == "OK"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "Traceback" not in err
    assert "Local Postmark stopped." in out


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_readme_offline_demo_runs_and_ci_runs_it() -> None:
    readme = (ROOT / "README.rst").read_text()
    block = readme.split(".. demo-command", 1)[1].split(".. code-block:: console", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith("    "):
            break
        lines.append(line[4:])
    command = "\n".join(lines).strip()
    assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -q -e . && ")
    # The Python the command feeds to the new virtualenv, run here without installing.
    script = command.split("<<'EOF'\n", 1)[1].rsplit("\nEOF", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if not key.startswith("POSTMARK_")},
    )
    assert result.returncode == 0, result.stderr
    assert "Sent: " in result.stdout
    assert "Read back: Hello to ['you@example.com'] - Hello from pystmark" in result.stdout
    ci = (ROOT / ".ci" / "run").read_text()
    assert "demo-command" in ci and 'bash -c "$demo_command"' in ci


def test_emulator_benchmark_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import emulator

    assert emulator.main(["--sends", "20", "--reads", "20", "--json"]) == 0
    figures = __import__("json").loads(capsys.readouterr().out)
    assert figures["bounces_listed"] == 20
    assert len(figures["send_ms_by_tenth"]) == len(figures["read_ms_by_tenth"]) == 10
    assert emulator.main(["--sends", "3", "--reads", "3"]) == 0
    assert "3 sends, ms per send by tenth" in capsys.readouterr().out
