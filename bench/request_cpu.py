"""CPU per distinct /suggest, in process, overall and by stage, at one store size.

    .venv/bin/python bench/request_cpu.py                       # 10k, 200 distinct tickets
    .venv/bin/python bench/request_cpu.py --baseline /tmp/before --rounds 2   # A/B, same run
    .venv/bin/python bench/request_cpu.py --profile 25          # and cProfile's top 25

Builds the synthetic store of bench/latency.py (same seed, same pack) once per size and code
tree's schema into ``--cache-dir``, copies it, opens the real app in this process (``WARM_UP``
on, as a server, and its start-up work finished first), then sends ``--warmup`` tickets and
``--queries`` distinct ABCD dev tickets (bench/latency.py's, never eval_test) through Flask's
test client: the server's whole code path without HTTP. CPU is ``time.process_time`` (every
thread: the events writer too) and ``time.thread_time`` of the requests' thread split into
stages by wrapping the functions below (exclusive: a stage's time excludes the stages it calls).
A stage a tree lacks is left out. ``--baseline DIR`` runs a second code tree (a checkout of
the code before a change) in its own process, rounds alternating, so both see the same load.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (module, owner attribute or "", function, stage): wrapped where they exist.
STAGES = [
    ("server.suggest.routes", "suggest_request_schema", "load", "request validation (marshmallow)"),
    ("server.suggest.service", "", "choose_language", "language"),
    ("server.suggest.service", "", "note_language", "language notes (SQL)"),
    ("server.suggest.service", "", "asked_text", "asked_text"),
    ("index.searcher", "SnippetSearcher", "suggest", "searcher (SnippetSearcher.suggest)"),
    ("server.suggest.service", "", "with_wording", "wording step (with_wording)"),
    ("server.ranking", "", "_similarity", "wording: TF-IDF cosine over the pool"),
    ("server.ranking", "", "char_grams", "wording: counting char grams (char_grams; before: of every pool text)"),
    ("server.suggest.service", "", "with_phrases", "phrase step (with_phrases)"),
    ("server.suggest.service", "", "blend_kinds", "learner blend"),
    ("server.suggest.service", "", "_present", "rendering replies (_present)"),
    ("server.suggest.service", "", "adjust_for_feedback", "feedback counts (SQL)"),
    ("server.events", "EventWriter", "record", "event queue"),
    ("server.suggest.routes", "contacts", "note_and_summarise", "contacts (SQL)"),
    ("server.suggest.routes", "", "dump_suggest_response", "response dump"),
] + [("server.db", "Store", name, "store reads (SQL)") for name in (
    "get_snippets", "get_snippet", "get_synonyms", "value_labels", "get_offer", "data_version",
    "user_by_token_hash", "read_versions")] + [("server.readcache", "CachedStore", name, "cached reads") for name in (
    "get_snippets", "get_snippet", "get_synonyms", "value_labels", "get_offer", "data_version", "user_by_token_hash")]
REST = "Flask, werkzeug, test client, the rest"
GC = "(garbage collector, inside the stages above)"


def progress(message: str) -> None:
    print(f"[request_cpu] {message}", file=sys.stderr, flush=True)


def schema_digest(tree: Path) -> str:
    """What a cached home depends on: the tree's index schema and store migrations."""
    digest = hashlib.sha256()
    for path in [tree / "index" / "schema.py", *sorted((tree / "server" / "migrations").glob("*.py"))]:
        if path.exists():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def built_home(tree: Path, size: int, cache_dir: Path, store_cache: Path | None = None) -> Path:
    """An imported home of ``size`` bench snippets for this tree's schema (built once, then reused).

    With ``store_cache``, the home comes from bench/latency.py's and bench/build.py's cache
    (named by size and the pack's digest, whatever the schema): one 100k import, minutes long,
    serves all three benches and both trees of an A/B, which must then share the index format.
    """
    from latency import make_snippets, sentence_pool, write_pack  # the tree's bench/latency.py
    from server.process import flask_cli

    if store_cache is not None:
        from latency import imported_home
        pack = cache_dir / f"pack-{size}.jsonl"
        if not pack.exists():  # the seeded pack is the same every run: written once
            pool, flows = sentence_pool()
            write_pack(pack, make_snippets(size, pool, flows))
        return imported_home(size, pack, cache_dir, store_cache, tree)[0]
    home = cache_dir / f"home-{size}-{schema_digest(tree)}"
    if (home / ".complete").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    pool, flows = sentence_pool()
    pack = cache_dir / f"pack-{size}.jsonl"
    write_pack(pack, make_snippets(size, pool, flows))
    progress(f"importing {size} snippets into {home} (once; later runs reuse it)")
    started = time.perf_counter()
    flask_cli(home, "pack", "import", str(pack), timeout=None, root=tree)
    progress(f"imported in {time.perf_counter() - started:.0f} s")
    (home / ".complete").touch()
    return home


