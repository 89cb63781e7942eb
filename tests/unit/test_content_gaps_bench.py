"""The content-gap bench runs end to end on a slice of ABCD dev (the real figures need the full file)."""
from __future__ import annotations

import importlib.util
import json

from tests.conftest import ROOT, SHARED


def test_content_gap_bench_scores_the_removed_flow(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("content_gaps", ROOT / "bench" / "content_gaps.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    lines = [json.loads(s) for s in (SHARED / "abcd" / "eval_dev.jsonl").read_text().splitlines()]
    # 30 tickets of the removed flow among 30 others: enough for a topic to form.
    sample = [x for x in lines if x["flow"] == "account_access"][:30] + [x for x in lines if x["flow"] != "account_access"][:30]
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text("".join(json.dumps(x) + "\n" for x in sample))
    [result] = bench.main(["--eval", str(eval_file), "--flow", "account_access"])
    assert result["flow_tickets"] == 30 and result["gap_tickets"] >= 30
    assert result["best"]["rank"] <= 3 and result["best"]["purity"] >= 0.8
    assert "removed flows come out as one of the top 3 topics" in capsys.readouterr().out
