"""Latency and throughput of POST /api/v1/suggest through real servers, quiet and under live load.

For each store size: build a synthetic knowledge pack from real ABCD sentences (seeded, so every
run sees the same data), import it with the real CLI into a fresh REPLYASSIST_HOME, then on the
production command (gunicorn, 2 workers x 4 threads, unless --server says otherwise) time
distinct ticket-like texts from the client side: a quiet pass, a repeat pass (the ranking
cache), and a live pass of other distinct tickets while agents insert replies (learned text,
indexed by the background thread) and managers save snippets at set rates. The same tickets go
through an in-memory SQLite FTS5 table in this process, as a peer measured in the same run. At
--throughput-sizes, N concurrent clients send distinct tickets to each --throughput server.
With --baseline DIR, a checkout of the code before a change is measured the same way on a copy
of the same imported home, in the same run.

    .venv/bin/python bench/latency.py [--sizes 1000,10000] [--queries 200] [--baseline DIR]
                                      [--live-rate 4] [--save-rate 0.5] [--json OUT]

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
import threading
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


# -- more distinct tickets, and the load a working desk adds ---------------------------------
def make_tickets(count: int, seed: int, exclude: set[str]) -> list[str]:
    """``count`` more distinct ticket texts (40-80 words), each a seeded mix of dev contexts."""
    contexts = [" ".join(item["context"].split()) for item in _read_jsonl(EVAL_DEV)]
    rng = random.Random(seed)
    out, seen = [], set(exclude)
    while len(out) < count:
        words: list[str] = []
        while len(words) < 40:
            words.extend(rng.choice(contexts).split())
        text = " ".join(words[:80])
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


class Load:
    """Insertions (agents) and snippet saves (managers) at set rates, in background threads."""

    def __init__(self, server: ServerProcess, agent: str, manager: str, replies: list[str],
                 keys: list[str], texts: list[str], insert_rate: float, save_rate: float) -> None:
        self.server, self.agent, self.manager = server, agent, manager
        self.replies, self.keys, self.texts = replies, keys, texts
        self.rates = {"insert": insert_rate, "save": save_rate}
        self.done = {"insert": 0, "save": 0}
        self.failed: list[str] = []
        self.times = {"insert": [], "save": []}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(kind,), daemon=True)
                         for kind, rate in self.rates.items() if rate > 0]

    def __enter__(self) -> Load:
        self.started = time.perf_counter()
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()
        self.seconds = time.perf_counter() - self.started

    def _request(self, conn, kind: str, n: int, rng: random.Random) -> None:
        if kind == "insert":
            body = {"key": rng.choice(self.replies),
                    "ticket": {"id": f"live-{n}", "subject": "", "language": "en",
                               "body": self.texts[n % len(self.texts)],
                               "customer": {"email": f"c{n}@example.com"}}}
            method, path, token = "POST", "/api/v1/insertions", self.agent
        else:
            key = rng.choice(self.keys)
            body = {"body": f"{self.texts[-1 - n % len(self.texts)]}\n\n(edited {n})"}
            method, path, token = "PATCH", f"/api/v1/snippets/{key}", self.manager
        started = time.perf_counter()
        conn.request(method, path, body=json.dumps(body),
                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        answer = response.read()
        self.times[kind].append((time.perf_counter() - started) * 1000)
        if response.status >= 300:
            self.failed.append(f"{kind} {response.status}: {answer[:200]!r}")
        else:
            self.done[kind] += 1

    def _run(self, kind: str) -> None:
        rng = random.Random(f"{SEED}-{kind}")
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=120)
        interval, n = 1.0 / self.rates[kind], 0
        next_at = time.perf_counter()
        while not self._stop.is_set():
            try:
                self._request(conn, kind, n, rng)
            except (OSError, http.client.HTTPException) as exc:
                self.failed.append(f"{kind}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=120)
            n += 1
            next_at += interval  # a fixed schedule: a slow request does not lower the rate
            self._stop.wait(max(0.0, next_at - time.perf_counter()))
        conn.close()


def throughput(server: ServerProcess, token: str, tickets: list[str], clients: int, requests: int) -> dict:
    """``requests`` distinct suggests from ``clients`` concurrent keep-alive clients: req/s and latency."""
    barrier = threading.Barrier(clients + 1)
    times: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        barrier.wait()
        for i in range(c, requests, clients):
            payload = json.dumps({"ticket": {"id": f"t{i}", "subject": "", "body": tickets[i],
                                             "language": "en"}, "limit": LIMIT})
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/suggest", body=payload, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(str(response.status))
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
            times[c].append((time.perf_counter() - started) * 1000)
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    flat = [x for ts in times for x in ts]
    return {"clients": clients, "requests": requests, "wall_s": round(wall, 2),
            "per_s": round(requests / wall, 1), **pct(flat, 50, 99), "errors": len(errors)}


def memory_summary(server: ServerProcess) -> dict:
    """RSS and PSS (MB) per serving process, and their sum."""
    procs = server.memory()
    return {"processes": len(procs),
            "rss_mb": [round(p["rss_kb"] / 1024) for p in procs],
            "pss_mb": [round(p["pss_kb"] / 1024) for p in procs],
            "total_pss_mb": round(sum(p["pss_kb"] for p in procs) / 1024)}


# -- one size ------------------------------------------------------------------------------
def pct(values: list[float], *qs: float) -> dict[str, float]:
    if not values:
        return {f"p{q:g}": float("nan") for q in qs}
    return {f"p{q:g}": round(float(np.percentile(values, q, method=PERCENTILE_METHOD)), 2) for q in qs}


def spec(text: str) -> tuple[str, int, int]:
    """``gunicorn:2x4`` -> ("gunicorn", 2 workers, 4 threads); ``waitress:8`` -> one process, 8 threads."""
    kind, _, shape = text.partition(":")
    workers, _, threads = shape.rpartition("x")
    if kind not in ("gunicorn", "waitress") or not threads.isdigit():
        raise SystemExit(f"server spec {text!r}: use gunicorn:WORKERSxTHREADS or waitress:THREADS")
    return kind, int(workers or 1), int(threads)


def run_size(size: int, workdir: Path, pool: list[str], flows: list[str], tickets: dict[str, list[str]],
             args: argparse.Namespace) -> dict:
    """Import ``size`` snippets once, then measure each code variant on its own copy of that home."""
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
    tokens = {"agent": flask_cli(home, "users", "create", "bench", "--role", "agent", timeout=None).strip().splitlines()[-1],
              "manager": flask_cli(home, "users", "create", "boss", "--role", "manager", timeout=None).strip().splitlines()[-1]}
    result = {"size": size, "import_s": round(import_s, 2), "docs_per_s": round(size / import_s, 1),
              "queries": len(tickets["quiet"]), "variants": {}}
    variants = [("before", Path(args.baseline).resolve())] if args.baseline else []
    variants.append(("after" if args.baseline else "this", ROOT))
    for name, root in variants:
        # Each variant gets the imported home as it was: the live pass changes the store.
        copy = workdir / f"home-{size}-{name}"
        shutil.copytree(home, copy)
        result["variants"][name] = measure(size, name, copy, root, snippets, tokens, tickets, args)
        shutil.rmtree(copy, ignore_errors=True)

    started = time.perf_counter()
    fts = build_fts5(snippets)
    result["fts5_build_s"] = round(time.perf_counter() - started, 2)
    time_fts5(fts, tickets["warmup"])
    result["fts5_ms"] = pct(time_fts5(fts, tickets["quiet"] + tickets["live"]), 50, 95, 99)
    progress(f"size {size}: FTS5 p99 {result['fts5_ms']['p99']} ms")
    fts.close()
    return result


def measure(size: int, name: str, home: Path, root: Path, snippets: list[dict], tokens: dict[str, str],
            tickets: dict[str, list[str]], args: argparse.Namespace) -> dict:
    """Quiet, repeat and live passes on the latency server, then throughput rows, for one code variant."""
    label = f"size {size} [{name}]"
    token = tokens["agent"]
    replies = [s["key"] for s in snippets if s["kind"] == "reply"]
    kind, workers, threads = spec(args.server)
    started = time.perf_counter()
    result: dict = {}
    with ServerProcess(home, threads=threads, kind=kind, workers=workers, root=root,
                       log=home / "server.stderr").start(timeout=900) as server:
        progress(f"{label}: {args.server} up on 127.0.0.1:{server.port} in "
                 f"{time.perf_counter() - started:.1f} s; {len(tickets['warmup'])} warm-up tickets")
        time_suggest(server, token, tickets["warmup"], "w")
        progress(f"{label}: quiet pass, {len(tickets['quiet'])} distinct tickets")
        client, took, empty = time_suggest(server, token, tickets["quiet"], "q")
        repeat, _, _ = time_suggest(server, token, tickets["quiet"], "q")
        result.update(quiet_ms=pct(client, 50, 95, 99), quiet_took_ms=pct(took, 50, 99),
                      repeat_ms=pct(repeat, 50, 99), queries_without_suggestions=empty)
        progress(f"{label}: quiet p50 {result['quiet_ms']['p50']} p99 {result['quiet_ms']['p99']} ms")
        if args.live_rate > 0 or args.save_rate > 0:
            progress(f"{label}: live pass, {len(tickets['live'])} other distinct tickets while "
                     f"{args.live_rate}/s insertions and {args.save_rate}/s manager saves run")
            with Load(server, token, tokens["manager"], replies, [s["key"] for s in snippets],
                      tickets["learn"], args.live_rate, args.save_rate) as load:
                live, live_took, _ = time_suggest(server, token, tickets["live"], "l")
            if load.failed:
                raise SystemExit(f"live load failed: {load.failed[:5]}")
            result.update(live_ms=pct(live, 50, 95, 99), live_took_ms=pct(live_took, 50, 99),
                          live_load={"seconds": round(load.seconds, 1),
                                     "insertions_per_s": round(load.done["insert"] / load.seconds, 2),
                                     "saves_per_s": round(load.done["save"] / load.seconds, 2),
                                     "insert_ms": pct(load.times["insert"], 50, 99),
                                     "save_ms": pct(load.times["save"], 50, 99)})
            progress(f"{label}: live p50 {result['live_ms']['p50']} p99 {result['live_ms']['p99']} ms")
        result["memory"] = memory_summary(server)

    if size in args.throughput_sizes:
        result["throughput"] = []
        for server_spec in args.throughput:
            kind, workers, threads = spec(server_spec)
            with ServerProcess(home, threads=threads, kind=kind, workers=workers, root=root,
                               log=home / "server.stderr").start(timeout=900) as server:
                progress(f"{label}: throughput on {server_spec}: warming every worker")
                offset = 0
                warm = tickets["throughput"][:10 * workers * threads]
                offset += len(warm)
                throughput(server, token, warm, workers * threads, len(warm))
                for clients in args.clients:
                    batch = tickets["throughput"][offset:offset + args.throughput_requests]
                    offset += len(batch)
                    row = throughput(server, token, batch, clients, len(batch))
                    row.update(server=server_spec, memory=memory_summary(server))
                    progress(f"{label}: {server_spec}, {clients} clients: {row['per_s']} req/s "
                             f"(p50 {row['p50']} ms, p99 {row['p99']} ms, {row['errors']} errors)")
                    result["throughput"].append(row)
    return result


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    def trio(d: dict | None) -> str:
        return f"{d['p50']:.1f} / {d['p95']:.1f} / {d['p99']:.1f}" if d else "-"

    print()
    print("| size | code | quiet p50/p95/p99 | live p50/p95/p99 | live p99 / quiet p99 | live p99 / FTS5 p99 "
          "| repeat p50/p99 | load achieved | PSS MB per process |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for name, v in r["variants"].items():
            live, load = v.get("live_ms"), v.get("live_load", {})
            vs_quiet = f"{live['p99'] / v['quiet_ms']['p99']:.2f}x" if live else "-"
            vs_fts5 = f"{live['p99'] / r['fts5_ms']['p99']:.2f}x" if live else "-"
            print(f"| {r['size']:,} | {name} | {trio(v['quiet_ms'])} | {trio(live)} | {vs_quiet} | {vs_fts5} "
                  f"| {v['repeat_ms']['p50']:.1f} / {v['repeat_ms']['p99']:.1f} "
                  f"| {load.get('insertions_per_s', 0)} ins/s, {load.get('saves_per_s', 0)} saves/s "
                  f"| {' + '.join(str(m) for m in v['memory']['pss_mb'])} |")
        print(f"| {r['size']:,} | SQLite FTS5 full OR | {trio(r['fts5_ms'])} | | | | | | |")
    print()
    print("| size | import wall time (s) | docs/s | FTS5 build (s) | tickets without suggestions |")
    print("|---|---|---|---|---|")
    for r in results:
        empty = ", ".join(f"{n}: {v['queries_without_suggestions']}" for n, v in r["variants"].items())
        print(f"| {r['size']:,} | {r['import_s']:.1f} | {r['docs_per_s']:.0f} | {r['fts5_build_s']:.2f} "
              f"| {empty} of {r['queries']} |")
    rows = [(r["size"], name, t) for r in results for name, v in r["variants"].items()
            for t in v.get("throughput", [])]
    if rows:
        print()
        print("| size | code | server | clients | suggests/s | p50 ms | p99 ms | errors | PSS MB per process |")
        print("|---|---|---|---|---|---|---|---|---|")
        for size, name, t in rows:
            print(f"| {size:,} | {name} | {t['server']} | {t['clients']} | {t['per_s']:.1f} | {t['p50']:.1f} "
                  f"| {t['p99']:.1f} | {t['errors']} | {' + '.join(str(m) for m in t['memory']['pss_mb'])} |")
    print()
    print(f"percentiles: numpy.percentile(method={PERCENTILE_METHOD!r}); client wall times in ms; "
          f"{results[0]['queries']} distinct tickets per pass, {WARMUP} warm-up tickets not counted, "
          f"limit {LIMIT}; latency server {args.server}, sequential client")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated store sizes (default: 1000,10000)")
    parser.add_argument("--queries", type=int, default=200, help="timed tickets per pass (default: 200)")
    parser.add_argument("--server", default="gunicorn:2x4",
                        help="server for the latency passes: gunicorn:WORKERSxTHREADS or waitress:THREADS "
                             "(default: gunicorn:2x4, the production command)")
    parser.add_argument("--live-rate", type=float, default=4.0, help="insertions per second in the live pass (default: 4; 0 skips it)")
    parser.add_argument("--save-rate", type=float, default=0.5, help="manager saves per second in the live pass (default: 0.5)")
    parser.add_argument("--throughput", default="waitress:8,gunicorn:2x4",
                        help="servers to measure throughput on (comma-separated specs; '' skips)")
    parser.add_argument("--throughput-sizes", default="10000", help="sizes to measure throughput at (default: 10000)")
    parser.add_argument("--clients", default="1,4,8,16", help="concurrent clients per throughput row (default: 1,4,8,16)")
    parser.add_argument("--throughput-requests", type=int, default=400, help="distinct suggests per throughput row (default: 400)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="a checkout of the code before a change: each size is also measured on it, same data, same run")
    parser.add_argument("--workdir", help="parent of the temporary directory (default: the system temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes and packs")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    args.throughput = [s for s in args.throughput.split(",") if s.strip()]
    args.throughput_sizes = {int(s.replace("_", "")) for s in args.throughput_sizes.split(",") if s.strip()}
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]

    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="replyassist-latency-", dir=args.workdir))
    progress(f"workdir {workdir}; sizes {sizes}; {args.queries} tickets per pass")
    pool, flows = sentence_pool()
    first = make_queries(WARMUP + args.queries)
    rows = len(args.throughput) * ((len(args.clients)) * args.throughput_requests + 200)
    more = make_tickets(args.queries + 400 + rows, SEED + 2, set(first))
    tickets = {"warmup": first[:WARMUP], "quiet": first[WARMUP:], "live": more[:args.queries],
               "learn": more[args.queries:args.queries + 400], "throughput": more[args.queries + 400:]}
    progress(f"{len(pool)} pool sentences; {sum(len(v) for v in tickets.values())} distinct tickets of "
             f"{min(len(q.split()) for q in first)}-{max(len(q.split()) for q in first)} words")
    results = []
    try:
        for size in sizes:
            results.append(run_size(size, workdir, pool, flows, tickets, args))
    finally:
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "percentile_method": f"numpy.percentile(method={PERCENTILE_METHOD!r})",
            "warmup": WARMUP, "limit": LIMIT, "server": args.server, "seed": SEED,
            "live_rate": args.live_rate, "save_rate": args.save_rate,
            "results": results}, indent=2) + "\n", encoding="utf-8")
        progress(f"wrote {args.json}")


if __name__ == "__main__":
    try:
        main()
    except ServerError as exc:  # a message, not a traceback: the server's log tail says what went wrong
        raise SystemExit(str(exc)) from None
