"""Each node's index follows the shared store: one follower thread per server process.

Several app servers (nodes) can share one store of record (PostgreSQL, or one SQLite file on a
shared disk) while each keeps its own Whoosh index under its own ``REPLYASSIST_HOME``. A node
has its own writes indexed before their requests answer (server/indexing.py, read-your-writes:
in a server this node's follower commits them and the request waits); the ``Follower`` here
applies everyone else's. Every ``INDEX_FOLLOW_SECONDS`` it reads the head of
the store's change log (one indexed row): when it moved, it applies the writes after the
index's position (``index_keys_since``), and the index records the new (seq, token) in the same
commit, so the position is durable on this node's disk and a restart resumes from it.

Writes are numbered in commit order (SQLite's write lock; PostgreSQL takes an advisory lock
for it), so "the writes after seq N" never skips one that commits late.

Too far behind (more than ``INDEX_FOLLOW_MAX_WRITES`` writes, or a position the store can no
longer confirm because the log was trimmed past it), the node rebuilds its index aside and
swaps it in, serving the old one meanwhile (server/index_build.py); ``/health/ready`` says 503
until it has caught up.

gunicorn's workers on one node share one index directory: a file lock in the home picks the
one worker that follows; the others see its commits (their searchers reopen at each new
generation) and take over the lock if that worker dies. The leader touches the lock file at
each poll, so any worker's ``/health`` can say when the node last looked at the store.
"""
from __future__ import annotations

import atexit
import errno
import fcntl
import json
import logging
import os
import select
import stat
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Iterator

from index import faults
from index.errors import IndexUnavailable
from index.indexer import indexed_state, latest_generation, open_index
from server.db import Store, connect
from server.indexing import Reindexer

log = logging.getLogger(__name__)


def home_file(index_dir: str | Path, suffix: str) -> Path:
    """A file of this node's own beside its index (``<home>/.index.<suffix>``)."""
    index_dir = Path(index_dir)
    return index_dir.parent / f".{index_dir.name}.{suffix}"


