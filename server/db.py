"""The store of record: SQLite in WAL mode, versioned migrations, and every SQL statement.

All SQL lives in this module so that another database (PostgreSQL) can be added by writing a
second ``Store`` without touching the services. Services receive a ``Store`` and call its
methods with plain data; they never see a cursor.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, current_app, g

# Each migration runs once, in order, inside a transaction. Append; never edit a shipped one.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
    CREATE TABLE snippets (
        id                INTEGER PRIMARY KEY,
        key               TEXT NOT NULL UNIQUE,
        kind              TEXT NOT NULL CHECK (kind IN ('policy', 'reply')),
        default_language  TEXT NOT NULL,
        texts             TEXT NOT NULL,            -- JSON {language: {title, body}}
        tags              TEXT NOT NULL DEFAULT '[]',
        policies          TEXT NOT NULL DEFAULT '[]',
        offer             TEXT,
        when_json         TEXT NOT NULL DEFAULT '{}',
        fields            TEXT NOT NULL DEFAULT '{}',
        status            TEXT NOT NULL DEFAULT 'published'
                          CHECK (status IN ('draft', 'published', 'archived')),
        owner             TEXT,
        verified_by       TEXT,
        verified_at       TEXT,
        verify_every_days INTEGER,
        version           INTEGER NOT NULL,
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL,
        updated_by        TEXT
    );
    CREATE INDEX snippets_kind_status ON snippets (kind, status);
    CREATE TABLE snippet_versions (
        snippet_id  INTEGER NOT NULL REFERENCES snippets (id),
        version     INTEGER NOT NULL,
        action      TEXT NOT NULL,
        snapshot    TEXT NOT NULL,                  -- JSON of every editable field
        changed_by  TEXT,
        changed_at  TEXT NOT NULL,
        PRIMARY KEY (snippet_id, version)
    );
    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL CHECK (role IN ('agent', 'manager', 'admin')),
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE offers (
        key         TEXT PRIMARY KEY,
        data        TEXT NOT NULL,                  -- JSON, as in offers.json
        updated_at  TEXT NOT NULL
    );
    -- data_version counts snippet writes; the index stores the value it was built from, so
    -- start-up can tell an index that missed (or ran ahead of) a write and rebuild it.
    CREATE TABLE meta (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL
    );
    INSERT INTO meta VALUES ('data_version', '0');
    """),
    (2, """
    -- Goodwill codes. One code per ticket and reply (the idempotency key): inserting the same
    -- reply into the same ticket again returns this row, never a second code.
    CREATE TABLE offer_codes (
        id            INTEGER PRIMARY KEY,
        offer_key     TEXT NOT NULL,
        code          TEXT NOT NULL UNIQUE,
        source        TEXT NOT NULL CHECK (source IN ('generated', 'pool')),
        status        TEXT NOT NULL CHECK (status IN ('issued', 'pending', 'rejected', 'void')),
        customer      TEXT NOT NULL,                -- e-mail (lowercased) or customer id
        agent         TEXT NOT NULL,
        ticket_id     TEXT NOT NULL,
        snippet_key   TEXT NOT NULL,
        issued_at     TEXT NOT NULL,
        expires_on    TEXT NOT NULL,
        decided_by    TEXT,
        decided_at    TEXT,
        note          TEXT,
        UNIQUE (ticket_id, snippet_key)
    );
    CREATE INDEX offer_codes_customer ON offer_codes (offer_key, customer, issued_at);
    CREATE INDEX offer_codes_agent ON offer_codes (offer_key, agent, issued_at);
    -- Codes created in the shop beforehand, handed out once each.
    CREATE TABLE code_pool (
        code          TEXT PRIMARY KEY,
        offer_key     TEXT NOT NULL,
        imported_at   TEXT NOT NULL,
        used_by       INTEGER REFERENCES offer_codes (id)
    );
    CREATE INDEX code_pool_free ON code_pool (offer_key, used_by);
    -- What agents inserted: the raw material for analytics and for learning.
    CREATE TABLE insertions (
        id              INTEGER PRIMARY KEY,
        ticket_id       TEXT NOT NULL,
        snippet_key     TEXT NOT NULL,
        snippet_version INTEGER NOT NULL,
        kind            TEXT NOT NULL,
        language        TEXT NOT NULL,
        agent           TEXT NOT NULL,
        fields          TEXT NOT NULL DEFAULT '{}',
        ticket_text     TEXT NOT NULL DEFAULT '',
        eligible        INTEGER,                    -- 1, 0 or NULL (unknown)
        offer_code_id   INTEGER REFERENCES offer_codes (id),
        times           INTEGER NOT NULL DEFAULT 1, -- repeated inserts (double clicks, retries)
        created_at      TEXT NOT NULL,
        last_at         TEXT NOT NULL,
        UNIQUE (ticket_id, snippet_key)
    );
    CREATE INDEX insertions_snippet ON insertions (snippet_key, created_at);
    -- What /suggest showed, so "suggested but nothing inserted" can be found later.
    CREATE TABLE suggestion_events (
        id          INTEGER PRIMARY KEY,
        ticket_id   TEXT NOT NULL,
        agent       TEXT NOT NULL,
        language    TEXT NOT NULL,
        shown       TEXT NOT NULL,                  -- JSON [[kind, key, rank], ...]
        at          TEXT NOT NULL
    );
    CREATE INDEX suggestion_events_ticket ON suggestion_events (ticket_id);
    """),
    (3, """
    -- Tickets a snippet was used for: indexed as the snippet's learned text. One ticket
    -- teaches a snippet once; the service keeps the newest few per snippet and per agent.
    CREATE TABLE learned_examples (
        id           INTEGER PRIMARY KEY,
        snippet_key  TEXT NOT NULL,
        language     TEXT NOT NULL,
        text         TEXT NOT NULL,
        agent        TEXT NOT NULL,
        ticket_id    TEXT NOT NULL,
        via          TEXT NOT NULL,                 -- the key that was inserted (a reply credits its policies)
        created_at   TEXT NOT NULL,
        UNIQUE (snippet_key, ticket_id)
    );
    CREATE INDEX learned_examples_snippet ON learned_examples (snippet_key, agent, id);
    """),
    (4, """
    -- Snippets whose learned text changed and must be re-indexed. Learning writes here inside
    -- its short transaction; the index is brought up to date right after, outside the lock
    -- that issuing codes needs, and one index commit serves every entry queued meanwhile.
    CREATE TABLE index_queue (
        id   INTEGER PRIMARY KEY,
        key  TEXT NOT NULL
    );
    """),
    (5, """
    -- Word groups that mean the same in this shop's tickets, per language (managers edit).
    CREATE TABLE synonyms (
        language    TEXT PRIMARY KEY,
        groups      TEXT NOT NULL,                  -- JSON [["parcel", "package"], ...]
        updated_at  TEXT NOT NULL,
        updated_by  TEXT
    );
    """),
    (70, """
    -- The languages of a customer's earlier tickets: the prior for a short new ticket ("ok?")
    -- whose words alone can't tell its language. One row per ticket counted once.
    CREATE TABLE customer_languages (
        customer    TEXT NOT NULL,                  -- e-mail (lowercased) or customer id
        language    TEXT NOT NULL,
        tickets     INTEGER NOT NULL,
        last_at     TEXT NOT NULL,
        PRIMARY KEY (customer, language)
    );
    CREATE TABLE customer_tickets (
        customer    TEXT NOT NULL,
        ticket_id   TEXT NOT NULL,
        PRIMARY KEY (customer, ticket_id)
    );
    """),
]

