"""The command line, end to end against a local Postmark-like server on 127.0.0.1."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

import pystmark
from tests.conftest import LocalServer, Seen, ok_result

ROOT = Path(__file__).resolve().parent.parent
SEND = ["send", "--from", "me@example.com", "--to", "a@example.com,b@example.com"]
TOKEN = "server-token-cli"


# ---- a small Postmark: routes by method and path ----------------------------------------


Route = Callable[[Seen], "tuple[int, Any]"]


class Postmark:
    """Canned answers for the local server, by ``(method, path prefix)``."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.routes: list[tuple[str, str, Route]] = []
        server.answer = self._answer
        self.on("POST", "/email", ok_result())

    def on(self, method: str, path: str, answer: Route | Any, status: int = 200) -> None:
        route = answer if callable(answer) else (lambda seen, data=answer: (status, data))
        self.routes.insert(0, (method, path, route))

    def _answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(seen.path).path
        for method, prefix, route in self.routes:
            if seen.method == method and (path == prefix or path.startswith(prefix + "/")):
                status, data = route(seen)
                body = data if isinstance(data, bytes) else json.dumps(data).encode()
                return status, {}, body
        return 404, {}, json.dumps({"ErrorCode": 404, "Message": f"no route {path}"}).encode()

    @property
    def requests(self) -> list[Seen]:
        return self.server.requests


def query(seen: Seen) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(seen.path).query))


def path(seen: Seen) -> str:
    return urlsplit(seen.path).path


@pytest.fixture
def postmark(local_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Postmark:
    monkeypatch.setenv("POSTMARK_API_URL", local_server.url)
    return Postmark(local_server)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", TOKEN)
    return TOKEN


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines()]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*argv: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
        try:
            code = pystmark.main(list(argv))
        finally:
            sys.stdin = sys.__stdin__
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def bounce(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "ID": number,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": f"00000000-0000-0000-0000-{number:012d}",
        "Description": "The server was unable to deliver your message",
        "Details": "smtp;550 5.1.1 unknown user",
        "Email": f"user{number}@example.com",
        "From": "me@example.com",
        "BouncedAt": f"2024-02-01T10:{number // 60 % 60:02d}:{number % 60:02d}-05:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Hello",
        "Tag": "welcome",
        "MessageStream": "outbound",
        **fields,
    }


def bounce_pages(count: int) -> Route:
    """``GET /bounces`` over ``count`` bounces, newest first, paged by count/offset."""
    items = [bounce(number) for number in range(count, 0, -1)]

    def answer(seen: Seen) -> tuple[int, Any]:
        params = query(seen)
        start, size = int(params["offset"]), int(params["count"])
        return 200, {"TotalCount": count, "Bounces": items[start : start + size]}

    return answer


# ---- structure, tokens, help ----------------------------------------------------------


def test_version_and_help(cli: Callable[..., Result]) -> None:
    result = cli("--version")
    assert result.code == 0 and result.out.strip() == f"pystmark {pystmark.__version__}"
    result = cli("--help")
    assert result.code == 0
    for area in ("bounces", "messages", "suppressions", "stats", "servers", "streams"):
        assert area in result.out
    assert "130 interrupted" in result.out
    assert "examples:\n  pystmark send --from" in result.out
    for area in ("bounces", "messages", "suppressions", "servers", "templates"):
        result = cli(area, "--help")
        assert result.code == 0 and f"examples:\n  pystmark {area} " in result.out


def leaf_commands() -> Iterator[list[str]]:
    for area, actions in pystmark._cli_commands().items():
        if "run" in actions:
            yield [area]
            continue
        for action in actions:
            if action != "help":
                yield [area, action]
    yield ["send"]
    yield ["send-batch"]


@pytest.mark.parametrize("command", list(leaf_commands()), ids=" ".join)
def test_every_command_has_help_with_examples(
    cli: Callable[..., Result], command: list[str]
) -> None:
    result = cli(*command, "--help")
    assert result.code == 0
    assert "examples:" in result.out and f"pystmark {command[0]}" in result.out
    assert "--server-token" in result.out and "--timeout" in result.out


def test_usage_errors_exit_2_on_stderr(cli: Callable[..., Result]) -> None:
    for argv in ([], ["bounces"], ["bounces", "list", "--max", "x"], ["nonsense"]):
        result = cli(*argv)
        assert result.code == 2 and result.out == ""
        assert "usage: pystmark" in result.err


def test_send_without_any_token_is_refused_and_names_the_test_flag(
    postmark: Postmark, cli: Callable[..., Result]
) -> None:
    result = cli(*SEND, "--subject", "Hello", "--text", "Body")
    assert result.code == 2 and result.out == ""
    assert "no server token" in result.err and "--test" in result.err
    assert postmark.requests == []


def test_send_with_test_uses_the_test_token(postmark: Postmark, cli: Callable[..., Result]) -> None:
    result = cli(*SEND, "--subject", "Hello", "--text", "Body", "--tag", "cli", "--test")
    assert result.code == 0, result.err
    (seen,) = postmark.requests
    assert seen.method == "POST" and seen.path == "/email"
    assert seen.headers["X-Postmark-Server-Token"] == "POSTMARK_API_TEST"
    assert json.loads(seen.body) == {
        "From": "me@example.com",
        "To": "a@example.com,b@example.com",
        "Subject": "Hello",
        "Tag": "cli",
        "TextBody": "Body",
    }
    assert "POSTMARK_API_TEST" not in result.out
    assert "message_id    b7bc2f4a-e38e-4336-af7d-e6c392c2f000" in result.out