# -- what this node's rebuilds did (per node: each node rebuilds its own index) ----------------
def read_rebuilds(index_dir: str | Path) -> dict:
    """This node's ``{"running": ..., "last": ...}`` rebuild records (empty before the first)."""
    try:
        return json.loads(home_file(index_dir, "rebuilds.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def note_rebuild(index_dir: str | Path, **changes: object) -> None:
    """Update this node's rebuild records (written aside and renamed: never half a file)."""
    path = home_file(index_dir, "rebuilds.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    records = {**read_rebuilds(index_dir), **changes}
    spare = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    spare.write_text(json.dumps(records), encoding="utf-8")
    os.replace(spare, path)


def try_lock(path: Path):
    """An open handle holding an exclusive lock on ``path``, or None when another process (or
    handle) holds it. Closing the handle, or the process ending, releases the lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+b")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def followed_elsewhere(index_dir: str | Path) -> bool:
    """Whether a follower (the trainer process, another worker) holds this node's follower lock."""
    path = home_file(index_dir, "follower.lock")
    if not path.exists():
        return False
    handle = try_lock(path)
    if handle is None:
        return True
    handle.close()  # free: nobody follows (a holder may take it right after)
    return False


def doorbell_path(index_dir: str | Path) -> Path:
    """The FIFO in the node's home on which its follower waits between polls."""
    return home_file(index_dir, "follower.bell")


def ring(index_dir: str | Path) -> bool:
    """Wake this node's follower now (a save waits for its commit); say whether one listens.

    Without it the follower found a save at its next poll, up to ``INDEX_FOLLOW_SECONDS`` (0.4 s)
    later, and the manager waited that long beside the commit itself. Nobody listening (no
    FIFO, or one whose follower is gone: ``ENXIO``) just leaves the save to that poll.
    """
    try:
        fd = os.open(doorbell_path(index_dir), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENOENT: no follower made one; ENXIO: nobody reads it
        return False
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        os.write(fd, b"\0")
    except BlockingIOError:  # the pipe is full of rings the follower has not drained yet
        pass
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


class Doorbell:
    """The follower's end of its FIFO: wait for a ring or a timeout, whichever comes first."""

    def __init__(self, path: Path) -> None:
        try:
            os.mkfifo(path, 0o600)
        except FileExistsError:  # left by an earlier follower of this home: reuse it
            pass
        # Read and write: a FIFO with no writer open reads as end-of-file for ever (select would
        # spin); holding a write end ourselves also lets stop() ring it. Linux opens this non-blocking.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        if not stat.S_ISFIFO(os.fstat(self.fd).st_mode):
            os.close(self.fd)
            raise OSError(errno.EINVAL, f"{path} is not a FIFO")

    def wait(self, timeout: float | None) -> bool:
        """Block until someone rings (True) or ``timeout`` seconds pass (False); drain the rings."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass
        return True

    def ring(self) -> None:
        try:
            os.write(self.fd, b"\0")
        except OSError:  # full (rung already), or closed by the loop's release meanwhile
            pass

    def close(self) -> None:
        os.close(self.fd)


@contextmanager
def file_lock(path: Path, *, wait: bool = False) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` if no other process (or handle) holds it; say whether.

    With ``wait``, wait for the holder to let go instead (always yields True).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+b")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()  # closing releases the lock


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds")


class Follower(Reindexer):
    """The background thread that keeps this node's index in step with the shared store."""

    def __init__(self, database: str, index_dir: str, watch: bool = False, period: float = 0.4,
                 max_writes: int = 5_000, lead: bool = True) -> None:
        super().__init__(database, index_dir, watch)
        self.PERIOD, self.max_writes = period, max_writes
        # False in a serving process whose node follows the store from the trainer process
        # (server/trainer.py): it never commits in the background.
        self.lead = lead
        self.lock_path = home_file(index_dir, "follower.lock")
        self._stopping = threading.Event()
        self._lead_handle = None  # the open, locked lock file while this process follows
        self._poller: Store | None = None  # one connection for the polls, kept open
        self._bell: Doorbell | None = None  # while leading a watching follower: rung by saves
        self.polls, self.applied, self.rebuilds = 0, 0, 0
        self.last_poll: float | None = None
        self.last_error: str | None = None
        self._exit_hook = False

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Run the thread (if not already running); it stops at the process's normal exit."""
        super().start()
        if not self._exit_hook:
            self._exit_hook = True
            atexit.register(self.stop, 5.0)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (it finishes what it is applying), release the lock, close the store."""
        self._stopping.set()
        self._wake.set()
        if self._bell is not None:
            self._bell.ring()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._release()

    def poke(self) -> None:
        super().poke()
        if self._bell is not None:  # the loop waits on the FIFO, not on the event
            self._bell.ring()

    def _release(self) -> None:
        if self._bell is not None:  # before the lock: the next leader opens the FIFO anew
            self._bell.close()
            self._bell = None
        if self._lead_handle is not None:
            self._lead_handle.close()
            self._lead_handle = None
        if self._poller is not None:
            self._poller.close()
            self._poller = None

    def leads(self) -> bool:
        """Whether this process follows the store for the node (or takes over from a dead leader)."""
        if self._lead_handle is not None:
            return True
        if not self.lead:
            return False
        self._lead_handle = try_lock(self.lock_path)
        if self._lead_handle is not None and self.watch:
            try:
                self._bell = Doorbell(doorbell_path(self.index_dir))
            except OSError as exc:  # saves then wait for the next poll, as before
                log.warning("no doorbell for this node's follower (%s): saves wait for its poll", exc)
        return self._lead_handle is not None

    # -- the loop -----------------------------------------------------------------------
    def _wait(self) -> bool:
        """Wait for the next poll (or a ring); say whether this process logged something."""
        if self._bell is None:
            return self._wake.wait(self.PERIOD if self.watch else None)
        if not self._wake.is_set():
            self._bell.wait(self.PERIOD)  # a ring means "poll now", like the period ending early
        return self._wake.is_set()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                woken = self._wait()
                self._wake.clear()
                if self._stopping.is_set() or not Path(self.index_dir).parent.exists():
                    return  # stopped, or the home went away (a test's tmp dir)
                try:
                    if woken and self.watch and not self.leads():
                        # This process logged learned text; the leader's next poll indexes it. A
                        # commit here too held this worker's GIL against its requests and raced
                        # the leader for the writer lock (bench/latency.py's live pass).
                        continue
                    if woken:  # this process logged learned text: index it soon
                        time.sleep(self.PAUSE)
                        self.flush()
                    else:
                        self.poll()
                except Exception as exc:  # the log is durable: note it, and try again shortly
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("following the store failed; retrying")
                    self._release()
                    self._stopping.wait(1.0)
        finally:
            self._release()

    def poll(self) -> str:
        """Look at the store's head once (if this process leads); apply or rebuild when behind."""
        if not self.leads():
            # Not warmed here: a view opened by the next suggest measured no worse under live
            # load than one warmed at every commit (bench/README.md, third round: offload).
            return "another worker follows"
        if self._poller is None:
            self._poller = Store(connect(self.database))
        head = self._poller.index_head()
        self.polls, self.last_poll = self.polls + 1, time.time()
        os.utime(self.lock_path)  # "last poll", for the other workers' /health
        if self._seen == (head[0], latest_generation(self.index_dir)):
            return "idle"
        try:
            state = indexed_state(open_index(self.index_dir))
        except IndexUnavailable:
            state = None
        if state is not None and (state.seq, state.token) == head:
            self._seen = (head[0], state.generation)
            return "in_step"
        faults.point("follower-apply")
        if self._too_far_behind(state):
            self._rebuild()
            return "rebuild"
        if self.flush().mode == "rebuild":  # many snippets in few writes (an import): rebuilt aside
            self.rebuilds += 1
            return "rebuild"
        self.applied += 1
        return "applied"

    def _too_far_behind(self, state) -> bool:
        """More writes to apply than a rebuild costs, or a position the store can no longer confirm."""
        if state is None:
            return True
        store = self._poller
        with store.snapshot():
            if not store.has_index_write(state.seq, state.token):
                log.warning("this node's index position (write %s) is not in the store's log "
                            "(trimmed past it, or the store was restored): rebuilding", state.seq)
                return True
            behind = store.index_lag(state.seq)["writes"]
        if behind > self.max_writes:
            log.warning("this node's index is %d writes behind the store: rebuilding", behind)
            return True
        return False

    def _rebuild(self) -> None:
        from server.index_build import rebuild

        with file_lock(home_file(self.index_dir, "rebuild.lock")) as alone:
            if not alone:  # a rebuild of this node's index is already running (a command, a worker)
                return
            report = rebuild(self.database, self.index_dir)
        self.rebuilds += 1
        self._seen = (report["snapshot_seq"], -1)  # look again at the next poll
        log.warning("this node's index rebuilt from the store: %d documents", report["documents"])

    # -- what /health says ----------------------------------------------------------------
    def status(self) -> dict:
        """The follower as this process sees it: running, leading, and the node's last poll."""
        try:
            last_poll = self.lock_path.stat().st_mtime if self.lock_path.exists() else None
        except OSError:
            last_poll = None
        if self.last_poll is not None and self._lead_handle is not None:
            last_poll = self.last_poll
        running = self._thread is not None and self._thread.is_alive()
        return {"running": running, "leader": self._lead_handle is not None, "pid": os.getpid(),
                "interval_seconds": self.PERIOD,
                "last_poll_at": _iso(last_poll),
                "last_poll_seconds_ago": None if last_poll is None else round(max(time.time() - last_poll, 0.0), 3),
                "polls": self.polls, "applied": self.applied, "rebuilds": self.rebuilds,
                "last_error": self.last_error}