# Columns holding JSON, with the Python value an empty one stands for.
_JSON_COLUMNS = {"texts": dict, "tags": list, "policies": list, "when_json": dict, "fields": dict}


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (executescript would commit mid-transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {pending.strip()[:60]}")


def utcnow() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def connect(path: str) -> sqlite3.Connection:
    """Open a connection configured for this project (WAL, foreign keys, busy timeout)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the lock up
    # front and waits (busy_timeout) instead of failing half-way through a transaction.
    conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 15000")
    return conn


def _snippet_from_row(row: sqlite3.Row) -> dict:
    data = dict(row)
    for column, empty in _JSON_COLUMNS.items():
        data[column] = json.loads(data[column]) if data[column] else empty()
    data["when"] = data.pop("when_json")
    return data


class OfferStoreMixin:
    """Queries of goodwill codes, the code pool, insertions and suggestion events."""

    conn: sqlite3.Connection

    def _page(self, table: str, where: list[str], params: list, order: str, limit: int,
              offset: int) -> tuple[list[sqlite3.Row], int]:
        """A page of rows matching all ``where`` clauses, and how many match in all."""
        clause = " AND ".join(where)
        total = self.conn.execute(f"SELECT count(*) FROM {table} WHERE {clause}", params).fetchone()[0]
        rows = self.conn.execute(f"SELECT * FROM {table} WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
                                 [*params, limit, offset]).fetchall()
        return rows, total

    # -- offer codes -------------------------------------------------------------------------
    def code_for(self, ticket_id: str, snippet_key: str) -> dict | None:
        """The code already issued for this ticket and reply, if any."""
        row = self.conn.execute("SELECT * FROM offer_codes WHERE ticket_id = ? AND snippet_key = ?",
                                (ticket_id, snippet_key)).fetchone()
        return dict(row) if row else None

    def get_code(self, code_id: int) -> dict | None:
        """One code by id."""
        row = self.conn.execute("SELECT * FROM offer_codes WHERE id = ?", (code_id,)).fetchone()
        return dict(row) if row else None

    def codes_since(self, offer_key: str, *, since: str, customer: str | None = None,
                    agent: str | None = None) -> list[dict]:
        """Live (issued or pending) codes of an offer since a time, for one customer or agent."""
        sql = ("SELECT * FROM offer_codes WHERE offer_key = ? AND issued_at >= ? "
               "AND status IN ('issued', 'pending')")
        params: list = [offer_key, since]
        if customer is not None:
            sql, params = sql + " AND customer = ?", [*params, customer]
        if agent is not None:
            sql, params = sql + " AND agent = ?", [*params, agent]
        return [dict(r) for r in self.conn.execute(sql + " ORDER BY issued_at", params)]

    def insert_code(self, data: dict) -> int:
        """Store a new code; return its id."""
        cols = ("offer_key", "code", "source", "status", "customer", "agent", "ticket_id",
                "snippet_key", "issued_at", "expires_on")
        cur = self.conn.execute(f"INSERT INTO offer_codes ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                [data[c] for c in cols])
        return cur.lastrowid

    def set_code_status(self, code_id: int, status: str, by: str, at: str, note: str | None) -> None:
        """Record a manager's decision on a code (approve, reject, void)."""
        self.conn.execute("UPDATE offer_codes SET status = ?, decided_by = ?, decided_at = ?, note = ? "
                          "WHERE id = ?", (status, by, at, note, code_id))

    def list_codes(self, *, status: str | None = None, offer_key: str | None = None,
                   agent: str | None = None, customer: str | None = None, ticket_id: str | None = None,
                   limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """A page of codes, newest first, and the total matching."""
        where, params = ["1 = 1"], []
        for column, value in (("status", status), ("offer_key", offer_key), ("agent", agent),
                              ("customer", customer), ("ticket_id", ticket_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        rows, total = self._page("offer_codes", where, params, "id DESC", limit, offset)
        return [dict(r) for r in rows], total

    # -- code pool ---------------------------------------------------------------------------
    def add_pool_codes(self, offer_key: str, codes: list[str], at: str) -> int:
        """Add codes to an offer's pool, skipping ones already known; return how many were new."""
        before = self.conn.total_changes
        self.conn.executemany("INSERT OR IGNORE INTO code_pool (code, offer_key, imported_at) VALUES (?, ?, ?)",
                              [(c, offer_key, at) for c in codes])
        return self.conn.total_changes - before

    def pool_counts(self, offer_key: str) -> dict[str, int]:
        """How many pool codes an offer has, and how many are still free."""
        row = self.conn.execute("SELECT count(*), count(*) - count(used_by) FROM code_pool WHERE offer_key = ?",
                                (offer_key,)).fetchone()
        return {"total": row[0], "free": row[1]}

    def take_pool_code(self, offer_key: str) -> str | None:
        """The next free pool code of an offer, or None. Call inside a write transaction."""
        row = self.conn.execute("SELECT code FROM code_pool WHERE offer_key = ? AND used_by IS NULL "
                                "ORDER BY imported_at, code LIMIT 1", (offer_key,)).fetchone()
        return row[0] if row else None

    def mark_pool_code_used(self, code: str, code_id: int) -> None:
        """Tie a pool code to the issued code row; fails if it was already used."""
        cur = self.conn.execute("UPDATE code_pool SET used_by = ? WHERE code = ? AND used_by IS NULL",
                                (code_id, code))
        if cur.rowcount != 1:
            raise sqlite3.IntegrityError(f"pool code {code} was already used")

    # -- insertions and events ---------------------------------------------------------------
    def get_insertion(self, ticket_id: str, snippet_key: str) -> dict | None:
        """The insertion of a snippet into a ticket, if any."""
        row = self.conn.execute("SELECT * FROM insertions WHERE ticket_id = ? AND snippet_key = ?",
                                (ticket_id, snippet_key)).fetchone()
        return dict(row, fields=json.loads(row["fields"])) if row else None

    def record_insertion(self, data: dict) -> int:
        """Store an insertion, or count a repeat of the same one; return its id."""
        self.conn.execute(
            "INSERT INTO insertions (ticket_id, snippet_key, snippet_version, kind, language, agent, "
            "fields, ticket_text, eligible, offer_code_id, created_at, last_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (ticket_id, snippet_key) DO UPDATE SET times = times + 1, last_at = excluded.last_at, "
            "snippet_version = excluded.snippet_version, language = excluded.language, "
            "fields = excluded.fields, offer_code_id = coalesce(insertions.offer_code_id, excluded.offer_code_id)",
            (data["ticket_id"], data["snippet_key"], data["snippet_version"], data["kind"], data["language"],
             data["agent"], json.dumps(data["fields"], ensure_ascii=False), data["ticket_text"],
             data["eligible"], data["offer_code_id"], data["at"], data["at"]))
        return self.conn.execute("SELECT id FROM insertions WHERE ticket_id = ? AND snippet_key = ?",
                                 (data["ticket_id"], data["snippet_key"])).fetchone()[0]

    # -- learning ------------------------------------------------------------------------------
    def add_example(self, data: dict) -> bool:
        """Store a learned example; False when this ticket already taught this snippet."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO learned_examples (snippet_key, language, text, agent, ticket_id, via, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (data["snippet_key"], data["language"], data["text"], data["agent"], data["ticket_id"],
             data["via"], data["at"]))
        return cur.rowcount == 1

    def prune_examples(self, snippet_key: str, agent: str, per_agent: int, per_snippet: int) -> None:
        """Keep the newest ``per_agent`` examples of one agent and ``per_snippet`` in all."""
        self.conn.execute(
            "DELETE FROM learned_examples WHERE snippet_key = ? AND agent = ? AND id NOT IN ("
            "SELECT id FROM learned_examples WHERE snippet_key = ? AND agent = ? ORDER BY id DESC LIMIT ?)",
            (snippet_key, agent, snippet_key, agent, per_agent))
        self.conn.execute(
            "DELETE FROM learned_examples WHERE snippet_key = ? AND id NOT IN ("
            "SELECT id FROM learned_examples WHERE snippet_key = ? ORDER BY id DESC LIMIT ?)",
            (snippet_key, snippet_key, per_snippet))

    def list_examples(self, snippet_key: str) -> list[dict]:
        """What a snippet has learned, newest first."""
        rows = self.conn.execute("SELECT id, language, text, agent, ticket_id, via, created_at "
                                 "FROM learned_examples WHERE snippet_key = ? ORDER BY id DESC", (snippet_key,))
        return [dict(r) for r in rows]

    def learned_texts(self, keys: list[str]) -> dict[str, dict[str, list[str]]]:
        """Learned texts of snippets by key and language, oldest first."""
        found: dict[str, dict[str, list[str]]] = {}
        for start in range(0, len(keys), 500):  # stay under SQLite's parameter limit
            chunk = keys[start:start + 500]
            rows = self.conn.execute(
                f"SELECT snippet_key, language, text FROM learned_examples WHERE snippet_key IN "
                f"({','.join('?' * len(chunk))}) ORDER BY id", chunk)
            for key, lang, text in rows:
                found.setdefault(key, {}).setdefault(lang, []).append(text)
        return found

    def queue_reindex(self, keys: list[str]) -> None:
        """Ask for these snippets to be re-indexed."""
        self.conn.executemany("INSERT INTO index_queue (key) VALUES (?)", [(k,) for k in keys])

    def reindex_queue(self) -> tuple[int, list[str]]:
        """The newest queue entry's id and the distinct keys queued up to it."""
        last = self.conn.execute("SELECT max(id) FROM index_queue").fetchone()[0] or 0
        keys = [r[0] for r in self.conn.execute("SELECT DISTINCT key FROM index_queue WHERE id <= ?", (last,))]
        return last, keys

    def dequeue_reindex(self, up_to: int) -> None:
        """Drop queue entries that an index commit has served."""
        self.conn.execute("DELETE FROM index_queue WHERE id <= ?", (up_to,))

    def clear_examples(self, snippet_key: str) -> int:
        """Forget everything a snippet learned; return how many examples went."""
        return self.conn.execute("DELETE FROM learned_examples WHERE snippet_key = ?", (snippet_key,)).rowcount

    def record_suggestion(self, ticket_id: str, agent: str, language: str, shown: list, at: str) -> None:
        """Remember what /suggest showed for a ticket (one autocommitted insert)."""
        self.conn.execute("INSERT INTO suggestion_events (ticket_id, agent, language, shown, at) "
                          "VALUES (?, ?, ?, ?, ?)", (ticket_id, agent, language, json.dumps(shown), at))


class RelevanceStoreMixin:
    """Queries of the relevance feature: training examples of the learner, customers' languages."""

    conn: sqlite3.Connection

    def training_examples(self) -> list[tuple[str, str, str, str]]:
        """Every learned example of a published snippet: (kind, language, key, text), oldest first."""
        rows = self.conn.execute(
            "SELECT s.kind, e.language, e.snippet_key, e.text FROM learned_examples e "
            "JOIN snippets s ON s.key = e.snippet_key WHERE s.status = 'published' ORDER BY e.id")
        return [tuple(r) for r in rows]

    def customer_languages(self, customer: str) -> dict[str, int]:
        """How many earlier tickets of a customer were in each language."""
        rows = self.conn.execute("SELECT language, tickets FROM customer_languages WHERE customer = ?",
                                 (customer,))
        return {lang: n for lang, n in rows}

    def note_customer_language(self, customer: str, ticket_id: str, language: str, at: str) -> None:
        """Count a ticket's language for its customer (once per ticket; autocommitted)."""
        cur = self.conn.execute("INSERT OR IGNORE INTO customer_tickets (customer, ticket_id) VALUES (?, ?)",
                                (customer, ticket_id))
        if cur.rowcount:
            self.conn.execute(
                "INSERT INTO customer_languages (customer, language, tickets, last_at) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (customer, language) DO UPDATE SET tickets = tickets + 1, last_at = excluded.last_at",
                (customer, language, at))


class Store(RelevanceStoreMixin, OfferStoreMixin):
    """Every query the services need, over one SQLite connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- transactions and migrations -------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Run a block in one write transaction: all of it is stored, or none."""
        if self.conn.in_transaction:  # nested: the outer block owns commit and rollback
            yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def migrate(self) -> list[int]:
        """Apply the migrations not yet applied; return their versions."""
        with self.transaction():
            self.conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                              "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in self.conn.execute("SELECT version FROM schema_migrations")}
            applied = []
            for version, sql in MIGRATIONS:
                if version in done:
                    continue
                for statement in _statements(sql):
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, utcnow()))
                applied.append(version)
        return applied

    def schema_version(self) -> int:
        """The highest migration applied."""
        return self.conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0

    # -- snippets --------------------------------------------------------------------------
    _SNIPPET_COLUMNS = ("key", "kind", "default_language", "texts", "tags", "policies", "offer",
                        "when_json", "fields", "status", "owner", "verified_by", "verified_at",
                        "verify_every_days", "version", "updated_at", "updated_by")

    @staticmethod
    def _snippet_params(data: dict) -> list:
        row = dict(data, when_json=data.get("when") or {})
        return [json.dumps(row[c], ensure_ascii=False) if c in _JSON_COLUMNS else row.get(c)
                for c in Store._SNIPPET_COLUMNS]

    def count_snippets(self) -> int:
        """How many snippets exist, in any status."""
        return self.conn.execute("SELECT count(*) FROM snippets").fetchone()[0]

    def get_snippet(self, key: str) -> dict | None:
        """One snippet by key, or None."""
        row = self.conn.execute("SELECT * FROM snippets WHERE key = ?", (key,)).fetchone()
        return _snippet_from_row(row) if row else None

    def get_snippets(self, keys: list[str]) -> dict[str, dict]:
        """Snippets by key, as {key: snippet}; unknown keys are left out."""
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = self.conn.execute(f"SELECT * FROM snippets WHERE key IN ({marks})", keys)
        return {row["key"]: _snippet_from_row(row) for row in rows}

    def list_snippets(self, *, kind: str | None = None, status: str | None = None,
                      tag: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        """A page of snippets ordered by key, and the total matching the filters."""
        where, params = ["1 = 1"], []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if status:
            where.append("status = ?")
            params.append(status)
        if tag:
            where.append("EXISTS (SELECT 1 FROM json_each(snippets.tags) WHERE value = ?)")
            params.append(tag)
        rows, total = self._page("snippets", where, params, "key", limit, offset)
        return [_snippet_from_row(r) for r in rows], total

    def iter_snippets(self, status: str | None = None) -> Iterator[dict]:
        """Every snippet (optionally of one status), ordered by key."""
        sql, params = "SELECT * FROM snippets", ()
        if status:
            sql, params = sql + " WHERE status = ?", (status,)
        for row in self.conn.execute(sql + " ORDER BY key", params).fetchall():
            yield _snippet_from_row(row)

    def insert_snippet(self, data: dict) -> int:
        """Insert a snippet row; return its id."""
        cols = [*self._SNIPPET_COLUMNS, "created_at"]
        params = [*self._snippet_params(data), data["updated_at"]]
        cur = self.conn.execute(
            f"INSERT INTO snippets ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", params)
        return cur.lastrowid

    def update_snippet(self, snippet_id: int, data: dict) -> None:
        """Overwrite a snippet row's editable columns."""
        sets = ", ".join(f"{c} = ?" for c in self._SNIPPET_COLUMNS)
        self.conn.execute(f"UPDATE snippets SET {sets} WHERE id = ?",
                          [*self._snippet_params(data), snippet_id])

    def add_version(self, snippet_id: int, version: int, action: str, snapshot: dict,
                    changed_by: str | None, changed_at: str) -> None:
        """Append a version to a snippet's history."""
        self.conn.execute(
            "INSERT INTO snippet_versions VALUES (?, ?, ?, ?, ?, ?)",
            (snippet_id, version, action, json.dumps(snapshot, ensure_ascii=False), changed_by, changed_at))

    def list_versions(self, snippet_id: int) -> list[dict]:
        """A snippet's history, newest first."""
        rows = self.conn.execute(
            "SELECT version, action, snapshot, changed_by, changed_at FROM snippet_versions "
            "WHERE snippet_id = ? ORDER BY version DESC", (snippet_id,))
        return [dict(r, snapshot=json.loads(r["snapshot"])) for r in rows]

    def get_version(self, snippet_id: int, version: int) -> dict | None:
        """One version of a snippet, or None."""
        row = self.conn.execute(
            "SELECT version, action, snapshot, changed_by, changed_at FROM snippet_versions "
            "WHERE snippet_id = ? AND version = ?", (snippet_id, version)).fetchone()
        return dict(row, snapshot=json.loads(row["snapshot"])) if row else None

    def bump_data_version(self) -> int:
        """Count one more snippet write; return the new data version."""
        self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'")
        return self.data_version()

    def data_version(self) -> int:
        """How many snippet writes the store has seen."""
        return int(self.conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0])

    # -- users -----------------------------------------------------------------------------
    def create_user(self, name: str, role: str, token_hash: str) -> int:
        """Insert a user; return its id."""
        cur = self.conn.execute("INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                                (name, role, token_hash, utcnow()))
        return cur.lastrowid

    def get_user(self, name: str) -> dict | None:
        """A user by name, or None."""
        row = self.conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def set_user_token(self, name: str, token_hash: str) -> None:
        """Replace a user's token."""
        self.conn.execute("UPDATE users SET token_hash = ? WHERE name = ?", (token_hash, name))

    def user_by_token_hash(self, token_hash: str) -> dict | None:
        """The user owning a token hash, or None."""
        row = self.conn.execute("SELECT id, name, role FROM users WHERE token_hash = ?",
                                (token_hash,)).fetchone()
        return dict(row) if row else None

    # -- synonyms --------------------------------------------------------------------------
    def get_synonyms(self) -> dict[str, list[list[str]]]:
        """Synonym groups by language."""
        return {lang: json.loads(groups) for lang, groups in
                self.conn.execute("SELECT language, groups FROM synonyms ORDER BY language")}

    def set_synonyms(self, language: str, groups: list[list[str]], by: str | None) -> None:
        """Replace one language's synonym groups."""
        self.conn.execute(
            "INSERT INTO synonyms (language, groups, updated_at, updated_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (language) DO UPDATE SET groups = excluded.groups, "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (language, json.dumps(groups, ensure_ascii=False), utcnow(), by))

    # -- offers ----------------------------------------------------------------------------
    def upsert_offer(self, key: str, data: dict) -> bool:
        """Insert or replace an offer; return True when it was new."""
        exists = self.conn.execute("SELECT 1 FROM offers WHERE key = ?", (key,)).fetchone()
        self.conn.execute(
            "INSERT INTO offers (key, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (key, json.dumps(data, ensure_ascii=False), utcnow()))
        return exists is None

    def get_offer(self, key: str) -> dict | None:
        """One offer by key, or None."""
        row = self.conn.execute("SELECT data FROM offers WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def list_offers(self) -> list[dict]:
        """All offers ordered by key."""
        return [json.loads(r[0]) for r in self.conn.execute("SELECT data FROM offers ORDER BY key")]


def open_store(path: str) -> Store:
    """A store over a new connection, migrated to the latest schema."""
    store = Store(connect(path))
    store.migrate()
    return store


def get_store() -> Store:
    """The request's store (one connection per request, closed at teardown)."""
    if "store" not in g:
        g.store = Store(connect(current_app.config["DATABASE"]))
    return g.store


def _close_store(_exc: BaseException | None = None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.conn.close()


def init_app(app: Flask) -> None:
    """Migrate the database and close each request's connection at teardown."""
    open_store(app.config["DATABASE"]).conn.close()
    app.teardown_appcontext(_close_store)
