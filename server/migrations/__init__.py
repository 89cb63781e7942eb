"""Schema migrations with Alembic: upgrade, the current revision, and the start-up check.

SQLite upgrades itself when the server starts (``make run`` and small shops keep working as
before). PostgreSQL is shared by several nodes, so a node never changes its schema on start:
an operator runs ``flask --app server db upgrade`` once, and a node whose database is behind
refuses to start, saying so (a half-upgraded fleet, or two nodes racing to migrate, is worse).
Stores created by the legacy hand-written migrations (``schema_migrations``, SQLite only) are
finished with those, then stamped with the baseline revision, which builds the same schema.
"""
from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from server.migrations import legacy

HERE = Path(__file__).resolve().parent
BASELINE = "70"  # reproduces legacy version 70
UPGRADE_COMMAND = "flask --app server db upgrade"
# Alembic logs two INFO lines each time a revision is read (every start, every /health);
# `db upgrade` prints what it applied itself.
logging.getLogger("alembic").setLevel(logging.WARNING)


class SchemaBehind(RuntimeError):
    """The database's schema is older (or newer) than this code's; the message says what to run."""


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(HERE))


def head() -> str:
    """The newest revision this code knows."""
    return _scripts().get_current_head()


def current(conn) -> str | None:
    """The database's revision (None: never migrated with Alembic)."""
    return MigrationContext.configure(conn.sqlalchemy).get_current_revision()


def _alembic(conn) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = conn.sqlalchemy
    return config


def _legacy_version(conn) -> int | None:
    """The legacy schema version of a store the old migrations built, or None."""
    if not sa.inspect(conn.sqlalchemy).has_table("schema_migrations"):
        return None
    return conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0


def upgrade(conn) -> list[str]:
    """Apply the revisions not yet applied, all in one transaction; return them, oldest first."""
    before = current(conn)
    if before == head():
        return []
    if before is None and conn.dialect == "sqlite" and (_legacy_version(conn) or 0) < legacy.LAST:
        if _legacy_version(conn) is not None:  # finish an old store the old way, then stamp it
            legacy.migrate(conn.sqlalchemy.connection.dbapi_connection)
    conn.begin(write=True)
    try:
        if conn.dialect == "postgresql":  # two nodes upgrading at once take turns
            from server.db import MIGRATION_LOCK
            conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        before = current(conn)
        if before is None and _legacy_version(conn) == legacy.LAST:
            command.stamp(_alembic(conn), BASELINE)
            before = BASELINE
        applied = [r.revision for r in _scripts().iterate_revisions(head(), before)][::-1]
        command.upgrade(_alembic(conn), "head")
    except BaseException:
        conn.rollback()
        raise
    if conn.in_transaction:
        conn.commit()
    return applied


def db_command_running() -> bool:
    """Whether this process runs ``flask ... db <command>``: it must come up over a database that
    is behind (or empty), or that could never be upgraded; create_app then builds only what it needs."""
    if click.get_current_context(silent=True) is None:
        return False
    args = sys.argv[1:]
    while args and args[0].startswith("-"):  # flask's own options: --app NAME, -e FILE, --debug
        args = args[1:] if "=" in args[0] or args[0] not in ("--app", "-A", "--env-file", "-e") else args[2:]
    return bool(args) and args[0] == "db"


def prepare(conn) -> None:
    """At start-up: upgrade SQLite; on PostgreSQL refuse (SchemaBehind) unless it is up to date."""
    if conn.dialect == "sqlite":
        upgrade(conn)
        return
    now = current(conn)
    if now != head() and not db_command_running():
        url = conn.sqlalchemy.engine.url.render_as_string(hide_password=True)
        state = f"at schema revision {now}" if now else "empty (no schema yet)"
        raise SchemaBehind(f"The database {url} is {state}; this version of Reply Assist needs revision "
                           f"{head()}. Run `{UPGRADE_COMMAND}` once (from one node, with the same "
                           "REPLYASSIST_DATABASE_URL), then start the servers.")
