"""A real PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary directory.

One server per test session, on a free port with its socket in that directory (no system
service, no TCP). Every test gets a database of its own, copied from a migrated template
(``CREATE DATABASE ... TEMPLATE``), which is far cheaper than migrating each one. As root
(CI), the server runs as the ``postgres`` user: initdb refuses to run as root.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from server.db import Store, connect, open_store
from server.process import free_port

INSTALL_HINT = ("PostgreSQL is needed for the tests that run against both stores: install Debian's "
                "`postgresql` package (apt-get install postgresql; .ci/run does it when missing).")
TEMPLATE = "replyassist_template"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A throwaway PostgreSQL server: ``start``, ``new_database``, ``stop``."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError(INSTALL_HINT)
        self.root = Path(tempfile.mkdtemp(prefix="replyassist-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        # initdb refuses root: run the server as postgres, in a directory it owns.
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def start(self) -> PostgresServer:
        """initdb, start on a unix socket, and build the migrated template database."""
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        # Durability is not what these tests check: no fsync makes CREATE DATABASE and commits cheap.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        self.admin(f"CREATE DATABASE {TEMPLATE}")
        open_store(self.url(TEMPLATE)).close()  # migrated once; every test database copies it
        return self

    def url(self, name: str) -> str:
        """The database URL (REPLYASSIST_DATABASE_URL) of one database on this server."""
        return f"postgresql://postgres@/{name}?host={self.root}&port={self.port}"

    def admin(self, sql: str) -> None:
        """Run one statement on the server's maintenance database."""
        store = Store(connect(self.url("postgres")))
        try:
            store.conn.execute(sql)
        finally:
            store.close()

    def new_database(self) -> str:
        """A fresh, migrated, empty database; its URL."""
        name = f"test_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def query(database: str, sql: str, *params) -> list[tuple]:
    """Rows of one read on either store (a SQLite path or a URL), for tests that check stored state."""
    store = Store(connect(database))
    try:
        return [tuple(row) for row in store.conn.execute(sql, params)]
    finally:
        store.close()
