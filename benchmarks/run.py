"""Run every workload, pystmark against a plain ``requests.Session``, and write the table.

``python -m benchmarks`` (or ``python benchmarks/run.py``) from the project
root. Each round runs each workload once per client, alternating which goes
first, each in a fresh process; the medians and the paired ratios (the median
of the per-round ratios) go into ``docs/benchmarks_results.inc``. With
``--peers``, other clients (``benchmarks/peers.py``, each in its own venv under
``.bench-venvs/``) run in the same rounds, and their ratios to the same plain
``requests`` runs go into ``docs/benchmarks_peers.inc``. With
``--instructions``, the CPU workloads also run once per client under
valgrind's callgrind, and the instruction counts (which do not move with the
machine's load) go into ``docs/benchmarks_instructions.inc``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import py_compile
import re
import shutil
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
PEER_RESULTS = ROOT / "docs" / "benchmarks_peers.inc"
INSTRUCTION_RESULTS = ROOT / "docs" / "benchmarks_instructions.inc"
VENVS = ROOT / ".bench-venvs"
PEER_WORKER = ROOT / "benchmarks" / "peers.py"
CLIENTS = ("pystmark", "requests")
# Floors: the plain loop's requests sent with less work than any client does
# them with, run in the same rounds; a row shows its floor's ratio beside its
# own. From max_workers threads, a session each: the floor of a client with
# worker threads on this machine (the max_workers row).
PLAIN_THREADS = "requests-threads"
# Through requests' HTTPAdapter.send, called directly with requests prepared
# from parts made once: the floor of a client that sends as pystmark does, by
# the adapter that ``responses`` and other test tools patch (single sends).
PLAIN_ADAPTER = "requests-adapter"
FLOORS = {
    PLAIN_THREADS: "the plain loop from {max_workers} threads",
    PLAIN_ADAPTER: "requests' adapter called directly",
}
LOCAL_CLIENTS = (*CLIENTS, *FLOORS)
# The workloads the peers run too (not the latency rows).
PEER_WORKLOADS = (
    "single",
    "batch",
    "batch_message",
    "bounces",
    "bounces_all",
    "attachment",
    "import",
)
# Variables that change how a peer finds its CA, or whether it verifies at all:
# a peer process gets only the one its client reads, set to the run's CA.
CA_VARIABLES = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "POSTMARK_SSL_VERIFY",
)


def peer_registry() -> dict[str, dict[str, Any]]:
    """``benchmarks.peers.PEERS`` (imported late: ``run.py`` may run as a script)."""
    from benchmarks.peers import PEERS

    return PEERS


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
    floor: str | None = None  # a client of FLOORS, run beside the plain loop
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # peer: why its runs stopped
    instructions: dict[str, int] = field(default_factory=dict)  # client: callgrind's count


def workloads(args: argparse.Namespace) -> list[Workload]:
    """The workloads at the sizes asked for."""
    mib = args.attachment_mib
    return [
        Workload(
            "single",
            f"{args.sends:,} single sends",
            "single",
            args.sends,
            "cpu",
            0.6,
            floor=PLAIN_ADAPTER,
        ),
        Workload(
            "batch", f"{args.batch:,} messages by batch, as dicts", "batch", args.batch, "cpu", 1.0
        ),
        Workload(
            "batch_message",
            f"{args.batch:,} messages by batch, as ``Message`` objects",
            "batch_message",
            args.batch,
            "cpu",
            1.0,
        ),
        Workload("bounces", f"read {args.bounces:,} bounces", "bounces", args.bounces, "cpu", 1.0),
        Workload(
            "bounces_all",
            f"read {args.all_bounces:,} bounces (past the 10,000 cap)",
            "bounces",
            args.all_bounces,
            "cpu",
            1.0,
        ),
        Workload(
            "attachment",
            f"one attachment of {mib:g} MiB as base64 (extra peak RSS / base64 size)",
            "attachment",
            int(mib * 1024 * 1024) // 4 * 3,  # raw size: Postmark's 10 MB limit is after base64
            "memory",
            1.2,
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
            0.3,
            latency=True,
            max_workers=args.max_workers,
            floor=PLAIN_THREADS,
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
            "--bounces",
            str(bounces),
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


def venv_python(venvs: Path, peer: str) -> Path:
    """The interpreter of a peer's venv."""
    return venvs / peer / "bin" / "python"


