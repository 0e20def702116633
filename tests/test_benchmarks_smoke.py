"""The benchmark suite runs end to end at a tiny size, so it cannot rot."""

import json

import pytest

pytest.importorskip("trustme")

import pystmark
from benchmarks import run


def test_every_workload_runs_once_and_writes_the_table(tmp_path):
    table, raw = tmp_path / "table.rst", tmp_path / "raw.json"
    argv = ["--rounds", "1", "--import-rounds", "1", "--sends", "3", "--batch", "501"]
    argv += [
        "--bounces",
        "600",
        "--all-bounces",
        "10100",
        "--server-bounces",
        "10100",  # every one, so a window that skips some reads fewer
        "--attachment-mib",
        "0.25",
    ]
    argv += ["--latency", "0.001", "--max-workers", "2", "--quiet"]
    assert run.main([*argv, "--output", str(table), "--json", str(raw)]) == 0

    rows = {row["key"]: row for row in json.loads(raw.read_text())}
    assert set(rows) == {w.key for w in run.workloads(run.parse_args([]))}
    text = table.read_text()
    for row in rows.values():
        assert row["title"] in text
    # Both clients did the same work, and every message was accepted.
    assert rows["single"]["pystmark"]["items"] == rows["single"]["requests"]["items"] == 3
    for key in ("batch", "batch_message", "latency_sequential", "latency_workers"):
        assert rows[key]["pystmark"]["items"] == rows[key]["requests"]["items"] == 501
    # Two rows show a floor beside the plain loop: the plain loop from as many
    # threads (max_workers), and requests' adapter called directly (single sends).
    assert rows["latency_workers"]["floor"]["client"] == run.PLAIN_THREADS
    assert rows["single"]["floor"]["client"] == run.PLAIN_ADAPTER
    assert rows["single"]["floor"]["ratio"] > 0
    assert "floor" not in rows["latency_sequential"]
    assert "; the plain loop from 2 threads:" in text
    assert "; requests' adapter called directly:" in text
    assert rows["attachment"]["pystmark"]["extra_rss"] > 0
    # The plain loop reads past the 10,000 offset cap with todate windows.
    if hasattr(pystmark, "iter_bounces"):
        assert rows["bounces_all"]["pystmark"]["items"] == 10100
        assert rows["bounces_all"]["requests"]["items"] == 10100
    else:
        assert rows["bounces_all"]["skipped"]
        assert "iter_bounces" in text


def test_the_message_batch_builds_messages_with_the_fields_of_the_dict_batch(monkeypatch):
    from benchmarks import peers, worker

    client = worker.Pystmark({"url": "https://127.0.0.1:1", "ca": "/ca.pem"})
    sent = []
    monkeypatch.setattr(client, "_send_batch", lambda messages, config: sent.append(messages))
    client.batch_message({"size": 3})
    assert all(isinstance(message, pystmark.Message) for message in sent[0])
    assert [message.to_payload() for message in sent[0]] == [peers._message(i) for i in range(3)]
    # The plain loop has no message type: its side of the row is the dict loop.
    assert worker.Plain.batch_message is worker.Plain.batch
    for peer in peers.CLIENTS.values():
        assert peer.batch_message is not peer.batch


def test_the_server_enforces_postmark_limits_and_filters_by_date():
    from datetime import datetime, timezone

    from benchmarks import server

    bounces = server.make_bounces(1000)
    assert bounces[0][0] > bounces[-1][0]  # newest first
    assert len({raw["ID"] for _, raw in bounces}) == 1000
    # Postmark writes and filters in US Eastern time; so does the server.
    assert bounces[0][1]["BouncedAt"] == "2026-03-01T07:00:00.0000000-05:00"
    upper = server.parse_bound("2026-03-01T06:58:00", upper=True)
    assert upper == datetime(2026, 3, 1, 11, 58, 0, 999999, tzinfo=timezone.utc)
    day = server.parse_bound("2026-02-28", upper=True)
    assert day.date().isoformat() == "2026-02-28" and day.hour == 23


