"""The app's link to its Whoosh index: the index follows the store's change log.

The store commits first, the index follows (the outbox pattern): every transaction that changes
what a snippet's documents hold appends a write (seq, random token) to the store's change log
(``index_writes``/``index_keys``, server/db.py), and after the commit the index applies every
write it has not seen yet, reading only committed state. So the index can lag the store (a
crash after the store commit: the next sync catches up) but never holds what the store does
not. The index records the (seq, token) of the last write it applied; a claim the store cannot
confirm (a store restored from a backup, an index copied from elsewhere, a write rolled back
after an older version of this code indexed it) is a divergence, and the index is reconciled by
diffing each snippet's token on both sides. A later write cannot paper that over: it gets a new
random token, so an index claiming the rolled-back one still does not match.

Syncs run after each write, at start, and in a background thread that also notices other
processes' commits; ``/api/v1/health`` reports the lag and any disagreement.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from flask import Flask, current_app, has_request_context

from index import faults
from index.errors import IndexBusy, IndexUnavailable
from index.indexer import (IndexState, Sync, applied_seq, indexed_state, latest_generation, open_index,
                           sync_locked)
from index.searcher import SnippetSearcher
from server.db import Store, connect, open_store

log = logging.getLogger(__name__)

# A sync with more snippets to write than this rebuilds aside instead: several processes
# build faster than one writer, and the store is read in bounded batches.
BULK_KEYS = 5_000
COMPACT_EVERY = 600.0  # seconds between trims of the applied part of the change log
KEEP_WRITES = 3_600.0  # applied writes stay in the log this long (so recent claims stay verifiable)
# How long a save waits for the node's trainer process to index it (the save rings its doorbell,
# server/follower.py, else it looks at the store every INDEX_FOLLOW_SECONDS, 0.4; a commit took
# 0.1-0.5 s at 10k, seconds on a machine at load 10) before committing in the request itself;
# and how often it looks.
FOLLOWER_WAIT = 15.0
FOLLOWER_POLL = 0.02


class _TooBig(Exception):
    """A sync found more to write than one writer should take on."""


def searcher() -> SnippetSearcher:
    """This process's searcher over the app's index."""
    return current_app.extensions["replyassist.searcher"]


def write_snippets(store: Store, snippets: Iterable[dict]) -> None:
    """Log these snippets' change; call inside the store transaction that wrote them.

    The index is up to date before the request answers (so the caller's next search sees the
    change). Where the node's trainer process follows the store (a server), this thread waits
    for that process's commit and commits itself only if that process is gone or none came
    within ``FOLLOWER_WAIT``. If that fails, the write stays committed and logged: the
    background indexer catches up.
    """
    store.bump_data_version()
    seq, _token = store.log_index_write([s["key"] for s in snippets], "snippets")
    faults.point("store-logged")
    database, index_dir = current_app.config["DATABASE"], current_app.config["INDEX_DIR"]
    keeper = current_app.extensions.get("replyassist.reindexer")
    searcher_ = current_app.extensions.get("replyassist.searcher")
    # In a request of a server whose node follows the store from the trainer process
    # (server/trainer.py): that process commits. Commands (an import) commit themselves.
    aside = keeper is not None and keeper.watch and not keeper.lead and has_request_context()

    def follow() -> None:
        faults.point("store-committed")
        try:
            if not (aside and applied_elsewhere(index_dir, seq, FOLLOWER_WAIT)):
                catch_up(store, database, index_dir)
            if searcher_ is not None:
                searcher_.warm()  # this request pays for the new view, not the next agent's suggest
        except IndexBusy:  # another writer held the lock past the timeout: the keeper follows
            log.warning("the index stayed locked after a commit; the background indexer will catch up")
            if keeper:
                keeper.poke()
        except Exception:  # committed and logged: nothing is lost, the index only lags
            log.exception("indexing after a commit failed; the background indexer will catch up")
            if keeper:
                keeper.poke()

    store.after_commit(follow)


def applied_elsewhere(index_dir: str | Path, seq: int, timeout: float) -> bool:
    """While another process follows the store for this node, wait (without holding the GIL)
    until the index holds store write ``seq``; say whether it does.

    A save's Whoosh commit in the request held its worker's GIL for ~100 ms at 10k snippets,
    against every suggest that worker served meanwhile (bench/latency.py's live pass).
    """
    from server.follower import followed_elsewhere, ring

    ring(index_dir)  # the follower polls now, not at the end of its period
    deadline, seen = time.monotonic() + timeout, None
    while followed_elsewhere(index_dir):
        generation = latest_generation(index_dir)
        if generation != seen:  # only a new commit can have applied it
            seen = generation
            applied = applied_seq(index_dir)
            if applied is not None and applied >= seq:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(FOLLOWER_POLL)
    return False


def _load(store: Store, tokens: dict[str, str]) -> list[dict]:
    """The snippets of these keys with their learned text and change token (unknown keys left out)."""
    keys, found = list(tokens), []
    for start in range(0, len(keys), 500):
        batch = list(store.get_snippets(keys[start:start + 500]).values())
        found += [{**s, "index_token": tokens[s["key"]]} for s in with_learned(store, batch)]
    return found


def _diff(index_revs: dict[str, set[str]], store_tokens: dict[str, str]) -> dict[str, str]:
    """Keys whose documents differ between the index and the store, with the store's token."""
    differ = {key: token for key, token in store_tokens.items() if index_revs.get(key) != {token}}
    differ.update({key: "" for key in index_revs.keys() - store_tokens.keys()})
    return differ


def sync_index(store: Store, index_dir: str | Path, limit: int | None = BULK_KEYS,
               timeout: float | None = None) -> Sync:
    """Bring the index up to the store's newest committed write; say what it took.

    An index whose claim the store confirms gets the snippets changed since; one the store
    cannot confirm is diffed key by key. Raises ``_TooBig`` past ``limit`` snippets.
    """
    def plan(state: IndexState | None, revisions: Callable[[], dict]) -> tuple | None:
        with store.snapshot():
            head = store.index_head()
            if state is not None and store.has_index_write(state.seq, state.token):
                if state.seq == head[0]:
                    return None
                mode, changed = "tail", store.index_keys_since(state.seq)
            else:
                mode, changed = "reconcile", _diff(revisions(), store.published_tokens())
                log.warning("the index disagrees with the store (it claims write %s, the store is at %s); "
                            "reconciling %d snippets", state and (state.seq, state.token), head, len(changed))
            if limit is not None and len(changed) > limit:
                raise _TooBig(len(changed))
            return mode, _load(store, changed), list(changed), *head

    ix = open_index(index_dir)
    state = indexed_state(ix)
    if state is not None and store.index_head() == (state.seq, state.token):
        return Sync("none", 0, state.seq)  # in step: no need for the writer lock
    kwargs = {} if timeout is None else {"timeout": timeout}
    return sync_locked(ix, plan, **kwargs)


def catch_up(store: Store, database: str, index_dir: str) -> Sync:
    """Sync the index; when there is a lot to write, rebuild it aside instead."""
    from server.follower import file_lock, home_file
    from server.index_build import rebuild

    try:
        return sync_index(store, index_dir)
    except _TooBig as exc:
        log.warning("%s snippets to index: rebuilding the index aside", exc.args[0])
    except IndexUnavailable as exc:  # deleted or torn under a running server: build it again
        log.warning("rebuilding the search index: %s", exc)
    with file_lock(home_file(index_dir, "rebuild.lock")) as alone:
        if not alone:  # this node's follower (or another worker) is rebuilding: it catches this up too
            return Sync("deferred", 0, 0)
        report = rebuild(database, index_dir)
    return Sync("rebuild", report["documents"], report["snapshot_seq"])


class Reindexer:
    """Keeps this process's index in step from a background thread, so insertions never wait.

    A Whoosh commit takes ~90 ms on this hardware; done inside each insertion it capped the
    whole desk at ~10 insertions/s (bench/issuance.py). Batched here, one commit serves every
    insertion logged meanwhile and learned text is searchable within about a second. With
    ``watch``, it also looks every ``PERIOD`` seconds for writes or commits of other processes
    (a cheap check: the log's newest seq and the index's generation) and syncs when they moved.
    """

    PAUSE = 0.2  # seconds to let more writes queue before a commit
    PERIOD = 1.0  # polling faster made both workers race to index the same writes (bench/README.md)

    def __init__(self, database: str, index_dir: str, watch: bool = False) -> None:
        self.database, self.index_dir, self.watch = database, index_dir, watch
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (store head seq, index generation) last synced
        self._compacted = 0.0
        self.on_sync: Callable[[], None] | None = None  # e.g. warm this process's searcher

    def start(self) -> None:
        """Run the thread (if not already running)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="reindexer", daemon=True)
                self._thread.start()

    def poke(self) -> None:
        """Something was logged: serve it soon."""
        self.start()
        self._wake.set()

    def flush(self) -> Sync:
        """Sync now, in this thread (tests, benchmarks, commands)."""
        store = Store(connect(self.database))  # not open_store: migrating takes the write lock
        try:
            head = store.index_head()[0]
            result = catch_up(store, self.database, self.index_dir)
            self._seen = (head, latest_generation(self.index_dir))
            if self.on_sync is not None:
                self.on_sync()  # this commit, or another process's: ready before a suggest needs it
            if time.monotonic() - self._compacted > COMPACT_EVERY:
                self._compacted = time.monotonic()
                with store.transaction():
                    store.compact_index_writes(result.seq, time.time() - KEEP_WRITES)
            return result
        finally:
            store.close()

    def _moved(self) -> bool:
        store = Store(connect(self.database))
        try:
            head = store.index_head()[0]
        finally:
            store.close()
        return self._seen != (head, latest_generation(self.index_dir))

    def _run(self) -> None:
        busy = 0  # IndexBusy in a row: another writer (a save, another worker) held the lock
        while True:
            woken = self._wake.wait(self.PERIOD if self.watch else None)
            self._wake.clear()
            if not Path(self.index_dir).parent.exists():  # the home went away (a test's tmp dir): stop
                return
            try:
                if woken:
                    time.sleep(self.PAUSE)
                elif not self._moved():
                    continue
                self.flush()
                busy = 0
            except IndexBusy:  # expected under load; the log is durable: back off and retry
                busy += 1
                (log.warning if busy >= 5 else log.info)("the index stayed locked by another writer "
                                                         "(%d times in a row); retrying", busy)
                time.sleep(min(0.2 * 2 ** busy, 5.0))
                self._wake.set()
            except Exception:  # the log is durable: log, and try again shortly
                log.exception("keeping the index in step failed; retrying")
                time.sleep(1.0)
                self._wake.set()


def reindexer() -> Reindexer:
    """This process's background re-indexer."""
    return current_app.extensions["replyassist.reindexer"]


def with_learned(store: Store, snippets: list[dict]) -> list[dict]:
    """The snippets with what each has learned attached (``learned``: {language: [text]})."""
    learned = store.learned_texts([s["key"] for s in snippets])
    return [{**s, "learned": learned.get(s["key"], {})} for s in snippets]


def rebuild_index(app: Flask, progress: Callable[[int], None] | None = None,
                  start: Callable[[int], None] | None = None) -> int:
    """Rebuild the index aside from a snapshot of the store; return the number of documents."""
    from server.index_build import rebuild

    return rebuild(app.config["DATABASE"], app.config["INDEX_DIR"], progress=progress, start=start,
                   procs=app.config.get("INDEX_BUILD_PROCS"))["documents"]


def index_health(store: Store, index_dir: str) -> dict:
    """How this node's index stands against the store: lag in writes and seconds, queue, rebuilds."""
    from server.follower import read_rebuilds

    head = store.index_head()
    rebuilds = read_rebuilds(index_dir)
    report = {"state": "in_step", "in_step": True, "store_seq": head[0], "applied_seq": None,
              "lag_writes": None, "lag_seconds": None, "learned_queue": None,
              "last_rebuild": rebuilds.get("last"),
              "rebuild_running": _running_rebuild(rebuilds.get("running"))}
    try:
        state = indexed_state(open_index(index_dir))
    except IndexUnavailable as exc:
        return {**report, "state": "unavailable", "in_step": False, "detail": str(exc)}
    if state is None or not store.has_index_write(state.seq, state.token):
        return {**report, "state": "diverged", "in_step": False,
                "applied_seq": state and state.seq,
                "detail": "the index holds a write the store never committed (or cannot confirm); "
                          "it is being reconciled"}
    lag = store.index_lag(state.seq)
    seconds = round(max(time.time() - lag["oldest_at"], 0.0), 3) if lag["oldest_at"] else 0.0
    behind = lag["writes"] > 0
    return {**report, "state": "behind" if behind else "in_step", "in_step": not behind,
            "applied_seq": state.seq, "lag_writes": lag["writes"], "lag_seconds": seconds,
            "learned_queue": lag["learned"]}


def _running_rebuild(running: dict | None) -> dict | None:
    if running is None:
        return None
    try:
        import os

        os.kill(running["pid"], 0)
    except (OSError, KeyError):
        return {**running, "interrupted": True}
    return {**running, "interrupted": False}


def watching(app: Flask) -> bool:
    """Whether this app follows the store from a background thread (servers, not tests)."""
    return app.config.get("INDEX_WATCH", not app.config.get("TESTING"))


def ensure_index(app: Flask) -> None:
    """At start: rebuild a missing or unreadable index; otherwise catch up or reconcile it."""
    database, index_dir = app.config["DATABASE"], app.config["INDEX_DIR"]
    # Several workers start at once (gunicorn): one rebuilds or catches up, the others wait for
    # it and then find the index in step, instead of each building its own and racing to swap.
    from server.follower import file_lock, home_file

    with file_lock(home_file(index_dir, "start.lock"), wait=True):
        _ensure_index(app, database, index_dir)


def _ensure_index(app: Flask, database: str, index_dir: str) -> None:
    from server.index_build import remove_stale_staging

    remove_stale_staging(Path(index_dir))
    try:
        open_index(index_dir)
    except IndexUnavailable as exc:
        log.warning("rebuilding the search index: %s", exc)
        count = rebuild_index(app)
        log.warning("search index rebuilt: %d documents", count)
        return
    store = open_store(database)
    try:
        if watching(app):
            try:  # a node far behind serves its index while the follower rebuilds (not ready meanwhile)
                result = sync_index(store, index_dir)
            except _TooBig as exc:
                log.warning("%s snippets behind the store: the follower rebuilds the index aside", exc.args[0])
                return
        else:
            result = catch_up(store, database, index_dir)
    finally:
        store.close()
    if result.mode != "none":
        log.warning("search index brought in step at start (%s): %d snippets", result.mode, result.keys)


def init_app(app: Flask) -> None:
    """Make sure the index is usable and give the app its searcher and background indexer."""
    ensure_index(app)
    app.extensions["replyassist.searcher"] = SnippetSearcher(app.config["INDEX_DIR"])
    from server.follower import Follower  # each node's index follows the shared store

    from server.trainer import trains_aside  # which then follows the store for the node

    keeper = Follower(app.config["DATABASE"], app.config["INDEX_DIR"],
                      watch=watching(app), lead=not trains_aside(app),
                      period=app.config["INDEX_FOLLOW_SECONDS"], max_writes=app.config["INDEX_FOLLOW_MAX_WRITES"])
    keeper.on_sync = app.extensions["replyassist.searcher"].warm
    app.extensions["replyassist.reindexer"] = keeper

    @app.before_request
    def _watch() -> None:  # a serving process (not a CLI command) watches for others' writes
        if keeper.watch and keeper._thread is None:
            keeper.start()
