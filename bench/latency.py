"""Latency of POST /api/v1/suggest through the real server, beside SQLite FTS5 on the same data.

For each store size: build a synthetic knowledge pack from real ABCD sentences (seeded, so every
run sees the same data), import it with the real CLI into a fresh REPLYASSIST_HOME, start a real
waitress process on the loopback address, and time 200 ticket-like queries from the client side
(a first pass, then a repeat pass that shows the server's ranking cache). The same snippets and
queries go through an in-memory SQLite FTS5 table in this process, as a peer measured in the same
run on the same machine.

    .venv/bin/python bench/latency.py [--sizes 1000,10000] [--queries 200] [--workdir DIR]
                                      [--keep] [--json OUT]

Percentiles are numpy.percentile with method="linear" (interpolation between the two nearest
ranks; the same as statistics.quantiles(method="inclusive")).
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import shutil
import sqlite3
import string
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's root

from server.process import ServerError, ServerProcess, flask_cli  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
POLICIES = DATASETS / "abcd" / "policies.jsonl"
EVAL_DEV = DATASETS / "abcd" / "eval_dev.jsonl"  # never eval_test: it is for reporting relevance only

SEED = 20261101
WARMUP = 20
LIMIT = 5
POLICY_SHARE = 0.7
PERCENTILE_METHOD = "linear"

_STARTED = time.perf_counter()


def progress(message: str) -> None:
    """One line per phase, with seconds since the start (a 10k build takes ~30 s)."""
    print(f"[{time.perf_counter() - _STARTED:7.1f} s] {message}", flush=True)


# -- data ------------------------------------------------------------------------------------
_LIST_MARKER = re.compile(r"^\s*(?:\d+\.|[-*>]+)\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = _LIST_MARKER.sub("", line).strip()
        for sentence in _SENTENCE_END.split(line):
            sentence = " ".join(sentence.split())
            if len(sentence.split()) >= 4:
                out.append(sentence)
    return out


def sentence_pool() -> tuple[list[str], list[str]]:
    """Real sentences (policy titles and bodies, customer messages) and the ABCD flow names."""
    policies = _read_jsonl(POLICIES)
    pool: list[str] = []
    for policy in policies:
        pool.append(policy["title"])
        pool.extend(_sentences(policy["body"]))
    for item in _read_jsonl(EVAL_DEV):
        pool.extend(_sentences(item["context"]))
    flows = sorted({p["key"].split("/")[1] for p in policies})
    return list(dict.fromkeys(pool)), flows


def _title(rng: random.Random, pool: list[str]) -> str:
    want = rng.randint(5, 10)
    words: list[str] = []
    while len(words) < want:
        sentence = rng.choice(pool).split()
        start = rng.randrange(max(len(sentence) - (want - len(words)), 0) + 1)
        words.extend(sentence[start:start + want - len(words)])
    title = " ".join(w.strip(string.punctuation) or w for w in words)
    return title[:1].upper() + title[1:]


def _body(rng: random.Random, pool: list[str]) -> str:
    want = rng.randint(120, 250)
    paragraphs, paragraph, count = [], [], 0
    while count < want:
        sentence = rng.choice(pool)
        paragraph.append(sentence)
        count += len(sentence.split())
        if len(paragraph) >= rng.randint(3, 5):
            paragraphs.append(" ".join(paragraph))
            paragraph = []
    if paragraph:
        paragraphs.append(" ".join(paragraph))
    return "\n\n".join(paragraphs)


def make_snippets(size: int, pool: list[str], flows: list[str]) -> list[dict]:
    """``size`` knowledge-pack lines; the same seed makes smaller sizes prefixes of larger ones."""
    rng = random.Random(SEED)
    snippets = []
    for n in range(size):
        kind = "policy" if rng.random() < POLICY_SHARE else "reply"
        snippets.append({"key": f"bench/{n}", "kind": kind, "language": "en",
                         "title": _title(rng, pool), "body": _body(rng, pool),
                         "tags": rng.sample(flows, 2)})
    return snippets


def make_queries(count: int) -> list[str]:
    """``count`` ticket texts of 40-80 words from real customer messages (dev split only).

    Most ABCD contexts are 15-35 words, so short ones are joined with the next until the text
    reaches 40 words; a text longer than 80 words is cut at a word boundary.
    """
    contexts = [" ".join(item["context"].split()) for item in _read_jsonl(EVAL_DEV)]
    rng = random.Random(SEED + 1)
    rng.shuffle(contexts)
    queries, seen, i = [], set(), 0
    while len(queries) < count:
        if i >= len(contexts):
            raise SystemExit(f"only {len(queries)} distinct queries can be made from {EVAL_DEV}")
        words: list[str] = []
        while len(words) < 40 and i < len(contexts):
            words.extend(contexts[i].split())
            i += 1
        if len(words) < 40:
            continue
        text = " ".join(words[:80])
        if text not in seen:  # every query distinct: the first pass must not hit the cache
            seen.add(text)
            queries.append(text)
    return queries


def write_pack(path: Path, snippets: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for snippet in snippets:
            handle.write(json.dumps(snippet, ensure_ascii=False) + "\n")


# -- the real server -------------------------------------------------------------------------
def time_suggest(server: ServerProcess, token: str, queries: list[str], id_prefix: str) -> tuple[list[float], list[float], int]:
    """Send each query once, in order, on one keep-alive connection.

    Returns client wall times (ms, request sent to body read), the server's took_ms, and how
    many queries got no suggestion at all.
    """
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    client, took, empty = [], [], 0
    try:
        for n, text in enumerate(queries):
            payload = json.dumps({"ticket": {"id": f"{id_prefix}{n}", "subject": "", "body": text,
                                             "language": "en"}, "limit": LIMIT})
            started = time.perf_counter()
            conn.request("POST", "/api/v1/suggest", body=payload, headers=headers)
            response = conn.getresponse()
            body = response.read()
            client.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise SystemExit(f"POST /api/v1/suggest answered {response.status}: {body[:1000]!r}")
            data = json.loads(body)
            took.append(float(data["took_ms"]))
            empty += not (data["policies"] or data["replies"])
    except (ConnectionError, http.client.HTTPException) as exc:
        server.check_alive()  # raises with the end of the server's log if it died
        raise SystemExit(f"request failed while the server still runs: {exc!r}") from exc
    finally:
        conn.close()
    return client, took, empty


# -- the FTS5 peer ---------------------------------------------------------------------------
_PUNCT = string.punctuation + "“”‘’"


def fts5_match(text: str) -> str:
    """An OR of the text's distinct words, each a quoted FTS5 string (never query syntax)."""
    tokens = dict.fromkeys(t.strip(_PUNCT).lower() for t in text.split())
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens if t)


