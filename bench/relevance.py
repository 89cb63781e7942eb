"""Relevance of /suggest: top-1, top-3 and MRR on a labelled eval file.

    python bench/relevance.py --pack ../shared/datasets/abcd/policies.jsonl \
        --eval ../shared/datasets/abcd/eval_dev.jsonl

Imports the packs into a fresh temporary home (real SQLite file, real Whoosh index), then asks
the real /suggest endpoint (in-process through Flask's test client: the same code path as a
server, without HTTP timing noise) for each eval line's `text` (or `--field context`). A line
counts as a hit at k when any key of its `expect` is among the first k suggestions of the
expected keys' kind. Tune on dev; report test.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import create_app  # noqa: E402
from server.auth import create_user  # noqa: E402
from server.cli import import_pack_files  # noqa: E402
from server.db import open_store  # noqa: E402

DEPTH = 10  # suggestions asked for; MRR counts ranks up to this depth


def evaluate(client, headers: dict, lines: list[dict], field: str, kinds: dict[str, str]) -> dict:
    """Ask /suggest for each line; return per-line ranks (None when not in the top DEPTH)."""
    results = []
    for i, line in enumerate(lines, 1):
        ticket = {"id": line.get("id", str(i)), "subject": "", "body": line[field]}
        if line.get("language"):
            ticket["language"] = line["language"]
        r = client.post("/api/v1/suggest", json={"ticket": ticket, "limit": DEPTH}, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"/suggest failed on {line.get('id')}: {r.status_code} {r.get_data(as_text=True)}")
        kind = kinds.get(line["expect"][0], "policy")
        keys = [h["key"] for h in r.json["policies" if kind == "policy" else "replies"]]
        rank = next((n for n, k in enumerate(keys, 1) if k in line["expect"]), None)
        results.append({"id": line.get("id"), "language": line.get("language") or r.json["language"],
                        "rank": rank, "top": keys[:3], "expect": line["expect"]})
        if i % 200 == 0:
            print(f"  {i}/{len(lines)} tickets", file=sys.stderr)
    return results


def scores(results: list[dict]) -> dict:
    """top-1, top-3, top-5 and MRR of a list of ranks."""
    n = len(results) or 1
    ranks = [r["rank"] for r in results]
    return {"n": len(results),
            "top1": sum(1 for r in ranks if r == 1) / n,
            "top3": sum(1 for r in ranks if r and r <= 3) / n,
            "top5": sum(1 for r in ranks if r and r <= 5) / n,
            "mrr": sum(1 / r for r in ranks if r) / n}


def print_table(title: str, rows: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(f"{'':<10} {'n':>6} {'top-1':>7} {'top-3':>7} {'top-5':>7} {'MRR':>7}")
    for name, s in rows.items():
        print(f"{name:<10} {s['n']:>6} {s['top1']:>7.3f} {s['top3']:>7.3f} {s['top5']:>7.3f} {s['mrr']:>7.3f}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pack", nargs="+", required=True, help="knowledge packs to import")
    parser.add_argument("--eval", required=True, help="JSONL lines with text and expect")
    parser.add_argument("--field", default="text", help="which field of a line is the ticket (text, context)")
    parser.add_argument("--json", help="write the scores and per-line ranks to this file")
    parser.add_argument("--misses", type=int, default=0, help="print this many misses")
    args = parser.parse_args(argv)

    lines = [json.loads(l) for l in Path(args.eval).read_text(encoding="utf-8").splitlines() if l.strip()]
    with tempfile.TemporaryDirectory(prefix="ra-relevance-") as home:
        app = create_app({"HOME": home})
        with app.app_context():
            started = time.perf_counter()
            counts = import_pack_files(args.pack, actor="bench")
            print(f"imported {counts['created']} snippets in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        store = open_store(app.config["DATABASE"])
        kinds = {s["key"]: s["kind"] for s in store.iter_snippets()}
        headers = {"Authorization": f"Bearer {create_user(store, 'bench', 'agent')}"}
        store.conn.close()
        started = time.perf_counter()
        results = evaluate(app.test_client(), headers, lines, args.field, kinds)
        took = time.perf_counter() - started
        app.extensions["replyassist.searcher"].close()

    by_lang = defaultdict(list)
    for r in results:
        by_lang[r["language"]].append(r)
    rows = {"overall": scores(results)}
    if len(by_lang) > 1 or any(l.get("language") for l in lines):
        rows.update({lang: scores(rs) for lang, rs in sorted(by_lang.items())})
    print_table(f"{Path(args.eval).name} ({args.field}), {len(results)} tickets, "
                f"{took / max(len(results), 1) * 1000:.1f} ms/ticket", rows)
    for miss in [r for r in results if r["rank"] != 1][:args.misses]:
        line = next(l for l in lines if l.get("id") == miss["id"])
        print(f"- {miss['id']} rank={miss['rank']} expect={miss['expect'][0]} got={miss['top']}\n    {line[args.field][:160]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"scores": rows, "results": results}, indent=1))
    return rows


if __name__ == "__main__":
    main()
