"""Content gaps on ABCD dev: remove one flow's policies; do its tickets come out as a top topic?

    python bench/content_gaps.py                      # every flow, one after the other
    python bench/content_gaps.py --flow account_access

For each flow: a fresh home (real SQLite file, real Whoosh index) gets the ABCD policies
*without* that flow's; every dev ticket goes through the real /suggest (Flask test client) and
a simulated agent inserts the expected policy when it is among the 3 shown (else nothing, as a
real agent who found nothing would). Then GET /content-gaps groups the tickets where nothing
was inserted: the removed flow's tickets (all gaps now) mixed with the other flows' misses.

Scored per flow: the topic that best matches the removed flow's tickets (highest F1), its rank
among topics by size, its purity (share of its tickets from the flow) and recall (share of the
flow's tickets in it); and the recall of the flow within the top 3 topics taken together
when those topics are mostly (> 50 %) the flow's. A flow passes when its best topic is in the top 3.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import create_app  # noqa: E402
from server.auth import create_user  # noqa: E402
from server.cli import import_pack_files  # noqa: E402
from server.db import open_store  # noqa: E402
from server.indexing import reindexer  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "abcd"
SHOWN = 3  # policies an agent looks at
TOP = 3    # "one of the top topics"


def run_flow(flow: str, pack: list[dict], lines: list[dict], field: str) -> dict:
    """Remove ``flow``'s policies, replay the tickets, cluster the gaps, score the flow's topic."""
    # ignore_cleanup_errors: the app's background re-indexer may still be finishing a commit.
    with tempfile.TemporaryDirectory(prefix="ra-gaps-", ignore_cleanup_errors=True) as home:
        app = create_app({"TESTING": True, "HOME": home})
        kept = [p for p in pack if not p["key"].startswith(f"policy/{flow}/")]
        pack_file = Path(home) / "pack.jsonl"
        pack_file.write_text("".join(json.dumps(p) + "\n" for p in kept))
        with app.app_context():
            import_pack_files([str(pack_file)], actor="bench")
        store = open_store(app.config["DATABASE"])
        agent = {"Authorization": f"Bearer {create_user(store, 'agent', 'agent')}"}
        manager = {"Authorization": f"Bearer {create_user(store, 'lead', 'manager')}"}
        store.close()
        client = app.test_client()
        inserted = 0
        for line in lines:
            ticket = {"id": line["id"], "subject": "", "body": line[field], "language": "en"}
            r = client.post("/api/v1/suggest", json={"ticket": ticket, "limit": SHOWN}, headers=agent)
            assert r.status_code == 200, r.get_data(as_text=True)
            hit = next((p["key"] for p in r.json["policies"][:SHOWN] if p["key"] in line["expect"]), None)
            if hit:
                r = client.post("/api/v1/insertions", json={"key": hit, "ticket": ticket}, headers=agent)
                assert r.status_code in (200, 201), r.get_data(as_text=True)
                inserted += 1
        gaps = client.get("/api/v1/content-gaps", headers=manager).json
        with app.app_context():
            reindexer().flush()  # learned text indexed now, not by the thread after the home is gone
        time.sleep(1.0)
    flow_of = {line["id"]: line["flow"] for line in lines}
    removed = {line["id"] for line in lines if line["flow"] == flow}
    gap_removed = removed & {t for topic in gaps["topics"] for t in topic["ticket_ids"]} | removed
    best, best_f1 = None, 0.0
    for rank, topic in enumerate(gaps["topics"], 1):
        hits = sum(1 for t in topic["ticket_ids"] if t in removed)
        precision, recall = hits / topic["size"], hits / len(gap_removed)
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        if f1 > best_f1:
            best_f1 = f1
            best = {"rank": rank, "size": topic["size"], "purity": round(precision, 3),
                    "recall": round(recall, 3), "terms": topic["terms"][:5]}
    top_flow = [t for t in gaps["topics"][:TOP]
                if sum(flow_of[i] == flow for i in t["ticket_ids"]) > t["size"] / 2]
    top_recall = sum(sum(1 for i in t["ticket_ids"] if i in removed) for t in top_flow) / len(gap_removed)
    return {"flow": flow, "flow_tickets": len(removed), "gap_tickets": gaps["tickets"], "inserted": inserted,
            "topics": len(gaps["topics"]), "unclustered": gaps["unclustered"], "best": best,
            "top3_recall": round(top_recall, 3), "passes": bool(best and best["rank"] <= TOP),
            "top_topics": [(t["size"], Counter(flow_of[i] for i in t["ticket_ids"]).most_common(1)[0], t["terms"][:4])
                           for t in gaps["topics"][:5]]}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pack", default=str(DATA / "policies.jsonl"))
    parser.add_argument("--eval", default=str(DATA / "eval_dev.jsonl"))
    parser.add_argument("--flow", action="append", help="flow(s) to remove (default: each in turn)")
    parser.add_argument("--field", default="text", choices=["text", "context"])
    parser.add_argument("--limit", type=int, help="only the first N tickets (smoke runs)")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args(argv)
    pack = [json.loads(s) for s in Path(args.pack).read_text().splitlines() if s.strip()]
    lines = [json.loads(s) for s in Path(args.eval).read_text().splitlines() if s.strip()][:args.limit]
    flows = args.flow or sorted({line["flow"] for line in lines})
    results = []
    print(f"{'flow removed':22} {'tickets':>7} {'gaps':>5} {'topics':>6}  best topic: "
          f"{'rank':>4} {'size':>4} {'purity':>6} {'recall':>6}  top-3 recall  terms")
    for flow in flows:
        started = time.perf_counter()
        r = run_flow(flow, pack, lines, args.field)
        b = r["best"] or {"rank": "-", "size": 0, "purity": 0, "recall": 0, "terms": []}
        print(f"{flow:22} {r['flow_tickets']:7} {r['gap_tickets']:5} {r['topics']:6}  {'':11} {b['rank']:>4} "
              f"{b['size']:4} {b['purity']:6.2f} {b['recall']:6.2f}  {r['top3_recall']:12.2f}  "
              f"{' '.join(b['terms'])}  ({time.perf_counter() - started:.0f}s)", flush=True)
        results.append(r)
    passed = sum(r["passes"] for r in results)
    print(f"\n{passed}/{len(results)} removed flows come out as one of the top {TOP} topics; "
          f"mean purity {sum((r['best'] or {}).get('purity', 0) for r in results) / len(results):.2f}, "
          f"mean recall {sum((r['best'] or {}).get('recall', 0) for r in results) / len(results):.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
