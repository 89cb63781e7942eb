"""Run the app in real server processes, for tests and benchmarks (like flask.testing, unused in production)."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's flask and waitress-serve, whoever runs this
HEALTH = "/api/v1/health"


class ServerError(RuntimeError):
    """A CLI command failed, or a server exited or did not answer."""


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path, extra: dict[str, str] | None, root: Path = ROOT) -> dict[str, str]:
    # Drop inherited REPLYASSIST_* settings: a DATABASE or INDEX_DIR would point outside the home.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLYASSIST_")}
    return {**env, "REPLYASSIST_HOME": str(home), "PYTHONPATH": str(root), **(extra or {})}


def flask_cli(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float | None = 300,
              root: Path = ROOT) -> str:
    """Run ``flask --app server <args>`` over ``home`` (with the code in ``root``); its stdout."""
    result = subprocess.run([str(BIN / "flask"), "--app", "server", *args], cwd=root, env=_env(home, env, root),
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise ServerError(f"flask {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def command(kind: str, port: int, threads: int, workers: int = 1) -> list[str]:
    """The command line of a server: ``waitress`` (one process) or ``gunicorn`` (``workers`` processes)."""
    if kind == "gunicorn":
        return [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", f"--workers={workers}",
                f"--threads={threads}", "--graceful-timeout=10", "server:create_app()"]
    return [str(BIN / "waitress-serve"), "--host", "127.0.0.1", f"--port={port}",
            f"--threads={threads}", "--call", "server:create_app"]


def memory(pid: int) -> dict[str, int]:
    """Resident (RSS) and proportional (PSS: shared pages split between sharers) kB of a process."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in ("Rss", "Pss"):
                out[name.lower() + "_kb"] = int(rest.split()[0])
    return out


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text(encoding="ascii")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


class ServerProcess:
    """A server (waitress, or gunicorn with worker processes) for ``server:create_app`` on 127.0.0.1."""

    def __init__(self, home: Path, threads: int = 4, port: int | None = None,
                 env: dict[str, str] | None = None, log: Path | None = None,
                 kind: str = "waitress", workers: int = 1, root: Path = ROOT) -> None:
        self.home = Path(home)
        self.root = Path(root)  # another checkout serves its own code (a bench's "before")
        self.threads = threads
        self.kind, self.workers = kind, workers
        self.port = port or free_port()  # known before start, so a client can be pointed here first
        self.env = env or {}
        self.log = log or self.home / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0, *, wait: bool = True) -> ServerProcess:
        """Start waitress (unless running) and, with ``wait``, wait until /health answers 200."""
        if self.process is None or self.process.poll() is not None:
            with open(self.log, "ab") as out:  # append: a restart keeps the earlier run's lines
                self.process = subprocess.Popen(
                    command(self.kind, self.port, self.threads, self.workers),
                    cwd=self.root, env=_env(self.home, self.env, self.root), stdout=out, stderr=subprocess.STDOUT)
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Poll /health until it answers 200; stop the process and raise if it exits or times out."""
        deadline, answer = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                try:
                    conn.request("GET", HEALTH)
                    response = conn.getresponse()
                    body = response.read()
                finally:
                    conn.close()
                if response.status == 200:
                    return
                answer = f"{response.status}: {body[:500]!r}"
            except (OSError, http.client.HTTPException):  # not listening yet
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerError(f"the server on port {self.port} did not answer {HEALTH} with 200 within "
                          f"{timeout:.0f} s (last: {answer}); its log ends:\n{self.tail()}")

    def check_alive(self) -> None:
        """Raise, with the log's tail, if the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise ServerError(f"the server on port {self.port} exited with code {self.process.returncode}; "
                              f"its log ends:\n{self.tail()}")

    def memory(self) -> list[dict]:
        """Memory of each process serving requests (gunicorn's workers, or waitress itself)."""
        if self.process is None:
            return []
        pids = children(self.process.pid) if self.kind == "gunicorn" else [self.process.pid]
        return [{"pid": pid, **memory(pid)} for pid in pids]

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate; kill what has not exited after ``timeout`` seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server and its workers at once, as a power cut would (no exit handlers)."""
        if self.process is None:
            return
        for pid in [*children(self.process.pid), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        self.process = None

    def __enter__(self) -> ServerProcess:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_all(servers: Iterable[ServerProcess], timeout: float = 60.0) -> None:
    """Start every server, then wait for each: their start-ups (model loading) overlap."""
    servers = list(servers)
    for server in servers:
        server.start(wait=False)
    for server in servers:
        server.wait_healthy(timeout)
