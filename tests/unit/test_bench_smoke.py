"""The relevance bench runs end to end (on a slice of ABCD dev), so its numbers can be rerun."""
from __future__ import annotations

import importlib.util
import json

from tests.conftest import ABCD_POLICIES, ROOT, SHARED


def test_relevance_bench_prints_scores(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("relevance", ROOT / "bench" / "relevance.py")
    relevance = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(relevance)
    lines = (SHARED / "abcd" / "eval_dev.jsonl").read_text().splitlines()[:40]
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scores.json"
    rows = relevance.main(["--pack", str(ABCD_POLICIES), "--eval", str(eval_file), "--json", str(out)])
    assert rows["overall"]["n"] == 40
    # Far above chance (1/55) even on 40 tickets; the real figures come from the full files.
    assert rows["overall"]["top3"] > 0.4
    assert "top-1" in capsys.readouterr().out
    assert len(json.loads(out.read_text())["results"]) == 40
