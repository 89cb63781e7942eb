"""The store of record: SQLite (default) or PostgreSQL through SQLAlchemy Core, and every SQL statement.

All SQL lives in this module. Services receive a ``Store`` and call its methods with plain data;
they never see a cursor. The statements are portable SQL written with ``?`` placeholders, which
``Connection`` hands to the driver in its own parameter style (a cached translation, so the
statements stay readable next to each other and cost no more than raw sqlite3 did). Where
SQLite and PostgreSQL truly differ (JSON functions, date arithmetic, locks) one small function
below returns each dialect's fragment.

Guarantees across processes and nodes (issue 14):

- SQLite: every write transaction is ``BEGIN IMMEDIATE``, so the database's single write lock
  serialises all writers of all processes; a transaction sees every write committed before it.
- PostgreSQL: write transactions run at READ COMMITTED and take row locks where a decision
  depends on rows others may be writing. Issuing a code locks the offer's row first
  (``lock_offer``: ``SELECT ... FOR UPDATE``), so the per-customer and per-agent limits, the
  approval threshold, the conversation's existing code and the next free pool code are all
  decided by one issuer at a time per offer, each seeing the codes committed before it. Row locks
  rather than SERIALIZABLE: issuing must not fail with serialisation errors under load (a retry
  loop around a request that also writes learned text and events is harder to get right), and
  only issuance of the same offer waits. Idempotent writes rely on UNIQUE constraints with
  ``ON CONFLICT``; snippet edits update ``WHERE version = <the version read>`` and fail if
  another writer got there first (``StaleWrite``). Appending to the index change log takes a
  transaction-level advisory lock (``log_index_write``), so change-log seqs commit in order and
  a node polling "writes after seq N" can never miss one that commits late.
"""
from __future__ import annotations

import functools
import json
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.pool import NullPool

# Columns holding JSON, with the Python value an empty one stands for.
_JSON_COLUMNS = {"texts": dict, "tags": list, "policies": list, "when_json": dict, "fields": dict,
                 "public": bool}

# The advisory lock that orders appends to the index change log on PostgreSQL (any constant
# unique to this purpose; other nodes' pollers rely on it, see log_index_write).
INDEX_LOG_LOCK = 7_140_001
# Held while migrating PostgreSQL, so two nodes running `db upgrade` at once take turns.
MIGRATION_LOCK = 7_140_002


class StaleWrite(Exception):
    """A row changed under a write that expected an older version (optimistic concurrency)."""


def utcnow() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- engines and connections -----------------------------------------------------------------
def is_url(database: str) -> bool:
    """Whether a database setting is a server's URL (postgresql://...) rather than a SQLite file."""
    return "://" in database


