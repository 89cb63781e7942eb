"""Suggestion events written off the request path, in batches, without losing them.

Each /suggest records what it showed. Written inline, that was one SQLite commit per request
(~5% of a request's CPU) and a wait whenever an insertion held the write lock. Here a request
only appends to a queue; one thread per process writes everything queued so far in one
transaction. Nothing is dropped: a failed write keeps the batch and retries, a queue that
grows past ``MAX_PENDING`` makes requests write inline (back-pressure, not loss), and the
queue is flushed when the process exits normally. What a SIGKILL can lose is the last
``EVENTS_PAUSE`` seconds of events.
"""
from __future__ import annotations

import atexit
import logging
import signal
import threading
import time
import weakref
from pathlib import Path

from flask import Flask, current_app

from server.db import is_url, open_store

log = logging.getLogger(__name__)


PAUSE = 0.2  # seconds to gather a batch (config EVENTS_PAUSE)


class EventWriter:
    """A durable-on-commit queue of suggestion events for one database."""

    MAX_PENDING = 5000  # beyond this, requests write their own event (the writer fell behind)

    def __init__(self, database: str, pause: float = PAUSE) -> None:
        self.database = database
        self.pause = pause
        self._pending: list[tuple] = []
        self._lock = threading.Lock()  # guards _pending
        self._write_lock = threading.Lock()  # one batch at a time, so order is kept
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        _writers.add(self)

    def record(self, ticket_id: str, agent: str, language: str, shown: list, at: str,
               ticket_text: str = "") -> None:
        """Queue one event (what /suggest showed for a ticket, and the ticket's text)."""
        with self._lock:
            self._pending.append((ticket_id, agent, language, shown, at, ticket_text))
            behind = len(self._pending) > self.MAX_PENDING
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="suggestion-events", daemon=True)
                self._thread.start()
        if behind:
            self.flush()
        else:
            self._wake.set()

    def pending(self) -> int:
        """Events queued and not yet written."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write everything queued now, in this thread; return how many were written."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            if not is_url(self.database) and not Path(self.database).exists():  # the home went away (a tmp dir)
                log.warning("dropping %d suggestion events: %s is gone", len(batch), self.database)
                return 0
            try:
                store = open_store(self.database)
                try:
                    with store.transaction():
                        store.record_suggestions(batch)
                finally:
                    store.close()
            except BaseException:
                with self._lock:  # put them back in front: retried by the next flush
                    self._pending[:0] = batch
                raise
            return len(batch)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(self.pause)
            try:
                self.flush()
            except Exception:  # e.g. the database stayed locked past busy_timeout
                log.exception("writing suggestion events failed; retrying")
                time.sleep(1.0)
                self._wake.set()


_writers: weakref.WeakSet[EventWriter] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for writer in list(_writers):
        try:
            writer.flush()
        except Exception:
            log.exception("could not write %d suggestion events at exit", writer.pending())


def events() -> EventWriter:
    """This process's suggestion-event writer."""
    return current_app.extensions["replyassist.events"]


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds normally, so atexit writes the queue


def init_app(app: Flask) -> None:
    """Give the app its event writer; make SIGTERM a normal exit if nobody handles it."""
    app.extensions["replyassist.events"] = EventWriter(app.config["DATABASE"], app.config["EVENTS_PAUSE"])
    # waitress-serve leaves SIGTERM at its default (die at once, no atexit); gunicorn installs
    # its own graceful handler in each worker before it loads the app, and is left alone.
    if (not app.config.get("TESTING") and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
