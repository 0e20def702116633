"""Run every workload, pystmark against a plain ``requests.Session``, and write the table.

``python -m benchmarks`` (or ``python benchmarks/run.py``) from the project
root. Each round runs each workload once per client, alternating which goes
first, each in a fresh process; the medians and the paired ratios (the median
of the per-round ratios) go into ``docs/benchmarks_results.inc``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import py_compile
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks_results.inc"
CLIENTS = ("pystmark", "requests")


@dataclass
class Workload:
    """One row of the table."""

    key: str
    title: str
    kind: str  # worker method, or "import"
    size: int
    metric: str  # what the target compares: cpu, import, memory, wall
    target: float
    latency: bool = False
    max_workers: int | None = None
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def workloads(args: argparse.Namespace) -> list[Workload]:
    """The workloads at the sizes asked for."""
    mib = args.attachment_mib
    return [
        Workload("single", f"{args.sends:,} single sends", "single", args.sends, "cpu", 0.8),
        Workload("batch", f"{args.batch:,} messages by batch", "batch", args.batch, "cpu", 1.1),
        Workload("bounces", f"read {args.bounces:,} bounces", "bounces", args.bounces, "cpu", 1.1),
        Workload(
            "bounces_all",
            f"read {args.all_bounces:,} bounces (past the 10,000 cap)",
            "bounces",
            args.all_bounces,
            "cpu",
            1.1,
        ),
        Workload(
            "attachment",
            f"one attachment of {mib:g} MiB as base64 (extra peak RSS / base64 size)",
            "attachment",
            int(mib * 1024 * 1024) // 4 * 3,  # raw size: Postmark's 10 MB limit is after base64
            "memory",
            1.5,
        ),
        Workload("import", "import pystmark / import requests", "import", 1, "import", 1.05),
        Workload(
            "latency_sequential",
            f"{args.batch:,} by batch, {args.latency * 1000:g} ms latency, sequential",
            "batch",
            args.batch,
            "wall",
            1.1,
            latency=True,
        ),
        Workload(
            "latency_workers",
            f"{args.batch:,} by batch, {args.latency * 1000:g} ms latency, "
            f"max_workers={args.max_workers}",
            "batch",
            args.batch,
            "wall",
            0.5,
            latency=True,
            max_workers=args.max_workers,
        ),
    ]


@contextmanager
def server(cert_dir: str, latency: float, bounces: int = 25_000) -> Iterator[str]:
    """Start the benchmark server in its own process; yield its base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.server",
            "--cert-dir",
            cert_dir,
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError("the benchmark server did not start")
        yield f"https://127.0.0.1:{line[1]}"
    finally:
        process.terminate()
        process.wait(10)


def run_one(config: dict[str, Any]) -> dict[str, Any]:
    """Run one workload in a fresh process; add its whole-process CPU and peak RSS."""
    if config["workload"] == "import":
        module = "pystmark" if config["client"] == "pystmark" else "requests"
        argv = [sys.executable, "-m", "benchmarks.worker", "import", module]
    else:
        argv = [sys.executable, "-m", "benchmarks.worker", json.dumps(config)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, env=env, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"worker failed: {config}")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["process_cpu"] = usage.ru_utime + usage.ru_stime
    result["peak_rss"] = usage.ru_maxrss * 1024
    return result


def measure(args: argparse.Namespace) -> list[Workload]:
    """Run every selected workload for the given number of rounds."""
    selected = [w for w in workloads(args) if not args.only or w.key in args.only]
    # Like an installed package (and like requests in site-packages): byte-compiled,
    # even when PYTHONDONTWRITEBYTECODE keeps imports from writing the cache.
    py_compile.compile(str(ROOT / "pystmark.py"), doraise=True)
    with (
        tempfile.TemporaryDirectory() as cert_dir,
        tempfile.TemporaryDirectory() as slow_dir,
        server(cert_dir, 0.0, args.server_bounces) as url,
        server(slow_dir, args.latency, 0) as slow_url,
    ):
        for workload in selected:
            workload.runs = {client: [] for client in CLIENTS}
            rounds = args.import_rounds if workload.kind == "import" else args.rounds
            for round_index in range(rounds):
                order = CLIENTS if round_index % 2 == 0 else CLIENTS[::-1]
                for client in order:
                    config = {
                        "client": client,
                        "workload": workload.kind,
                        "size": workload.size,
                        "url": slow_url if workload.latency else url,
                        "ca": os.path.join(slow_dir if workload.latency else cert_dir, "ca.pem"),
                    }
                    if workload.max_workers and client == "pystmark":
                        config["max_workers"] = workload.max_workers
                    workload.runs[client].append(run_one(config))
            if not args.quiet:
                print(f"  {workload.key}: done", file=sys.stderr)
    return selected


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _paired(workload: Workload, key: str) -> float:
    pairs = zip(workload.runs["pystmark"], workload.runs["requests"], strict=True)
    return statistics.median(ours[key] / theirs[key] for ours, theirs in pairs if theirs[key])