@pytest.mark.parametrize(
    ("argv", "environment", "named"),
    [
        (["--server-token", ""], {}, "--server-token is empty"),
        (["--server-token", "   "], {}, "--server-token is empty"),
        ([], {"POSTMARK_SERVER_TOKEN": ""}, "POSTMARK_SERVER_TOKEN is empty"),
        ([], {"POSTMARK_SERVER_TOKEN": " \t"}, "POSTMARK_SERVER_TOKEN is empty"),
    ],
)
def test_an_empty_token_is_an_error_not_the_test_token(
    postmark: Postmark,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environment: dict[str, str],
    named: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = cli(*SEND, "--text", "x", *argv)
    assert result.code == 2
    assert (
        result.err.strip()
        == f"pystmark: {named} (an empty token is never replaced by the test token)"
    )
    assert postmark.requests == []


def test_token_sources_flag_environment_and_test(
    postmark: Postmark, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "env-token")
    assert cli(*SEND, "--text", "x").code == 0
    assert cli(*SEND, "--text", "x", "--server-token", "flag-token").code == 0
    assert cli(*SEND, "--text", "x", "--test").code == 0
    tokens = [seen.headers["X-Postmark-Server-Token"] for seen in postmark.requests]
    assert tokens == ["env-token", "flag-token", "POSTMARK_API_TEST"]


def test_reading_needs_a_token(postmark: Postmark, cli: Callable[..., Result]) -> None:
    result = cli("bounces", "list")
    assert result.code == 2
    assert result.err.strip() == (
        "pystmark: no server token: pass --server-token or set POSTMARK_SERVER_TOKEN"
    )
    result = cli("servers", "list", "--server-token", "x")
    assert result.code == 2 and "no account token" in result.err
    assert postmark.requests == []


def test_base_url_flag_and_bad_base_url(
    local_server: LocalServer, cli: Callable[..., Result], token: str
) -> None:
    result = cli(*SEND, "--text", "x", "--base-url", local_server.url)
    assert result.code == 0 and len(local_server.requests) == 1
    result = cli(*SEND, "--text", "x", "--base-url", "http://example.com")
    assert result.code == 2 and "base_url must be an https:// URL" in result.err


# ---- sending ------------------------------------------------------------------------


def test_send_every_option(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    postmark.on("POST", "/email", ok_result())
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 report")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG logo")
    (tmp_path / "body.html").write_text("<p>Hi <img src='cid:logo'></p>")
    result = cli(
        "send",
        "--from",
        "Me <me@example.com>",
        "--to",
        "a@example.com",
        "--to",
        "b@example.com",
        "--cc",
        "c@example.com",
        "--bcc",
        "d@example.com",
        "--reply-to",
        "r@example.com",
        "--subject",
        "Report",
        "--text-file",
        "-",
        "--html-file",
        str(tmp_path / "body.html"),
        "--attach",
        str(tmp_path / "report.pdf"),
        "--inline",
        f"{tmp_path / 'logo.png'}:logo",
        "--header",
        "X-Campaign: spring",
        "--metadata",
        "customer=42",
        "--metadata",
        "a=b=c",
        "--tag",
        "report",
        "--stream",
        "broadcast",
        "--track-opens",
        "--track-links",
        "HtmlOnly",
        "--format",
        "json",
        stdin="text from stdin\n",
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["message_id"] == ok_result()["MessageID"]
    body = json.loads(postmark.requests[0].body)
    assert body["From"] == "Me <me@example.com>"
    assert body["To"] == "a@example.com, b@example.com"
    assert (body["Cc"], body["Bcc"], body["ReplyTo"]) == (
        "c@example.com",
        "d@example.com",
        "r@example.com",
    )
    assert body["TextBody"] == "text from stdin\n"
    assert body["HtmlBody"].startswith("<p>Hi")
    assert body["Headers"] == [{"Name": "X-Campaign", "Value": "spring"}]
    assert body["Metadata"] == {"customer": "42", "a": "b=c"}
    assert (body["Tag"], body["MessageStream"]) == ("report", "broadcast")
    assert (body["TrackOpens"], body["TrackLinks"]) == (True, "HtmlOnly")
    attachment, inline = body["Attachments"]
    assert attachment == {
        "Name": "report.pdf",
        "Content": base64.b64encode(b"%PDF-1.4 report").decode(),
        "ContentType": "application/pdf",
    }
    assert inline["Name"] == "logo.png" and inline["ContentID"] == "cid:logo"


def test_send_inline_without_a_content_id_uses_the_file_name(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    (tmp_path / "logo.png").write_bytes(b"png")
    result = cli(
        *SEND, "--html", "<img src='cid:logo.png'>", "--inline", str(tmp_path / "logo.png")
    )
    assert result.code == 0, result.err
    (inline,) = json.loads(postmark.requests[0].body)["Attachments"]
    assert inline["ContentID"] == "cid:logo.png"


def test_send_with_a_template(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    postmark.on("POST", "/email/withTemplate", ok_result())
    model = tmp_path / "model.json"
    model.write_text('{"name": "Ada"}')
    assert cli(*SEND, "--template", "welcome", "--model", str(model)).code == 0
    assert cli(*SEND, "--template", "1234", "--inline-css").code == 0
    first, second = (json.loads(seen.body) for seen in postmark.requests)
    assert postmark.requests[0].path == "/email/withTemplate"
    assert first["TemplateAlias"] == "welcome" and first["TemplateModel"] == {"name": "Ada"}
    assert second["TemplateId"] == 1234 and second["TemplateModel"] == {}
    assert second["InlineCss"] is True


@pytest.mark.parametrize(
    ("extra", "files", "error"),
    [
        (["--text", "x", "--attach", "missing.pdf"], {}, "--attach: cannot read missing.pdf: "),
        (
            ["--template", "t", "--model", "model.json"],
            {"model.json": "{nope"},
            "is not valid JSON",
        ),
        (["--template", "t", "--model", "model.json"], {"model.json": "[1]"}, "JSON object"),
        (
            ["--text", "x", "--model", "model.json"],
            {"model.json": "{}"},
            "--model needs --template",
        ),
        (["--text", "x", "--header", "no colon"], {}, "--header must look like NAME:VALUE"),
        (["--text", "x", "--metadata", "novalue"], {}, "--metadata must look like NAME=VALUE"),
        (["--text", "x", "--header", "X-Bad: a\rb"], {}, "send: headers"),
        ([], {}, "send: text: a message needs html or text"),
        (["--text", "x", "--text-file", "body.txt"], {}, "not allowed with argument"),
        (["--text-file", "-", "--html-file", "-"], {}, "only one of the files given can be -"),
        (["--text", "x", "--attach", "virus.exe"], {"virus.exe": "MZ"}, "refuses .exe"),
        (["--text", "x", "--eml", "missing.eml"], {}, "--eml: cannot read missing.eml"),
        (["--text", "x", "--eml", "empty.eml"], {"empty.eml": ""}, "no RFC 822 message"),
        (["--text", "x", "--timeout", "0"], {}, "timeout must be greater than 0"),
    ],
)
def test_send_bad_input_exits_2_without_a_request(
    postmark: Postmark,
    cli: Callable[..., Result],
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    files: dict[str, str],
    error: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = cli(*SEND, *extra)
    assert result.code == 2, result.err
    assert result.out == ""
    last = result.err.strip().splitlines()[-1]  # argparse's usage lines come before
    assert error in last and (last.startswith("pystmark: ") or "error:" in last)
    assert postmark.requests == []


@pytest.mark.parametrize("address", ["x\r\ny", "a@example.com\nBcc: evil@example.com"])
def test_send_bad_address(
    postmark: Postmark, cli: Callable[..., Result], token: str, address: str
) -> None:
    result = cli("send", "--from", "me@example.com", "--to", address, "--text", "x")
    assert result.code == 2
    assert result.err.startswith("pystmark: send: to: must not contain CR, LF or NUL")
    assert postmark.requests == []


def test_send_refused_by_postmark_exits_1_with_one_line(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on("POST", "/email", {"ErrorCode": 300, "Message": "Invalid 'From' address."}, 422)
    result = cli(*SEND, "--text", "x")
    assert result.code == 1 and result.out == ""
    assert result.err == "pystmark: send: [ErrorCode 300] Invalid 'From' address. (HTTP 422)\n"


def test_send_reports_inactive_recipients(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    answer = {**ok_result(), "Message": "OK. Found inactive addresses: a@example.com."}
    postmark.on("POST", "/email", answer)
    result = cli(*SEND, "--text", "x")
    assert result.code == 0
    assert "inactive recipients, not delivered to: a@example.com" in result.err


def test_send_eml(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    email = EmailMessage()
    email["From"] = "Me <me@example.com>"
    email["To"] = "a@example.com, b@example.com"
    email["Cc"] = "c@example.com"
    email["Reply-To"] = "r@example.com"
    email["Subject"] = "From a file"
    email["Date"] = "Thu, 01 Feb 2024 10:00:00 +0000"
    email["X-Campaign"] = "spring"
    email.set_content("plain text")
    email.add_alternative("<p>html</p>", subtype="html")
    email.get_payload()[1].add_related(b"png", maintype="image", subtype="png", cid="<logo>")
    email.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="r.pdf")
    (tmp_path / "m.eml").write_bytes(email.as_bytes())
    result = cli("send", "--eml", str(tmp_path / "m.eml"), "--tag", "eml", "--to", "z@example.com")
    assert result.code == 0, result.err
    body = json.loads(postmark.requests[0].body)
    assert body["From"] == "Me <me@example.com>"
    assert body["To"] == "z@example.com"  # a flag wins over the file
    assert body["Cc"] == "c@example.com" and body["ReplyTo"] == "r@example.com"
    assert body["Subject"] == "From a file" and body["Tag"] == "eml"
    assert body["TextBody"].strip() == "plain text"
    assert body["HtmlBody"].strip() == "<p>html</p>"
    assert body["Headers"] == [{"Name": "X-Campaign", "Value": "spring"}]
    names = {item["Name"]: item for item in body["Attachments"]}
    assert base64.b64decode(names["r.pdf"]["Content"]) == b"%PDF"


class Stalling:
    """A server on 127.0.0.1 that reads each request and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed at teardown
                return
            self.connections.append(connection)
            self.requests.append(connection.recv(65536))

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)
        for connection in self.connections:
            connection.close()


@pytest.fixture
def stalling(monkeypatch: pytest.MonkeyPatch, token: str) -> Iterator[Stalling]:
    server = Stalling()
    monkeypatch.setenv("POSTMARK_API_URL", server.url)
    try:
        yield server
    finally:
        server.close()


def test_send_that_stalls_says_the_outcome_is_unknown(
    stalling: Stalling, cli: Callable[..., Result]
) -> None:
    result = cli(*SEND, "--text", "x", "--timeout", "0.3")
    assert result.code == 1
    assert result.err.startswith("pystmark: send: ")
    assert "may or may not have been accepted, and it was not sent again" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert len(stalling.requests) == 1  # never sent twice


class NoticeStream(io.StringIO):
    """A stderr that tells when a "still waiting" notice was written."""

    def __init__(self) -> None:
        super().__init__()
        self.noticed = threading.Event()

    def write(self, text: str) -> int:
        if "still waiting" in text:
            self.noticed.set()
        return super().write(text)


def test_a_slow_answer_says_what_it_waits_for(
    postmark: Postmark, cli: Callable[..., Result], token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = NoticeStream()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(pystmark, "_CLI_NOTICE_AFTER", 0.0)

    def slow(seen: Seen) -> tuple[int, Any]:
        stderr.noticed.wait(10)  # answers only once the notice is out
        return 200, {"TotalCount": 0, "Bounces": []}

    postmark.on("GET", "/bounces", slow)
    assert cli("bounces", "list", "--timeout", "20").code == 0
    text = stderr.getvalue()
    assert "pystmark: still waiting for Postmark: bounces list: the first page" in text
    assert "read timeout 20 s, deadline 60 s per call" in text


def test_quiet_silences_notices(postmark: Postmark, cli: Callable[..., Result], token: str) -> None:
    postmark.on("GET", "/bounces", bounce_pages(150))
    assert "showing the first 100" in cli("bounces", "list", "--format", "jsonl").err
    result = cli("bounces", "list", "--format", "jsonl", "--quiet")
    assert result.code == 0 and result.err == ""
    assert len(result.json_lines()) == 100


def test_a_listing_that_stalls_times_out(stalling: Stalling, cli: Callable[..., Result]) -> None:
    result = cli("bounces", "list", "--timeout", "0.2", "--max-retries", "1")
    assert result.code == 1
    assert result.err.startswith("pystmark: bounces list: ")
    assert len(result.err.strip().splitlines()) == 1
    assert len(stalling.requests) == 2  # a read may be retried


def test_ctrl_c_ends_without_a_traceback(
    postmark: Postmark, cli: Callable[..., Result], token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(pystmark, "send", interrupted)
    result = cli(*SEND, "--text", "x")
    assert result.code == 130
    assert result.err == (
        "pystmark: interrupted; the message(s) may or may not have been accepted\n"
    )
    monkeypatch.setattr(pystmark, "iter_bounces", interrupted)
    result = cli("bounces", "list")
    assert (result.code, result.err) == (130, "pystmark: interrupted\n")


def test_a_closed_pipe_ends_quietly(
    postmark: Postmark, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    postmark.on("GET", "/bounces", bounce_pages(3))

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert pystmark.main(["bounces", "list", "--format", "jsonl"]) == 0


# ---- send-batch -------------------------------------------------------------------


def batch_answer(refuse: set[str] = frozenset()) -> Route:  # type: ignore[assignment]
    def answer(seen: Seen) -> tuple[int, Any]:
        body = json.loads(seen.body)
        messages = body["Messages"] if isinstance(body, dict) else body
        results = []
        for index, message in enumerate(messages):
            if message["To"] in refuse:
                results.append({"ErrorCode": 406, "Message": "inactive", "To": message["To"]})
            else:
                results.append(ok_result(index, message["To"]))
        return 200, results

    return answer


def write_jsonl(path: Path, *messages: Any) -> Path:
    path.write_text("".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages))
    return path


def test_send_batch_writes_one_result_per_line_and_resumes(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    postmark.on("POST", "/email/batch", batch_answer({"b@example.com"}))
    postmark.on("POST", "/email/batchWithTemplates", batch_answer())
    source = write_jsonl(
        tmp_path / "messages.jsonl",
        {"sender": "me@example.com", "to": "a@example.com", "subject": "1", "text": "x"},
        {"From": "me@example.com", "To": "b@example.com", "Subject": "2", "TextBody": "x"},
        "",
        {
            "From": "me@example.com",
            "To": "c@example.com",
            "TemplateAlias": "welcome",
            "TemplateModel": {"name": "C"},
        },
    )
    result = cli("send-batch", str(source))
    assert result.code == 3
    lines = result.json_lines()
    assert [(line["line"], line["status"]) for line in lines] == [
        (1, "sent"),
        (2, "refused"),
        (4, "sent"),
    ]
    assert lines[1]["error_code"] == 406 and lines[0]["message_id"]
    assert "1 of 3 messages were not accepted" in result.err
    assert [path(seen) for seen in postmark.requests] == [
        "/email/batch",
        "/email/batchWithTemplates",
    ]
    # Resume: only the refused line is sent again.
    results = tmp_path / "results.jsonl"
    results.write_text(result.out)
    postmark.on("POST", "/email/batch", batch_answer())
    again = cli("send-batch", str(source), "--resume", str(results))
    assert again.code == 0, again.err
    assert [(line["line"], line["status"]) for line in again.json_lines()] == [(2, "sent")]
    assert json.loads(postmark.requests[-1].body)[0]["To"] == "b@example.com"


def test_send_batch_splits_requests_at_500(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    postmark.on("POST", "/email/batch", batch_answer())
    message = {"From": "me@example.com", "To": "a@example.com", "TextBody": "x"}
    source = write_jsonl(tmp_path / "m.jsonl", *[message] * 501)
    result = cli("send-batch", str(source))
    assert result.code == 0 and len(result.json_lines()) == 501
    assert [len(json.loads(seen.body)) for seen in postmark.requests] == [500, 1]


def test_send_batch_stopped_by_an_unknown_outcome(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    postmark.on("POST", "/email/batch", {"ErrorCode": 0, "Message": "oops"}, 500)
    message = {"From": "me@example.com", "To": "a@example.com", "TextBody": "x"}
    source = write_jsonl(tmp_path / "m.jsonl", message)
    result = cli("send-batch", str(source))
    assert result.code == 1
    (line,) = result.json_lines()
    assert line["status"] == "unknown"
    assert "may or may not have been accepted" in result.err
    results = tmp_path / "results.jsonl"
    results.write_text(result.out)
    again = cli("send-batch", str(source), "--resume", str(results))
    assert again.code == 0 and again.out == ""
    assert "skipping 1 message(s) whose outcome was unknown" in again.err
    assert len(postmark.requests) == 1


def test_send_batch_refused_request_leaves_the_rest_unsent(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    postmark.on("POST", "/email/batch", {"ErrorCode": 10, "Message": "Bad token"}, 401)
    message = {"From": "me@example.com", "To": "a@example.com", "TextBody": "x"}
    result = cli("send-batch", str(write_jsonl(tmp_path / "m.jsonl", *[message] * 501)))
    assert result.code == 1
    assert {line["status"] for line in result.json_lines()} == {"unsent"}
    assert len(result.json_lines()) == 501 and len(postmark.requests) == 1
    assert "the messages marked unsent were not sent" in result.err


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "send-batch: cannot read"),
        ('{"To": "a@example.com"\n', "line 1: not valid JSON"),
        ("[1, 2]\n", "line 1: a message must be a JSON object"),
        (
            '{"From": "me@example.com", "To": "a@example.com", "Text": "x"}\n',
            "line 1: Text: unknown",
        ),
        ('\n{"From": "me@example.com", "To": "a\\nb", "TextBody": "x"}\n', "line 2: to: must not"),
        ('{"From": "me@example.com", "To": "a@example.com"}\n', "line 1: text: a message needs"),
    ],
)
def test_send_batch_bad_input_sends_nothing(
    postmark: Postmark,
    cli: Callable[..., Result],
    token: str,
    tmp_path: Path,
    content: str | None,
    error: str,
) -> None:
    source = tmp_path / "m.jsonl"
    if content is not None:
        source.write_text(content)
    result = cli("send-batch", str(source))
    assert result.code == 2 and error in result.err and result.out == ""
    assert postmark.requests == []


# ---- bounces -------------------------------------------------------------------------


def test_bounces_list_formats(postmark: Postmark, cli: Callable[..., Result], token: str) -> None:
    postmark.on("GET", "/bounces", bounce_pages(3))
    table = cli("bounces", "list")
    assert table.code == 0
    header, first, *rest = table.out.splitlines()
    assert header.split() == [
        "ID",
        "TYPE",
        "EMAIL",
        "BOUNCED_AT",
        "INACTIVE",
        "CAN_ACTIVATE",
        "TAG",
        "MESSAGE_STREAM",
        "DESCRIPTION",
    ]
    assert first.startswith("3   HardBounce  user3@example.com  2024-02-01T10:00:03-05:00  true")
    assert len(rest) == 2 and table.err == ""
    jsonl = cli("bounces", "list", "--format", "jsonl").json_lines()
    assert [item["id"] for item in jsonl] == [3, 2, 1]
    assert (
        jsonl[0]["type"] == "HardBounce" and jsonl[0]["bounced_at"] == "2024-02-01T10:00:03-05:00"
    )
    assert set(jsonl[0]) >= {"email", "inactive", "can_activate", "message_id", "details"}
    whole = json.loads(cli("bounces", "list", "--format", "json").out)
    assert whole == jsonl
    rows = list(csv.reader(io.StringIO(cli("bounces", "list", "--format", "csv").out)))
    assert rows[0][:3] == ["id", "type", "email"] and rows[1][:3] == [
        "3",
        "HardBounce",
        "user3@example.com",
    ]
    assert len(rows) == 4
    chosen = cli("bounces", "list", "--format", "csv", "--fields", "email,id").out
    assert chosen.splitlines()[:2] == ["email,id", "user3@example.com,3"]
    empty = cli("bounces", "list", "--format", "json", "--type", "Transient")
    assert empty.code == 0


def test_bounces_list_filters_reach_postmark(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on("GET", "/bounces", {"TotalCount": 0, "Bounces": []})
    result = cli(
        "bounces",
        "list",
        "--type",
        "hardbounce",
        "--inactive",
        "--email",
        "user",
        "--tag",
        "welcome",
        "--from-date",
        "2024-01-01",
        "--to-date",
        "2024-01-31T12:00:00",
        "--stream",
        "outbound",
        "--max",
        "10",
    )
    assert result.code == 0, result.err
    assert query(postmark.requests[0]) == {
        "type": "HardBounce",
        "inactive": "true",
        "emailFilter": "user",
        "tag": "welcome",
        "fromdate": "2024-01-01",
        "todate": "2024-01-31T12:00:00",
        "messagestream": "outbound",
        "count": "10",
        "offset": "0",
    }


def test_bounces_relative_date(postmark: Postmark, cli: Callable[..., Result], token: str) -> None:
    from datetime import date, timedelta

    postmark.on("GET", "/bounces", {"TotalCount": 0, "Bounces": []})
    assert cli("bounces", "list", "--from-date", "7d").code == 0
    expected = (date.today() - timedelta(days=7)).isoformat()
    assert query(postmark.requests[0])["fromdate"] == expected
    result = cli("bounces", "list", "--from-date", "last week")
    assert result.code == 2 and "--from-date: not a date: 'last week'" in result.err


def test_bounces_default_max_all_and_max(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on("GET", "/bounces", bounce_pages(700))
    default = cli("bounces", "list", "--format", "jsonl")
    assert len(default.json_lines()) == 100
    assert "showing the first 100; use --max N or --all for more" in default.err
    assert query(postmark.requests[0])["count"] == "101"
    everything = cli("bounces", "list", "--format", "jsonl", "--all")
    assert len(everything.json_lines()) == 700 and everything.err == ""
    assert [query(seen)["offset"] for seen in postmark.requests[1:]] == ["0", "500"]
    some = cli("bounces", "list", "--format", "csv", "--max", "250")
    assert len(some.out.splitlines()) == 251 and some.err == ""
    bad = cli("bounces", "list", "--max", "-1")
    assert bad.code == 2 and "--max: not a number of items: '-1'" in bad.err
    bad = cli("streams", "list", "--max", "-1")
    assert bad.code == 2 and "--max: not a number of items: '-1'" in bad.err


def test_bounces_table_keeps_streaming_past_the_sample(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    long_tag = "t" * 200
    items = [bounce(number) for number in range(60, 0, -1)]
    items[55]["Tag"] = long_tag  # after the rows that fix the widths
    postmark.on("GET", "/bounces", {"TotalCount": 60, "Bounces": items})
    result = cli("bounces", "list", "--max", "60")
    lines = result.out.splitlines()
    assert len(lines) == 61
    assert long_tag not in result.out and "t…" in lines[56]
    assert len({line.index("TAG") if i == 0 else None for i, line in enumerate(lines)}) == 2


def test_bounce_get_dump_stats_tags(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on("GET", "/bounces/42", bounce(42))
    postmark.on("GET", "/bounces/42/dump", {"Body": "Return-Path: <>\nSubject: bounce"})
    postmark.on("GET", "/bounces/tags", ["welcome", "reset"])
    postmark.on(
        "GET",
        "/deliverystats",
        {
            "InactiveMails": 192,
            "Bounces": [
                {"Name": "All", "Count": 253},
                {"Type": "HardBounce", "Name": "Hard bounce", "Count": 195},
            ],
        },
    )
    result = cli("bounces", "get", "42")
    assert result.code == 0
    assert re.search(r"^email +user42@example.com$", result.out, re.MULTILINE)
    assert json.loads(cli("bounces", "get", "42", "--format", "json").out)["id"] == 42
    assert cli("bounces", "dump", "42").out == "Return-Path: <>\nSubject: bounce\n"
    assert cli("bounces", "tags", "--format", "jsonl").json_lines() == [
        {"tag": "welcome"},
        {"tag": "reset"},
    ]
    stats = cli("bounces", "stats", "--format", "csv").out.splitlines()
    assert stats == [
        "type,name,count",
        "All,All,253",
        "HardBounce,Hard bounce,195",
        "Inactive,Inactive addresses,192",
    ]
    bad = cli("bounces", "get", "abc")
    assert bad.code == 2 and "bounce id must be an integer" in bad.err


def test_bounce_stats_total_row_is_the_entry_named_all(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    # The total is the entry named "All", even when it also carries a Type.
    postmark.on(
        "GET",
        "/deliverystats",
        {
            "InactiveMails": 1,
            "Bounces": [
                {"Name": "All", "Type": "HardBounce", "Count": 9},
                {"Type": "HardBounce", "Name": "Hard bounce", "Count": 9},
            ],
        },
    )
    stats = cli("bounces", "stats", "--format", "csv").out.splitlines()
    assert stats[1:3] == ["All,All,9", "HardBounce,Hard bounce,9"]


def test_bounces_activate_a_list(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    def activate(seen: Seen) -> tuple[int, Any]:
        number = int(path(seen).split("/")[2])
        if number == 3:
            return 422, {"ErrorCode": 1003, "Message": "Cannot activate"}
        return 200, {"Message": "OK", "Bounce": bounce(number, Inactive=False)}

    postmark.on("PUT", "/bounces", activate)
    listing = tmp_path / "bounces.jsonl"
    listing.write_text(json.dumps({"id": 2, "email": "x"}) + "\n\n" + "3\n")
    result = cli("bounces", "activate", "1", "--file", str(listing), "--format", "jsonl")
    assert result.code == 3
    lines = result.json_lines()
    assert [(line["id"], line["status"]) for line in lines] == [
        (1, "activated"),
        (2, "activated"),
        (3, "failed"),
    ]
    assert lines[0]["inactive"] is False and "ErrorCode 1003" in lines[2]["message"]
    assert "1 of 3 bounces failed" in result.err
    assert cli("bounces", "activate", "3").code == 1
    assert cli("bounces", "activate", "x").code == 2
    nothing = cli("bounces", "activate")
    assert nothing.code == 2 and "give at least one id" in nothing.err
    listing.write_text('{"ID": 4}\n')
    bad = cli("bounces", "activate", "--file", str(listing))
    assert bad.code == 2 and "line 1 has no 'id'" in bad.err


def test_bounces_activate_from_stdin(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on("PUT", "/bounces", lambda seen: (200, {"Message": "OK", "Bounce": bounce(7)}))
    result = cli("bounces", "activate", "--file", "-", stdin="7\n")
    assert result.code == 0 and "activated" in result.out


# ---- messages -------------------------------------------------------------------------

OUTBOUND = {
    "MessageID": "0ac29aee-e1cd-480d-b08d-4f48548ff48d",
    "To": [{"Email": "a@example.com", "Name": "A"}],
    "Recipients": ["a@example.com"],
    "From": "me@example.com",
    "Subject": "Hi",
    "Tag": "welcome",
    "Status": "Sent",
    "ReceivedAt": "2024-02-01T10:00:00-05:00",
    "MessageStream": "outbound",
    "Metadata": {"customer": "42"},
}
INBOUND = {
    "MessageID": "inbound-1",
    "From": "them@example.com",
    "To": "in@example.com",
    "Subject": "Question",
    "Date": "Thu, 1 Feb 2024 10:00:00 +0000",
    "Status": "Processed",
    "Tag": "",
}
OPEN = {
    "RecordType": "Open",
    "MessageID": OUTBOUND["MessageID"],
    "Recipient": "a@example.com",
    "ReceivedAt": "2024-02-01T11:00:00-05:00",
    "Platform": "Desktop",
    "UserAgent": "Mozilla",
    "MessageStream": "outbound",
}


def test_messages_commands(postmark: Postmark, cli: Callable[..., Result], token: str) -> None:
    message_id = OUTBOUND["MessageID"]
    postmark.on("GET", "/messages/outbound", {"TotalCount": 1, "Messages": [OUTBOUND]})
    postmark.on("GET", f"/messages/outbound/{message_id}/details", {**OUTBOUND, "TextBody": "body"})
    postmark.on("GET", f"/messages/outbound/{message_id}/dump", {"Body": "Subject: Hi\n\nbody"})
    postmark.on("GET", "/messages/inbound", {"TotalCount": 1, "InboundMessages": [INBOUND]})
    postmark.on("GET", "/messages/inbound/inbound-1/details", {**INBOUND, "TextBody": "?"})
    postmark.on("GET", "/messages/outbound/opens", {"TotalCount": 1, "Opens": [OPEN]})
    postmark.on(
        "GET",
        "/messages/outbound/clicks",
        {
            "TotalCount": 1,
            "Clicks": [{**OPEN, "RecordType": "Click", "OriginalLink": "https://example.com"}],
        },
    )

    outbound = cli(
        "messages",
        "outbound",
        "--recipient",
        "a@example.com",
        "--status",
        "sent",
        "--metadata",
        "customer=42",
        "--format",
        "jsonl",
    )
    assert outbound.code == 0, outbound.err
    (item,) = outbound.json_lines()
    assert item["message_id"] == message_id and item["to"][0]["email"] == "a@example.com"
    assert query(postmark.requests[-1]) == {
        "recipient": "a@example.com",
        "status": "sent",
        "metadata_customer": "42",
        "count": "101",
        "offset": "0",
    }
    table = cli("messages", "outbound").out
    assert "a@example.com" in table.splitlines()[1]
    details = cli("messages", "details", message_id, "--format", "json")
    assert json.loads(details.out)["text_body"] == "body"
    assert cli("messages", "dump", message_id).out == "Subject: Hi\n\nbody\n"
    inbound = cli("messages", "inbound", "--status", "processed", "--format", "csv").out
    assert inbound.splitlines()[1].startswith("inbound-1,")
    inbound_details = cli("messages", "details", "--inbound", "inbound-1", "--format", "json")
    assert json.loads(inbound_details.out)["text_body"] == "?"
    opens = cli("messages", "opens", "--platform", "Desktop", "--format", "jsonl")
    assert opens.json_lines()[0]["platform"] == "Desktop"
    assert query(postmark.requests[-1])["platform"] == "Desktop"
    postmark.on("GET", f"/messages/outbound/opens/{message_id}", {"TotalCount": 1, "Opens": [OPEN]})
    one = cli("messages", "opens", "--message-id", message_id, "--format", "jsonl")
    assert one.code == 0 and path(postmark.requests[-1]) == f"/messages/outbound/opens/{message_id}"
    clicks = cli("messages", "clicks", "--format", "csv", "--fields", "original_link")
    assert clicks.out.splitlines() == ["original_link", "https://example.com"]
    mixed = cli("messages", "opens", "--message-id", message_id, "--tag", "x")
    assert mixed.code == 2 and "--message-id cannot be combined with filters" in mixed.err
    bad_status = cli("messages", "outbound", "--status", "lost")
    assert bad_status.code == 2 and "invalid choice" in bad_status.err


def test_message_not_found_is_a_postmark_error(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on(
        "GET", "/messages/outbound/nope/details", {"ErrorCode": 701, "Message": "Not found"}, 422
    )
    result = cli("messages", "details", "nope")
    assert result.code == 1
    assert result.err == "pystmark: messages details: [ErrorCode 701] Not found (HTTP 422)\n"


# ---- suppressions, stats, servers, streams, webhooks -------------------------------------


def test_suppressions(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    postmark.on(
        "GET",
        "/message-streams/outbound/suppressions/dump",
        {
            "Suppressions": [
                {
                    "EmailAddress": "a@example.com",
                    "SuppressionReason": "HardBounce",
                    "Origin": "Recipient",
                    "CreatedAt": "2024-02-01T10:00:00-05:00",
                }
            ]
        },
    )

    def change(seen: Seen) -> tuple[int, Any]:
        addresses = [item["EmailAddress"] for item in json.loads(seen.body)["Suppressions"]]
        return 200, {
            "Suppressions": [
                {
                    "EmailAddress": address,
                    "Status": "Failed" if "bad" in address else "Suppressed",
                    "Message": "invalid" if "bad" in address else None,
                }
                for address in addresses
            ]
        }

    postmark.on("POST", "/message-streams/broadcast/suppressions", change)
    postmark.on("POST", "/message-streams/outbound/suppressions/delete", change)
    listing = cli("suppressions", "list", "--reason", "HardBounce", "--format", "csv")
    assert listing.code == 0, listing.err
    assert (
        listing.out.splitlines()[1]
        == "a@example.com,HardBounce,Recipient,2024-02-01T10:00:00-05:00"
    )
    assert query(postmark.requests[-1]) == {"SuppressionReason": "HardBounce"}
    added = cli(
        "suppressions", "add", "x@example.com", "--stream", "broadcast", "--format", "jsonl"
    )
    assert added.code == 0 and added.json_lines()[0]["status"] == "Suppressed"
    addresses = tmp_path / "addresses.txt"
    addresses.write_text("b@example.com\nbad@example.com\n")
    removed = cli("suppressions", "remove", "--file", str(addresses), "--format", "jsonl")
    assert removed.code == 3
    assert [line["status"] for line in removed.json_lines()] == ["Suppressed", "Failed"]
    assert "1 of 2 addresses failed" in removed.err


def test_stats(postmark: Postmark, cli: Callable[..., Result], token: str) -> None:
    postmark.on(
        "GET",
        "/stats/outbound/bounces",
        {
            "HardBounce": 3,
            "SMTPApiError": 1,
            "Days": [
                {"Date": "2024-02-01", "HardBounce": 3},
                {"Date": "2024-02-02", "SMTPApiError": 1},
            ],
        },
    )
    totals = cli("stats", "bounces", "--tag", "welcome", "--from-date", "2024-02-01")
    assert totals.code == 0
    assert totals.out.splitlines() == ["hard_bounce     3", "smtp_api_error  1"]
    assert query(postmark.requests[-1]) == {"tag": "welcome", "fromdate": "2024-02-01"}
    days = cli("stats", "bounces", "--by-day", "--format", "csv").out.splitlines()
    assert days == ["date,hard_bounce,smtp_api_error", "2024-02-01,3,", "2024-02-02,,1"]
    unknown = cli("stats", "nothing")
    assert unknown.code == 2 and "invalid choice" in unknown.err


def test_servers_with_the_account_token(
    postmark: Postmark, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = {
        "ID": 1,
        "Name": "Production",
        "Color": "red",
        "ApiTokens": ["secret"],
        "DeliveryType": "Live",
        "ServerLink": "https://account.postmarkapp.com/servers/1",
    }
    postmark.on("GET", "/servers", {"TotalCount": 1, "Servers": [server]})
    postmark.on("GET", "/servers/1", server)
    monkeypatch.setenv("POSTMARK_ACCOUNT_TOKEN", "account-token")
    listing = cli("servers", "list", "--name", "Prod")
    assert listing.code == 0, listing.err
    assert "Production" in listing.out and "secret" not in listing.out
    assert postmark.requests[-1].headers["X-Postmark-Account-Token"] == "account-token"
    assert query(postmark.requests[-1])["name"] == "Prod"
    one = json.loads(cli("servers", "get", "1", "--format", "json").out)
    assert one["api_tokens"] == ["secret"]
    assert cli("servers", "list", "--account-token", "").code == 2


def test_streams_and_webhooks(postmark: Postmark, cli: Callable[..., Result], token: str) -> None:
    postmark.on(
        "GET",
        "/message-streams",
        {
            "TotalCount": 1,
            "MessageStreams": [
                {
                    "ID": "outbound",
                    "ServerID": 1,
                    "Name": "Default Transactional Stream",
                    "MessageStreamType": "Transactional",
                    "CreatedAt": "2024-01-01T00:00:00-05:00",
                }
            ],
        },
    )
    postmark.on(
        "GET",
        "/webhooks",
        {
            "Webhooks": [
                {
                    "ID": 7,
                    "Url": "https://example.com/hook",
                    "MessageStream": "outbound",
                    "HttpAuth": {"Username": "u", "Password": "p"},
                    "Triggers": {"Open": {"Enabled": True, "PostFirstOpenOnly": False}},
                }
            ]
        },
    )
    streams = cli("streams", "list", "--type", "Transactional", "--include-archived")
    assert streams.code == 0 and "Default Transactional Stream" in streams.out
    assert query(postmark.requests[-1]) == {
        "MessageStreamType": "Transactional",
        "IncludeArchivedStreams": "true",
    }
    hooks = cli("webhooks", "list", "--stream", "outbound", "--format", "jsonl").json_lines()
    assert hooks[0]["url"] == "https://example.com/hook"
    assert query(postmark.requests[-1]) == {"MessageStream": "outbound"}
    limited = cli("streams", "list", "--max", "0", "--format", "jsonl")
    assert limited.code == 0 and limited.out == ""


# ---- templates as files ------------------------------------------------------------------


class Templates:
    """An in-memory template store behind the template endpoints."""

    def __init__(self, postmark: Postmark) -> None:
        self.items: dict[int, dict[str, Any]] = {}
        postmark.on("GET", "/templates", self.route)
        postmark.on("POST", "/templates", self.route)
        postmark.on("PUT", "/templates", self.route)
        postmark.on("POST", "/templates/validate", self.validate)

    def add(self, **fields: Any) -> None:
        template_id = len(self.items) + 1
        self.items[template_id] = {"TemplateId": template_id, "Active": True, **fields}

    def find(self, key: str) -> dict[str, Any] | None:
        for item in self.items.values():
            if str(item["TemplateId"]) == key or item.get("Alias") == key:
                return item
        return None

    def route(self, seen: Seen) -> tuple[int, Any]:
        parts = path(seen).split("/")[2:]
        if seen.method == "GET" and not parts:
            listed = [
                {
                    key: item.get(key)
                    for key in ("TemplateId", "Name", "Alias", "TemplateType", "LayoutTemplate")
                }
                for item in self.items.values()
            ]
            return 200, {"TotalCount": len(listed), "Templates": listed}
        if seen.method == "POST":
            self.add(**json.loads(seen.body))
            return 200, {"TemplateId": len(self.items), "Active": True}
        found = self.find(parts[0])
        if found is None:
            return 422, {"ErrorCode": 1101, "Message": "not found"}
        if seen.method == "PUT":
            found.update(json.loads(seen.body))
        return 200, found

    def validate(self, seen: Seen) -> tuple[int, Any]:
        body = json.loads(seen.body)
        bad = "{{#broken" in (body.get("HtmlBody") or "")
        part = {
            "ContentIsValid": not bad,
            "ValidationErrors": [{"Message": "unclosed block", "Line": 1, "CharacterPosition": 3}]
            if bad
            else [],
        }
        return 200, {"AllContentIsValid": not bad, "HtmlBody": part}


def test_templates_pull_push_validate(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    store = Templates(postmark)
    store.add(
        Name="Base",
        Alias="base",
        TemplateType="Layout",
        HtmlBody="<html>{{{@content}}}</html>",
        TextBody="{{{ @content }}}",
    )
    store.add(
        Name="Welcome",
        Alias="welcome",
        TemplateType="Standard",
        Subject="Hi {{name}}",
        HtmlBody="<p>Hi</p>",
        TextBody=None,
        LayoutTemplate="base",
    )
    folder = tmp_path / "postmark"
    pulled = cli("templates", "pull", str(folder), "--format", "jsonl")
    assert pulled.code == 0, pulled.err
    assert [line["folder"] for line in pulled.json_lines()] == ["layouts/base", "templates/welcome"]
    meta = json.loads((folder / "templates" / "welcome" / "meta.json").read_text())
    assert meta == {
        "Name": "Welcome",
        "Alias": "welcome",
        "TemplateType": "Standard",
        "TemplateId": 2,
        "Subject": "Hi {{name}}",
        "LayoutTemplate": "base",
    }
    assert (
        folder / "layouts" / "base" / "content.html"
    ).read_text() == "<html>{{{@content}}}</html>"
    assert not (folder / "templates" / "welcome" / "content.txt").exists()

    unchanged = cli("templates", "push", str(folder), "--format", "jsonl")
    assert unchanged.code == 0
    assert {line["action"] for line in unchanged.json_lines()} == {"unchanged"}
    assert "0 added, 0 modified, 2 unchanged" in unchanged.err

    # Change the layout, add a template: pushed in that order, only what changed.
    (folder / "layouts" / "base" / "content.html").write_text("<body>{{{@content}}}</body>")
    new = folder / "templates" / "receipt"
    new.mkdir()
    (new / "meta.json").write_text(
        json.dumps({"Name": "Receipt", "Alias": "receipt", "Subject": "Your receipt"})
    )
    (new / "content.txt").write_text("Thanks")
    before = len(postmark.requests)
    refused = cli("templates", "push", str(folder))
    assert refused.code == 2 and "pass --yes" in refused.err
    dry = cli("templates", "push", str(folder), "--dry-run", "--format", "jsonl")
    assert dry.code == 0
    assert all(seen.method == "GET" for seen in postmark.requests[before:])
    plan = {line["folder"]: line["action"] for line in dry.json_lines()}
    assert plan == {
        "layouts/base": "modified",
        "templates/receipt": "added",
        "templates/welcome": "unchanged",
    }
    before = len(postmark.requests)
    pushed = cli("templates", "push", str(folder), "--yes")
    assert pushed.code == 0, pushed.err
    changes = [
        (seen.method, path(seen)) for seen in postmark.requests[before:] if seen.method != "GET"
    ]
    assert changes == [("PUT", "/templates/1"), ("POST", "/templates")]
    assert store.items[1]["HtmlBody"] == "<body>{{{@content}}}</body>"
    assert store.find("receipt")["TextBody"] == "Thanks"  # type: ignore[index]
    assert "pushed 2 template(s)" in pushed.err

    valid = cli("templates", "validate", str(folder), "--format", "jsonl")
    assert valid.code == 0 and all(line["valid"] for line in valid.json_lines())
    (folder / "templates" / "welcome" / "content.html").write_text("{{#broken")
    invalid = cli("templates", "validate", str(folder), "--format", "jsonl")
    assert invalid.code == 1
    broken = [line for line in invalid.json_lines() if not line["valid"]]
    assert broken == [
        {
            "folder": "templates/welcome",
            "alias": "welcome",
            "valid": False,
            "problems": ["line 1: unclosed block"],
        }
    ]


@pytest.mark.parametrize(
    ("meta", "files", "problem"),
    [
        ({"Alias": "a", "Subject": "s"}, {"content.txt": "x"}, "meta.json needs a Name"),
        ({"Name": "A", "Alias": "a"}, {"content.txt": "x"}, "needs a Subject"),
        ({"Name": "A", "Alias": "a", "Subject": "s"}, {}, "needs content.html or content.txt"),
        ({"Name": "A", "Colour": "red"}, {"content.txt": "x"}, "unknown field(s) Colour"),
    ],
)
def test_templates_validate_offline_finds_file_problems(
    cli: Callable[..., Result],
    tmp_path: Path,
    meta: dict[str, Any],
    files: dict[str, str],
    problem: str,
) -> None:
    folder = tmp_path / "templates" / "a"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps(meta))
    for name, text in files.items():
        (folder / name).write_text(text)
    result = cli("templates", "validate", str(tmp_path), "--offline", "--format", "jsonl")
    assert result.code in (1, 2)
    assert problem in result.out + result.err


def test_templates_bad_folders(cli: Callable[..., Result], tmp_path: Path, token: str) -> None:
    assert "is not a directory" in cli("templates", "validate", str(tmp_path / "no")).err
    assert "holds no templates/" in cli("templates", "push", str(tmp_path)).err
    layout = tmp_path / "layouts" / "base"
    layout.mkdir(parents=True)
    (layout / "meta.json").write_text("{broken")
    result = cli("templates", "validate", str(tmp_path), "--offline")
    assert result.code == 2 and "is not valid JSON" in result.err
    (layout / "meta.json").write_text('{"Name": "Base"}')
    (layout / "content.html").write_text("<html></html>")
    result = cli("templates", "push", str(tmp_path), "--yes")
    assert result.code == 2 and "must contain {{{@content}}}" in result.err


def test_templates_list(postmark: Postmark, cli: Callable[..., Result], token: str) -> None:
    store = Templates(postmark)
    store.add(Name="Welcome", Alias="welcome", TemplateType="Standard")
    result = cli("templates", "list", "--type", "Standard", "--format", "csv")
    assert result.out.splitlines()[1] == "1,welcome,Welcome,Standard,"


# ---- serve ---------------------------------------------------------------------------


def test_serve_forwards_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType("pystmark_testing")

    def serve_main(argv: list[str]) -> int:
        seen.append(argv)
        return 7

    fake.serve_main = serve_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pystmark_testing", fake)
    assert pystmark.main(["serve", "--port", "0", "--help"]) == 7
    assert seen == [["--port", "0", "--help"]]

    def interrupted(argv: list[str]) -> int:
        raise KeyboardInterrupt

    fake.serve_main = interrupted  # type: ignore[attr-defined]
    assert pystmark.main(["serve"]) == 130


def test_serve_without_the_testing_module(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pystmark_testing", None)  # import fails
    assert pystmark.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pystmark: serve needs the pystmark_testing module")
    assert len(err.splitlines()) == 1


# ---- packaging: the console script, python -m, the README, import cost -------------------


def clean_env(server: LocalServer) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("POSTMARK_") and key != "PYTHONPATH"
    }
    env["POSTMARK_API_URL"] = server.url
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_python_m_pystmark_send(local_server: LocalServer) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pystmark",
            "send",
            "--from",
            "me@example.com",
            "--to",
            "you@example.com",
            "--subject",
            "Hello",
            "--text",
            "Hello from pystmark",
            "--test",
        ],
        env=clean_env(local_server),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "message_id" in completed.stdout and completed.stderr == ""
    (seen,) = local_server.requests
    assert seen.headers["X-Postmark-Server-Token"] == "POSTMARK_API_TEST"
    assert json.loads(seen.body)["Subject"] == "Hello"


def test_importing_pystmark_loads_no_command_line_modules() -> None:
    code = "import sys, pystmark; print(sorted(m for m in ('argparse',) if m in sys.modules))"
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert completed.stdout.strip() == "[]"


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
    completed = subprocess.run(
        send_part.replace(".venv/bin/python", sys.executable, 1),
        shell=True,
        env=clean_env(local_server),
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
    assert project["project"]["scripts"] == {"pystmark": "pystmark:main"}
    assert "test" in project["project"]["optional-dependencies"]
    assert project["tool"]["setuptools"]["py-modules"] == ["pystmark", "pystmark_testing"]
    assert project["project"]["entry-points"]["pytest11"] == {"pystmark": "pystmark_testing"}
    assert "--cov-fail-under=95" in project["tool"]["pytest"]["ini_options"]["addopts"]
    for name in ("setup.py", "README.rst", "LICENSE", "CHANGELOG.rst", "docs/index.rst"):
        assert (ROOT / name).is_file(), name
    assert "MIT" in (ROOT / "LICENSE").read_text()


# ---- terminal progress, settings, and other paths ---------------------------------------


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_only(
    postmark: Postmark, cli: Callable[..., Result], token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    postmark.on("GET", "/bounces", bounce_pages(700))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    result = cli("bounces", "list", "--all", "--format", "jsonl")
    assert result.code == 0 and len(result.json_lines()) == 700
    progress = terminal.getvalue()
    assert re.search(r"\r[\d,]+ items, [\d,]+ requests, [\d,]+/s", progress)
    assert progress.endswith("\r\x1b[K")  # cleared at the end
    assert "items" not in result.out
    # Not a terminal: no progress line at all.
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cli("bounces", "list", "--all", "--format", "jsonl").err == ""
    # The data on the same terminal: no progress line either.
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setattr(sys, "stdout", screen)
    assert pystmark.main(["bounces", "list", "--all", "--format", "jsonl"]) == 0
    assert "requests," not in screen.getvalue()


def test_progress_and_notices_share_the_terminal(
    postmark: Postmark, cli: Callable[..., Result], token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    postmark.on("GET", "/bounces", bounce_pages(150))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli("bounces", "list").code == 0
    assert "\r\x1b[Kpystmark: showing the first 100" in terminal.getvalue()


def test_deadline_and_retries_options(stalling: Stalling, cli: Callable[..., Result]) -> None:
    result = cli("bounces", "list", "--deadline", "0.3", "--max-retries", "0")
    assert result.code == 1 and "deadline" in result.err
    assert len(stalling.requests) == 1
    bad = cli("bounces", "list", "--timeout", "1,2,3")
    assert bad.code == 2 and "not a timeout: '1,2,3'" in bad.err


def test_connect_and_read_timeouts(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on("GET", "/bounces", {"TotalCount": 0, "Bounces": []})
    assert cli("bounces", "list", "--timeout", "2,5").code == 0


def test_unknown_fields_are_refused(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on("GET", "/bounces", bounce_pages(2))
    postmark.on("GET", "/bounces/5", bounce(5))
    result = cli("bounces", "list", "--fields", "id,colour", "--format", "csv")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("pystmark: --fields: unknown field(s) colour; the fields are id,")
    assert cli("bounces", "get", "5", "--fields", "nope").code == 2
    chosen = cli("bounces", "get", "5", "--fields", "email,id", "--format", "jsonl")
    assert chosen.json_lines() == [{"email": "user5@example.com", "id": 5}]
    listed = cli("bounces", "list", "--fields", "email", "--format", "json")
    assert json.loads(listed.out) == [
        {"email": "user2@example.com"},
        {"email": "user1@example.com"},
    ]
    row = cli("bounces", "get", "5", "--fields", "id,email", "--format", "csv")
    assert row.out.splitlines() == ["id,email", "5,user5@example.com"]


def test_send_attachment_from_stdin_and_csv_result(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    result = cli(*SEND, "--text", "x", "--attach", "-", "--format", "csv", stdin="data")
    assert result.code == 0
    assert result.out.splitlines()[0] == "error_code,message,message_id,submitted_at,to"
    (attachment,) = json.loads(postmark.requests[0].body)["Attachments"]
    assert base64.b64decode(attachment["Content"]) == b"data"


def test_send_batch_from_stdin_and_bad_resume_file(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    postmark.on("POST", "/email/batch", batch_answer())
    line = json.dumps({"From": "me@example.com", "To": "a@example.com", "TextBody": "x"})
    result = cli("send-batch", "-", stdin=line + "\n")
    assert result.code == 0 and result.json_lines()[0]["status"] == "sent"
    resume = tmp_path / "results.jsonl"
    resume.write_text("not json\n")
    bad = cli("send-batch", "-", "--resume", str(resume), stdin=line + "\n")
    assert bad.code == 2 and "line 1 is not a send-batch result" in bad.err
    missing = cli("send-batch", "-", "--resume", str(tmp_path / "none.jsonl"), stdin=line)
    assert missing.code == 2 and "--resume: cannot read" in missing.err


def test_templates_push_asks_on_a_terminal(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store = Templates(postmark)
    folder = tmp_path / "templates" / "welcome"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps({"Name": "Welcome", "Subject": "Hi"}))
    (folder / "content.txt").write_text("Hello")

    class Keyboard(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    def answer(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", Keyboard(io.BytesIO(text.encode()), encoding="utf-8"))

    answer("n\n")
    declined = pystmark.main(["templates", "push", str(tmp_path)])
    assert declined == 0 and store.items == {}
    answer("y\n")
    assert pystmark.main(["templates", "push", str(tmp_path)]) == 0
    assert store.items[1]["Name"] == "Welcome" and store.items[1].get("Alias") is None


def test_templates_push_refuses_a_type_change_and_removes_a_layout(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    store = Templates(postmark)
    store.add(Name="Base", Alias="base", TemplateType="Layout", HtmlBody="{{{@content}}}")
    store.add(Name="Mail", Alias="mail", TemplateType="Standard", Subject="S",
              TextBody="x", HtmlBody="<p>old</p>", LayoutTemplate="base")  # fmt: skip
    folder = tmp_path / "templates" / "mail"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps({"Name": "Mail", "Alias": "mail", "Subject": "S"}))
    (folder / "content.txt").write_text("x")
    result = cli("templates", "push", str(tmp_path), "--yes", "--format", "jsonl")
    assert result.code == 0 and result.json_lines()[0]["action"] == "modified"
    assert store.items[2]["LayoutTemplate"] == ""  # the layout was removed
    assert store.items[2]["HtmlBody"] == ""  # and the HTML body the folder no longer has
    wrong = tmp_path / "templates" / "base"
    wrong.mkdir()
    (wrong / "meta.json").write_text(json.dumps({"Name": "Base", "Alias": "base", "Subject": "S"}))
    (wrong / "content.txt").write_text("x")
    refused = cli("templates", "push", str(tmp_path), "--yes")
    assert refused.code == 2
    assert "templates/base: is a Standard here but a Layout on the server" in refused.err


def test_templates_pull_replaces_files_and_refuses_odd_names(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    store = Templates(postmark)
    store.add(Name="No alias", Alias=None, TemplateType="Standard", Subject="S", HtmlBody="<b>")
    stale = tmp_path / "templates" / "1"
    stale.mkdir(parents=True)
    (stale / "content.txt").write_text("old text")
    assert cli("templates", "pull", str(tmp_path)).code == 0
    assert not (stale / "content.txt").exists() and (stale / "content.html").read_text() == "<b>"
    store.add(Name="Odd", Alias="..", TemplateType="Standard", Subject="S", TextBody="x")
    odd = cli("templates", "pull", str(tmp_path))
    assert odd.code == 2 and "cannot use '..' as a folder" in odd.err


def test_templates_validate_reports_bad_alias(cli: Callable[..., Result], tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "a"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps({"Name": "A", "Alias": 5, "Subject": "s"}))
    (folder / "content.txt").write_text("x")
    result = cli("templates", "validate", str(tmp_path), "--offline", "--format", "jsonl")
    assert result.code == 1 and result.json_lines()[0]["problems"] == ["Alias must be a string"]
    (folder / "meta.json").write_text("[]")
    assert "must hold a JSON object" in cli("templates", "validate", str(tmp_path)).err


def test_streams_list_shows_triggers_as_json_in_a_table(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    postmark.on("GET", "/webhooks", {"Webhooks": [
        {"ID": 7, "Url": "https://example.com/hook", "MessageStream": "outbound",
         "Triggers": {"Bounce": {"Enabled": True, "IncludeContent": False}}}]})  # fmt: skip
    table = cli("webhooks", "list").out
    assert '{"bounces": {"enabled": true, "include_content": false}}' in table


def test_more_bad_input(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    result = cli(*SEND, "--text-file", str(tmp_path / "latin1.txt"))
    assert result.code == 2 and "--text-file: cannot read" in result.err
    assert "can't decode byte 0xe9" in result.err
    result = cli("bounces", "list", "--timeout", "soon")
    assert result.code == 2 and "not a timeout: 'soon'" in result.err
    assert postmark.requests == []


def test_send_eml_with_a_text_part_only(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    raw = b"From: me@example.com\r\nTo: a@example.com\r\nSubject: Plain\r\n\r\nJust text\r\n"
    (tmp_path / "plain.eml").write_bytes(raw)
    assert cli("send", "--eml", str(tmp_path / "plain.eml")).code == 0
    body = json.loads(postmark.requests[0].body)
    assert body["TextBody"].strip() == "Just text" and "HtmlBody" not in body


def test_send_batch_partly_sent_then_stopped(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    answers = iter([batch_answer(), lambda seen: (401, {"ErrorCode": 10, "Message": "Bad"})])
    postmark.on("POST", "/email/batch", lambda seen: next(answers)(seen))
    message = {"From": "me@example.com", "To": "a@example.com", "TextBody": "x"}
    result = cli("send-batch", str(write_jsonl(tmp_path / "m.jsonl", *[message] * 502)))
    assert result.code == 3
    statuses = [line["status"] for line in result.json_lines()]
    assert statuses == ["sent"] * 500 + ["unsent"] * 2


def test_a_file_that_cannot_be_written_is_one_line(
    postmark: Postmark, cli: Callable[..., Result], token: str, tmp_path: Path
) -> None:
    store = Templates(postmark)
    store.add(Name="Welcome", Alias="welcome", TemplateType="Standard", Subject="S", TextBody="x")
    (tmp_path / "file").write_text("not a folder")
    result = cli("templates", "pull", str(tmp_path / "file"))
    assert result.code == 1
    assert result.err.startswith("pystmark: templates pull: [Errno ")
    assert len(result.err.splitlines()) == 1


def test_verbose_logs_requests_and_retries(
    postmark: Postmark, cli: Callable[..., Result], token: str
) -> None:
    answers = iter([(503, {"ErrorCode": 100, "Message": "Maintenance"})])
    postmark.on(
        "GET", "/bounces", lambda seen: next(answers, (200, {"TotalCount": 0, "Bounces": []}))
    )
    result = cli("bounces", "list", "--verbose")
    assert result.code == 0
    lines = result.err.splitlines()
    assert lines[0].startswith("pystmark: GET /bounces failed: [ErrorCode 100] Maintenance")
    assert lines[0].endswith("(attempt 1)")
    assert lines[1].startswith("pystmark: GET /bounces -> 200 (attempt 2,")
    assert TOKEN not in result.err
    quiet = cli("bounces", "list")
    assert quiet.err == ""  # the log handler is gone again


def test_template_type_must_match_its_folder(cli: Callable[..., Result], tmp_path: Path) -> None:
    folder = tmp_path / "layouts" / "base"
    folder.mkdir(parents=True)
    meta = {"Name": "Base", "TemplateType": "Standard"}
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "content.html").write_text("{{{@content}}}")
    result = cli("templates", "validate", str(tmp_path), "--offline", "--format", "jsonl")
    assert result.code == 1
    assert result.json_lines()[0]["problems"] == [
        "TemplateType is 'Standard', but the folder holds Layout templates"
    ]


def test_the_console_script(local_server: LocalServer) -> None:
    script = Path(sys.executable).parent / "pystmark"
    if not script.exists():
        pytest.skip("the package is not installed in this interpreter's environment")
    completed = subprocess.run(
        [str(script), "send", "--from", "me@example.com", "--to", "you@example.com",
         "--subject", "Hi", "--text", "Hello", "--format", "json", "--test"],
        env=clean_env(local_server), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["error_code"] == 0


def test_reading_stdin_on_a_terminal_says_so(
    postmark: Postmark, capsys: pytest.CaptureFixture[str], token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    class Keyboard(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Keyboard(io.BytesIO(b"typed text"), encoding="utf-8"))
    assert pystmark.main([*SEND, "--text-file", "-"]) == 0
    err = capsys.readouterr().err
    assert err == "pystmark: --text-file: reading standard input (end with Ctrl-D)\n"
    assert json.loads(postmark.requests[0].body)["TextBody"] == "typed text"


def test_serve_runs_the_real_local_postmark_help(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pystmark_testing")
    assert pystmark.main(["serve", "--help"]) == 0
    assert "usage: python -m pystmark serve" in capsys.readouterr().out
    assert pystmark.main(["serve", "--no-such-option"]) == 2


def test_against_the_local_postmark(cli: Callable[..., Result], tmp_path: Path) -> None:
    testing = pytest.importorskip("pystmark_testing")
    with testing.LocalPostmark() as postmark:
        connection = ["--base-url", postmark.url, "--server-token", postmark.server_token]
        sent = cli(*SEND, "--subject", "Round trip", "--text", "Hello", *connection)
        assert sent.code == 0, sent.err
        found = cli("messages", "outbound", "--format", "jsonl", *connection)
        assert found.code == 0, found.err
        (message,) = found.json_lines()
        assert message["subject"] == "Round trip"
        details = cli("messages", "details", message["message_id"], "--format", "json", *connection)
        assert json.loads(details.out)["text_body"] == "Hello"
        wrong = cli("bounces", "list", "--server-token", "not-a-token", "--base-url", postmark.url)
        assert wrong.code == 1 and "HTTP 401" in wrong.err