def ensure_venv(venvs: Path, peer: str, quiet: bool = False) -> Path:
    """Create the peer's venv with this interpreter and install the peer (once)."""
    info = peer_registry()[peer]
    directory, python = venvs / peer, venv_python(venvs, peer)
    marker = directory / "benchmarks-venv.json"
    wanted = {"requirement": info["requirement"], "python": sys.version, "base": sys.base_prefix}
    if python.exists() and marker.exists() and json.loads(marker.read_text()) == wanted:
        return python
    if not quiet:
        print(f"  creating {directory} with {info['requirement']}", file=sys.stderr)
    shutil.rmtree(directory, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, info["requirement"]], check=True)
    marker.write_text(json.dumps(wanted))
    return python


def command(config: dict[str, Any], venvs: Path = VENVS) -> tuple[list[str], dict[str, str], Path]:
    """The argv, environment and directory of one worker process.

    pystmark and the plain loop run ``benchmarks.worker`` with this project on
    PYTHONPATH. A peer runs ``benchmarks/peers.py`` by path with its venv's
    interpreter in isolated mode (``-I``: no PYTHONPATH, neither the script's
    directory nor the current one on ``sys.path``) from its venv's directory,
    so it imports the installed package, never ``pystmark.py`` from here.
    """
    client = config["client"]
    if client in LOCAL_CLIENTS:
        if config["workload"] == "import":
            module = "pystmark" if client == "pystmark" else "requests"
            argv = [sys.executable, "-m", "benchmarks.worker", "import", module]
        else:
            argv = [sys.executable, "-m", "benchmarks.worker", json.dumps(config)]
        return argv, {**os.environ, "PYTHONPATH": str(ROOT)}, ROOT
    info = peer_registry()[client]
    argv = [str(venv_python(venvs, client)), "-I", str(PEER_WORKER), client]
    argv.append("import" if config["workload"] == "import" else json.dumps(config))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in CA_VARIABLES and not key.startswith("PYTHON")
    }
    if info["ca_env"]:
        env[info["ca_env"]] = config["ca"]
    return argv, env, venvs / client


