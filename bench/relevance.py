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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402  (bench/peers.py, beside this script)
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


def evaluate_peer(peer, lines: list[dict], field: str, kinds: dict[str, str], ours: list[dict]) -> list[dict]:
    """Ranks of a peer on the same lines (languages as our run decided, for the same table)."""
    results = []
    for line, mine in zip(lines, ours):
        kind = kinds.get(line["expect"][0], "policy")
        keys = peer.rank(line[field], kind, DEPTH)
        rank = next((n for n, k in enumerate(keys, 1) if k in line["expect"]), None)
        results.append({"id": line.get("id"), "language": mine["language"], "rank": rank})
    return results


LEARNING_AGENTS = 5  # replayed insertions are spread over a small team, as in a real desk


def learn(client, tokens: list[dict], path: str, field: str) -> int:
    """Replay a labelled file as insertions through the real insertions path."""
    lines = [json.loads(l) for l in Path(path).read_text(encoding="utf-8").splitlines() if l.strip()]
    for i, line in enumerate(lines):
        ticket = {"id": f"learn-{line.get('id', i)}", "subject": "", "body": line[field]}
        if line.get("language"):
            ticket["language"] = line["language"]
        r = client.post("/api/v1/insertions", json={"key": line["expect"][0], "ticket": ticket,
                                                    "confirm_ineligible": True},
                        headers=tokens[i % len(tokens)])
        if r.status_code not in (200, 201):
            raise SystemExit(f"insertion failed on {line.get('id')}: {r.status_code} {r.get_data(as_text=True)}")
        if (i + 1) % 200 == 0:
            print(f"  learned from {i + 1}/{len(lines)} tickets", file=sys.stderr)
    return len(lines)


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
    parser.add_argument("--learn-from", help="replay this labelled file as insertions before evaluating")
    parser.add_argument("--synonyms", help="a synonyms file ({language: [[word, ...], ...]}) to load first")
    parser.add_argument("--peers", action="store_true",
                        help="also rank with a tuned BM25 and SQLite FTS5 over the same snippets (and learned text)")
    args = parser.parse_args(argv)

    lines = [json.loads(l) for l in Path(args.eval).read_text(encoding="utf-8").splitlines() if l.strip()]
    with tempfile.TemporaryDirectory(prefix="ra-relevance-") as home:
        app = create_app({"HOME": home})
        with app.app_context():
            started = time.perf_counter()
            counts = import_pack_files(args.pack, actor="bench")
            print(f"imported {counts['created']} snippets in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        store = open_store(app.config["DATABASE"])
        if args.synonyms:
            with store.transaction():
                for lang, groups in json.loads(Path(args.synonyms).read_text(encoding="utf-8")).items():
                    store.set_synonyms(lang, groups, "bench")
        kinds = {s["key"]: s["kind"] for s in store.iter_snippets()}
        headers = {"Authorization": f"Bearer {create_user(store, 'bench', 'agent')}"}
        team = [{"Authorization": f"Bearer {create_user(store, f'agent{n}', 'agent')}"}
                for n in range(LEARNING_AGENTS)]
        store.conn.close()
        client = app.test_client()
        if args.learn_from:
            started = time.perf_counter()
            n = learn(client, team, args.learn_from, args.field)
            app.extensions["replyassist.reindexer"].flush()  # index what is still queued
            print(f"learned from {n} insertions in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        started = time.perf_counter()
        results = evaluate(client, headers, lines, args.field, kinds)
        took = time.perf_counter() - started
        peer_results = {}
        if args.peers:
            store = open_store(app.config["DATABASE"])
            docs = peers.documents(store)
            store.conn.close()
            for peer in (peers.TunedBM25(docs), peers.Fts5(docs)):
                peer_results[peer.name] = evaluate_peer(peer, lines, args.field, kinds, results)
        app.extensions["replyassist.searcher"].close()

    by_lang = defaultdict(list)
    for r in results:
        by_lang[r["language"]].append(r)
    rows = {"overall": scores(results)}
    if len(by_lang) > 1 or any(l.get("language") for l in lines):
        rows.update({lang: scores(rs) for lang, rs in sorted(by_lang.items())})
    learned = f", after learning from {Path(args.learn_from).name}" if args.learn_from else ""
    print_table(f"{Path(args.eval).name} ({args.field}){learned}, {len(results)} tickets, "
                f"{took / max(len(results), 1) * 1000:.1f} ms/ticket", rows)
    for name, presults in peer_results.items():
        prow = {"overall": scores(presults)}
        if len(rows) > 1:
            by = defaultdict(list)
            for r in presults:
                by[r["language"]].append(r)
            prow.update({lang: scores(rs) for lang, rs in sorted(by.items())})
        print_table(f"peer {name}, same snippets{learned and ' and learned text'}", prow)
    for miss in [r for r in results if r["rank"] != 1][:args.misses]:
        line = next(l for l in lines if l.get("id") == miss["id"])
        print(f"- {miss['id']} rank={miss['rank']} expect={miss['expect'][0]} got={miss['top']}\n    {line[args.field][:160]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"scores": rows, "results": results,
                                               "peers": {n: scores(r) for n, r in peer_results.items()}}, indent=1))
    return rows


if __name__ == "__main__":
    main()