# The side-by-side peer runs (``--peers``) need PyPI for their venvs, so the
# tests below check their plumbing without creating a venv or running a peer.


def test_peers_run_only_when_asked_and_never_the_latency_rows():
    rows = {w.key: w for w in run.workloads(run.parse_args([]))}
    plain = run.parse_args([])
    assert not plain.peers
    floors = {"latency_workers": (run.PLAIN_THREADS,), "single": (run.PLAIN_ADAPTER,)}
    for key, workload in rows.items():
        assert run.clients_for(workload, plain) == (*run.CLIENTS, *floors.get(key, ()))
    asked = run.parse_args(["--peers"])
    for key, workload in rows.items():
        clients = run.clients_for(workload, asked)
        if key.startswith("latency"):
            assert clients == run.clients_for(workload, plain)
        else:
            peers = ("pystmark053", "postmarker", "postmark_python")
            assert clients == (*run.CLIENTS, *floors.get(key, ()), *peers)


def test_a_peer_runs_isolated_in_its_venv_with_only_its_own_ca_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", str(run.ROOT))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/somewhere/else.pem")
    monkeypatch.setenv("POSTMARK_SSL_VERIFY", "false")
    config = {"workload": "single", "size": 3, "url": "https://127.0.0.1:1", "ca": "/ca.pem"}
    expected_ca = {
        "pystmark053": {},  # passed as verify= in the config
        "postmarker": {"REQUESTS_CA_BUNDLE": "/ca.pem"},
        "postmark_python": {"SSL_CERT_FILE": "/ca.pem"},
    }
    for peer, ca_env in expected_ca.items():
        argv, env, cwd = run.command({**config, "client": peer}, tmp_path)
        assert argv[:4] == [
            str(tmp_path / peer / "bin" / "python"),
            "-I",
            str(run.PEER_WORKER),
            peer,
        ]
        assert json.loads(argv[4])["ca"] == "/ca.pem"
        assert cwd == tmp_path / peer
        assert not any(key.startswith("PYTHON") for key in env)
        assert {key: env[key] for key in run.CA_VARIABLES if key in env} == ca_env
        argv, _, _ = run.command({**config, "client": peer, "workload": "import"}, tmp_path)
        assert argv[4:] == ["import"]
    # pystmark and the plain loop still run from here, with this project on the path.
    argv, env, cwd = run.command({**config, "client": "pystmark"}, tmp_path)
    assert argv[:3] == [run.sys.executable, "-m", "benchmarks.worker"]
    assert env["PYTHONPATH"] == str(run.ROOT) and cwd == run.ROOT


def test_an_existing_peer_venv_is_reused_without_touching_the_network(monkeypatch, tmp_path):
    python = run.venv_python(tmp_path, "postmarker")
    python.parent.mkdir(parents=True)
    python.touch()
    marker = {"requirement": "postmarker==1.0", "python": run.sys.version}
    marker["base"] = run.sys.base_prefix
    (tmp_path / "postmarker" / "benchmarks-venv.json").write_text(json.dumps(marker))

    def no_subprocess(*args, **kwargs):
        raise AssertionError("would create a venv")

    monkeypatch.setattr(run.subprocess, "run", no_subprocess)
    assert run.ensure_venv(tmp_path, "postmarker", quiet=True) == python
    with pytest.raises(AssertionError, match="would create"):
        run.ensure_venv(tmp_path, "pystmark053", quiet=True)


def test_the_peer_check_refuses_this_projects_pystmark():
    from benchmarks import peers

    # Here ``import pystmark`` finds this project, not 0.5.3 in a peer venv.
    with pytest.raises(SystemExit, match=r"expected pystmark 0\.5\.3"):
        peers.check_installed("pystmark053")


def _runs(cpu, items=10, extra=None):
    runs = []
    for value in cpu:
        run_ = {"process_cpu": value, "cpu": value / 10, "wall": value, "peak_rss": 100}
        run_["items"] = items
        if extra is not None:
            run_["extra_rss"] = extra
        runs.append(run_)
    return runs