class WorkerError(RuntimeError):
    """A worker exited with an error; ``reason`` is the last line it wrote to stderr."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def run_one(config: dict[str, Any], venvs: Path = VENVS) -> dict[str, Any]:
    """Run one workload in a fresh process; add its whole-process CPU and peak RSS."""
    argv, env, cwd = command(config, venvs)
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            argv, cwd=cwd, stdout=subprocess.PIPE, stderr=errors, env=env, text=True
        )
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        error_text = errors.read()
    if error_text:
        sys.stderr.write(error_text)
    if process.returncode != 0:
        last = error_text.strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        raise WorkerError(f"worker failed: {config}", last[0])
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["process_cpu"] = usage.ru_utime + usage.ru_stime
    result["peak_rss"] = usage.ru_maxrss * 1024
    return result


CALLGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def count_instructions(config: dict[str, Any]) -> int:
    """Instructions one worker process executes, counted by callgrind.

    For the import workload, those of a worker that imports nothing (``sys``)
    are subtracted, which leaves the ``import`` statement, as its CPU row does.
    """

    def count(run_config: dict[str, Any], module: str | None = None) -> int:
        argv, env, cwd = command(run_config)
        if module is not None:
            argv = [*argv[:-1], module]
        done = subprocess.run(
            [*CALLGRIND, *argv], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise WorkerError(f"callgrind run failed: {run_config}", done.stderr[-500:])
        return int(found.group(1))

    if config["workload"] == "import":
        return count(config) - count(config, "sys")
    return count(config)


def measure_instructions(selected: list[Workload], args: argparse.Namespace) -> None:
    """Count each CPU workload's instructions once per client, two processes at a time.

    A CPU workload's floor (single sends: requests' adapter) is counted too.
    """
    from concurrent.futures import ThreadPoolExecutor

    counted = [w for w in selected if w.metric in ("cpu", "import")]
    with (
        tempfile.TemporaryDirectory() as cert_dir,
        server(cert_dir, 0.0, args.server_bounces) as url,
        ThreadPoolExecutor(2) as pool,
    ):
        ca = os.path.join(cert_dir, "ca.pem")
        clients = {workload.key: local_clients(workload) for workload in counted}
        jobs = {
            (workload.key, client): pool.submit(
                count_instructions,
                {"client": client, "workload": workload.kind, "size": workload.size,
                 "url": url, "ca": ca},
            )
            for workload in counted
            for client in clients[workload.key]
        }  # fmt: skip
        for workload in counted:
            workload.instructions = {
                client: jobs[workload.key, client].result() for client in clients[workload.key]
            }
            if not args.quiet:
                print(f"  {workload.key}: instructions counted", file=sys.stderr)


def instruction_table(selected: list[Workload]) -> str:
    """The instruction counts as reStructuredText."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - workload",
        "     - instructions pystmark / requests",
        "     - target",
    ]
    for workload in selected:
        if not workload.instructions:
            continue
        ours, theirs = workload.instructions["pystmark"], workload.instructions["requests"]
        lines.append(f"   * - {workload.title}")
        cell = f"{ours / 1e6:,.0f} M / {theirs / 1e6:,.0f} M = {ours / theirs:.2f}x"
        if workload.floor in workload.instructions:
            floor = workload.instructions[workload.floor]
            cell += f"; {FLOORS[workload.floor]}: {floor / 1e6:,.0f} M = {floor / theirs:.2f}x"
        lines.append(f"     - {cell}")
        lines.append(f"     - <= {_target(workload.target)}x")
    header = (
        "Counted with ``python -m benchmarks --instructions`` (valgrind's callgrind, one run "
        f"per client) on {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    return header + ".\n\n" + "\n".join(lines) + "\n"


def local_clients(workload: Workload) -> tuple[str, ...]:
    """pystmark, the plain loop and the workload's floor (if it has one)."""
    return CLIENTS if workload.floor is None else (*CLIENTS, workload.floor)


def clients_for(workload: Workload, args: argparse.Namespace) -> tuple[str, ...]:
    """pystmark, the plain loop and the workload's floor, then the peers if asked for.

    The peers run only the workloads they share (not the latency rows).
    """
    clients = local_clients(workload)
    if args.peers and workload.key in PEER_WORKLOADS:
        return clients + tuple(peer_registry())
    return clients


def byte_compile() -> None:
    """Byte-compile pystmark.py, like an installed package (and like requests in site-packages).

    Even when PYTHONDONTWRITEBYTECODE keeps imports from writing the cache.
    """
    py_compile.compile(str(ROOT / "pystmark.py"), doraise=True)


def measure(args: argparse.Namespace) -> list[Workload]:
    """Run every selected workload for the given number of rounds."""
    selected = [w for w in workloads(args) if not args.only or w.key in args.only]
    byte_compile()
    venvs = args.venvs.resolve()
    if args.peers:
        for peer in peer_registry():
            ensure_venv(venvs, peer, args.quiet)
    with (
        tempfile.TemporaryDirectory() as cert_dir,
        tempfile.TemporaryDirectory() as slow_dir,
        server(cert_dir, 0.0, args.server_bounces) as url,
        server(slow_dir, args.latency, 0) as slow_url,
    ):
        for workload in selected:
            clients = clients_for(workload, args)
            workload.runs = {client: [] for client in clients}
            workload.failed = {}
            rounds = args.import_rounds if workload.kind == "import" else args.rounds
            for round_index in range(rounds):
                order = clients if round_index % 2 == 0 else clients[::-1]
                for client in order:
                    if client not in LOCAL_CLIENTS and (
                        workload.key in peer_registry()[client]["skip"] or client in workload.failed
                    ):
                        continue
                    config = {
                        "client": client,
                        "workload": workload.kind,
                        "size": workload.size,
                        "url": slow_url if workload.latency else url,
                        "ca": os.path.join(slow_dir if workload.latency else cert_dir, "ca.pem"),
                    }
                    if workload.max_workers and client != "requests":
                        config["max_workers"] = workload.max_workers
                    if client in LOCAL_CLIENTS:
                        workload.runs[client].append(run_one(config, venvs))
                        continue
                    try:  # a peer that fails is reported as such, not fatal
                        workload.runs[client].append(run_one(config, venvs))
                    except WorkerError as error:
                        workload.failed[client] = error.reason
            if not args.quiet:
                print(f"  {workload.key}: done", file=sys.stderr)
    return selected


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _paired(workload: Workload, key: str, client: str = "pystmark") -> float:
    pairs = zip(workload.runs[client], workload.runs["requests"], strict=True)
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
        row["ratios"]["extra_rss"] = _paired(workload, "extra_rss")
        value = row["pystmark"]["extra_over_b64"]
    elif workload.metric == "import":
        value = row["ratios"]["cpu"]
    elif workload.metric == "wall":
        value = row["ratios"]["wall"]
    else:
        value = row["ratios"]["process_cpu"]
    row["measured"], row["target"] = value, workload.target
    if workload.floor in workload.runs:
        key = "wall" if workload.metric == "wall" else "process_cpu"
        row["floor"] = {"client": workload.floor, "ratio": _paired(workload, key, workload.floor)}
    row["met"] = value <= workload.target
    return row


def summarise_peer(workload: Workload, peer: str) -> dict[str, Any]:
    """One peer's medians and paired ratios to the plain loop, or why there are none."""
    runs = workload.runs.get(peer, [])
    skip = peer_registry()[peer]["skip"].get(workload.key)
    if skip:
        return {"status": "skipped", "reason": skip}
    if peer in workload.failed:
        return {"status": "failed", "reason": workload.failed[peer]}
    if not runs or any(run["items"] is None for run in runs):
        return {"status": "skipped", "reason": "not supported by the worker"}
    expected = workload.runs["requests"][0]["items"]
    if any(run["items"] != expected for run in runs):
        got = sorted({run["items"] for run in runs})
        return {"status": "failed", "reason": f"{got} items instead of {expected}"}
    keys = ["process_cpu", "cpu", "wall", "peak_rss"]
    if workload.metric == "memory":
        keys.append("extra_rss")
    summary: dict[str, Any] = {"status": "ok", "items": expected}
    summary.update({key: _median(runs, key) for key in keys})
    summary["ratios"] = {key: _paired(workload, key, peer) for key in keys}
    if workload.metric == "memory":
        summary["extra_over_b64"] = summary["extra_rss"] / (4 * -(-workload.size // 3))
    return summary


def _target(value: float) -> str:
    """A target multiple with at least one decimal: ``1.0``, ``0.6``, ``1.05``."""
    text = f"{value:g}"
    return text if "." in text else f"{value:.1f}"


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
        measured = f"{row['measured']:.2f}x (<= {_target(row['target'])}x)"
        if "floor" in row:
            floor = FLOORS[row["floor"]["client"]].format(max_workers=args.max_workers)
            measured += f"; {floor}: {row['floor']['ratio']:.2f}x"
        lines.append(f"     - {measured}")
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


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def _peer_metric(key: str) -> tuple[str, str]:
    """What the peer table compares for a workload: (label, key in the results)."""
    if key == "import":
        return "CPU of the import", "cpu"
    if key == "attachment":
        return "extra peak RSS", "extra_rss"
    return "whole-process CPU", "process_cpu"


def _peer_title(row: dict[str, Any]) -> str:
    if row["key"] == "import":
        return "import the client / import requests"
    if row["key"] == "batch_message":
        return str(row["title"]).replace("``Message`` objects", "each client's message type")
    return str(row["title"]).replace("extra peak RSS / base64 size", "extra peak RSS")


def _peer_cell(summary: dict[str, Any], metric: str) -> str:
    if summary["status"] != "ok":
        reason = summary["reason"]
        return reason if summary["status"] == "skipped" else f"failed: {reason}"
    text = _ratio(summary["ratios"][metric])
    if metric == "extra_rss":
        text += f" ({summary['extra_over_b64']:.2f}x base64)"
    return text


def peer_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The peers' ratios to the plain loop as reStructuredText."""
    peers = peer_registry()
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - workload",
        "     - measure",
        "     - plain requests",
        "     - pystmark",
        *(f"     - {info['label']}" for info in peers.values()),
    ]
    for row in rows:
        if "peers" not in row:
            continue
        label, metric = _peer_metric(row["key"])
        lines += [f"   * - {_peer_title(row)}", f"     - {label}"]
        if row["skipped"]:
            lines += ["     - skipped", "     - skipped"]
        else:
            plain = row["requests"]
            if metric == "extra_rss":
                lines.append(
                    f"     - {_mib(plain['extra_rss'])} ({plain['extra_over_b64']:.2f}x base64)"
                )
                lines.append(
                    f"     - {_ratio(row['ratios']['extra_rss'])} "
                    f"({row['pystmark']['extra_over_b64']:.2f}x base64)"
                )
            else:
                # A plain loop has no message type: its side of the row is the dict loop.
                same = " (the same dicts)" if row["key"] == "batch_message" else ""
                lines.append(f"     - {_ms(plain[metric])}{same}")
                lines.append(f"     - {_ratio(row['ratios'][metric])}")
        lines += [f"     - {_peer_cell(row['peers'][peer], metric)}" for peer in peers]
    run = f"python -m benchmarks --peers --rounds {args.rounds}"
    run += f" --import-rounds {args.import_rounds}"
    if args.only:
        run += " --only " + " ".join(args.only)
    header = (
        f"Measured with ``{run}`` on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. Plain requests: "
        "the median; the clients: the median of the per-round ratios to it"
    )
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
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also run pystmark 0.5.3, postmarker and postmark-python, each in its own venv "
        "(created on first use: needs PyPI)",
    )
    parser.add_argument(
        "--peers-output", type=Path, default=PEER_RESULTS, help="the peers' .rst table"
    )
    parser.add_argument("--venvs", type=Path, default=VENVS, help="where the peer venvs live")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instead of timing, count the CPU workloads' instructions with valgrind's "
        "callgrind (one run per client; several minutes)",
    )
    parser.add_argument(
        "--instructions-output",
        type=Path,
        default=INSTRUCTION_RESULTS,
        help="the instruction counts' .rst table",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the suite; write and print the table. Exit 0 even when a target is missed."""
    args = parse_args(argv)
    if args.instructions:
        if shutil.which("valgrind") is None:
            print("--instructions needs valgrind (Debian: apt install valgrind)", file=sys.stderr)
            return 2
        selected = [w for w in workloads(args) if not args.only or w.key in args.only]
        byte_compile()
        measure_instructions(selected, args)
        text = instruction_table(selected)
        args.instructions_output.write_text(text)
        if not args.quiet:
            print(text)
        return 0
    selected = measure(args)
    rows = [summarise(workload) for workload in selected]
    for workload, row in zip(selected, rows, strict=True):
        if args.peers and workload.key in PEER_WORKLOADS:
            row["peers"] = {peer: summarise_peer(workload, peer) for peer in peer_registry()}
    text = table(rows, args)
    args.output.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if not args.quiet:
        print(text)
    if any("peers" in row for row in rows):
        peers_text = peer_table(rows, args)
        args.peers_output.write_text(peers_text)
        if not args.quiet:
            print(peers_text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