def wrap(owner, name: str, stage: str, totals: dict[str, float], stack: list[float]) -> bool:
    """Replace ``owner.name`` by a timer that adds its exclusive thread CPU to ``totals[stage]``."""
    inner = getattr(owner, name, None)
    if inner is None or getattr(inner, "_timed", False):
        return False

    def timed(*args, **kwargs):
        started = time.thread_time()
        stack.append(0.0)
        try:
            return inner(*args, **kwargs)
        finally:
            spent = time.thread_time() - started
            inside = stack.pop()
            totals[stage] = totals.get(stage, 0.0) + spent - inside
            if stack:
                stack[-1] += spent

    timed._timed = True
    setattr(owner, name, timed)
    return True


def measure(home: Path, queries: int, warmup: int, profile: int) -> dict:
    """Run the tickets through this process's app over a copy of ``home``; CPU per suggest."""
    import importlib
    import threading

    from latency import make_queries
    from server import create_app
    from server.auth import create_user
    from server.db import open_store

    os.environ["REPLYASSIST_HOME"] = str(home)
    os.environ.setdefault("REPLYASSIST_WARM_UP", "1")
    app = create_app()
    for thread in threading.enumerate():  # the start-up work a server does before its first tickets
        if thread.name in ("search-prewarm", "lingua-warm-up"):
            thread.join()
    store = open_store(app.config["DATABASE"])
    token = create_user(store, "cpu-bench", "agent")
    store.close()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    totals: dict[str, float] = {}
    stack: list[float] = []
    for module, owner, name, stage in STAGES:
        target = importlib.import_module(module)
        if owner:
            target = getattr(target, owner, None)
        if target is not None:
            wrap(target, name, stage, totals, stack)

    texts = make_queries(warmup + queries)
    collecting: list[float] = []  # the collector's CPU (its pauses land inside whatever stage runs)

    def collector(phase: str, info: dict) -> None:
        if phase == "start":
            collecting.append(time.thread_time())
        elif collecting:
            totals[GC] = (
                totals.get(GC, 0.0) + time.thread_time() - collecting.pop())

    gc.callbacks.append(collector)

    def ask(n: int, text: str) -> None:
        ticket = {"id": f"cpu-{n}", "subject": "", "body": text, "language": "en"}
        answer = client.post("/api/v1/suggest", json={"ticket": ticket, "limit": 5}, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"/suggest answered {answer.status_code}: {answer.get_data(as_text=True)[:300]}")

    for n, text in enumerate(texts[:warmup]):
        ask(n, text)
    totals.clear()
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    thread0, process0, wall0 = time.thread_time(), time.process_time(), time.perf_counter()
    for n, text in enumerate(texts[warmup:], warmup):
        ask(n, text)
    thread_ms = (time.thread_time() - thread0) * 1000 / queries
    process_ms = (time.process_time() - process0) * 1000 / queries
    wall_ms = (time.perf_counter() - wall0) * 1000 / queries
    if profiler is not None:
        import pstats
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(profile)
    stages = {stage: round(seconds * 1000 / queries, 3) for stage, seconds in
              sorted(totals.items(), key=lambda item: -item[1])}
    stages[REST] = round(thread_ms - sum(v for k, v in stages.items() if k != GC), 3)
    from server.events import events
    with app.app_context():
        events().flush()
    caches = {}
    try:
        from server import gramcache
        caches["gramcache"] = gramcache.stats()
    except ImportError:  # a tree from before it
        pass
    return {"queries": queries, "process_ms": round(process_ms, 2), "thread_ms": round(thread_ms, 2),
            "wall_ms": round(wall_ms, 2), "stages": stages, "caches": caches}


