"""The store on both databases: portable queries, migrations, and the locks that hold across nodes."""
from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from server import create_app, migrations
from server.db import StaleWrite, Store, connect, open_store
from server.migrations import legacy
from server.process import flask_cli
from tests.conftest import BOTH_STORES

SNIPPET = {"key": "reply/late", "kind": "reply", "default_language": "en", "texts": {"en": {"title": "Late",
           "body": "Sorry"}, "it": {"title": "Ritardo", "body": "Scusi"}}, "tags": ["delivery", "late"],
           "policies": [], "offer": None, "when": {}, "fields": {}, "status": "published", "owner": "marco",
           "verified_by": None, "verified_at": "2020-01-01T00:00:00+00:00", "verify_every_days": 30,
           "version": 1, "updated_at": "2026-01-01T00:00:00+00:00", "updated_by": None}


@pytest.fixture
def store(database):
    s = open_store(database)
    yield s
    s.close()


@BOTH_STORES
def test_snippet_queries_read_json_and_dates_the_same_on_both(store):
    store.insert_snippet(SNIPPET)
    store.insert_snippet({**SNIPPET, "key": "reply/fresh", "tags": ["other"], "texts": {"en": SNIPPET["texts"]["en"]},
                          "verified_at": "2999-01-01T00:00:00+00:00"})
    assert [s["key"] for s in store.list_snippets(tag="late")[0]] == ["reply/late"]
    assert [s["key"] for s in store.list_snippets(due=True)[0]] == ["reply/late"]
    assert store.distinct_values() == {"tags": ["delivery", "late", "other"], "owners": ["marco"],
                                       "languages": ["en", "it"]}
    assert [s["key"] for s in store.library(missing="it")[0]] == ["reply/fresh"]
    assert [s["key"] for s in store.library(text="RITARDO")[0]] == ["reply/late"]  # any case, as on SQLite
    assert [s["key"] for s in store.library(sort="due")[0]] == ["reply/late", "reply/fresh"]
    assert store.get_snippet("reply/late")["texts"] == SNIPPET["texts"]


@BOTH_STORES
def test_idempotent_writes_count_only_what_is_new(store):
    assert store.add_pool_codes("o", ["A", "B", "A"], "2026-01-01") == 2
    assert store.add_pool_codes("o", ["B", "C"], "2026-01-01") == 1
    assert store.pool_counts("o") == {"total": 3, "free": 3}
    at = "2026-01-01T00:00:00+00:00"
    store.note_customer_language("c", "T-1", "it", at)
    store.note_customer_language("c", "T-1", "it", at)  # the same ticket counts once
    store.note_customer_language("c", "T-2", "it", at)
    assert store.customer_languages("c") == {"it": 2}
    store.set_favourite("ana", "reply/a", True)
    store.set_favourite("ana", "reply/b", True)
    store.set_favourite("ana", "reply/a", True)
    assert store.favourites("ana") == ["reply/b", "reply/a"]  # newest first, within one second too
    assert store.bump_data_version() == 1 and store.data_version() == 1


@BOTH_STORES
def test_a_snippet_edit_from_a_stale_read_fails_instead_of_overwriting(store, database):
    snippet_id = store.insert_snippet(SNIPPET)
    stale = store.get_snippet("reply/late")
    other = Store(connect(database))  # another node
    try:
        with other.transaction():
            other.update_snippet(snippet_id, {**stale, "version": 2, "tags": ["theirs"]})
    finally:
        other.close()
    with pytest.raises(StaleWrite), store.transaction():
        store.update_snippet(snippet_id, {**stale, "version": 2, "tags": ["mine"]})
    assert store.get_snippet("reply/late")["tags"] == ["theirs"]


