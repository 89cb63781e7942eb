"""The latency bench judges issue 10's goals from its own numbers (PASS, MISS, or not run)."""
from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def _latency():
    spec = importlib.util.spec_from_file_location("latency", ROOT / "bench" / "latency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_goals_compare_live_with_quiet_and_fts5_in_the_same_run():
    quiet = {"p50": 10.0, "p95": 20.0, "p99": 30.0}
    results = [{"size": 10_000, "fts5_ms": {"p50": 5.0, "p95": 30.0, "p99": 40.0}, "variants": {"this": {
        "quiet_ms": quiet, "live_ms": {"p50": 12.0, "p95": 30.0, "p99": 50.0}, "quiet_cpu_ms": 6.0,
        "throughput": [{"server": "gunicorn:2x4", "per_s": 310.0}, {"server": "waitress:8", "per_s": 900.0}]}}}]
    met = {goal: ok for goal, _, _, ok in _latency().goals(results)}
    assert met["10k live p99 <= FTS5 full-OR p99"] is False  # 50 > 40
    assert met["10k live p99 <= 1.5x quiet p99"] is False  # 50 > 45
    assert met[">= 300 distinct suggests/s at 10k, gunicorn:2x4"] is True  # waitress's row does not count
    assert met["10k server CPU per suggest <= 6.5 ms (300/s on 2 cores)"] is True
    assert met["100k quiet p99 <= 60 ms"] is None  # not measured in this run
