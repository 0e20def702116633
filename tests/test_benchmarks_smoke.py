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
        "10500",
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
    for key in ("batch", "latency_sequential", "latency_workers"):
        assert rows[key]["pystmark"]["items"] == rows[key]["requests"]["items"] == 501
    assert rows["attachment"]["pystmark"]["extra_rss"] > 0
    # The plain loop reads past the 10,000 offset cap with todate windows.
    if hasattr(pystmark, "iter_bounces"):
        assert rows["bounces_all"]["pystmark"]["items"] == 10100
    else:
        assert rows["bounces_all"]["skipped"]
        assert "iter_bounces" in text


def test_the_server_enforces_postmark_limits_and_filters_by_date():
    from datetime import datetime, timezone

    from benchmarks import server

    bounces = server.make_bounces(1000)
    assert bounces[0][0] > bounces[-1][0]  # newest first
    assert len({raw["ID"] for _, raw in bounces}) == 1000
    upper = server.parse_bound("2026-03-01T11:58:00", upper=True)
    assert upper == datetime(2026, 3, 1, 11, 58, 0, 999999, tzinfo=timezone.utc)
    day = server.parse_bound("2026-02-28", upper=True)
    assert day.date().isoformat() == "2026-02-28" and day.hour == 23