def test_index_log_seqs_commit_in_order_on_postgresql(postgres):
    """A later seq never becomes visible before an earlier one: a poller reading "after N" misses nothing."""
    database = postgres.new_database()
    first, second, reader = (open_store(database) for _ in range(3))
    try:
        first.conn.begin()
        assert first.log_index_write(["a"], "snippets")[0] == 1
        done = threading.Event()

        def write_second():
            with second.transaction():
                second.log_index_write(["b"], "snippets")
            done.set()

        thread = threading.Thread(target=write_second)
        thread.start()
        assert not done.wait(0.5)  # waits for the first write to commit (it would have taken seq 2)
        assert reader.index_head()[0] == 0
        first.conn.commit()
        thread.join(timeout=30)
        assert done.is_set()
        assert reader.index_keys_since(0).keys() == {"a", "b"}
        assert [seq for seq, _ in reader.conn.execute("SELECT seq, token FROM index_writes ORDER BY seq")] == [1, 2]
        assert reader.index_keys_since(1).keys() == {"b"}
    finally:
        for s in (first, second, reader):
            s.close()


def _schema(database: str) -> dict:
    """Tables with their columns (name, type, nullable, default), indexes and unique constraints."""
    store = Store(connect(database))
    try:
        inspector = sa.inspect(store.conn.sqlalchemy)
        # Alike where SQLite can't tell them apart: FLOAT and REAL have one affinity, and a primary
        # key column is never NULL in practice (the legacy DDL just didn't say NOT NULL).
        def column(c: dict, key: list[str]) -> tuple:
            kind = str(c["type"]).upper().replace("FLOAT", "REAL")
            return c["name"], kind, c["nullable"] and c["name"] not in key, str(c["default"]).strip("'")

        return {table: ({column(c, inspector.get_pk_constraint(table)["constrained_columns"])
                         for c in inspector.get_columns(table)},
                        {(i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)},
                        {tuple(sorted(u["column_names"])) for u in inspector.get_unique_constraints(table)},
                        tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
                for table in inspector.get_table_names() if table not in ("schema_migrations", "alembic_version")}
    finally:
        store.close()


def test_a_store_built_by_the_legacy_migrations_is_stamped_not_rebuilt(tmp_path):
    old_path = str(tmp_path / "v70.sqlite3")
    old = sqlite3.connect(old_path, isolation_level=None)
    assert legacy.migrate(old)[-1] == 70  # what main's code built before Alembic
    old.execute("INSERT INTO offers VALUES ('o', '{}', '2026-01-01')")
    old.execute("UPDATE meta SET value = '41' WHERE key = 'data_version'")
    old.close()

    store = open_store(old_path)
    try:
        assert migrations.current(store.conn) == migrations.head() and store.schema_version() >= 70
        assert store.data_version() == 41 and store.get_offer("o") == {}  # kept, not re-created
    finally:
        store.close()
    fresh = str(tmp_path / "fresh.sqlite3")
    open_store(fresh).close()
    assert _schema(old_path) == _schema(fresh)  # the baseline builds exactly the legacy schema


def test_db_commands_report_and_apply_migrations_on_sqlite(tmp_path):
    home = tmp_path / "home"
    assert flask_cli(home, "db", "current").startswith("revision none")
    assert f"now at revision {migrations.head()}" in flask_cli(home, "db", "upgrade")
    assert "already at the newest revision" in flask_cli(home, "db", "upgrade")
    assert flask_cli(home, "db", "current").strip() == f"revision {migrations.head()} (newest: {migrations.head()})"


def test_postgresql_behind_refuses_to_start_until_db_upgrade(postgres, tmp_path):
    postgres.admin("CREATE DATABASE empty_store")
    url = postgres.url("empty_store")
    with pytest.raises(migrations.SchemaBehind, match="Run `flask --app server db upgrade`"):
        create_app({"TESTING": True, "HOME": str(tmp_path / "home"), "DATABASE": url})
    env = {"REPLYASSIST_DATABASE_URL": url}
    assert "revision none" in flask_cli(tmp_path / "home", "db", "current", env=env)
    assert f"now at revision {migrations.head()}" in flask_cli(tmp_path / "home", "db", "upgrade", env=env)
    app = create_app({"TESTING": True, "HOME": str(tmp_path / "home"), "DATABASE": url})
    assert app.test_client().get("/api/v1/health").json["schema_version"] == int(migrations.head())
    app.extensions["replyassist.connections"].close()