def summarise(workload: Workload) -> dict[str, Any]:
    """Medians, paired ratios and whether the target is met."""
    ours, theirs = workload.runs["pystmark"], workload.runs["requests"]
    if any(run["items"] is None for run in ours):
        return {"key": workload.key, "title": workload.title, "skipped": True}
    row: dict[str, Any] = {"key": workload.key, "title": workload.title, "skipped": False}
    for name, runs in (("pystmark", ours), ("requests", theirs)):
        row[name] = {
            "process_cpu": _median(runs, "process_cpu"),
            "cpu": _median(runs, "cpu"),
            "wall": _median(runs, "wall"),
            "peak_rss": _median(runs, "peak_rss"),
            "items": runs[0]["items"],
        }
    row["ratios"] = {key: _paired(workload, key) for key in ("process_cpu", "cpu", "wall")}
    row["ratios"]["peak_rss"] = _paired(workload, "peak_rss")
    if workload.metric == "memory":
        b64 = 4 * -(-workload.size // 3)
        for name, runs in (("pystmark", ours), ("requests", theirs)):
            row[name]["extra_rss"] = _median(runs, "extra_rss")
            row[name]["extra_over_b64"] = row[name]["extra_rss"] / b64
        value = row["pystmark"]["extra_over_b64"]
    elif workload.metric == "import":
        value = row["ratios"]["cpu"]
    elif workload.metric == "wall":
        value = row["ratios"]["wall"]
    else:
        value = row["ratios"]["process_cpu"]
    row["measured"], row["target"] = value, workload.target
    row["met"] = value <= workload.target
    return row


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _mib(size: float) -> str:
    return f"{size / 1024 / 1024:,.1f} MiB"


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The results as reStructuredText."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - workload",
        "     - CPU pystmark / requests",
        "     - wall pystmark / requests",
        "     - peak RSS pystmark / requests",
        "     - measured (target)",
        "     - met",
    ]
    for row in rows:
        lines.append(f"   * - {row['title']}")
        if row["skipped"]:
            lines += ["     - skipped: ``pystmark.iter_bounces`` is not available"] + ["     -"] * 4
            continue
        ours, theirs, ratios = row["pystmark"], row["requests"], row["ratios"]
        cpu_key = "cpu" if row["key"] == "import" else "process_cpu"
        lines.append(
            f"     - {_ms(ours[cpu_key])} / {_ms(theirs[cpu_key])} = {ratios[cpu_key]:.2f}x"
        )
        lines.append(f"     - {_ms(ours['wall'])} / {_ms(theirs['wall'])} = {ratios['wall']:.2f}x")
        if "extra_rss" in ours:
            lines.append(
                f"     - extra {_mib(ours['extra_rss'])} / {_mib(theirs['extra_rss'])} "
                f"= {ours['extra_over_b64']:.2f}x / {theirs['extra_over_b64']:.2f}x base64"
            )
        else:
            lines.append(
                f"     - {_mib(ours['peak_rss'])} / {_mib(theirs['peak_rss'])} "
                f"= {ratios['peak_rss']:.2f}x"
            )
        lines.append(f"     - {row['measured']:.2f}x (<= {row['target']:g}x)")
        lines.append(f"     - {'yes' if row['met'] else 'no'}")
    header = (
        f"Measured with ``python -m benchmarks --rounds {args.rounds}`` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    try:
        import requests

        header += f", requests {requests.__version__}"
    except ImportError:  # pragma: no cover
        pass
    return header + ".\n\n" + "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options: sizes, rounds, output."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--import-rounds", type=int, default=40, help="imports are short and noisy")
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--bounces", type=int, default=10_000)
    parser.add_argument("--all-bounces", type=int, default=25_000)
    parser.add_argument("--server-bounces", type=int, default=25_000)
    parser.add_argument("--attachment-mib", type=float, default=9.0)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--max-workers", type=int, default=4)
    parser.add_argument("--only", nargs="*", help="workload keys to run")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the .rst table to write")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the suite; write and print the table. Exit 0 even when a target is missed."""
    args = parse_args(argv)
    rows = [summarise(workload) for workload in measure(args)]
    text = table(rows, args)
    args.output.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if not args.quiet:
        print(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
