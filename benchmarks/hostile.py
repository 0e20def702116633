"""Memory under hostile input: answers over the size limit, and webhook bodies.

``python -m benchmarks.hostile`` from the project root. Each case runs in a
fresh process against a raw server on 127.0.0.1 (a thread of this process,
so its memory is not counted). The worker reads its input first (a webhook
body from a file), then measures one call: the extra peak RSS (the process's
high-water mark minus its RSS just before the call) and, in a second
process, the peak of Python allocations during the call (``tracemalloc``).
The table goes to ``docs/benchmarks_hostile.inc``.

Answers: a gzip bomb (1 GiB of zeros in about 1 MiB of gzip), a 512 MiB
body without a length (streamed until the client stops), a body announcing
512 MiB, and a JSON answer just under the limit (which is read and decoded).
Webhooks, 10 MB each: an inbound mail's text body (ASCII, Latin/CJK text,
and ASCII with an emoji every 1,000 characters), and the hostile shapes
``[[],[],...]`` and ``[1,1,...]``.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import socket
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks_hostile.inc"
MIB = 1024 * 1024
WEBHOOK_BYTES = 10 * 1000 * 1000

ANSWER_CASES = {
    "gzip_bomb": "gzip bomb: 1 GiB of zeros as gzip",
    "stream": "512 MiB body, no Content-Length",
    "announced": "Content-Length: 512 MiB",
    "under_limit": "JSON answer of limit - 1 MiB (read and decoded)",
}
WEBHOOK_CASES = {
    "inbound_ascii": "inbound mail, 10 MB ASCII text body",
    "inbound_text": "inbound mail, 10 MB Latin and CJK text body",
    "inbound_astral": "inbound mail, 10 MB ASCII text with an emoji every 1,000 characters",
    "empty_lists": "10 MB of ``[[],[],...]``",
    "ones": "10 MB of ``[1,1,...]``",
}


# ---- the server (a thread of the parent) ----------------------------------------------


def _gzip_bomb() -> bytes:
    member = gzip.compress(b"\0" * MIB, compresslevel=9)
    return member * 1024  # gzip members concatenated decode to the concatenation


def _answer(case: str, limit: int, conn: socket.socket, bomb: bytes) -> None:
    conn.recv(65536)  # the request (small: a GET)
    if case == "gzip_bomb":
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n"
        conn.sendall(head.encode() + b"Connection: close\r\n\r\n")
        conn.sendall(bomb)
    elif case == "stream":
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        chunk = b"x" * (64 * 1024)
        for _ in range(512 * MIB // len(chunk)):
            conn.sendall(chunk)
    elif case == "announced":
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {512 * MIB}\r\n\r\n".encode())
        conn.sendall(b"x" * MIB)
    else:
        body = json.dumps({"Name": "x" * (limit - MIB)}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode() + body)


def serve(case: str, limit: int) -> tuple[socket.socket, str]:
    """A listener answering every connection with ``case``; its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    bomb = _gzip_bomb() if case == "gzip_bomb" else b""

    def run() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                _answer(case, limit, conn, bomb)
            except OSError:
                pass  # the client stopped reading
            finally:
                conn.close()

    threading.Thread(target=run, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


# ---- webhook bodies ---------------------------------------------------------------------


def webhook_body(case: str) -> bytes:
    inbound = {"From": "a@example.com", "FromFull": {"Email": "a@example.com"}, "Subject": "s"}
    if case == "inbound_ascii":
        text = "All work and no play. " * (WEBHOOK_BYTES // 22)
        return json.dumps({**inbound, "TextBody": text}).encode()[:WEBHOOK_BYTES] + b'"}'
    if case == "inbound_text":
        text = "Grüße, 你好. " * (WEBHOOK_BYTES // 19)
        body = json.dumps({**inbound, "TextBody": text}, ensure_ascii=False).encode()
        return body
    if case == "inbound_astral":  # one astral character makes the whole str 4 bytes a character
        text = ("a" * 999 + "\U0001f600") * (WEBHOOK_BYTES // 1003)
        return json.dumps({**inbound, "TextBody": text}, ensure_ascii=False).encode()
    if case == "empty_lists":
        return b"[" + b"[]," * (WEBHOOK_BYTES // 3 - 1) + b"[]]"
    return b"[" + b"1," * (WEBHOOK_BYTES // 2 - 1) + b"1]"


# ---- the worker --------------------------------------------------------------------------


def _status(field: str) -> int:
    """A size from ``/proc/self/status`` in bytes (``VmRSS``, ``VmHWM``).

    ``VmHWM`` is this process's own high-water mark (``ru_maxrss`` would
    include the parent's RSS at the fork).
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def worker(case: str, arg: str, limit: int, traced: bool) -> dict[str, Any]:
    import pystmark

    body = Path(arg).read_bytes() if case in WEBHOOK_CASES else b""
    gc.collect()
    before = _status("VmRSS")
    if traced:
        tracemalloc.start()
    outcome = "ok"
    try:
        if case in WEBHOOK_CASES:
            pystmark.parse_webhook(body)
        else:
            pystmark.get_server(
                api_key="k", base_url=arg, max_response_bytes=limit, timeout=30, deadline=120
            )
    except pystmark.PystmarkError as error:
        outcome = type(error).__name__
    result: dict[str, Any] = {"outcome": outcome, "input": len(body)}
    if traced:
        result["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        result["rss_peak"] = _status("VmHWM") - before
    return result


def run_case(case: str, limit: int, scratch: Path) -> dict[str, Any]:
    listener = None
    if case in WEBHOOK_CASES:
        path = scratch / f"{case}.json"
        path.write_bytes(webhook_body(case))
        arg = str(path)
    else:
        listener, arg = serve(case, limit)
    results: dict[str, Any] = {}
    try:
        for traced in (False, True):
            argv = [sys.executable, "-m", "benchmarks.hostile", "--worker", case, arg]
            argv += ["--limit", str(limit)] + (["--traced"] if traced else [])
            output = subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, text=True)
            results.update(json.loads(output.stdout))
    finally:
        if listener is not None:
            listener.close()
    return results


def table(rows: list[tuple[str, dict[str, Any]]], limit: int) -> str:
    lines = [
        f"Limit (``max_response_bytes``): {limit / MIB:.0f} MiB; webhook bodies: 10 MB.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - Input",
        "     - Outcome",
        "     - Extra peak RSS",
        "     - Peak Python allocations",
        "     - Allocations / body size",
    ]
    for title, result in rows:
        ratio = (
            f"{result['traced_peak'] / result['input']:.2f}x" if result["input"] else "(answers)"
        )
        lines += [
            f"   * - {title}",
            f"     - {result['outcome']}",
            f"     - {result['rss_peak'] / MIB:.1f} MiB",
            f"     - {result['traced_peak'] / MIB:.1f} MiB",
            f"     - {ratio}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=64 * MIB, help="max_response_bytes")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--only", nargs="*", help="run only these cases")
    parser.add_argument("--worker", nargs=2, metavar=("CASE", "ARG"), help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.limit, args.traced)))
        return 0
    cases = {**ANSWER_CASES, **WEBHOOK_CASES}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for case, title in cases.items():
            if args.only and case not in args.only:
                continue
            result = run_case(case, args.limit, Path(scratch))
            rows.append((title, result))
            print(f"{title}: {result}", flush=True)
    args.output.write_text(table(rows, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
