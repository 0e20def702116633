"""A local Postmark-compatible HTTPS server for the benchmarks.

Run as ``python -m benchmarks.server --cert-dir DIR [--latency 0.03]``: it
writes a fresh CA (``ca.pem``) and server certificate into DIR, listens on
127.0.0.1 (HTTP/1.1, keep-alive, one thread per connection) and prints
``READY <port>``. It enforces Postmark's limits: 500 messages per batch,
500 items per page, ``count + offset <= 10,000``; it holds 25,000 synthetic
bounces, newest first, filtered by ``fromdate``/``todate``. As Postmark does,
it writes timestamps in US Eastern time with their offset and reads the
filters' dates as Eastern time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import ssl
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOUNCE_COUNT = 25_000
MAX_PAGE = 500
MAX_OFFSET = 10_000
MAX_BATCH = 500
NEWEST = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
STEP = timedelta(minutes=1)
#: US Eastern standard time: 25,000 minutes before NEWEST is still in winter
#: (daylight saving time ended on 2025-11-02 and starts on 2026-03-08).
EASTERN = timezone(timedelta(hours=-5), "EST")


def make_bounces(count: int = BOUNCE_COUNT) -> list[tuple[datetime, dict[str, Any]]]:
    """Synthetic bounces, newest first, one minute apart (distinct seconds)."""
    bounces = []
    for index in range(count):
        when = NEWEST - index * STEP
        bounce_id = 10_000_000 + count - index
        bounces.append(
            (
                when,
                {
                    "ID": bounce_id,
                    "Type": "HardBounce",
                    "TypeCode": 1,
                    "Name": "Hard bounce",
                    "Tag": "bench",
                    "MessageID": f"00000000-0000-0000-0000-{bounce_id:012d}",
                    "ServerID": 1,
                    "MessageStream": "outbound",
                    "Description": "The server was unable to deliver your message.",
                    "Details": "smtp;550 5.1.1 user unknown",
                    "Email": f"user{bounce_id}@example.com",
                    "From": "sender@example.com",
                    "BouncedAt": when.astimezone(EASTERN).strftime(
                        "%Y-%m-%dT%H:%M:%S.0000000-05:00"
                    ),
                    "DumpAvailable": True,
                    "Inactive": True,
                    "CanActivate": True,
                    "Subject": "Hello",
                },
            )
        )
    return bounces


def parse_bound(text: str, upper: bool) -> datetime:
    """A fromdate/todate value in Eastern time: a date (whole day) or a datetime (whole second)."""
    text = text.strip()
    if len(text) == 10:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=EASTERN)
        return day + timedelta(days=1) - timedelta(microseconds=1) if upper else day
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=EASTERN)
    when = when.replace(microsecond=0)
    return when + timedelta(seconds=1) - timedelta(microseconds=1) if upper else when


class Handler(BaseHTTPRequestHandler):
    """Postmark's send and bounce endpoints, enough for the workloads."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between writes
    server: BenchServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        if self.server.latency:
            time.sleep(self.server.latency)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n" + body)  # headers and body in one write
        self.flush_headers()

    def _authorised(self) -> bool:
        if not self.headers.get("X-Postmark-Server-Token"):
            self._answer(401, {"ErrorCode": 10, "Message": "No token"})
            return False
        return True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self._authorised():
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._answer(422, {"ErrorCode": 402, "Message": "Invalid JSON"})
            return
        path = urlsplit(self.path).path
        if path == "/email":
            self._answer(200, self._result(body))
        elif path == "/email/batch":
            if not isinstance(body, list) or len(body) > MAX_BATCH:
                self._answer(422, {"ErrorCode": 300, "Message": "Too many messages"})
                return
            self._answer(200, [self._result(item) for item in body])
        else:
            self._answer(404, {"ErrorCode": 0, "Message": "Not found"})

    @staticmethod
    def _result(message: Any) -> dict[str, Any]:
        return {
            "To": message.get("To", "") if isinstance(message, dict) else "",
            "SubmittedAt": "2026-03-01T12:00:00.0000000Z",
            "MessageID": str(uuid.uuid4()),
            "ErrorCode": 0,
            "Message": "OK",
        }

    def do_GET(self) -> None:
        if not self._authorised():
            return
        parts = urlsplit(self.path)
        if parts.path.rstrip("/") != "/bounces":  # postmarker asks for /bounces/
            self._answer(404, {"ErrorCode": 0, "Message": "Not found"})
            return
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        try:
            count, offset = int(query["count"]), int(query["offset"])
        except (KeyError, ValueError):
            self._answer(422, {"ErrorCode": 605, "Message": "count and offset are required"})
            return
        if not 0 < count <= MAX_PAGE or offset < 0 or count + offset > MAX_OFFSET:
            self._answer(422, {"ErrorCode": 605, "Message": "count/offset out of range"})
            return
        bounces = self.server.bounces
        if "todate" in query or "fromdate" in query:
            upper = parse_bound(query["todate"], True) if "todate" in query else None
            lower = parse_bound(query["fromdate"], False) if "fromdate" in query else None
            bounces = [
                item
                for item in bounces
                if (upper is None or item[0] <= upper) and (lower is None or item[0] >= lower)
            ]
        page = [raw for _, raw in bounces[offset : offset + count]]
        self._answer(200, {"TotalCount": len(bounces), "Bounces": page})


class BenchServer(ThreadingHTTPServer):
    """The threaded server, holding the bounces and the added latency."""

    daemon_threads = True
    bounces: list[tuple[datetime, dict[str, Any]]]
    latency: float


def main(argv: list[str] | None = None) -> int:
    """Serve until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert-dir", required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--bounces", type=int, default=BOUNCE_COUNT)
    args = parser.parse_args(argv)
    import trustme

    cert_dir = Path(args.cert_dir)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(cert_dir / "ca.pem"))
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    server = BenchServer(("127.0.0.1", 0), Handler)
    server.bounces = make_bounces(args.bounces)
    server.latency = args.latency
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    print(f"READY {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
