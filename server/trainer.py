"""One trainer process per node: it trains the learner's models (niced) and publishes them to a
file in the node's home, which every serving process loads when it changes; and it follows the
store for the node's index (server/follower.py), so no serving process commits in the background.

Training a 10k store's models takes seconds of GIL-holding Python (TF-IDF over thousands of
texts). Done in a thread of each gunicorn worker, it made every suggest of that worker wait
behind it while agents inserted (bench/latency.py's live pass, profiled with py-spy). Here one
worker per node (whoever holds ``<home>/.index.trainer.lock``) runs ``python -m server.trainer``
at ``nice`` +5 (``TRAINER_NICE``): it watches the store's data version and, when it moved, trains from the store
and writes ``<home>/.index.models.pickle`` aside and renames it (never half a file). Workers
poll the file's identity a few times a second and load a new one in their own background
thread: one unpickle, then one assignment swap (requests see the old models or the new).

The leader's learned-text commits (a Whoosh commit about once a second while agents insert)
were the other GIL-heavy background work of a serving process; they run here too, in a forked
process of normal priority (the follower), which also commits managers' saves: a save waits
for it (server/indexing.py). Workers only open and warm each new view.

The file is derived from the store and can always be rebuilt: a missing or unreadable one just
means "train again". Each node trains its own from the shared store (SQLite or PostgreSQL), so
several nodes need nothing shared but the store. If the leading worker dies, the child sees its
stdin close and exits, and another worker takes the lock at its next look.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
FORMAT = 1  # bump when the published file's shape changes: an old file is then retrained
# The trainer no longer shares a GIL with requests, so it may use more of a core than the
# in-process learner's DUTY: between trainings it rests as long as the last one took.
DUTY = 0.5
POLL = 0.3  # seconds between looks at the store's data version (child) or the file (workers)
SUPERVISE = 1.0  # seconds between a worker's looks at the lock and its child
RESTART_PAUSE = 5.0  # a child that exited early is started again after this long


def trains_aside(app) -> bool:
    """Whether this app's node trains (and follows the store) in a trainer process: servers, not tests."""
    return not app.config.get("TESTING") and bool(app.config.get("TRAINER_PROCESS"))


def options(app) -> dict:
    """What the trainer process needs besides the store: its niceness, and how to follow the store."""
    from server.indexing import watching
    follow = {"index_dir": app.config["INDEX_DIR"], "period": app.config["INDEX_FOLLOW_SECONDS"],
              "max_writes": app.config["INDEX_FOLLOW_MAX_WRITES"]}
    return {"nice": app.config["TRAINER_NICE"], "idle": app.config["TRAINER_IDLE"],
            "follow": follow if watching(app) else None}


def models_path(index_dir: str | Path) -> Path:
    """Where this node's trained models are published (beside its index)."""
    from server.follower import home_file
    return home_file(index_dir, "models.pickle")


def identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is replaced (inode, mtime, size); None when it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def publish(path: Path, models: dict, version: int, trained_at: float, took: float) -> None:
    """Write the models aside and rename them into place (readers see the old file or the new)."""
    spare = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(spare, "wb") as handle:
        pickle.dump({"format": FORMAT, "version": version, "trained_at": trained_at, "took": took,
                     "models": models}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(spare, path)


def load(path: Path) -> dict | None:
    """The published models with their data version, or None if missing, torn or of another format."""
    try:
        with open(path, "rb") as handle:
            # The file is ours: written by this node's trainer in the node's own home.
            published = pickle.load(handle)
        if not isinstance(published, dict) or published.get("format") != FORMAT:
            raise ValueError("not a models file of this version")
        return published
    except FileNotFoundError:
        return None
    except Exception as exc:  # corrupt or foreign: the trainer writes it again
        log.warning("ignoring the models file %s (%s: %s); it will be retrained", path, type(exc).__name__, exc)
        return None


# -- the child process --------------------------------------------------------------------------
def run(database: str, path: Path, parent: int | None = None) -> None:
    """Train whenever the store's data version moved, or the file is missing or not ours; forever."""
    from server.db import Store, connect
    from server.learner import PAUSE, build_models

    published = load(path)
    version = published["version"] if published else None
    written = identity(path) if published else None
    store = None
    while parent is None or os.getppid() == parent:
        try:
            store = store or Store(connect(database))
            current = store.data_version()
            if current == version and identity(path) == written:
                time.sleep(POLL)
                continue
            time.sleep(PAUSE)  # let more insertions arrive: one training for all of them
            current, started = store.data_version(), time.perf_counter()
            models = build_models(store)
            took = time.perf_counter() - started
            publish(path, models, current, time.time(), took)
            version, written = current, identity(path)
            log.info("trained %d models from data version %d in %.1f s", len(models), current, took)
            time.sleep(took * (1 / DUTY - 1))
        except Exception:  # keep the last file; the store may be restarting: try again shortly
            log.exception("training the learner failed; retrying")
            if store is not None:
                store.close()
                store = None
            time.sleep(RESTART_PAUSE)


def _exit_when_parent_closes() -> None:
    sys.stdin.read()  # EOF: the worker that started us is gone (or stopped us)
    os._exit(0)


def main() -> None:
    """``python -m server.trainer``: read ``{"database", "path", "nice", "idle", "follow"}`` from stdin, then train until stdin closes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [trainer %(process)d] %(levelname)s %(message)s")
    config = json.loads(sys.stdin.readline())
    follow = config.get("follow")
    # The node's index follows the store from here (no serving process commits in the background),
    # in a process of its own: as a thread beside the niced training it shared that thread's GIL,
    # and on a loaded machine waited whenever the OS had set the training aside while it held the
    # GIL (a manager's save, which waits for this commit, took seconds). Forked before any thread.
    if follow and os.fork() == 0:
        from server.follower import Follower
        threading.Thread(target=_exit_when_parent_closes, daemon=True).start()  # stdin is shared
        Follower(config["database"], follow["index_dir"], watch=True, period=follow["period"],
                 max_writes=follow["max_writes"]).start()
        threading.Event().wait()  # until stdin closes
    threading.Thread(target=_exit_when_parent_closes, daemon=True).start()
    os.nice(config.get("nice", 0))
    if config.get("idle") and hasattr(os, "SCHED_IDLE"):
        try:  # after the fork: the follower, whose commits saves wait for, keeps normal priority
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError as exc:  # a container may refuse it: the niceness alone then
            log.warning("the trainer could not take SCHED_IDLE (%s); it runs at nice %s", exc, config.get("nice"))
    run(config["database"], Path(config["path"]), parent=os.getppid())


# -- in each serving process ---------------------------------------------------------------------
class Supervisor:
    """Takes the node's trainer lock if free, and keeps a trainer child running while it holds it."""

    def __init__(self, database: str, path: Path, options: dict | None = None) -> None:
        self.database, self.path, self.options = database, path, options or {}
        self.lock_path = path.with_name(path.name.replace("models.pickle", "trainer.lock"))
        self.child: subprocess.Popen | None = None
        self.starts = 0
        self._handle = None
        self._exited_at = 0.0

    def leads(self) -> bool:
        """Whether this process holds the node's trainer lock (taking it if free)."""
        if self._handle is None:
            from server.follower import try_lock
            self._handle = try_lock(self.lock_path)
        return self._handle is not None

    def ensure(self) -> None:
        """Lead if nobody does, and (re)start the child if it is not running."""
        if not self.leads():
            return
        if self.child is not None and self.child.poll() is None:
            return
        if self.child is not None:
            if not self._exited_at:
                log.warning("the trainer process exited (%s); starting another", self.child.returncode)
                self._exited_at = time.monotonic()
            if time.monotonic() - self._exited_at < RESTART_PAUSE:
                return
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.child = subprocess.Popen([sys.executable, "-m", "server.trainer"], stdin=subprocess.PIPE,
                                      cwd=ROOT, env=env)
        # The store's URL goes through the pipe, not the command line (``ps`` shows that to all).
        self.child.stdin.write(json.dumps({**self.options, "database": self.database, "path": str(self.path)}).encode() + b"\n")
        self.child.stdin.flush()
        self.starts, self._exited_at = self.starts + 1, 0.0

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the child (closing its stdin) and let the lock go."""
        child, self.child = self.child, None
        if child is not None:
            try:
                child.stdin.close()
                child.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):  # still importing on a loaded machine
                child.kill()
                child.wait()  # reaped: no zombie, no "still running" warning
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def status(self) -> dict:
        running = self.child is not None and self.child.poll() is None
        return {"leader": self._handle is not None, "pid": self.child.pid if running else None,
                "running": running, "starts": self.starts}


class Published:
    """A serving process's side: load the node's published models when the file changes, and
    take over training (the lock and the child) when no other worker of the node does."""

    def __init__(self, learner) -> None:
        self.learner = learner
        self.supervisor = Supervisor(learner.database, learner.models_file, learner.trainer)
        self.loads = 0
        self._loaded: tuple | None = None  # identity of the file the models came from
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Run the thread (if not already running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="models", daemon=True)
                self._thread.start()

    def check(self) -> bool:
        """Load the file if it changed since the last load; say whether new models were swapped in."""
        path = self.learner.models_file
        now = identity(path)
        if now is None or now == self._loaded:
            return False
        published = load(path)
        self._loaded = now  # a torn file is not read again until it is replaced
        if published is None:
            return False
        learner = self.learner
        learner.models = published["models"]  # one assignment: a request sees the old models or the new
        learner.version, learner.trained_at, learner.took = (published["version"], published["trained_at"],
                                                             published["took"])
        self.loads += 1
        return True

    def _run(self) -> None:
        supervised = 0.0
        try:
            while self.learner.models_file.parent.exists():  # the home went away (a test's tmp dir): stop
                if time.monotonic() - supervised >= SUPERVISE:
                    supervised = time.monotonic()
                    self.supervisor.ensure()
                self.check()
                time.sleep(POLL)
        except Exception:
            log.exception("following the trained models failed; the last ones stay")
        finally:
            self.supervisor.stop()

    def status(self) -> dict:
        return {**self.supervisor.status(), "file": str(self.learner.models_file), "loads": self.loads}


if __name__ == "__main__":
    main()
