"""32 threads x 50 sends through the simple API against one local server."""

from __future__ import annotations

import gc
import json
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import pystmark
from tests import faults
from tests.faults import RawServer

pytestmark = pytest.mark.timeout(60)

THREADS, SENDS = 32, 50


class EchoServer(RawServer):
    """Keeps connections alive; each answer's MessageID echoes the sent body."""

    def __init__(self) -> None:
        self.open = 0
        super().__init__(self.serve, max_connections=4 * THREADS)

    @staticmethod
    def serve(server: RawServer, conn: socket.socket) -> None:
        assert isinstance(server, EchoServer)
        with server._lock:
            server.open += 1
        try:
            while (request := server.read(conn)) is not None:
                sent = json.loads(request.body)
                answer = {
                    "ErrorCode": 0,
                    "Message": "OK",
                    "MessageID": sent["TextBody"],
                    "To": sent["To"],
                }
                conn.sendall(faults.reply(200, json.dumps(answer).encode(), keep_alive=True))
        finally:
            with server._lock:
                server.open -= 1


@pytest.fixture
def server() -> Iterator[EchoServer]:
    with EchoServer() as echo:
        yield echo


def client_sockets(port: int) -> int:
    """Open sockets of this process connected to ``port`` (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[9] in inodes:
                    count += 1
    return count


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="needs /proc")
def test_concurrent_sends_match_their_answers_and_close_every_socket(
    server: EchoServer,
) -> None:
    pystmark.close()
    options = {"api_key": "tok", "base_url": server.url}
    mismatches: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS + 1)

    def worker(number: int) -> None:
        try:
            for index in range(SENDS):
                text = f"thread-{number}-message-{index}"
                to = f"user{number}.{index}@example.com"
                response = pystmark.send(
                    {"sender": "a@example.com", "to": to, "text": text}, **options
                )
                if (response.message_id, response.to) != (text, to):
                    mismatches.append(text)
        except BaseException as error:
            errors.append(error)
        finally:
            barrier.wait()  # keep the thread (and its session) alive until counted
            barrier.wait()

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    try:
        assert errors == []
        assert mismatches == []
        assert len(server.requests) == THREADS * SENDS
        # One kept-alive connection per thread's session, no more.
        assert server.accepted <= THREADS
        assert 0 < client_sockets(server.port) <= THREADS
        watchdogs = [t for t in threading.enumerate() if t.name == "pystmark-deadline"]
        assert len(watchdogs) == 1  # one watchdog, not a thread per request
    finally:
        barrier.wait()
        for thread in threads:
            thread.join()
    pystmark.close()
    gc.collect()
    assert client_sockets(server.port) == 0
    for _ in range(100):  # the server sees every connection closed
        if server.open == 0:
            break
        time.sleep(0.01)
    assert server.open == 0