def build_fts5(snippets: list[dict]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    # key last and UNINDEXED, so bm25(t, 3.0, 1.0) weighs title 3 and body 1.
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, key UNINDEXED, tokenize='porter unicode61')")
    conn.executemany("INSERT INTO t (title, body, key) VALUES (?, ?, ?)",
                     ((s["title"], s["body"], s["key"]) for s in snippets))
    conn.commit()
    return conn


def time_fts5(conn: sqlite3.Connection, queries: list[str]) -> list[float]:
    sql = "SELECT key, bm25(t, 3.0, 1.0) AS s FROM t WHERE t MATCH ? ORDER BY s LIMIT 5"
    times = []
    for text in queries:
        match = fts5_match(text)
        started = time.perf_counter()
        conn.execute(sql, (match,)).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return times


# -- one size ------------------------------------------------------------------------------
def pct(values: list[float], *qs: float) -> dict[str, float]:
    return {f"p{q:g}": round(float(np.percentile(values, q, method=PERCENTILE_METHOD)), 2) for q in qs}


def run_size(size: int, workdir: Path, pool: list[str], flows: list[str], warmup: list[str],
             queries: list[str]) -> dict:
    home = workdir / f"home-{size}"
    home.mkdir(parents=True)
    progress(f"size {size}: generating snippets")
    snippets = make_snippets(size, pool, flows)
    pack = workdir / f"pack-{size}.jsonl"
    write_pack(pack, snippets)
    kinds = {k: sum(s["kind"] == k for s in snippets) for k in ("policy", "reply")}
    words = np.mean([len(s["body"].split()) for s in snippets])
    progress(f"size {size}: pack written ({kinds['policy']} policies, {kinds['reply']} replies, "
             f"{words:.0f} body words on average); importing with `flask pack import`")
    started = time.perf_counter()
    out = flask_cli(home, "pack", "import", str(pack), timeout=None)
    import_s = time.perf_counter() - started
    progress(f"size {size}: {out.strip()} in {import_s:.1f} s ({size / import_s:.0f} docs/s)")
    token = flask_cli(home, "users", "create", "bench", "--role", "agent", timeout=None).strip().splitlines()[-1]

    started = time.perf_counter()
    with ServerProcess(home, threads=4, log=home / "server.stderr").start(timeout=300) as server:
        progress(f"size {size}: server up on 127.0.0.1:{server.port} in {time.perf_counter() - started:.1f} s; "
                 f"{len(warmup)} warm-up queries")
        time_suggest(server, token, warmup, "w")
        progress(f"size {size}: first pass, {len(queries)} queries")
        client, took, empty = time_suggest(server, token, queries, "q")
        progress(f"size {size}: repeat pass (ranking cache)")
        repeat, repeat_took, _ = time_suggest(server, token, queries, "q")
    progress(f"size {size}: server stopped; building FTS5")

    started = time.perf_counter()
    fts = build_fts5(snippets)
    fts_build_s = time.perf_counter() - started
    time_fts5(fts, warmup)
    progress(f"size {size}: FTS5 built in {fts_build_s:.1f} s; timing {len(queries)} queries")
    fts_times = time_fts5(fts, queries)
    fts.close()

    ours = pct(client, 50, 95, 99)
    fts5 = pct(fts_times, 50, 95, 99)
    return {"size": size, "import_s": round(import_s, 2), "docs_per_s": round(size / import_s, 1),
            "fts5_build_s": round(fts_build_s, 2), "queries": len(queries),
            "queries_without_suggestions": empty,
            "ours_client_ms": {**ours, "mean": round(float(np.mean(client)), 2)},
            "ours_took_ms": pct(took, 50, 99),
            "repeat_client_ms": pct(repeat, 50, 99), "repeat_took_ms": pct(repeat_took, 50, 99),
            "fts5_ms": {**fts5, "mean": round(float(np.mean(fts_times)), 2)},
            "ratio_p99": round(ours["p99"] / fts5["p99"], 2) if fts5["p99"] else None}