def run_tree(tree: Path, args: argparse.Namespace) -> dict:
    """One measurement of ``tree`` in a child process (its own imports, its own caches)."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(tree),
                          "--size", str(args.size), "--queries", str(args.queries), "--warmup", str(args.warmup),
                          "--cache-dir", str(args.cache_dir), "--profile", str(args.profile)]
                         + (["--store-cache", str(args.store_cache)] if args.store_cache else []),
                         stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(out.stdout)


def child(tree: Path, args: argparse.Namespace) -> None:
    # The tree's own bench/latency.py (the same seeded data): it puts its tree first on the path.
    sys.path[:0] = [str(tree), str(tree / "bench")]
    with contextlib.redirect_stdout(sys.stderr):  # latency.py's progress lines: stdout is the result
        home = built_home(tree, args.size, args.cache_dir, args.store_cache)
    with tempfile.TemporaryDirectory(prefix="request-cpu-") as scratch:
        copy = Path(scratch) / "home"
        shutil.copytree(home, copy)
        result = measure(copy, args.queries, args.warmup, args.profile)
    print(json.dumps(result))


def print_table(results: dict[str, list[dict]], size: int) -> None:
    names = list(results)
    mean = {name: (lambda key, runs=runs: sum(r[key] for r in runs) / len(runs)) for name, runs in results.items()}
    stages = list(dict.fromkeys(s for runs in results.values() for r in runs for s in r["stages"]))
    stages = [s for s in stages if s != REST] + [REST]
    print(f"\nCPU per distinct suggest at {size:,} snippets, ms (mean of {len(next(iter(results.values())))} "
          f"round(s) of {next(iter(results.values()))[0]['queries']} tickets)\n")
    print("| stage | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for stage in stages:
        cells = []
        for name in names:
            values = [r["stages"][stage] for r in results[name] if stage in r["stages"]]
            cells.append(f"{sum(values) / len(values):.2f}" if values else "-")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    for key, title in (("thread_ms", "requests' thread"), ("process_ms", "process (every thread)"),
                       ("wall_ms", "wall")):
        print(f"| **{title}** | " + " | ".join(f"**{mean[n](key):.2f}**" for n in names) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="snippets in the store (default 10000)")
    parser.add_argument("--queries", type=int, default=200, help="distinct tickets timed (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="tickets sent first, not timed (default 20)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "request-cpu-cache",
                        help="where imported homes are kept between runs (default $TMPDIR/request-cpu-cache)")
    parser.add_argument("--store-cache", type=Path, default=None,
                        help="reuse (or fill) the imported homes of bench/latency.py --store-cache "
                             "(keyed by size and pack digest; both trees must share the index format)")
    parser.add_argument("--baseline", type=Path, help="another code tree, measured in turn with this one")
    parser.add_argument("--rounds", type=int, default=1, help="measurements per tree, alternating (default 1)")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N functions (stderr)")
    parser.add_argument("--json", type=Path, help="write every round's figures here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.cache_dir = args.cache_dir.resolve()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    if args.store_cache:
        args.store_cache = args.store_cache.resolve()
        args.store_cache.mkdir(parents=True, exist_ok=True)
    if args.child:
        return child(args.child, args)
    trees = {"before": args.baseline.resolve()} if args.baseline else {}
    trees["after" if args.baseline else "this"] = ROOT
    results: dict[str, list[dict]] = {name: [] for name in trees}
    for round_ in range(args.rounds):
        order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
        for name in order:
            progress(f"round {round_ + 1}/{args.rounds}: {name} ({trees[name]})")
            results[name].append(run_tree(trees[name], args))
            progress(f"{name}: {results[name][-1]['process_ms']} ms CPU per suggest; caches "
                     f"{results[name][-1].get('caches')}")
    print_table(results, args.size)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
