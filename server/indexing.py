"""The app's link to its Whoosh index: one searcher per process, writes in the store's transaction."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from flask import Flask, current_app

from index.errors import IndexUnavailable
from index.indexer import apply_changes, apply_locked, indexed_version, open_index, rebuild
from index.searcher import SnippetSearcher
from server.db import Store, open_store

log = logging.getLogger(__name__)


def searcher() -> SnippetSearcher:
    """This process's searcher over the app's index."""
    return current_app.extensions["replyassist.searcher"]


def write_snippets(store: Store, snippets: Iterable[dict]) -> None:
    """Index these snippets' new state; call inside the store transaction that wrote them.

    Running inside the transaction makes a write all-or-nothing: if indexing fails, the
    store rolls back too. Locks are always taken in the same order (SQLite, then Whoosh).
    """
    version = store.bump_data_version()
    apply_changes(open_index(current_app.config["INDEX_DIR"]), with_learned(store, list(snippets)), version)


def drain_reindex_queue(store: Store, index_dir: str) -> bool:
    """Re-index every snippet queued for it (by any process); call outside a transaction.

    Holding the index's writer lock while reading the store, one commit serves all entries
    queued until then; a writer that finds the queue already served writes nothing.
    """
    served = 0

    def read():
        nonlocal served
        served, keys = store.reindex_queue()
        if not keys:
            return None
        snippets = with_learned(store, list(store.get_snippets(keys).values()))
        return snippets, store.data_version()

    wrote = apply_locked(open_index(index_dir), read)
    if wrote:
        # Only after the commit: a crash before it leaves the entries for the next writer.
        with store.transaction():
            store.dequeue_reindex(served)
    return wrote


class Reindexer:
    """Serves the re-index queue from a background thread, so insertions never wait for Whoosh.

    A Whoosh commit takes ~90 ms on this hardware; done inside each insertion it capped the
    whole desk at ~10 insertions/s (bench/issuance.py). Batched here, one commit serves every
    insertion queued meanwhile and learned text is searchable within about a second.
    """

    PAUSE = 0.2  # seconds to let more entries queue before a commit

    def __init__(self, database: str, index_dir: str) -> None:
        self.database, self.index_dir = database, index_dir
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def poke(self) -> None:
        """Something was queued: serve it soon."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="reindexer", daemon=True)
                self._thread.start()
        self._wake.set()

    def flush(self) -> None:
        """Serve the queue now, in this thread (tests, benchmarks, commands)."""
        store = open_store(self.database)
        try:
            drain_reindex_queue(store, self.index_dir)
        finally:
            store.conn.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(self.PAUSE)
            try:
                self.flush()
            except Exception:  # the queue is durable: log, and try again shortly
                log.exception("re-indexing learned text failed; retrying")
                time.sleep(1.0)
                self._wake.set()


def reindexer() -> Reindexer:
    """This process's background re-indexer."""
    return current_app.extensions["replyassist.reindexer"]


def with_learned(store: Store, snippets: list[dict]) -> list[dict]:
    """The snippets with what each has learned attached (``learned``: {language: [text]})."""
    learned = store.learned_texts([s["key"] for s in snippets])
    return [{**s, "learned": learned.get(s["key"], {})} for s in snippets]


def _batches(store: Store, size: int = 500) -> Iterable[dict]:
    batch: list[dict] = []
    for snippet in store.iter_snippets():
        batch.append(snippet)
        if len(batch) == size:
            yield from with_learned(store, batch)
            batch = []
    yield from with_learned(store, batch)


def rebuild_index(app: Flask, progress: Callable[[int], None] | None = None,
                  start: Callable[[int], None] | None = None) -> int:
    """Rebuild the index from the store; return the number of documents indexed."""
    store = open_store(app.config["DATABASE"])
    try:
        with store.transaction():  # a consistent snapshot: no snippet write can slip in between
            total = store.count_snippets()
            if start:
                start(total)
            count = rebuild(app.config["INDEX_DIR"], _batches(store), store.data_version(),
                            progress=progress)
            store.dequeue_reindex(store.reindex_queue()[0])  # the rebuild served them all
            return count
    finally:
        store.conn.close()


def ensure_index(app: Flask) -> None:
    """Rebuild the index at start if it is missing, unreadable, or out of step with the store."""
    store = open_store(app.config["DATABASE"])
    try:
        wanted = store.data_version()
    finally:
        store.conn.close()
    try:
        found = indexed_version(open_index(app.config["INDEX_DIR"]))
        if found == wanted:
            return
        reason = f"index reflects store version {found}, the store is at {wanted}"
    except IndexUnavailable as exc:
        reason = str(exc)
    log.warning("rebuilding the search index: %s", reason)
    count = rebuild_index(app)
    log.warning("search index rebuilt: %d documents", count)


def init_app(app: Flask) -> None:
    """Make sure the index is usable and give the app its searcher."""
    ensure_index(app)
    app.extensions["replyassist.searcher"] = SnippetSearcher(app.config["INDEX_DIR"])
    app.extensions["replyassist.reindexer"] = Reindexer(app.config["DATABASE"], app.config["INDEX_DIR"])