def print_table(results: list[dict]) -> None:
    def trio(d: dict) -> str:
        return f"{d['p50']:.1f} / {d['p95']:.1f} / {d['p99']:.1f}"

    def duo(d: dict) -> str:
        return f"{d['p50']:.1f} / {d['p99']:.1f}"

    header = ["size", "ours p50/p95/p99 (client ms)", "ours took_ms p50/p99",
              "repeat p50/p99 (client ms)", "FTS5 p50/p95/p99 (ms)", "ours p99 / FTS5 p99"]
    rows = [[f"{r['size']:,}", trio(r["ours_client_ms"]), duo(r["ours_took_ms"]),
             duo(r["repeat_client_ms"]), trio(r["fts5_ms"]), f"{r['ratio_p99']}x"] for r in results]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("| size | import wall time (s) | docs/s | FTS5 build (s) | queries without suggestions |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['size']:,} | {r['import_s']:.1f} | {r['docs_per_s']:.0f} | {r['fts5_build_s']:.2f} "
              f"| {r['queries_without_suggestions']} of {r['queries']} |")
    print()
    print(f"percentiles: numpy.percentile(method={PERCENTILE_METHOD!r}); {results[0]['queries']} queries, "
          f"{WARMUP} warm-up queries not counted, limit {LIMIT}, waitress --threads 4, sequential client")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated store sizes (default: 1000,10000)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per pass (default: 200)")
    parser.add_argument("--workdir", help="parent of the temporary directory (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes and packs")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]

    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="replyassist-latency-", dir=args.workdir))
    progress(f"workdir {workdir}; sizes {sizes}; {args.queries} queries")
    pool, flows = sentence_pool()
    all_queries = make_queries(WARMUP + args.queries)
    warmup, queries = all_queries[:WARMUP], all_queries[WARMUP:]
    progress(f"{len(pool)} pool sentences; {len(queries)} queries of "
             f"{min(len(q.split()) for q in queries)}-{max(len(q.split()) for q in queries)} words")
    results = []
    try:
        for size in sizes:
            results.append(run_size(size, workdir, pool, flows, warmup, queries))
    finally:
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "percentile_method": f"numpy.percentile(method={PERCENTILE_METHOD!r})",
            "warmup": WARMUP, "limit": LIMIT, "server": "waitress --threads 4", "seed": SEED,
            "results": results}, indent=2) + "\n", encoding="utf-8")
        progress(f"wrote {args.json}")


if __name__ == "__main__":
    try:
        main()
    except ServerError as exc:  # a message, not a traceback: the server's log tail says what went wrong
        raise SystemExit(str(exc)) from None