def test_the_peer_table_shows_ratios_skips_and_failures(tmp_path):
    args = run.parse_args(["--peers", "--rounds", "3", "--import-rounds", "3"])
    single, batch_message, bounces_all, attachment = (
        w
        for w in run.workloads(args)
        if w.key in ("single", "batch_message", "bounces_all", "attachment")
    )
    single.runs = {
        "pystmark": _runs([1.0, 1.2, 0.9]),
        "requests": _runs([2.0, 2.0, 2.0]),
        "pystmark053": _runs([53.0, 53.2, 54.0]),
        "postmarker": _runs([2.0, 2.2, 2.4]),
        "postmark_python": _runs([4.0, 4.0]),
    }
    single.failed = {"postmark_python": "ConnectionError: boom"}
    batch_message.runs = {
        "pystmark": _runs([3.0] * 3),
        "requests": _runs([4.0] * 3),
        "pystmark053": _runs([5.0] * 3),
        "postmarker": _runs([6.0] * 3),
        "postmark_python": _runs([10.0] * 3),
    }
    bounces_all.runs = {
        "pystmark": _runs([1.0] * 3, items=25),
        "requests": _runs([1.0] * 3, items=25),
        "postmarker": [],
        "pystmark053": [],
        "postmark_python": [],
    }
    size = attachment.size
    b64 = 4 * -(-size // 3)
    attachment.runs = {
        "pystmark": _runs([1.0] * 3, items=1, extra=b64),
        "requests": _runs([1.0] * 3, items=1, extra=4 * b64),
        "pystmark053": _runs([1.0] * 3, items=1, extra=6 * b64),
        "postmarker": _runs([1.0] * 3, items=1, extra=5 * b64),
        "postmark_python": _runs([1.0] * 3, items=7, extra=b64),
    }
    rows = []
    for workload in (single, batch_message, bounces_all, attachment):
        row = run.summarise(workload)
        row["peers"] = {peer: run.summarise_peer(workload, peer) for peer in run.peer_registry()}
        rows.append(row)
    single_peers, _, all_peers, attachment_peers = (row["peers"] for row in rows)
    assert single_peers["pystmark053"]["ratios"]["process_cpu"] == pytest.approx(26.6)
    assert single_peers["postmark_python"] == {
        "status": "failed",
        "reason": "ConnectionError: boom",
    }
    assert {peer["status"] for peer in all_peers.values()} == {"skipped"}
    assert attachment_peers["postmarker"]["ratios"]["extra_rss"] == pytest.approx(1.25)
    assert attachment_peers["postmark_python"]["status"] == "failed"  # 7 items, not 1

    text = run.peer_table(rows, args)
    assert text.startswith("Measured with ``python -m benchmarks --peers --rounds 3")
    lines = text.splitlines()
    header = lines[lines.index("   * - workload") :][:7]
    assert header[1:] == [
        "     - measure",
        "     - plain requests",
        "     - pystmark",
        "     - pystmark 0.5.3",
        "     - postmarker 1.0",
        "     - postmark-python 0.4.0",
    ]
    start = lines.index(f"   * - {single.title}")
    assert lines[start + 1 : start + 7] == [
        "     - whole-process CPU",
        "     - 2,000 ms",
        "     - 0.50x",
        "     - 26.6x",
        "     - 1.10x",
        "     - failed: ConnectionError: boom",
    ]
    # Each client's own message type; the plain loop's side is its dict loop.
    start = lines.index("   * - 10,000 messages by batch, as each client's message type")
    assert lines[start + 1 : start + 7] == [
        "     - whole-process CPU",
        "     - 4,000 ms (the same dicts)",
        "     - 0.75x",
        "     - 1.25x",
        "     - 1.50x",
        "     - 2.50x",
    ]
    assert "impossible: ``bounces.stream`` stops at 10,000" in text
    assert "one attachment of 9 MiB as base64 (extra peak RSS)" in text
    assert "     - 0.25x (1.00x base64)" in text  # pystmark: a quarter of the plain loop's
    assert "     - 1.50x (6.00x base64)" in text
    assert "failed: [7] items instead of 1" in text


# ``--instructions`` needs valgrind; these check its plumbing without running it.


def test_instruction_counts_come_from_callgrind_and_imports_exclude_startup(monkeypatch):
    counts = {"import pystmark": 500, "import requests": 450, "import sys": 40}
    calls = []

    def callgrind(argv, **kwargs):
        calls.append(argv)
        assert argv[: len(run.CALLGRIND)] == list(run.CALLGRIND)
        worker = argv[len(run.CALLGRIND) :]
        key = " ".join(worker[-2:]) if worker[-2] == "import" else "send"
        stderr = f"==1== Events    : Ir\n==1== Collected : {counts.get(key, 7000)}\n"
        return run.subprocess.CompletedProcess(argv, 0, "", stderr)

    monkeypatch.setattr(run.subprocess, "run", callgrind)
    config = {"client": "pystmark", "workload": "import", "size": 1, "url": "", "ca": ""}
    assert run.count_instructions(config) == 460  # the import statement alone
    assert run.count_instructions({**config, "client": "requests"}) == 410
    assert run.count_instructions({**config, "workload": "single"}) == 7000
    assert len(calls) == 5

    def crashed(argv, **kwargs):
        return run.subprocess.CompletedProcess(argv, 1, "", "Traceback: boom")

    monkeypatch.setattr(run.subprocess, "run", crashed)
    with pytest.raises(run.WorkerError, match="callgrind run failed"):
        run.count_instructions(config)


def test_the_instruction_table_lists_the_cpu_workloads_against_their_targets():
    rows = {w.key: w for w in run.workloads(run.parse_args([]))}
    rows["single"].instructions = {
        "pystmark": 4_000_000_000,
        "requests": 8_000_000_000,
        run.PLAIN_ADAPTER: 3_000_000_000,
    }
    rows["import"].instructions = {"pystmark": 460_000_000, "requests": 410_000_000}
    rows["batch_message"].instructions = {"pystmark": 3_000_000_000, "requests": 2_000_000_000}
    text = run.instruction_table(list(rows.values()))
    assert text.startswith("Counted with ``python -m benchmarks --instructions``")
    assert (
        "   * - 2,000 single sends\n     - 4,000 M / 8,000 M = 0.50x; "
        "requests' adapter called directly: 3,000 M = 0.38x\n     - <= 0.6x"
    ) in text
    assert "     - 460 M / 410 M = 1.12x\n     - <= 1.05x" in text
    assert (
        "   * - 10,000 messages by batch, as ``Message`` objects\n"
        "     - 3,000 M / 2,000 M = 1.50x\n     - <= 1.0x"
    ) in text
    assert "attachment" not in text and "latency" not in text  # not counted


def test_the_hostile_input_benchmark_runs_and_stays_within_the_limit(tmp_path):
    from benchmarks import hostile

    output = tmp_path / "hostile.rst"
    limit = 2 * hostile.MIB
    cases = ["gzip_bomb", "stream", "announced", "under_limit", "empty_lists"]
    assert hostile.main(["--limit", str(limit), "--output", str(output), "--only", *cases]) == 0
    text = output.read_text()
    assert text.count("UnexpectedResponseError") == 3
    assert "WebhookError" in text
    assert "gzip bomb" in text
    assert "     - ok" in text  # the answer under the limit was read


def test_the_command_line_export_benchmark_runs(tmp_path):
    from benchmarks import cli_export

    table = tmp_path / "cli.rst"
    argv = ["--rounds", "1", "--bounces", "600", "--output", str(table)]
    assert cli_export.main(argv) == 0
    text = table.read_text()
    assert "pystmark bounces list --all --format jsonl" in text
    assert "600" in text and "MiB" in text
