"""Rebuilding the index aside, in several processes, while the server keeps serving the old one.

1. One read transaction notes the store's newest write (seq S) and splits the snippets by id.
2. Each build process reads its share in a read transaction of its own (WAL: no lock that
   writers wait for; each sees S or later) and writes one segment into a directory of its own.
3. The segments are joined into a staging index without merging (one table of contents).
4. The staging index catches up with every write after S (what changed meanwhile), then, under
   the live index's writer lock, once more, and becomes the live index in one commit.

A snippet read by a build process after S was changed after S, so step 4 writes it again from
the latest state: the result is the store's state at the swap whatever each process saw.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from index import faults
from index.indexer import assemble, build_segment, open_index, swap_in
from server.db import Store, connect, open_store, utcnow

SMALL_STORE = 2_000  # snippets below which one process builds (starting more costs more)
BATCH = 500
_counter = None  # in a build process: the shared count of snippets read, for progress


def build_procs(requested: int | None, snippets: int) -> int:
    """How many build processes to run: one per core (at most 4), one for a small store."""
    if requested:
        return max(1, int(requested))
    return 1 if snippets < SMALL_STORE else max(1, min(os.cpu_count() or 1, 4))


def _start_method() -> str:
    """fork when this process has one thread (the CLI), else spawn.

    A forked child starts with the parent's imports (spawn re-imports the app: ~0.7 s of CPU
    per build process), but a server has threads, and a lock one of them held at the fork
    would never be freed in the child.
    """
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _init_worker(counter) -> None:
    global _counter
    _counter = counter


def _count(n: int) -> None:
    if _counter is not None:
        with _counter.get_lock():
            _counter.value += n


def build_part(database: str, path: str, low: int, high: int | None, state: tuple[int, str] | None,
               progress: Callable[[int], None] | None = None) -> int:
    """Index the snippets with ids in [low, high) into a new one-segment index at ``path``."""
    from server.indexing import with_learned

    store = Store(connect(database))
    try:
        with store.snapshot():
            def snippets():
                batch = []
                for snippet in store.iter_snippet_range(low, high):
                    batch.append(snippet)
                    if len(batch) == BATCH:
                        yield from _with_tokens(store, with_learned(store, batch))
                        batch = []
                yield from _with_tokens(store, with_learned(store, batch))

            return build_segment(path, snippets(), state, progress=progress or _count)
    finally:
        store.close()


def _with_tokens(store: Store, snippets: list[dict]) -> list[dict]:
    tokens = store.index_tokens([s["key"] for s in snippets])
    return [{**s, "index_token": tokens.get(s["key"], "")} for s in snippets]


def _staging_root(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.rebuild-{os.getpid()}"


def remove_stale_staging(index_dir: Path) -> None:
    """Delete staging directories left by rebuilds that died (their process is gone)."""
    for path in index_dir.parent.glob(f".{index_dir.name}.rebuild-*"):
        try:
            os.kill(int(path.name.rpartition("-")[2]), 0)
        except (ValueError, OSError):
            shutil.rmtree(path, ignore_errors=True)


def _build_parts(database: str, root: Path, ranges: list, head: tuple[int, str],
                 progress: Callable[[int], None] | None, start_method: str) -> tuple[list[Path], int]:
    parts = [root / f"part-{i}" for i in range(len(ranges))]
    if len(ranges) == 1:
        count = build_part(database, str(parts[0]), *ranges[0], head, progress=progress)
        return parts, count
    context = multiprocessing.get_context(start_method)
    counter = context.Value("q", 0)
    shown = 0
    with ProcessPoolExecutor(len(ranges), mp_context=context, initializer=_init_worker,
                             initargs=(counter,)) as pool:
        pending = {pool.submit(build_part, database, str(part), low, high, head if i == 0 else None)
                   for i, (part, (low, high)) in enumerate(zip(parts, ranges))}
        done: set = set()
        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            done |= finished
            now = counter.value  # read once: the build processes keep counting meanwhile
            if progress and now > shown:
                progress(now - shown)
                shown = now
        return parts, sum(f.result() for f in done)


def rebuild(database: str, index_dir: str | Path, *, procs: int | None = None,
            progress: Callable[[int], None] | None = None,
            start: Callable[[int], None] | None = None) -> dict:
    """Rebuild the index aside and swap it in; return what was done (also kept for /health)."""
    from server.follower import note_rebuild
    from server.indexing import sync_index

    index_dir = Path(index_dir)
    began, started_at = time.monotonic(), utcnow()
    store = open_store(database)
    try:
        with store.snapshot():
            head = store.index_head()
            total = store.count_snippets()
            procs = build_procs(procs, total)
            ranges = store.snippet_id_ranges(procs)
        note_rebuild(index_dir, running={"pid": os.getpid(), "started_at": started_at,
                                         "snippets": total, "snapshot_seq": head[0]})
        if start:
            start(total)
        remove_stale_staging(index_dir)
        root = _staging_root(index_dir)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        try:
            start_method = _start_method() if len(ranges) > 1 else "none"  # "none": built in this process
            parts, _ = _build_parts(database, root, ranges, head, progress, start_method)
            faults.point("rebuild-built")
            staging = assemble(root / "index", parts)
            # What changed while the parts were built: first outside the live lock (it may be
            # a lot), then once more under it, so nothing commits between catch-up and swap.
            caught_up = sync_index(store, root / "index", limit=None).keys
            generation = swap_in(index_dir, staging,
                                 before=lambda: sync_index(store, root / "index", limit=None))
            faults.point("rebuild-swapped")
            documents = max(open_index(index_dir).doc_count() - 1, 0)  # less the state document
        finally:
            shutil.rmtree(root, ignore_errors=True)
        report = {"started_at": started_at, "finished_at": utcnow(),
                  "seconds": round(time.monotonic() - began, 2), "snippets": total, "documents": documents,
                  "procs": len(ranges), "start_method": start_method, "snapshot_seq": head[0], "caught_up_snippets": caught_up,
                  "generation": generation}
        note_rebuild(index_dir, last=report, running=None)  # this node's, not the shared store's
        return report
    finally:
        store.close()
