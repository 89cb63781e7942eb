"""``flask --app server db upgrade|current``: apply migrations explicitly (PostgreSQL in production)."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from server import migrations
from server.db import Store, connect

db_cli = AppGroup("db", help="The database schema (Alembic migrations).")


def running() -> bool:
    """Whether this process runs a ``db`` command (see migrations.db_command_running)."""
    return migrations.db_command_running()


def _store() -> Store:
    return Store(connect(current_app.config["DATABASE"]))


@db_cli.command("upgrade")
def upgrade_command() -> None:
    """Apply every migration not yet applied (one transaction); safe to run again."""
    store = _store()
    try:
        applied = migrations.upgrade(store.conn)
        now = migrations.current(store.conn)
    finally:
        store.close()
    click.echo(f"applied {', '.join(applied)}; now at revision {now}" if applied else
               f"already at the newest revision ({now})")


@db_cli.command("current")
def current_command() -> None:
    """Print the database's revision and whether it is the newest this code knows."""
    store = _store()
    try:
        now = migrations.current(store.conn)
    finally:
        store.close()
    head = migrations.head()
    click.echo(f"revision {now or 'none'} (newest: {head}){'' if now == head else f'; run `{migrations.UPGRADE_COMMAND}`'}")


def init_app(app: Flask) -> Flask:
    """Register the db commands (alone, when create_app builds an app just for them)."""
    app.cli.add_command(db_cli)
    return app
