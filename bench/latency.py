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
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import sqlite3
import string
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's root

from server.process import ServerError, ServerProcess, children, flask_cli, memory, start_all  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
POLICIES = DATASETS / "abcd" / "policies.jsonl"
EVAL_DEV = DATASETS / "abcd" / "eval_dev.jsonl"  # never eval_test: it is for reporting relevance only

SEED = 20261101
WARMUP = 20
LIMIT = 5
POLICY_SHARE = 0.7
PERCENTILE_METHOD = "linear"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IDLE_S = 5.0  # seconds the servers' idle CPU is measured before the quiet pass

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
def imported_home(size: int, pack: Path, workdir: Path, cache: Path | None, root: Path = ROOT,
                  name: str = "") -> tuple[Path, float]:
    """A home holding ``pack`` imported by the code in ``root``, and the import's seconds.

    With ``cache``, a home imported by an earlier run from the same pack (same size and
    content) is reused: a 100k import takes a quarter of an hour on a loaded machine. Callers
    that change the store work on a copy.
    """
    digest = hashlib.sha256(pack.read_bytes()).hexdigest()[:16]
    home = cache / f"home-{size}-{digest}" if cache else workdir / f"home-{size}{name and '-' + name}"
    done = home / ".bench-imported"
    if cache and done.exists():
        progress(f"size {size}: reusing the store imported in {home}")
        return home, float(done.read_text())
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    started = time.perf_counter()
    out = flask_cli(home, "pack", "import", str(pack), timeout=None, root=root)
    import_s = time.perf_counter() - started
    done.write_text(f"{import_s:.2f}")
    progress(f"size {size}{name and ' [' + name + ']'}: {out.strip()} in {import_s:.1f} s ({size / import_s:.0f} docs/s)")
    return home, import_s


def send(conn: http.client.HTTPConnection, method: str, path: str, body: str, headers: dict) -> tuple[int, bytes, float]:
    """One request on a keep-alive connection: status, body, wall ms.

    A server may close an idle keep-alive connection (gunicorn after 2 s): then reconnect once,
    timing only the attempt that was answered.
    """
    for attempt in (1, 2):
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, data, (time.perf_counter() - started) * 1000
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def learner_lag(server: ServerProcess) -> dict | None:
    """How far the server's models trail the store (/health's ``learner``; None if it does not say)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        status, body, _ = send(conn, "GET", "/api/v1/health", "", {})
    finally:
        conn.close()
    learner = json.loads(body).get("learner") if status == 200 else None
    if not learner or learner.get("data_version") is None:
        return learner and {"versions_behind": None, "trained_seconds_ago": None}
    at = datetime.fromisoformat(learner["trained_at"]).timestamp()
    return {"versions_behind": learner["store_data_version"] - learner["data_version"],
            "trained_seconds_ago": round(time.time() - at, 1), "took_seconds": learner["took_seconds"]}


def describe_lag(lag: dict | None) -> str:
    if lag is None:
        return "not reported"
    if lag["versions_behind"] is None:
        return "never trained"
    return (f"{lag['versions_behind']} data versions behind, last trained {lag['trained_seconds_ago']} s ago "
            f"(took {lag['took_seconds']} s)")


def post_suggest(conn: http.client.HTTPConnection, token: str, ticket_id: str, text: str) -> tuple[float, float, bool]:
    """One suggest on a keep-alive connection: client wall ms, the server's took_ms, and whether it was empty."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    payload = json.dumps({"ticket": {"id": ticket_id, "subject": "", "body": text, "language": "en"},
                          "limit": LIMIT})
    status, body, elapsed = send(conn, "POST", "/api/v1/suggest", payload, headers)
    if status != 200:
        raise SystemExit(f"POST /api/v1/suggest answered {status}: {body[:1000]!r}")
    data = json.loads(body)
    return elapsed, float(data["took_ms"]), not (data["policies"] or data["replies"])


