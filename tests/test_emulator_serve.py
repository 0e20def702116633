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
