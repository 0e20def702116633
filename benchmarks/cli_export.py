"""Exporting bounces with the command line, against ``iter_bounces`` alone.

``python -m benchmarks.cli_export`` from the project root. Against the
benchmark server (``benchmarks/server.py``, 25,000 bounces), each round runs,
each in a fresh process:

* ``cli``: ``python -m pystmark bounces list --all --format jsonl`` into a file;
* ``cli_small``: the same with ``--max 1000``: memory that stays flat does not
  grow with the number of bounces;
* ``library``: a loop over ``pystmark.iter_bounces()`` that touches one field.

Each process reports its peak RSS (VmHWM) at exit; the parent takes its CPU
from ``os.wait4`` and times it from start to exit (interpreter start and
imports included, the same for all).
The medians go into ``docs/benchmarks_cli.inc``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks_cli.inc"

# Peak RSS is read from the process's own VmHWM at exit: ru_maxrss from
# os.wait4 would include the parent's memory at fork time.
REPORT_PEAK = """
import atexit, sys

def _report_peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write(line)

atexit.register(_report_peak)
"""
RUN_CLI = (
    REPORT_PEAK
    + """
import runpy
sys.argv = sys.argv[1:]
runpy.run_module("pystmark", run_name="__main__", alter_sys=True)
"""
)
LIBRARY_LOOP = (
    REPORT_PEAK
    + """
import os, pystmark
total = 0
for bounce in pystmark.iter_bounces(max_results=int(os.environ["BENCH_SIZE"])):
    total += bounce.id is not None
print(total)
"""
)


def commands(size: int) -> dict[str, list[str]]:
    """The command of each workload."""
    cli = [sys.executable, "-c", RUN_CLI, "pystmark", "bounces", "list", "--format", "jsonl"]
    return {
        "cli": [*cli, "--quiet", "--all"],
        "cli_small": [*cli, "--quiet", "--max", "1000"],
        "library": [sys.executable, "-c", LIBRARY_LOOP],
    }


def run_one(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one process; its items, wall time, CPU and peak RSS.

    The items are the lines written (the library loop writes one: its count).
    """
    with tempfile.TemporaryFile("w+b") as output, tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        errors.seek(0)
        error_text = errors.read()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{argv[4:8]} failed: {error_text[-300:]}")
        output.seek(0)
        lines = output.read().splitlines()
    peak_kib = int(error_text.split("VmHWM:")[1].split()[0])
    return {
        "items": len(lines) if len(lines) != 1 else int(lines[0]),
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_rss": peak_kib * 1024,
    }


def measure(rounds: int, size: int) -> dict[str, list[dict[str, Any]]]:
    """Every workload, ``rounds`` times, alternating the order."""
    from benchmarks.run import byte_compile, server

    byte_compile()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in commands(size)}
    with tempfile.TemporaryDirectory() as cert_dir, server(cert_dir, 0.0, size) as url:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "POSTMARK_API_URL": url,
            "POSTMARK_SERVER_TOKEN": "bench-token",
            "REQUESTS_CA_BUNDLE": os.path.join(cert_dir, "ca.pem"),
            "BENCH_SIZE": str(size),
        }
        names = list(runs)
        for round_index in range(rounds):
            for name in names if round_index % 2 == 0 else names[::-1]:
                runs[name].append(run_one(commands(size)[name], env))
    return runs


def table(runs: dict[str, list[dict[str, Any]]], size: int, rounds: int) -> str:
    """The results as an RST table."""
    titles = {
        "cli": "``pystmark bounces list --all --format jsonl``",
        "cli_small": "``pystmark bounces list --max 1000 --format jsonl``",
        "library": "``iter_bounces()`` alone (one field read)",
    }
    rows = []
    for name, results in runs.items():
        median = {key: statistics.median(r[key] for r in results) for key in results[0]}
        rows.append(
            (
                titles[name],
                f"{median['items']:,.0f}",
                f"{median['wall']:.2f} s",
                f"{median['cpu']:.2f} s",
                f"{median['peak_rss'] / 1024 / 1024:.1f} MiB",
            )
        )
    header = ("Workload", "Bounces", "Wall time", "CPU", "Peak RSS")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)
    lines = [f"Medians of {rounds} rounds, each run a fresh process.", "", rule]
    lines.append(
        "  ".join(text.ljust(width) for text, width in zip(header, widths, strict=True)).rstrip()
    )
    lines.append(rule)
    for row in rows:
        lines.append(
            "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
        )
    lines.append(rule)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure, print and write the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cli_export", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bounces", type=int, default=25_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    runs = measure(args.rounds, args.bounces)
    exported, read = runs["cli"][0]["items"], runs["library"][0]["items"]
    if exported != read:
        raise RuntimeError(f"the export wrote {exported} bounces, iter_bounces read {read}")
    text = table(runs, args.bounces, args.rounds)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