def time_suggest(server: ServerProcess, token: str, queries: list[str], id_prefix: str,
                 conn: http.client.HTTPConnection | None = None) -> tuple[list[float], list[float], int]:
    """Send each query once, in order, on one keep-alive connection.

    Returns client wall times (ms, request sent to body read), the server's took_ms, and how
    many queries got no suggestion at all.
    """
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    client, took, empty = [], [], 0
    try:
        for n, text in enumerate(queries):
            elapsed, server_ms, nothing = post_suggest(conn, token, f"{id_prefix}{n}", text)
            client.append(elapsed)
            took.append(server_ms)
            empty += nothing
    except (ConnectionError, http.client.HTTPException) as exc:
        server.check_alive()  # raises with the end of the server's log if it died
        raise SystemExit(f"request failed while the server still runs: {exc!r}") from exc
    finally:
        if own:
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

    def reset(self) -> None:
        """Count from now on (the warm-up's requests are not part of the achieved rates)."""
        self.started = time.perf_counter()
        self.done = {kind: 0 for kind in self.done}
        self.times = {kind: [] for kind in self.times}

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
        status, answer, elapsed = send(conn, method, path, json.dumps(body), {
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        self.times[kind].append(elapsed)
        if status >= 300:
            self.failed.append(f"{kind} {status}: {answer[:200]!r}")
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
            try:
                status, _, elapsed = send(conn, "POST", "/api/v1/suggest", payload, headers)
                if status != 200:
                    errors.append(str(status))
                times[c].append(elapsed)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                conn.close()
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


def _family(server: ServerProcess) -> list[int]:
    """The server's process, its children (gunicorn's workers) and theirs (a trainer process)."""
    pids = [server.process.pid, *children(server.process.pid)]
    return pids + [grandchild for pid in pids[1:] for grandchild in children(pid)]


def _helpers(server: ServerProcess) -> list[int]:
    """Processes the serving processes started (the node's trainer), not serving requests."""
    serving = {p["pid"] for p in server.memory()}
    return [pid for pid in _family(server) if pid != server.process.pid and pid not in serving]


def memory_summary(server: ServerProcess) -> dict:
    """RSS and PSS (MB) per serving process and of their helpers (the trainer), and the sum."""
    procs = server.memory()
    helpers = []
    for pid in _helpers(server):
        try:
            helpers.append(memory(pid))
        except OSError:
            continue
    return {"processes": len(procs),
            "rss_mb": [round(p["rss_kb"] / 1024) for p in procs],
            "pss_mb": [round(p["pss_kb"] / 1024) for p in procs],
            "helper_pss_mb": [round(p["pss_kb"] / 1024) for p in helpers],
            "total_pss_mb": round(sum(p["pss_kb"] for p in procs + helpers) / 1024)}


def cpu_seconds(server: ServerProcess) -> float:
    """CPU seconds (user + system, every thread) used so far by the server, its workers and
    theirs (the node's trainer process, server/trainer.py).

    Read from /proc/<pid>/stat: on a loaded machine this moves far less than wall time, so CPU
    per request is the figure to compare between runs.
    """
    if server.process is None:
        return 0.0
    total = 0.0
    for pid in _family(server):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def _cpu_all(servers: dict[str, ServerProcess]) -> dict[str, float]:
    return {name: cpu_seconds(server) for name, server in servers.items()}


def settle(servers: dict[str, ServerProcess], busy_ms_per_s: float = 50.0, timeout: float = 300.0) -> float:
    """Wait until the servers' start-up work in the background (prewarming the search cache and the
    phrase pairs, the first training) is done: each uses under ``busy_ms_per_s`` of CPU a second.
    Otherwise the first rows count that work as the requests'. Returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        cpu, t = _cpu_all(servers), time.perf_counter()
        time.sleep(1.0)
        used = _cpu_all(servers)
        if all((used[name] - cpu[name]) / (time.perf_counter() - t) * 1000 < busy_ms_per_s for name in servers):
            break
    return time.perf_counter() - started


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
    """Import ``size`` snippets once, then measure every code variant on its own copy of that home."""
    progress(f"size {size}: generating snippets")
    snippets = make_snippets(size, pool, flows)
    pack = workdir / f"pack-{size}.jsonl"
    write_pack(pack, snippets)
    kinds = {k: sum(s["kind"] == k for s in snippets) for k in ("policy", "reply")}
    words = np.mean([len(s["body"].split()) for s in snippets])
    progress(f"size {size}: pack written ({kinds['policy']} policies, {kinds['reply']} replies, "
             f"{words:.0f} body words on average)")
    variants = {"before": Path(args.baseline).resolve()} if args.baseline else {}
    variants["after" if args.baseline else "this"] = ROOT
    result = {"size": size, "queries": len(tickets["quiet"]), "import_s": {}, "docs_per_s": {}}
    homes, tokens = {}, {}
    for name, root in variants.items():
        # Each variant imports with its own code (its own schema and index format); with
        # --store-cache every variant starts from a copy of one cached import (same format).
        progress(f"size {size} [{name}]: importing with `flask pack import`")
        home, import_s = imported_home(size, pack, workdir, args.store_cache, root, name)
        if args.store_cache:
            homes[name] = workdir / f"home-{size}-{name}"
            shutil.copytree(home, homes[name])
        else:
            homes[name] = home
        result["import_s"][name] = round(import_s, 2)
        result["docs_per_s"][name] = round(size / import_s, 1)
        tokens[name] = {role: flask_cli(homes[name], "users", "create", user, "--role", role, timeout=None,
                                        root=root).strip().splitlines()[-1]
                        for user, role in (("bench", "agent"), ("boss", "manager"))}

    def fresh_homes(phase: str) -> dict[str, Path]:
        """A copy of each imported home: the live pass changes the store and index."""
        copies = {}
        for name in variants:
            copies[name] = workdir / f"home-{size}-{name}-{phase}"
            shutil.copytree(homes[name], copies[name])
        return copies

    result["variants"] = measure(size, variants, fresh_homes, snippets, tokens, tickets, args)

    started = time.perf_counter()
    fts = build_fts5(snippets)
    result["fts5_build_s"] = round(time.perf_counter() - started, 2)
    time_fts5(fts, tickets["warmup"])
    result["fts5_ms"] = pct(time_fts5(fts, tickets["quiet"] + tickets["live"]), 50, 95, 99)
    progress(f"size {size}: FTS5 p99 {result['fts5_ms']['p99']} ms")
    fts.close()
    return result


def _servers(variants: dict[str, Path], homes: dict[str, Path], server_spec: str) -> dict[str, ServerProcess]:
    kind, workers, threads = spec(server_spec)
    return {name: ServerProcess(homes[name], threads=threads, kind=kind, workers=workers, root=root,
                                log=homes[name] / "server.stderr") for name, root in variants.items()}


def _interleaved(servers: dict[str, ServerProcess], tokens: dict[str, dict], texts: list[str], prefix: str) -> dict:
    """Each ticket to every variant in turn (the order alternating), so all see the same machine load."""
    names = list(servers)
    conns = {name: http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
             for name, server in servers.items()}
    out = {name: ([], [], 0) for name in names}
    try:
        for n, text in enumerate(texts):
            for name in (names if n % 2 == 0 else names[::-1]):
                client, took, empty = time_suggest(servers[name], tokens[name]["agent"], [text],
                                                   f"{prefix}{n}-", conns[name])
                c, t, e = out[name]
                out[name] = (c + client, t + took, e + empty)
    finally:
        for conn in conns.values():
            conn.close()
    return out


def measure(size: int, variants: dict[str, Path], fresh_homes, snippets: list[dict],
            tokens: dict[str, str], tickets: dict[str, list[str]], args: argparse.Namespace) -> dict:
    """Quiet, repeat and live passes, then throughput rows, for every variant at once (interleaved)."""
    replies = [s["key"] for s in snippets if s["kind"] == "reply"]
    results: dict[str, dict] = {name: {} for name in variants}
    servers = _servers(variants, fresh_homes("latency"), args.server)
    started = time.perf_counter()
    try:
        start_all(servers.values(), timeout=900)
        up = time.perf_counter() - started
        progress(f"size {size}: {args.server} up for {', '.join(servers)} in {up:.1f} s; start-up work done "
                 f"{settle(servers):.1f} s later; {len(tickets['warmup'])} warm-up tickets")
        _interleaved(servers, tokens, tickets["warmup"], "w")
        progress(f"size {size}: quiet pass, {len(tickets['quiet'])} distinct tickets")
        # What the servers burn with no request (background threads), so it can be taken out.
        idle_started, cpu = time.perf_counter(), _cpu_all(servers)
        time.sleep(IDLE_S)
        idle = {name: (after - cpu[name]) / (time.perf_counter() - idle_started)
                for name, after in _cpu_all(servers).items()}
        started, cpu = time.perf_counter(), _cpu_all(servers)
        quiet = _interleaved(servers, tokens, tickets["quiet"], "q")
        wall = time.perf_counter() - started
        cpu_quiet = {name: (after - cpu[name] - idle[name] * wall) / len(tickets["quiet"]) * 1000
                     for name, after in _cpu_all(servers).items()}
        repeat = _interleaved(servers, tokens, tickets["quiet"], "q")
        for name, (client, took, empty) in quiet.items():
            results[name].update(quiet_ms=pct(client, 50, 95, 99), quiet_took_ms=pct(took, 50, 99),
                                 quiet_cpu_ms=round(cpu_quiet[name], 2), idle_cpu_ms_per_s=round(idle[name] * 1000, 1),
                                 repeat_ms=pct(repeat[name][0], 50, 99), queries_without_suggestions=empty)
            progress(f"size {size} [{name}]: quiet p50 {results[name]['quiet_ms']['p50']} "
                     f"p99 {results[name]['quiet_ms']['p99']} ms, {cpu_quiet[name]:.1f} ms server CPU per suggest "
                     f"(idle: {idle[name] * 1000:.1f} ms CPU/s, taken out)")
        if args.live_rate > 0 or args.save_rate > 0:
            progress(f"size {size}: live pass, {len(tickets['live'])} other distinct tickets while each server "
                     f"takes {args.live_rate}/s insertions and {args.save_rate}/s manager saves")
            loads = {name: Load(server, tokens[name]["agent"], tokens[name]["manager"], replies, [s["key"] for s in snippets],
                                tickets["learn"], args.live_rate, args.save_rate) for name, server in servers.items()}
            for load in loads.values():
                load.__enter__()
            try:
                # Let the load reach its steady state first (learned-text commits, the first
                # retraining): timed from the start, a short pass saw almost none of it.
                time.sleep(args.live_warmup)
                cpu = _cpu_all(servers)
                for load in loads.values():
                    load.reset()
                live = _interleaved(servers, tokens, tickets["live"], "l")
                learners = {name: learner_lag(server) for name, server in servers.items()}
            finally:
                for load in loads.values():
                    load.__exit__(None, None, None)
            live_cpu = {name: (after - cpu[name]) / loads[name].seconds for name, after in _cpu_all(servers).items()}
            for name, load in loads.items():
                client, took, _ = live[name]
                results[name].update(live_ms=pct(client, 50, 95, 99), live_took_ms=pct(took, 50, 99),
                                     live_load={"seconds": round(load.seconds, 1),
                                                "insertions_per_s": round(load.done["insert"] / load.seconds, 2),
                                                "saves_per_s": round(load.done["save"] / load.seconds, 2),
                                                "insert_ms": pct(load.times["insert"], 50, 99),
                                                "save_ms": pct(load.times["save"], 50, 99),
                                                "failed": len(load.failed), "failures": load.failed[:5],
                                                "server_cores": round(live_cpu[name], 2),
                                                "learner": learners.get(name)})
                progress(f"size {size} [{name}]: live p50 {results[name]['live_ms']['p50']} "
                         f"p99 {results[name]['live_ms']['p99']} ms; {len(load.failed)} load requests failed; "
                         f"{load.done['insert'] / load.seconds:.2f} insertions/s and {load.done['save'] / load.seconds:.2f} "
                         f"saves/s achieved (save p50 {results[name]['live_load']['save_ms']['p50']} p99 "
                         f"{results[name]['live_load']['save_ms']['p99']} ms); the server used {live_cpu[name]:.2f} cores of CPU; "
                         f"learner at the end: {describe_lag(learners.get(name))}")
        for name, server in servers.items():
            results[name]["memory"] = memory_summary(server)
    finally:
        for server in servers.values():
            server.stop()
            if not args.keep:
                shutil.rmtree(server.home, ignore_errors=True)

    if size in args.throughput_sizes:
        for name in variants:
            results[name]["throughput"] = []
        for server_spec in args.throughput:
            kind, workers, threads = spec(server_spec)
            servers = _servers(variants, fresh_homes(server_spec.replace(":", "-")), server_spec)
            try:
                start_all(servers.values(), timeout=900)
                progress(f"size {size}: throughput on {server_spec}: start-up work done in {settle(servers):.1f} s; "
                         f"warming every worker")
                warm = tickets["throughput"][:10 * workers * threads]
                for name, server in servers.items():
                    throughput(server, tokens[name]["agent"], warm, workers * threads, len(warm))
                offset = len(warm)
                for clients in args.clients:
                    batch = tickets["throughput"][offset:offset + args.throughput_requests]
                    offset += len(batch)
                    for name, server in servers.items():  # one after the other: each gets the cores
                        cpu = cpu_seconds(server)
                        row = throughput(server, tokens[name]["agent"], batch, clients, len(batch))
                        row.update(server=server_spec, memory=memory_summary(server),
                                   cpu_ms=round((cpu_seconds(server) - cpu) / len(batch) * 1000, 2))
                        progress(f"size {size} [{name}]: {server_spec}, {clients} clients: {row['per_s']} req/s "
                                 f"(p50 {row['p50']} ms, p99 {row['p99']} ms, {row['cpu_ms']} ms CPU per suggest, "
                                 f"{row['errors']} errors)")
                        results[name]["throughput"].append(row)
            finally:
                for server in servers.values():
                    server.stop()
                    if not args.keep:
                        shutil.rmtree(server.home, ignore_errors=True)
    return results


def pss(memory: dict) -> str:
    """PSS per serving process, then the helpers' (the trainer): "251 + 217 (+ 180)"."""
    helpers = memory.get("helper_pss_mb") or []
    return " + ".join(map(str, memory["pss_mb"])) + (f" (+ {' + '.join(map(str, helpers))})" if helpers else "")


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    def trio(d: dict | None) -> str:
        return f"{d['p50']:.1f} / {d['p95']:.1f} / {d['p99']:.1f}" if d else "-"

    print()
    print("| size | code | quiet p50/p95/p99 | live p50/p95/p99 | live p99 / quiet p99 | live p99 / FTS5 p99 "
          "| repeat p50/p99 | server CPU ms per quiet suggest (idle taken out) | live load achieved, server CPU "
          "| PSS MB per process (+ trainer) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for name, v in r["variants"].items():
            live, load = v.get("live_ms"), v.get("live_load", {})
            vs_quiet = f"{live['p99'] / v['quiet_ms']['p99']:.2f}x" if live else "-"
            vs_fts5 = f"{live['p99'] / r['fts5_ms']['p99']:.2f}x" if live else "-"
            print(f"| {r['size']:,} | {name} | {trio(v['quiet_ms'])} | {trio(live)} | {vs_quiet} | {vs_fts5} "
                  f"| {v['repeat_ms']['p50']:.1f} / {v['repeat_ms']['p99']:.1f} | {v.get('quiet_cpu_ms', '-')} "
                  f"| {load.get('insertions_per_s', 0)} ins/s, {load.get('saves_per_s', 0)} saves/s, "
                  f"{load.get('failed', 0)} failed, server {load.get('server_cores', '-')} cores, "
                  f"learner {describe_lag(load.get('learner'))} "
                  f"| {pss(v['memory'])} |")
        print(f"| {r['size']:,} | SQLite FTS5 full OR | {trio(r['fts5_ms'])} | | | | | | | |")
    print()
    print("| size | import wall time (s) | docs/s | FTS5 build (s) | tickets without suggestions |")
    print("|---|---|---|---|---|")
    for r in results:
        empty = ", ".join(f"{n}: {v['queries_without_suggestions']}" for n, v in r["variants"].items())
        imports = ", ".join(f"{n}: {s:.1f}" for n, s in r["import_s"].items())
        rates = ", ".join(f"{n}: {d:.0f}" for n, d in r["docs_per_s"].items())
        print(f"| {r['size']:,} | {imports} | {rates} | {r['fts5_build_s']:.2f} | {empty} of {r['queries']} |")
    rows = [(r["size"], name, t) for r in results for name, v in r["variants"].items()
            for t in v.get("throughput", [])]
    if rows:
        print()
        print("| size | code | server | clients | suggests/s | p50 ms | p99 ms | server CPU ms per suggest "
              "| errors | PSS MB per process |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for size, name, t in rows:
            print(f"| {size:,} | {name} | {t['server']} | {t['clients']} | {t['per_s']:.1f} | {t['p50']:.1f} "
                  f"| {t['p99']:.1f} | {t.get('cpu_ms', '-')} | {t['errors']} "
                  f"| {pss(t['memory'])} |")
    print_goals(results)
    print()
    print(f"percentiles: numpy.percentile(method={PERCENTILE_METHOD!r}); client wall times in ms; "
          f"{results[0]['queries']} distinct tickets per pass, {WARMUP} warm-up tickets not counted, "
          f"limit {LIMIT}; latency server {args.server}, sequential client")


def goals(results: list[dict]) -> list[tuple[str, str, str, bool | None]]:
    """Issue 10's goals against this run: (goal, code, measured, met); met is None if not measured."""
    rows = []
    by_size = {r["size"]: r for r in results}
    for name in (results[0]["variants"] if results else {}):
        at10, at100 = by_size.get(10_000, {}).get("variants", {}).get(name), by_size.get(100_000, {}).get("variants", {}).get(name)
        live10 = at10 and at10.get("live_ms")
        fts10 = by_size.get(10_000, {}).get("fts5_ms")
        rows.append(("10k live p99 <= FTS5 full-OR p99", name,
                     f"{live10['p99']:.1f} vs {fts10['p99']:.1f} ms" if live10 else "not run",
                     live10["p99"] <= fts10["p99"] if live10 else None))
        rows.append(("10k live p99 <= 1.5x quiet p99", name,
                     f"{live10['p99'] / at10['quiet_ms']['p99']:.2f}x" if live10 else "not run",
                     live10["p99"] <= 1.5 * at10["quiet_ms"]["p99"] if live10 else None))
        rows.append(("100k quiet p99 <= 60 ms", name, f"{at100['quiet_ms']['p99']:.1f} ms" if at100 else "not run",
                     at100["quiet_ms"]["p99"] <= 60 if at100 else None))
        live100 = at100 and at100.get("live_ms")
        rows.append(("100k live p99 <= 2x quiet p99", name,
                     f"{live100['p99'] / at100['quiet_ms']['p99']:.2f}x" if live100 else "not run",
                     live100["p99"] <= 2 * at100["quiet_ms"]["p99"] if live100 else None))
        best = max((t["per_s"] for t in (at10 or {}).get("throughput", []) if t["server"] == "gunicorn:2x4"),
                   default=None)
        rows.append((">= 300 distinct suggests/s at 10k, gunicorn:2x4", name,
                     f"{best:.1f}/s (best client count)" if best else "not run", best >= 300 if best else None))
        cpu = (at10 or {}).get("quiet_cpu_ms")
        rows.append(("10k server CPU per suggest <= 6.5 ms (300/s on 2 cores)", name,
                     f"{cpu:.2f} ms" if cpu is not None else "not run", cpu <= 6.5 if cpu is not None else None))
    return rows


def print_goals(results: list[dict]) -> None:
    print()
    print("| goal (issue 10) | code | measured | |")
    print("|---|---|---|---|")
    for goal, name, measured, met in goals(results):
        print(f"| {goal} | {name} | {measured} | {'-' if met is None else 'PASS' if met else 'MISS'} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated store sizes (default: 1000,10000)")
    parser.add_argument("--queries", type=int, default=200, help="timed tickets per pass (default: 200)")
    parser.add_argument("--server", default="gunicorn:2x4",
                        help="server for the latency passes: gunicorn:WORKERSxTHREADS or waitress:THREADS "
                             "(default: gunicorn:2x4, the production command)")
    parser.add_argument("--live-rate", type=float, default=4.0, help="insertions per second in the live pass (default: 4; 0 skips it)")
    parser.add_argument("--live-warmup", type=float, default=15.0,
                        help="seconds of live load before the live pass is timed (default: 15)")
    parser.add_argument("--save-rate", type=float, default=0.5, help="manager saves per second in the live pass (default: 0.5)")
    parser.add_argument("--throughput", default="waitress:8,gunicorn:2x4",
                        help="servers to measure throughput on (comma-separated specs; '' skips)")
    parser.add_argument("--throughput-sizes", default="10000", help="sizes to measure throughput at (default: 10000)")
    parser.add_argument("--clients", default="1,4,8,16", help="concurrent clients per throughput row (default: 1,4,8,16)")
    parser.add_argument("--throughput-requests", type=int, default=400, help="distinct suggests per throughput row (default: 400)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="a checkout of the code before a change: each size is also measured on it, same data, same run")
    parser.add_argument("--workdir", help="parent of the temporary directory (default: the system temp dir)")
    parser.add_argument("--store-cache", type=Path, default=None,
                        help="keep imported stores here and reuse them in later runs (same size and pack; "
                             "bench/build.py's cache serves too)")
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