def database_url(database: str) -> sa.URL:
    """The SQLAlchemy URL of a database setting: a URL (postgresql://...) or a SQLite file path."""
    if not is_url(database):
        return sa.URL.create("sqlite", database=database)
    url = sa.make_url(database)
    if url.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver we ship
        url = url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL: readers never wait for the writer; a writer waits (busy timeout) for the lock up
    # front in BEGIN IMMEDIATE instead of failing half-way through a transaction.
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "busy_timeout = 15000"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def create_engine(database: str, *, pool_size: int | None = 16) -> sa.Engine:
    """An engine for a database setting, keeping up to ``pool_size`` idle connections for the next
    request (more may be open at once); ``None``: no pool, each connection closes when done.

    Connections run in autocommit mode: ``Connection.begin`` opens transactions explicitly, so
    SQLite gets ``BEGIN IMMEDIATE`` and a statement outside a transaction commits at once (as
    the store always behaved).
    """
    url = database_url(database)
    pool = ({"poolclass": NullPool} if pool_size is None else
            {"pool_size": pool_size, "max_overflow": -1, "pool_recycle": 3600})
    if url.get_backend_name() == "sqlite":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", **pool,
                                  connect_args={"timeout": 15, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", **pool)


@functools.lru_cache(maxsize=64)
def _unpooled_engine(database: str) -> sa.Engine:
    return create_engine(database, pool_size=None)


# A ``?`` outside a string literal is a parameter.
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?")


@functools.lru_cache(maxsize=4096)
def _driver_sql(sql: str, dialect: str) -> str:
    """``sql`` in the driver's parameter style: sqlite3 takes ``?`` as it is; psycopg takes ``%s``
    (and a literal ``%`` doubled)."""
    if dialect == "sqlite":
        return sql
    return _PLACEHOLDER.sub(lambda m: "%s" if m.group() == "?" else m.group(), sql.replace("%", "%%"))


def _values(params) -> tuple:
    # SQLite stores a bool as 1/0; PostgreSQL would refuse a bool for an INTEGER column.
    return tuple(int(v) if isinstance(v, bool) else v for v in params)


@functools.lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type:
    index = {name: i for i, name in enumerate(names)}

    class Row(tuple):
        """A result row read by position or column name, like sqlite3.Row; ``dict(row)`` works."""

        __slots__ = ()

        def __getitem__(self, key):
            return tuple.__getitem__(self, index[key] if isinstance(key, str) else key)

        def keys(self):
            return index.keys()

    return Row


class Rows:
    """The rows of one statement (iterate, ``fetchone``, ``fetchall``) and ``rowcount``."""

    def __init__(self, cursor) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        names = tuple(d[0] for d in cursor.description) if cursor.description else None
        self._row = _row_class(names) if names else None

    def __iter__(self) -> Iterator[tuple]:
        return map(self._row, self._cursor) if self._row else iter(())

    def fetchone(self) -> tuple | None:
        row = self._cursor.fetchone() if self._row else None
        self._cursor.close()  # never keep a cursor (and SQLite's read snapshot) open
        return self._row(row) if row is not None else None

    def fetchall(self) -> list[tuple]:
        return list(self)


class Connection:
    """One pooled connection of an engine: ``execute`` with ``?`` SQL, explicit transactions.

    SQLAlchemy owns the engine, the pool, the dialect and Alembic's connection; statements run on
    the driver's cursor in its own parameter style (``_driver_sql``). Going through ``text()``
    cost ~1 ms of result bookkeeping per statement, 25-40x a raw sqlite3 read (measured in this
    change), which the request path cannot afford; the SQL is the same portable text either way.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._conn = engine.connect()
        self._raw = self._conn.connection.dbapi_connection
        self.dialect = engine.dialect.name  # 'sqlite' or 'postgresql'

    def execute(self, sql: str, params=()) -> Rows:
        """Run one statement with positional parameters."""
        cursor = self._raw.cursor()
        cursor.execute(_driver_sql(sql, self.dialect), _values(params))
        return Rows(cursor)

    def executemany(self, sql: str, rows) -> int:
        """Run one statement for each parameter row; return how many rows it changed in all."""
        rows = [_values(r) for r in rows]
        if not rows:
            return 0
        cursor = self._raw.cursor()
        try:
            cursor.executemany(_driver_sql(sql, self.dialect), rows)
            return cursor.rowcount
        finally:
            cursor.close()

    @property
    def in_transaction(self) -> bool:
        if self.dialect == "sqlite":
            return self._raw.in_transaction
        return self._raw.info.transaction_status != 0  # psycopg's TransactionStatus.IDLE

    def begin(self, write: bool = True) -> None:
        """Open a transaction: a write one (SQLite takes its write lock now), or a read snapshot."""
        if self.dialect == "sqlite":
            self.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
        else:
            self.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    @property
    def sqlalchemy(self) -> sa.Connection:
        """The SQLAlchemy connection underneath (for Alembic)."""
        return self._conn

    def close(self) -> None:
        """Give the connection back to its pool (rolling back what was left open), or close it."""
        try:
            self.rollback()
        finally:
            self._conn.close()


def connect(database: str) -> Connection:
    """A connection of its own (not pooled) to a database setting (SQLite path or URL)."""
    if not is_url(database):  # as sqlite3.connect always did here: the folder may be new (or gone)
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return Connection(_unpooled_engine(database))


# -- where the dialects differ ---------------------------------------------------------------
def _due_at(dialect: str) -> str:
    """When a snippet falls due for verification (NULL when never verified or no interval)."""
    if dialect == "sqlite":
        return "julianday(snippets.verified_at) + snippets.verify_every_days"
    return "CAST(snippets.verified_at AS timestamptz) + snippets.verify_every_days * INTERVAL '1 day'"


def _due_sql(dialect: str) -> str:
    """A snippet is due for verification when never verified or its interval has passed."""
    now = "julianday('now')" if dialect == "sqlite" else "now()"
    return ("snippets.verified_at IS NULL OR snippets.verify_every_days IS NULL OR "
            f"{_due_at(dialect)} < {now}")


def _json_values(dialect: str, column: str) -> str:
    """A FROM item with one row (column ``value``) per element of a JSON array column."""
    if dialect == "sqlite":
        return f"json_each({column})"
    return f"json_array_elements_text(CAST({column} AS json)) AS j(value)"


def _json_keys(dialect: str, column: str) -> str:
    """A FROM item with one row (column ``key``) per member name of a JSON object column."""
    if dialect == "sqlite":
        return f"json_each({column}) AS j"
    return f"json_object_keys(CAST({column} AS json)) AS j(key)"


def _json_lacks(dialect: str, column: str) -> str:
    """A condition: the JSON object column has no member named by the parameter."""
    if dialect == "sqlite":
        return f"json_type({column}, '$.' || ?) IS NULL"
    return f"CAST({column} AS json) -> CAST(? AS text) IS NULL"


def _snippet_where(dialect: str, *, kind: str | None = None, status: str | None = None,
                   tag: str | None = None, owner: str | None = None) -> tuple[list[str], list]:
    """WHERE clauses and parameters for the snippet filters the API list and the console share."""
    where, params = ["1 = 1"], []
    for column, value in (("kind", kind), ("status", status), ("owner", owner)):
        if value:
            where.append(f"snippets.{column} = ?")
            params.append(value)
    if tag:
        where.append(f"EXISTS (SELECT 1 FROM {_json_values(dialect, 'snippets.tags')} WHERE value = ?)")
        params.append(tag)
    return where, params


def _snippet_from_row(row) -> dict:
    data = dict(row)
    for column, empty in _JSON_COLUMNS.items():
        data[column] = json.loads(data[column]) if data[column] else empty()
    data["when"] = data.pop("when_json")
    return data


class OfferStoreMixin:
    """Queries of goodwill codes, the code pool, insertions and suggestion events."""

    conn: Connection

    def _page(self, table: str, where: list[str], params: list, order: str, limit: int,
              offset: int) -> tuple[list, int]:
        """A page of rows matching all ``where`` clauses, and how many match in all."""
        clause = " AND ".join(where)
        total = self.conn.execute(f"SELECT count(*) FROM {table} WHERE {clause}", params).fetchone()[0]
        rows = self.conn.execute(f"SELECT * FROM {table} WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
                                 [*params, limit, offset]).fetchall()
        return rows, total

    # -- offer codes -------------------------------------------------------------------------
    def code_for(self, ticket_id: str, snippet_key: str, *, helpdesk: str = "", brand: str = "") -> dict | None:
        """The code already issued for this conversation (helpdesk, brand, ticket) and reply, if any."""
        row = self.conn.execute("SELECT * FROM offer_codes WHERE helpdesk = ? AND brand = ? AND ticket_id = ? "
                                "AND snippet_key = ?", (helpdesk, brand, ticket_id, snippet_key)).fetchone()
        return dict(row) if row else None

    def get_code(self, code_id: int) -> dict | None:
        """One code by id."""
        row = self.conn.execute("SELECT * FROM offer_codes WHERE id = ?", (code_id,)).fetchone()
        return dict(row) if row else None

    def codes_since(self, offer_key: str, *, since: str, customer: list[str] | None = None,
                    agent: str | None = None) -> list[dict]:
        """Live (issued or pending) codes of an offer since a time, for a customer (any of its keys) or agent."""
        sql = ("SELECT * FROM offer_codes WHERE offer_key = ? AND issued_at >= ? "
               "AND status IN ('issued', 'pending')")
        params: list = [offer_key, since]
        if customer is not None:
            marks = ",".join("?" * len(customer))
            sql += f" AND id IN (SELECT code_id FROM offer_code_customers WHERE customer IN ({marks}))"
            params += list(customer)
        if agent is not None:
            sql, params = sql + " AND agent = ?", [*params, agent]
        return [dict(r) for r in self.conn.execute(sql + " ORDER BY issued_at", params)]

    def code_customers(self, code_id: int) -> list[str]:
        """Every customer key a code was issued under."""
        return [r[0] for r in self.conn.execute("SELECT customer FROM offer_code_customers WHERE code_id = ?",
                                                (code_id,))]

    def insert_code(self, data: dict) -> int:
        """Store a new code; return its id."""
        cols = ("offer_key", "code", "source", "status", "customer", "agent", "helpdesk", "brand",
                "ticket_id", "snippet_key", "issued_at", "expires_on")
        code_id = self.conn.execute(f"INSERT INTO offer_codes ({', '.join(cols)}) VALUES "
                                    f"({', '.join('?' * len(cols))}) RETURNING id",
                                    [data.get(c, "") for c in cols]).fetchone()[0]
        # Every key the customer is known by, so limits find this code under any of them.
        self.conn.executemany("INSERT INTO offer_code_customers (customer, code_id) VALUES (?, ?) "
                              "ON CONFLICT DO NOTHING",
                              [(k, code_id) for k in dict.fromkeys(data.get("customer_keys") or [data["customer"]])])
        return code_id

    def set_code_status(self, code_id: int, status: str, by: str, at: str, note: str | None) -> None:
        """Record a manager's decision on a code (approve, reject, void)."""
        self.conn.execute("UPDATE offer_codes SET status = ?, decided_by = ?, decided_at = ?, note = ? "
                          "WHERE id = ?", (status, by, at, note, code_id))

    def list_codes(self, *, status: str | None = None, offer_key: str | None = None,
                   agent: str | None = None, customer: list[str] | None = None, ticket_id: str | None = None,
                   issued_from: str | None = None, issued_before: str | None = None,
                   limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """A page of codes, newest first, and the total matching (``customer``: any of its keys)."""
        where, params = ["1 = 1"], []
        for column, value in (("status", status), ("offer_key", offer_key), ("agent", agent),
                              ("ticket_id", ticket_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if customer is not None:
            marks = ",".join("?" * len(customer)) or "NULL"  # no key: matches nothing
            where.append(f"id IN (SELECT code_id FROM offer_code_customers WHERE customer IN ({marks}))")
            params += customer
        for clause, value in (("issued_at >= ?", issued_from), ("issued_at < ?", issued_before)):
            if value is not None:
                where.append(clause)
                params.append(value)
        rows, total = self._page("offer_codes", where, params, "id DESC", limit, offset)
        return [dict(r) for r in rows], total

    # -- code pool ---------------------------------------------------------------------------
    def add_pool_codes(self, offer_key: str, codes: list[str], at: str) -> int:
        """Add codes to an offer's pool, skipping ones already known; return how many were new."""
        return self.conn.executemany("INSERT INTO code_pool (code, offer_key, imported_at) VALUES (?, ?, ?) "
                                     "ON CONFLICT DO NOTHING", [(c, offer_key, at) for c in dict.fromkeys(codes)])

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
            raise StaleWrite(f"pool code {code} was already used")

    # -- insertions and events ---------------------------------------------------------------
    def get_insertion(self, ticket_id: str, snippet_key: str, *, helpdesk: str = "",
                      brand: str = "") -> dict | None:
        """The insertion of a snippet into a conversation (helpdesk, brand, ticket), if any."""
        row = self.conn.execute("SELECT * FROM insertions WHERE helpdesk = ? AND brand = ? AND ticket_id = ? "
                                "AND snippet_key = ?", (helpdesk, brand, ticket_id, snippet_key)).fetchone()
        return dict(row, fields=json.loads(row["fields"])) if row else None

    def record_insertion(self, data: dict) -> int:
        """Store an insertion, or count a repeat of the same one; return its id."""
        self.conn.execute(
            "INSERT INTO insertions (helpdesk, brand, ticket_id, snippet_key, snippet_version, kind, language, "
            "agent, fields, ticket_text, eligible, offer_code_id, created_at, last_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (helpdesk, brand, ticket_id, snippet_key) DO UPDATE SET times = insertions.times + 1, last_at = excluded.last_at, "
            "snippet_version = excluded.snippet_version, language = excluded.language, "
            "fields = excluded.fields, offer_code_id = coalesce(insertions.offer_code_id, excluded.offer_code_id)",
            (data.get("helpdesk", ""), data.get("brand", ""), data["ticket_id"], data["snippet_key"],
             data["snippet_version"], data["kind"], data["language"],
             data["agent"], json.dumps(data["fields"], ensure_ascii=False), data["ticket_text"],
             data["eligible"], data["offer_code_id"], data["at"], data["at"]))
        return self.conn.execute("SELECT id FROM insertions WHERE helpdesk = ? AND brand = ? AND ticket_id = ? "
                                 "AND snippet_key = ?", (data.get("helpdesk", ""), data.get("brand", ""),
                                                         data["ticket_id"], data["snippet_key"])).fetchone()[0]

    # -- learning ------------------------------------------------------------------------------
    def add_example(self, data: dict) -> bool:
        """Store a learned example; False when this ticket already taught this snippet."""
        cur = self.conn.execute(
            "INSERT INTO learned_examples (snippet_key, language, text, agent, ticket_id, via, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
        """Ask for these snippets' learned text to be re-indexed (the background indexer serves it)."""
        self.log_index_write(keys, "learning")

    def clear_examples(self, snippet_key: str) -> int:
        """Forget everything a snippet learned; return how many examples went."""
        return self.conn.execute("DELETE FROM learned_examples WHERE snippet_key = ?", (snippet_key,)).rowcount


class InsightsStoreMixin:
    """Insights (issue 11): analytics reads, agents' feedback, content-gap dismissals, import sources."""

    conn: Connection

    @staticmethod
    def _range(column: str, start: str, end: str, language: str | None, lang_column: str = "language",
               ) -> tuple[str, list]:
        where, params = f"{column} >= ? AND {column} < ?", [start, end]
        if language:
            where, params = where + f" AND {lang_column} = ?", [*params, language]
        return where, params

    # -- analytics reads -------------------------------------------------------------------
    def suggestion_events(self, start: str, end: str, language: str | None = None) -> list[dict]:
        """What /suggest showed in [start, end), oldest first (ticket text left out)."""
        where, params = self._range("at", start, end, language)
        rows = self.conn.execute(f"SELECT id, ticket_id, agent, language, shown, at FROM suggestion_events "
                                 f"WHERE {where} ORDER BY id", params)
        return [dict(r, shown=json.loads(r["shown"])) for r in rows]

    def insertions_between(self, start: str, end: str, language: str | None = None) -> list[dict]:
        """Insertions first made in [start, end), oldest first, with their code if any."""
        where, params = self._range("i.created_at", start, end, language, "i.language")
        rows = self.conn.execute(
            "SELECT i.id, i.ticket_id, i.snippet_key, i.snippet_version, i.kind, i.language, i.agent, "
            "i.eligible, i.times, i.created_at, i.last_at, c.code AS offer_code, c.offer_key, "
            f"c.status AS code_status FROM insertions i LEFT JOIN offer_codes c ON c.id = i.offer_code_id "
            f"WHERE {where} ORDER BY i.id", params)
        return [dict(r) for r in rows]

    def codes_between(self, start: str, end: str) -> list[dict]:
        """Offer codes issued in [start, end), oldest first."""
        rows = self.conn.execute("SELECT * FROM offer_codes WHERE issued_at >= ? AND issued_at < ? "
                                 "ORDER BY id", (start, end))
        return [dict(r) for r in rows]

    def snippet_edits(self, start: str, end: str) -> list[dict]:
        """Changes of a snippet's text or settings (not its creation) made in [start, end)."""
        rows = self.conn.execute(
            "SELECT s.key, s.kind, v.version, v.action, v.changed_by, v.changed_at FROM snippet_versions v "
            "JOIN snippets s ON s.id = v.snippet_id WHERE v.version > 1 AND v.action != 'verify' "
            "AND v.changed_at >= ? AND v.changed_at < ? ORDER BY v.changed_at, s.key", (start, end))
        return [dict(r) for r in rows]

    def ticket_language(self, ticket_id: str) -> str | None:
        """The language of the newest suggestion event of a ticket, if any."""
        row = self.conn.execute("SELECT language FROM suggestion_events WHERE ticket_id = ? ORDER BY id DESC "
                                "LIMIT 1", (ticket_id,)).fetchone()
        return row[0] if row else None

    def last_insertions(self) -> dict[str, str]:
        """When each snippet was last inserted (ever)."""
        return dict(self.conn.execute("SELECT snippet_key, max(last_at) FROM insertions GROUP BY snippet_key"))

    # -- content gaps ------------------------------------------------------------------------
    def gap_candidates(self, start: str, end: str, language: str | None = None) -> list[dict]:
        """Tickets shown suggestions in [start, end) with nothing inserted and not dismissed.

        One row per ticket: its newest suggestion event (text, language, what was shown).
        """
        where, params = self._range("at", start, end, language)
        rows = self.conn.execute(
            "SELECT e.ticket_id, e.agent, e.language, e.shown, e.at, e.ticket_text FROM suggestion_events e "
            f"WHERE e.id IN (SELECT max(id) FROM suggestion_events WHERE {where} GROUP BY ticket_id) "
            "AND NOT EXISTS (SELECT 1 FROM insertions i WHERE i.ticket_id = e.ticket_id) "
            "AND NOT EXISTS (SELECT 1 FROM gap_dismissed_tickets d WHERE d.ticket_id = e.ticket_id) "
            "ORDER BY e.id", params)
        return [dict(r, shown=json.loads(r["shown"])) for r in rows]

    def dismiss_gap(self, ticket_ids: list[str], terms: list[str], by: str, at: str) -> tuple[int, int]:
        """Record a dismissed topic; return its id and how many tickets it newly hid."""
        dismissal_id = self.conn.execute(
            "INSERT INTO gap_dismissals (terms, size, dismissed_by, dismissed_at) VALUES (?, ?, ?, ?) RETURNING id",
            (json.dumps(terms, ensure_ascii=False), len(ticket_ids), by, at)).fetchone()[0]
        hidden = self.conn.executemany("INSERT INTO gap_dismissed_tickets (ticket_id, dismissal_id) VALUES (?, ?) "
                                       "ON CONFLICT DO NOTHING", [(t, dismissal_id) for t in dict.fromkeys(ticket_ids)])
        return dismissal_id, hidden

    # -- feedback ----------------------------------------------------------------------------
    def record_feedback(self, data: dict) -> tuple[int, bool]:
        """Store an agent's "not helpful" (or change its reason); return its id and if it was new."""
        old = self.conn.execute("SELECT id FROM feedback WHERE ticket_id = ? AND snippet_key = ? AND agent = ?",
                                (data["ticket_id"], data["snippet_key"], data["agent"])).fetchone()
        self.conn.execute(
            "INSERT INTO feedback (ticket_id, snippet_key, snippet_version, agent, language, reason, comment, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id, snippet_key, agent) DO UPDATE SET "
            "reason = excluded.reason, comment = excluded.comment, at = excluded.at, "
            "snippet_version = excluded.snippet_version, language = excluded.language",
            (data["ticket_id"], data["snippet_key"], data["snippet_version"], data["agent"], data["language"],
             data["reason"], data["comment"], data["at"]))
        row = self.conn.execute("SELECT id FROM feedback WHERE ticket_id = ? AND snippet_key = ? AND agent = ?",
                                (data["ticket_id"], data["snippet_key"], data["agent"])).fetchone()
        return row[0], old is None

    def delete_feedback(self, ticket_id: str, snippet_key: str, agent: str) -> bool:
        """Take back an agent's "not helpful"; True when there was one."""
        return self.conn.execute("DELETE FROM feedback WHERE ticket_id = ? AND snippet_key = ? AND agent = ?",
                                 (ticket_id, snippet_key, agent)).rowcount == 1

    def feedback_between(self, start: str, end: str, language: str | None = None) -> list[dict]:
        """Feedback given in [start, end), oldest first."""
        where, params = self._range("at", start, end, language)
        return [dict(r) for r in self.conn.execute(f"SELECT * FROM feedback WHERE {where} ORDER BY id", params)]

    def feedback_for_snippet(self, key: str, limit: int = 200) -> list[dict]:
        """A snippet's feedback, newest first."""
        rows = self.conn.execute("SELECT * FROM feedback WHERE snippet_key = ? ORDER BY at DESC, id DESC LIMIT ?",
                                 (key, limit))
        return [dict(r) for r in rows]

    def feedback_for_tickets(self, ticket_ids: list[str]) -> list[dict]:
        """Feedback on these tickets."""
        found: list[dict] = []
        for start in range(0, len(ticket_ids), 500):  # stay under SQLite's parameter limit
            chunk = ticket_ids[start:start + 500]
            found += [dict(r) for r in self.conn.execute(
                f"SELECT * FROM feedback WHERE ticket_id IN ({','.join('?' * len(chunk))})", chunk)]
        return found

    def distinct_agents(self, keys: list[str], since: str) -> dict[str, dict[str, int]]:
        """Per snippet: how many distinct agents marked it not helpful (wrong language aside) and
        how many inserted it since a time."""
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        found = {k: {"not_helpful": 0, "inserted": 0} for k in keys}
        # One statement, not two: on PostgreSQL each is a round trip of every /suggest.
        for what, key, n in self.conn.execute(
                f"SELECT 'not_helpful', snippet_key, count(DISTINCT agent) FROM feedback WHERE snippet_key IN ({marks}) "
                f"AND at >= ? AND coalesce(reason, '') != 'wrong_language' GROUP BY snippet_key UNION ALL "
                f"SELECT 'inserted', snippet_key, count(DISTINCT agent) FROM insertions WHERE snippet_key IN ({marks}) "
                f"AND created_at >= ? GROUP BY snippet_key", [*keys, since, *keys, since]):
            found[key][what] = n
        return found

    # -- imports -----------------------------------------------------------------------------
    def import_source_keys(self, source: str) -> dict[str, str]:
        """The snippet key of every item already imported from a helpdesk, by its id there."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT source_id, snippet_key FROM import_sources WHERE source = ?", (source,))}

    def set_import_source(self, source: str, source_id: str, key: str, at: str) -> None:
        """Remember which snippet a helpdesk item became."""
        self.conn.execute("INSERT INTO import_sources (source, source_id, snippet_key, imported_at) "
                          "VALUES (?, ?, ?, ?) ON CONFLICT (source, source_id) DO UPDATE SET "
                          "snippet_key = excluded.snippet_key, imported_at = excluded.imported_at",
                          (source, source_id, key, at))


class SelfServiceStoreMixin:
    """Queries of self-service (public keys), repeat contacts, value labels, favourites."""

    conn: Connection

    # -- public keys -----------------------------------------------------------------------
    def create_public_key(self, name: str, key_hash: str, origins: list[str]) -> int:
        """Store a shop's public key (hashed) and its site origins; return its id."""
        return self.conn.execute("INSERT INTO public_keys (name, key_hash, origins, created_at) VALUES (?, ?, ?, ?) "
                                 "RETURNING id", (name, key_hash, json.dumps(origins), utcnow())).fetchone()[0]

    def public_key_by_hash(self, key_hash: str) -> dict | None:
        """A live public key by its hash, or None."""
        row = self.conn.execute("SELECT * FROM public_keys WHERE key_hash = ? AND revoked_at IS NULL",
                                (key_hash,)).fetchone()
        return dict(row, origins=json.loads(row["origins"])) if row else None

    def public_origins(self) -> set[str]:
        """Every origin any live public key allows."""
        rows = self.conn.execute("SELECT origins FROM public_keys WHERE revoked_at IS NULL")
        return {o for (origins,) in rows for o in json.loads(origins)}

    # -- repeat contacts -------------------------------------------------------------------
    def note_contact(self, data: dict) -> None:
        """Record that a customer's ticket was seen (once per customer and ticket)."""
        self.conn.execute(
            "INSERT INTO contacts (customer, ticket_id, subject, url, agent, first_at, last_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (customer, ticket_id) DO UPDATE SET "
            "last_at = excluded.last_at, subject = coalesce(nullif(excluded.subject, ''), contacts.subject), "
            "url = coalesce(excluded.url, contacts.url)",
            (data["customer"], data["ticket_id"], data["subject"], data["url"], data["agent"], data["at"], data["at"]))

    def contacts_since(self, customer: str, since: str) -> list[dict]:
        """A customer's tickets first seen since a time, oldest first."""
        rows = self.conn.execute("SELECT ticket_id, subject, url, first_at, last_at FROM contacts "
                                 "WHERE customer = ? AND (first_at >= ? OR last_at >= ?) ORDER BY first_at, id",
                                 (customer, since, since))
        return [dict(r) for r in rows]

    def add_contact_alert(self, data: dict) -> tuple[int, bool]:
        """Record an alert for customer success; (id, created) - one per customer and ticket."""
        cur = self.conn.execute(
            "INSERT INTO contact_alerts (customer, ticket_id, agent, contacts, summary, note, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (data["customer"], data["ticket_id"], data["agent"], data["contacts"],
             json.dumps(data["summary"], ensure_ascii=False), data["note"], data["at"]))
        row = self.conn.execute("SELECT id FROM contact_alerts WHERE customer = ? AND ticket_id = ?",
                                (data["customer"], data["ticket_id"])).fetchone()
        return row[0], cur.rowcount == 1

    def contact_alerted(self, customer: str, ticket_id: str) -> bool:
        """Whether an alert was raised about this customer from this ticket."""
        return self.conn.execute("SELECT 1 FROM contact_alerts WHERE customer = ? AND ticket_id = ?",
                                 (customer, ticket_id)).fetchone() is not None

    def get_contact_alert(self, alert_id: int) -> dict:
        """One alert by id."""
        row = self.conn.execute("SELECT * FROM contact_alerts WHERE id = ?", (alert_id,)).fetchone()
        return dict(row, summary=json.loads(row["summary"]))

    def list_contact_alerts(self, limit: int, offset: int) -> tuple[list[dict], int]:
        """A page of alerts, newest first."""
        total = self.conn.execute("SELECT count(*) FROM contact_alerts").fetchone()[0]
        rows = self.conn.execute("SELECT * FROM contact_alerts ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset))
        return [dict(r, summary=json.loads(r["summary"])) for r in rows], total

    # -- value labels ----------------------------------------------------------------------
    def value_labels(self, language: str | None = None) -> dict[str, dict[str, dict[str, str]]]:
        """Labels as {language: {path: {value: label}}} (one language, or all)."""
        sql, params = "SELECT language, path, value, label FROM value_labels", ()
        if language:
            sql, params = sql + " WHERE language = ?", (language,)
        found: dict[str, dict[str, dict[str, str]]] = {}
        for lang, path, value, label in self.conn.execute(sql + " ORDER BY language, path, value", params):
            found.setdefault(lang, {}).setdefault(path, {})[value] = label
        return found

    def set_value_labels(self, language: str, labels: dict[str, dict[str, str]], by: str | None) -> None:
        """Replace one language's labels."""
        self.conn.execute("DELETE FROM value_labels WHERE language = ?", (language,))
        self.conn.executemany(
            "INSERT INTO value_labels (language, path, value, label, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)",
            [(language, path, value, label, utcnow(), by) for path, values in labels.items()
             for value, label in values.items()])
        self.bump_settings_version()

    # -- recent and favourite replies ------------------------------------------------------
    def favourites(self, agent: str) -> list[str]:
        """An agent's favourite snippet keys, newest first."""
        rows = self.conn.execute("SELECT snippet_key FROM favourites WHERE agent = ? "
                                 "ORDER BY created_at DESC, snippet_key", (agent,))
        return [r[0] for r in rows]

    def set_favourite(self, agent: str, key: str, on: bool) -> None:
        """Mark or unmark a favourite."""
        if on:
            # Microseconds: two favourites marked within a second still list newest first.
            self.conn.execute("INSERT INTO favourites VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                              (agent, key, datetime.now(timezone.utc).isoformat()))
        else:
            self.conn.execute("DELETE FROM favourites WHERE agent = ? AND snippet_key = ?", (agent, key))

    def recent_insertions(self, agent: str, limit: int) -> list[str]:
        """The replies an agent inserted most recently (distinct keys, newest first)."""
        rows = self.conn.execute("SELECT snippet_key FROM insertions WHERE agent = ? AND kind = 'reply' "
                                 "GROUP BY snippet_key ORDER BY max(last_at) DESC, max(id) DESC LIMIT ?",
                                 (agent, limit))
        return [r[0] for r in rows]

    def record_withheld_offer(self, insertion_id: int, offer_key: str, reason: str | None, agent: str) -> None:
        """Remember that a reply went out without its offer code, and why."""
        self.conn.execute("INSERT INTO withheld_offers VALUES (?, ?, ?, ?, ?)",
                          (insertion_id, offer_key, reason, agent, utcnow()))


class IndexLogStoreMixin:
    """Queries of the index's change log (index lifecycle: catch-up, reconcile, lag, rebuilds)."""

    conn: Connection

    def log_index_write(self, keys: list[str], source: str) -> tuple[int, str]:
        """Record that these snippets changed (inside the write's transaction); its (seq, token)."""
        token = secrets.token_hex(8)
        if self.conn.dialect == "postgresql":
            # A sequence hands out values in call order but transactions commit in any order:
            # seq 7 could be visible before seq 6 commits, and a node that read "after 6" would
            # never see 6. This lock, held until commit, makes seq order equal commit order.
            self.conn.execute(f"SELECT pg_advisory_xact_lock({INDEX_LOG_LOCK})")
        seq = self.conn.execute("INSERT INTO index_writes (token, source, keys, at) VALUES (?, ?, ?, ?) "
                                "RETURNING seq", (token, source, len(keys), time.time())).fetchone()[0]
        self.conn.executemany(
            "INSERT INTO index_keys (key, seq, token) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, token = excluded.token",
            [(k, seq, token) for k in dict.fromkeys(keys)])
        return seq, token

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Run reads in one read transaction: they all see the same committed state (WAL; REPEATABLE READ)."""
        if self.conn.in_transaction:
            yield self
            return
        self.conn.begin(write=False)
        try:
            yield self
        finally:
            self.conn.rollback()

    def index_head(self) -> tuple[int, str]:
        """The (seq, token) of the newest write, or (0, '') before the first."""
        row = self.conn.execute("SELECT seq, token FROM index_writes ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, "")

    def has_index_write(self, seq: int, token: str) -> bool:
        """Whether the store committed this write (seq 0 is the empty store's state)."""
        if seq == 0:
            return token == ""
        row = self.conn.execute("SELECT 1 FROM index_writes WHERE seq = ? AND token = ?", (seq, token)).fetchone()
        return row is not None

    def index_keys_since(self, seq: int) -> dict[str, str]:
        """Snippets changed by writes after ``seq``, with the token of their last change."""
        return dict(self.conn.execute("SELECT key, token FROM index_keys WHERE seq > ?", (seq,)).fetchall())

    def index_tokens(self, keys: list[str]) -> dict[str, str]:
        """The token of each snippet's last change (snippets never logged are left out)."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            found.update(self.conn.execute(f"SELECT key, token FROM index_keys WHERE key IN "
                                           f"({','.join('?' * len(chunk))})", chunk).fetchall())
        return found

    def published_tokens(self) -> dict[str, str]:
        """Every published snippet's key with the token of its last change ('' if never logged)."""
        return dict(self.conn.execute(
            "SELECT s.key, coalesce(k.token, '') FROM snippets s LEFT JOIN index_keys k ON k.key = s.key "
            "WHERE s.status = 'published'").fetchall())

    def index_lag(self, applied: int) -> dict:
        """Writes after ``applied``: how many, how many from learning, and when the oldest was."""
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN source = 'learning' THEN 1 ELSE 0 END), 0), min(at) "
            "FROM index_writes WHERE seq > ?",
            (applied,)).fetchone()
        return {"writes": row[0], "learned": row[1], "oldest_at": row[2]}

    def compact_index_writes(self, applied: int, before: float) -> int:
        """Forget writes the index has applied that are older than ``before``; keep ``applied``'s."""
        return self.conn.execute("DELETE FROM index_writes WHERE seq < ? AND at < ?", (applied, before)).rowcount

    def snippet_id_ranges(self, parts: int) -> list[tuple[int, int | None]]:
        """Split the snippets by id into ``parts`` ranges [low, high) of similar size (high None: open)."""
        ids = [r[0] for r in self.conn.execute("SELECT id FROM snippets ORDER BY id")]
        if not ids:
            return [(0, None)]
        step = -(-len(ids) // max(parts, 1))
        bounds = [ids[i] for i in range(0, len(ids), step)]
        return [(low, high) for low, high in zip([0, *bounds[1:]], [*bounds[1:], None])]

    def iter_snippet_range(self, low: int, high: int | None) -> Iterator[dict]:
        """Snippets with ``low <= id < high`` (no upper bound when ``high`` is None), by id."""
        sql, params = "SELECT * FROM snippets WHERE id >= ?", [low]
        if high is not None:
            sql, params = sql + " AND id < ?", [low, high]
        for row in self.conn.execute(sql + " ORDER BY id", params):
            yield _snippet_from_row(row)

    def get_meta(self, key: str) -> str | None:
        """A value of the meta table, or None."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


class PerfStoreMixin:
    """perf (issue 10): batched writes for work taken off the request path."""

    conn: Connection

    def record_suggestions(self, events: list[tuple]) -> None:
        """Remember what /suggest showed: (ticket_id, agent, language, shown, at, ticket_text) rows."""
        self.conn.executemany("INSERT INTO suggestion_events (ticket_id, agent, language, shown, at, ticket_text) "
                              "VALUES (?, ?, ?, ?, ?, ?)",
                              [(t, a, lang, json.dumps(shown), at, text) for t, a, lang, shown, at, text in events])

    def read_versions(self) -> tuple[int, str, int, int]:
        """What the request caches check, in one statement: the change log's head (seq, token),
        the data version and the settings version (server/readcache.py)."""
        row = self.conn.execute(
            "SELECT (SELECT seq FROM index_writes ORDER BY seq DESC LIMIT 1), "
            "(SELECT token FROM index_writes ORDER BY seq DESC LIMIT 1), "
            "(SELECT value FROM meta WHERE key = 'data_version'), "
            "(SELECT value FROM meta WHERE key = 'settings_version')").fetchone()
        return row[0] or 0, row[1] or "", int(row[2] or 0), int(row[3] or 0)

    def bump_settings_version(self) -> None:
        """Count a write to users, synonyms, value labels or offers (after it: readers that see
        the new count see the write). Every process's request caches of those read it."""
        self.conn.execute("INSERT INTO meta (key, value) VALUES ('settings_version', '1') ON CONFLICT (key) "
                          "DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)")


class ConsoleStoreMixin:
    """Queries of the managers' console: people, sessions, sign-in throttle, snippet library."""

    conn: Connection

    # -- people ----------------------------------------------------------------------------
    def list_users(self) -> list[dict]:
        """Every user, by name, without secrets."""
        rows = self.conn.execute("SELECT id, name, role, active, created_at, last_sign_in_at, "
                                 "CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS has_password FROM users ORDER BY name")
        return [dict(r) for r in rows]

    def update_user(self, name: str, **columns: object) -> None:
        """Set some of a user's columns (role, active, password_hash, token_hash, last_sign_in_at)."""
        allowed = {"role", "active", "password_hash", "token_hash", "last_sign_in_at"}
        if not columns or not columns.keys() <= allowed:
            raise ValueError(f"update_user takes {sorted(allowed)}")
        sets = ", ".join(f"{c} = ?" for c in columns)
        self.conn.execute(f"UPDATE users SET {sets} WHERE name = ?", [*columns.values(), name])
        if columns.keys() & {"role", "active", "token_hash"}:  # what token checks read
            self.bump_settings_version()

    def count_active(self, role: str) -> int:
        """How many active users have a role."""
        return self.conn.execute("SELECT count(*) FROM users WHERE role = ? AND active = 1",
                                 (role,)).fetchone()[0]

    # -- sessions --------------------------------------------------------------------------
    def create_session(self, id_hash: str, user_id: int, csrf: str, at: str) -> None:
        """Store a new console session."""
        self.conn.execute("INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, last_seen) "
                          "VALUES (?, ?, ?, ?, ?)", (id_hash, user_id, csrf, at, at))

    def set_notice(self, id_hash: str, notice: str | None) -> None:
        """Keep (or clear) a message for the session's next page."""
        self.conn.execute("UPDATE console_sessions SET notice = ? WHERE id_hash = ?", (notice, id_hash))

    def get_session(self, id_hash: str) -> dict | None:
        """A session with its user's name, role and state, or None."""
        row = self.conn.execute(
            "SELECT s.*, u.name, u.role, u.active FROM console_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.id_hash = ?", (id_hash,)).fetchone()
        return dict(row) if row else None

    def touch_session(self, id_hash: str, at: str) -> None:
        """Record activity on a session (idle expiry counts from here)."""
        self.conn.execute("UPDATE console_sessions SET last_seen = ? WHERE id_hash = ?", (at, id_hash))

    def delete_session(self, id_hash: str) -> None:
        """End one session."""
        self.conn.execute("DELETE FROM console_sessions WHERE id_hash = ?", (id_hash,))

    def delete_sessions(self, user_id: int | None = None, idle_before: str | None = None) -> None:
        """End every session of a user, or every session idle since before a time."""
        if user_id is not None:
            self.conn.execute("DELETE FROM console_sessions WHERE user_id = ?", (user_id,))
        if idle_before is not None:
            self.conn.execute("DELETE FROM console_sessions WHERE last_seen < ?", (idle_before,))

    # -- sign-in throttle ------------------------------------------------------------------
    def add_sign_in_failure(self, name: str, ip: str, at: str) -> None:
        """Count one failed sign-in."""
        self.conn.execute("INSERT INTO sign_in_failures (name, ip, at) VALUES (?, ?, ?)", (name, ip, at))

    def sign_in_failures(self, name: str, ip: str, since: str) -> tuple[int, int, str | None]:
        """Failures since a time for this name, for this address, and the oldest of them."""
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM sign_in_failures WHERE name = ? AND at >= ?), "
            "(SELECT count(*) FROM sign_in_failures WHERE ip = ? AND at >= ?), "
            "(SELECT min(at) FROM sign_in_failures WHERE (name = ? OR ip = ?) AND at >= ?)",
            (name, since, ip, since, name, ip, since)).fetchone()
        return row[0], row[1], row[2]

    def clear_sign_in_failures(self, name: str, before: str | None = None) -> None:
        """Forget a name's failures (after it signs in), or everyone's older than a time."""
        if before is not None:
            self.conn.execute("DELETE FROM sign_in_failures WHERE at < ?", (before,))
        else:
            self.conn.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))


    # -- snippet library -------------------------------------------------------------------
    _LIBRARY_SORTS = {
        "key": "snippets.key",
        "updated": "snippets.updated_at DESC, snippets.key",
        "usage": "usage DESC, snippets.key",
        # Never verified first, then the earliest due date.
        "due": "{due_at} NULLS FIRST, snippets.key",
    }

    def library(self, *, keys: list[str] | None = None, text: str | None = None, kind: str | None = None,
                status: str | None = None, tag: str | None = None, missing: str | None = None,
                owner: str | None = None, due: bool = False, unused_since: str | None = None,
                sort: str = "key", limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        """Snippets for the console's library with their usage; ``keys`` (search hits) or a
        ``text`` substring of key, title or body widen each other; the rest narrow."""
        where, params = ["1 = 1"], []
        if keys is not None or text:
            found = ["1 = 0"]
            if keys:
                found.append(f"snippets.key IN ({','.join('?' * len(keys))})")
                params += keys
            if text:
                # lower(): SQLite's LIKE ignores (ASCII) case, PostgreSQL's does not.
                found.append("(lower(snippets.key) LIKE lower(?) ESCAPE '\\' "
                             "OR lower(snippets.texts) LIKE lower(?) ESCAPE '\\')")
                pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                params += [pattern, pattern]
            where.append("(" + " OR ".join(found) + ")")
        more, more_params = _snippet_where(self.conn.dialect, kind=kind, status=status, tag=tag, owner=owner)
        where, params = where + more, params + more_params
        if missing:
            where.append(_json_lacks(self.conn.dialect, "snippets.texts"))
            params.append(missing)
        if due:
            where.append(f"({_due_sql(self.conn.dialect)})")
        if unused_since:
            where.append("NOT EXISTS (SELECT 1 FROM insertions i WHERE i.snippet_key = snippets.key "
                         "AND i.last_at >= ?)")
            params.append(unused_since)
        clause = " AND ".join(where)
        total = self.conn.execute(f"SELECT count(*) FROM snippets WHERE {clause}", params).fetchone()[0]
        rows = self.conn.execute(
            "SELECT snippets.*, (SELECT coalesce(sum(times), 0) FROM insertions i WHERE i.snippet_key = snippets.key) "
            "AS usage, (SELECT max(last_at) FROM insertions i WHERE i.snippet_key = snippets.key) AS last_used "
            f"FROM snippets WHERE {clause} ORDER BY {self._LIBRARY_SORTS[sort].format(due_at=_due_at(self.conn.dialect))} "
            "LIMIT ? OFFSET ?",
            [*params, limit, offset]).fetchall()
        return [_snippet_from_row(r) for r in rows], total

    def distinct_values(self) -> dict[str, list[str]]:
        """Tags, owners and languages in use, for the library's filter menus."""
        tags = [r[0] for r in self.conn.execute(
            f"SELECT DISTINCT value FROM snippets, {_json_values(self.conn.dialect, 'snippets.tags')} ORDER BY value")]
        owners = [r[0] for r in self.conn.execute(
            "SELECT DISTINCT owner FROM snippets WHERE owner IS NOT NULL ORDER BY owner")]
        languages = [r[0] for r in self.conn.execute(
            f"SELECT DISTINCT j.key FROM snippets, {_json_keys(self.conn.dialect, 'snippets.texts')} ORDER BY j.key")]
        return {"tags": tags, "owners": owners, "languages": languages}


class RelevanceStoreMixin:
    """Queries of the relevance feature: training examples of the learner, customers' languages."""

    conn: Connection

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
        cur = self.conn.execute("INSERT INTO customer_tickets (customer, ticket_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                (customer, ticket_id))
        if cur.rowcount:
            self.conn.execute(
                "INSERT INTO customer_languages (customer, language, tickets, last_at) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (customer, language) DO UPDATE SET tickets = customer_languages.tickets + 1, last_at = excluded.last_at",
                (customer, language, at))


class Store(InsightsStoreMixin, SelfServiceStoreMixin, IndexLogStoreMixin, PerfStoreMixin, ConsoleStoreMixin,
            RelevanceStoreMixin, OfferStoreMixin):
    """Every query the services need, over one connection (SQLite or PostgreSQL)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._after_commit: list = []  # callables run once the current transaction commits

    def close(self) -> None:
        """Give the connection back (rolled back if a transaction was left open)."""
        self.conn.close()

    def after_commit(self, callback) -> None:
        """Run ``callback()`` after the current transaction commits (never if it rolls back)."""
        self._after_commit.append(callback)

    # -- transactions and migrations -------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Run a block in one write transaction: all of it is stored, or none."""
        if self.conn.in_transaction:  # nested: the outer block owns commit and rollback
            yield self
            return
        self.conn.begin(write=True)
        try:
            yield self
        except BaseException:
            self._after_commit.clear()
            self.conn.rollback()
            raise
        self.conn.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def migrate(self) -> list[str]:
        """Bring the schema up to date (Alembic); return the revisions applied."""
        from server import migrations
        return migrations.upgrade(self.conn)

    def schema_version(self) -> int:
        """The schema's revision (Alembic revisions are numbered, continuing the legacy versions)."""
        from server import migrations
        return int(migrations.current(self.conn) or 0)

    def lock_offer(self, key: str) -> None:
        """Make this transaction the only one deciding codes of this offer until it ends.

        SQLite: nothing to do, BEGIN IMMEDIATE already holds the database's write lock. PostgreSQL:
        a row lock on the offer, which every issuer of the offer takes first (module docstring).
        """
        if self.conn.dialect == "postgresql":
            self.conn.execute("SELECT key FROM offers WHERE key = ? FOR UPDATE", (key,))

    # -- snippets --------------------------------------------------------------------------
    _SNIPPET_COLUMNS = ("key", "kind", "default_language", "texts", "tags", "policies", "offer",
                        "when_json", "fields", "status", "owner", "verified_by", "verified_at",
                        "verify_every_days", "version", "updated_at", "updated_by", "public")

    @staticmethod
    def _snippet_params(data: dict) -> list:
        row = dict(data, when_json=data.get("when") or {}, public=data.get("public") or False)
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
                      tag: str | None = None, due: bool | None = None, limit: int = 50,
                      offset: int = 0) -> tuple[list[dict], int]:
        """A page of snippets ordered by key, and the total matching the filters."""
        where, params = _snippet_where(self.conn.dialect, kind=kind, status=status, tag=tag)
        if due is not None:
            where.append(f"{'' if due else 'NOT '}({_due_sql(self.conn.dialect)})")
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
        """Insert a snippet row; return its id. StaleWrite if another writer created the key
        since this transaction read it (on PostgreSQL the insert waits for that writer's commit)."""
        cols = [*self._SNIPPET_COLUMNS, "created_at"]
        params = [*self._snippet_params(data), data["updated_at"]]
        row = self.conn.execute(
            f"INSERT INTO snippets ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            "ON CONFLICT (key) DO NOTHING RETURNING id", params).fetchone()
        if row is None:
            raise StaleWrite(f"snippet {data['key']!r} was created by another writer")
        return row[0]

    def update_snippet(self, snippet_id: int, data: dict) -> None:
        """Overwrite a snippet row's editable columns, going from ``data["version"] - 1`` to
        ``data["version"]``; StaleWrite if another writer changed the row since it was read."""
        sets = ", ".join(f"{c} = ?" for c in self._SNIPPET_COLUMNS)
        changed = self.conn.execute(f"UPDATE snippets SET {sets} WHERE id = ? AND version = ?",
                                    [*self._snippet_params(data), snippet_id, data["version"] - 1]).rowcount
        if changed != 1:
            raise StaleWrite(f"snippet {data['key']!r} changed while it was being saved")

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
        self.conn.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_version'")
        return self.data_version()

    def data_version(self) -> int:
        """How many snippet writes the store has seen."""
        return int(self.conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0])

    # -- users -----------------------------------------------------------------------------
    def create_user(self, name: str, role: str, token_hash: str) -> int:
        """Insert a user; return its id."""
        user_id = self.conn.execute("INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?) "
                                    "RETURNING id", (name, role, token_hash, utcnow())).fetchone()[0]
        self.bump_settings_version()
        return user_id

    def get_user(self, name: str) -> dict | None:
        """A user by name, or None."""
        row = self.conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def set_user_token(self, name: str, token_hash: str) -> None:
        """Replace a user's token."""
        self.conn.execute("UPDATE users SET token_hash = ? WHERE name = ?", (token_hash, name))
        self.bump_settings_version()

    def user_by_token_hash(self, token_hash: str) -> dict | None:
        """The user owning a token hash, or None."""
        row = self.conn.execute("SELECT id, name, role FROM users WHERE token_hash = ? AND active = 1",
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
        self.bump_settings_version()

    # -- offers ----------------------------------------------------------------------------
    def upsert_offer(self, key: str, data: dict) -> bool:
        """Insert or replace an offer; return True when it was new."""
        exists = self.conn.execute("SELECT 1 FROM offers WHERE key = ?", (key,)).fetchone()
        self.conn.execute(
            "INSERT INTO offers (key, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (key, json.dumps(data, ensure_ascii=False), utcnow()))
        self.bump_settings_version()
        return exists is None

    def get_offer(self, key: str) -> dict | None:
        """One offer by key, or None."""
        row = self.conn.execute("SELECT data FROM offers WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def list_offers(self) -> list[dict]:
        """All offers ordered by key."""
        return [json.loads(r[0]) for r in self.conn.execute("SELECT data FROM offers ORDER BY key")]


def open_store(database: str) -> Store:
    """A store over a connection of its own, migrated to the latest schema (SQLite path or URL)."""
    store = Store(connect(database))
    store.migrate()
    return store


class ConnectionPool:
    """Connections of one database reused by requests (opening one cost ~8% of a suggest)."""

    def __init__(self, database: str, keep: int = 16) -> None:
        self.engine = create_engine(database, pool_size=keep)

    def take(self) -> Connection:
        return Connection(self.engine)

    def give_back(self, conn: Connection) -> None:
        conn.close()  # rolls back what a failed request left open, then returns it to the pool

    def close(self) -> None:
        """Close the idle connections (connections still in use close when given back)."""
        self.engine.dispose()


def get_store() -> Store:
    """The request's store (a pooled connection, given back at teardown)."""
    if "store" not in g:
        g.store = Store(current_app.extensions["replyassist.connections"].take())
    return g.store


def _close_store(_exc: BaseException | None = None) -> None:
    store = g.pop("store", None)
    if store is not None:
        current_app.extensions["replyassist.connections"].give_back(store.conn)


def init_app(app: Flask) -> None:
    """Bring the database up to date (or check it is, on PostgreSQL) and pool connections for requests."""
    from server import migrations
    store = Store(connect(app.config["DATABASE"]))
    try:
        migrations.prepare(store.conn)
    finally:
        store.close()
    app.extensions["replyassist.connections"] = ConnectionPool(app.config["DATABASE"])
    app.teardown_appcontext(_close_store)
