"""The local Postmark under a test suite's load: many sends, many bounce reads.

``python -m benchmarks.emulator`` (from the project root) starts one
:class:`pystmark_testing.LocalPostmark`, sends ``--sends`` messages through
pystmark (each to a bounce-testing address, so each also makes a bounce), then
reads ``--reads`` bounces one by one and pages through all of them. It prints
the time of each tenth of the sends and of the reads (a slowdown shows as later
tenths taking longer), the process's memory after each tenth of the sends, and
what one stored message takes (traced with tracemalloc over a smaller run,
then what is left after ``reset()``). A benchmark, not a test: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Sequence
from typing import Any

import pystmark
from pystmark_testing import LocalPostmark


def _tenths(total: int) -> list[int]:
    step = max(total // 10, 1)
    return [min(step, total - start) for start in range(0, total, step)]


def _rss_mib() -> float:
    """The process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


MESSAGE = {
    "sender": "me@example.com",
    "to": "softbounce@bounce-testing.postmarkapp.com",
    "subject": "Benchmark",
    "text": "Hello " * 40,
    "tag": "bench",
}


def run(sends: int, reads: int) -> dict[str, Any]:
    """Run the workload; the figures as a dict."""
    figures: dict[str, Any] = {"sends": sends, "reads": reads}
    with LocalPostmark() as postmark:
        pystmark.configure(base_url=postmark.url, api_key=postmark.server_token)
        try:
            pystmark.send(MESSAGE)  # warm up: imports, the pooled connection
            postmark.reset()
            gc.collect()
            rss = [_rss_mib()]
            send_times = []
            for chunk in _tenths(sends):
                start = time.perf_counter()
                for _ in range(chunk):
                    pystmark.send(MESSAGE)
                send_times.append((time.perf_counter() - start) / chunk * 1000)
                rss.append(_rss_mib())
            ids = [bounce["ID"] for bounce in postmark.bounces]
            read_times = []
            done = 0
            for chunk in _tenths(reads):
                start = time.perf_counter()
                for index in range(done, done + chunk):
                    pystmark.get_bounce(ids[index % len(ids)])
                done += chunk
                read_times.append((time.perf_counter() - start) / chunk * 1000)
            start = time.perf_counter()
            listed = sum(1 for _ in pystmark.iter_bounces())
            iterate_seconds = time.perf_counter() - start
            start = time.perf_counter()
            pystmark.get_bounces(count=500, offset=max(min(sends, 10_000) - 500, 0))
            last_page_ms = (time.perf_counter() - start) * 1000
            # What one message and its bounce keep: traced over a smaller run.
            postmark.reset()
            gc.collect()
            traced = min(sends, 1000)
            tracemalloc.start()
            baseline = tracemalloc.get_traced_memory()[0]
            for _ in range(traced):
                pystmark.send(MESSAGE)
            gc.collect()
            stored = tracemalloc.get_traced_memory()[0] - baseline
            postmark.reset()
            gc.collect()
            after_reset = tracemalloc.get_traced_memory()[0] - baseline
            tracemalloc.stop()
        finally:
            pystmark.configure(base_url=None, api_key=None)
            pystmark.close()
    figures.update(
        send_ms_by_tenth=[round(value, 3) for value in send_times],
        read_ms_by_tenth=[round(value, 3) for value in read_times],
        rss_mib_by_tenth=[round(value, 1) for value in rss],
        bounces_listed=listed,
        iter_bounces_seconds=round(iterate_seconds, 3),
        last_page_ms=round(last_page_ms, 2),
        stored_bytes_per_message=round(stored / max(traced, 1)),
        after_reset_kib=round(after_reset / 1024, 1),
    )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator", description=__doc__)
    parser.add_argument("--sends", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args(argv)
    figures = run(arguments.sends, arguments.reads)
    if arguments.json:
        print(json.dumps(figures))
        return 0
    print(f"{figures['sends']} sends, ms per send by tenth: {figures['send_ms_by_tenth']}")
    print(f"{figures['reads']} bounce reads, ms per read by tenth: {figures['read_ms_by_tenth']}")
    print(
        f"iter_bounces: {figures['bounces_listed']} bounces in "
        f"{figures['iter_bounces_seconds']} s; last page: {figures['last_page_ms']} ms"
    )
    print(f"RSS (MiB) before the sends and after each tenth: {figures['rss_mib_by_tenth']}")
    print(
        f"stored per message and its bounce: {figures['stored_bytes_per_message']} bytes "
        f"(traced); left after reset(): {figures['after_reset_kib']} KiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
