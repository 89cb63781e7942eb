"""The hand-written SQLite migrations (versions 1-70) that stores were built with before Alembic.

Frozen: never edit or append (new schema changes are Alembic revisions in ``versions/``). An
old SQLite store is brought to version 70 with these, then stamped with the Alembic baseline,
which reproduces the same schema (``server/migrations/__init__.py``).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator

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
    # -- trust (issue 8): versions 10-19 --------------------------------------------------------
    (10, """
    -- A code and an insertion belong to one conversation: the helpdesk and brand it came from
    -- plus the ticket id (ticket ids of two helpdesks or brands collide). SQLite can't drop a
    -- UNIQUE constraint, so both tables are rebuilt: rows are kept aside, the table is created
    -- anew under its own name (so the pool's and insertions' references still name it), and the
    -- rows return with their ids; deferred foreign keys are checked once, at commit.
    PRAGMA defer_foreign_keys = ON;
    CREATE TEMP TABLE offer_codes_v9 AS SELECT * FROM offer_codes;
    DROP TABLE offer_codes;
    CREATE TABLE offer_codes (
        id            INTEGER PRIMARY KEY,
        offer_key     TEXT NOT NULL,
        code          TEXT NOT NULL UNIQUE,
        source        TEXT NOT NULL CHECK (source IN ('generated', 'pool')),
        status        TEXT NOT NULL CHECK (status IN ('issued', 'pending', 'rejected', 'void')),
        customer      TEXT NOT NULL,                -- server/identity.py customer_key
        agent         TEXT NOT NULL,
        helpdesk      TEXT NOT NULL DEFAULT '',
        brand         TEXT NOT NULL DEFAULT '',
        ticket_id     TEXT NOT NULL,
        snippet_key   TEXT NOT NULL,
        issued_at     TEXT NOT NULL,
        expires_on    TEXT NOT NULL,
        decided_by    TEXT,
        decided_at    TEXT,
        note          TEXT,
        UNIQUE (helpdesk, brand, ticket_id, snippet_key)
    );
    INSERT INTO offer_codes (id, offer_key, code, source, status, customer, agent, ticket_id,
        snippet_key, issued_at, expires_on, decided_by, decided_at, note)
        SELECT id, offer_key, code, source, status, customer, agent, ticket_id,
        snippet_key, issued_at, expires_on, decided_by, decided_at, note FROM offer_codes_v9;
    DROP TABLE offer_codes_v9;
    CREATE INDEX offer_codes_customer ON offer_codes (offer_key, customer, issued_at);
    CREATE INDEX offer_codes_agent ON offer_codes (offer_key, agent, issued_at);
    CREATE INDEX offer_codes_ticket ON offer_codes (ticket_id);
    -- Every key a code's customer is known by (e-mail and helpdesk id): a limit counts a code
    -- when any of them matches, so switching from e-mail to id doesn't make a new customer.
    CREATE TABLE offer_code_customers (
        customer  TEXT NOT NULL,
        code_id   INTEGER NOT NULL REFERENCES offer_codes (id),
        PRIMARY KEY (customer, code_id)
    );
    INSERT INTO offer_code_customers (customer, code_id) SELECT customer, id FROM offer_codes;
    CREATE TEMP TABLE insertions_v9 AS SELECT * FROM insertions;
    DROP TABLE insertions;
    CREATE TABLE insertions (
        id              INTEGER PRIMARY KEY,
        helpdesk        TEXT NOT NULL DEFAULT '',
        brand           TEXT NOT NULL DEFAULT '',
        ticket_id       TEXT NOT NULL,
        snippet_key     TEXT NOT NULL,
        snippet_version INTEGER NOT NULL,
        kind            TEXT NOT NULL,
        language        TEXT NOT NULL,
        agent           TEXT NOT NULL,
        fields          TEXT NOT NULL DEFAULT '{}',
        ticket_text     TEXT NOT NULL DEFAULT '',
        eligible        INTEGER,
        offer_code_id   INTEGER REFERENCES offer_codes (id),
        times           INTEGER NOT NULL DEFAULT 1,
        created_at      TEXT NOT NULL,
        last_at         TEXT NOT NULL,
        UNIQUE (helpdesk, brand, ticket_id, snippet_key)
    );
    INSERT INTO insertions (id, ticket_id, snippet_key, snippet_version, kind, language, agent,
        fields, ticket_text, eligible, offer_code_id, times, created_at, last_at)
        SELECT id, ticket_id, snippet_key, snippet_version, kind, language, agent,
        fields, ticket_text, eligible, offer_code_id, times, created_at, last_at FROM insertions_v9;
    DROP TABLE insertions_v9;
    CREATE INDEX insertions_snippet ON insertions (snippet_key, created_at);
    """),
    (20, """
    -- The index's change log (the store side of keeping the index in step; server/indexing.py).
    -- Every transaction that changes what a snippet's index documents hold appends one write
    -- with a random token; the index records the (seq, token) of the last write it applied.
    -- A token cannot be papered over: a write rolled back by a crash never matches a later
    -- write that reuses its seq, so an index that claims it is known to disagree.
    CREATE TABLE index_writes (
        seq     INTEGER PRIMARY KEY,
        token   TEXT NOT NULL,
        source  TEXT NOT NULL,                      -- 'snippets' or 'learning'
        keys    INTEGER NOT NULL,                   -- how many snippets it changed
        at      REAL NOT NULL                       -- unix time, for the index's lag in seconds
    );
    -- The last write that changed each snippet: the index stores its token per document, so
    -- a reconcile can diff the two sides key by key, and a catch-up reads keys with seq > N.
    CREATE TABLE index_keys (
        key     TEXT PRIMARY KEY,
        seq     INTEGER NOT NULL,
        token   TEXT NOT NULL
    );
    CREATE INDEX index_keys_seq ON index_keys (seq);
    """),
    (40, """
    -- The managers' console: people sign in with a password (scrypt hash), can be deactivated,
    -- and hold server-side sessions (the cookie carries only a random id; its hash is stored).
    ALTER TABLE users ADD COLUMN password_hash TEXT;
    ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;
    CREATE TABLE console_sessions (
        id_hash     TEXT PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users (id),
        csrf        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        last_seen   TEXT NOT NULL,
        notice      TEXT                            -- shown once on the next page (after a redirect)
    );
    CREATE INDEX console_sessions_user ON console_sessions (user_id);
    -- Failed sign-ins, counted per name and per address to slow down password guessing.
    CREATE TABLE sign_in_failures (
        id    INTEGER PRIMARY KEY,
        name  TEXT NOT NULL,
        ip    TEXT NOT NULL,
        at    TEXT NOT NULL
    );
    CREATE INDEX sign_in_failures_name ON sign_in_failures (name, at);
    CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, at);
    """),
    # -- selfservice (50-59) ----------------------------------------------------------------
    (50, """
    -- Self-service: a snippet customers may see (JSON false, true or ["en", "it"]), and the
    -- shops' public keys (sent as X-Replyassist-Key by the help widget; stored hashed).
    ALTER TABLE snippets ADD COLUMN public TEXT NOT NULL DEFAULT 'false';
    CREATE TABLE public_keys (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        key_hash    TEXT NOT NULL UNIQUE,
        origins     TEXT NOT NULL DEFAULT '[]',     -- JSON: the shop's site origins (CORS)
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    );
    """),
    (51, """
    -- Repeat contacts: each ticket of a customer the desk saw (by /suggest or an insertion),
    -- under the same customer key as the offer limits, and the alerts agents raised.
    CREATE TABLE contacts (
        id          INTEGER PRIMARY KEY,
        customer    TEXT NOT NULL,
        ticket_id   TEXT NOT NULL,
        subject     TEXT NOT NULL DEFAULT '',
        url         TEXT,
        agent       TEXT NOT NULL,
        first_at    TEXT NOT NULL,
        last_at     TEXT NOT NULL,
        UNIQUE (customer, ticket_id)
    );
    CREATE INDEX contacts_customer ON contacts (customer, first_at);
    CREATE TABLE contact_alerts (
        id          INTEGER PRIMARY KEY,
        customer    TEXT NOT NULL,
        ticket_id   TEXT NOT NULL,
        agent       TEXT NOT NULL,
        contacts    INTEGER NOT NULL,
        summary     TEXT NOT NULL,                  -- JSON [{ticket_id, subject, url, first_at}]
        note        TEXT,
        created_at  TEXT NOT NULL,
        UNIQUE (customer, ticket_id)
    );
    """),
    (52, """
    -- Sidebar round 2: how a ticket's values read in each language (order statuses, ...),
    -- managers' favourite replies per agent, and replies sent without their offer code.
    CREATE TABLE value_labels (
        language    TEXT NOT NULL,
        path        TEXT NOT NULL,                  -- e.g. order.status
        value       TEXT NOT NULL,                  -- e.g. processing
        label       TEXT NOT NULL,                  -- e.g. in lavorazione
        updated_at  TEXT NOT NULL,
        updated_by  TEXT,
        PRIMARY KEY (language, path, value)
    );
    CREATE TABLE favourites (
        agent       TEXT NOT NULL,
        snippet_key TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (agent, snippet_key)
    );
    CREATE TABLE withheld_offers (
        insertion_id INTEGER NOT NULL REFERENCES insertions (id),
        offer_key    TEXT NOT NULL,
        reason       TEXT,
        agent        TEXT NOT NULL,
        at           TEXT NOT NULL
    );
    """),
    (60, """
    -- Insights (issue 11). The ticket text a suggestion was shown for, so that tickets where
    -- nothing was inserted can be grouped into content gaps later.
    ALTER TABLE suggestion_events ADD COLUMN ticket_text TEXT NOT NULL DEFAULT '';
    CREATE INDEX suggestion_events_at ON suggestion_events (at);
    CREATE INDEX insertions_created ON insertions (created_at);
    -- "Not helpful" on a suggestion: one row per agent, ticket and snippet (a second click
    -- changes the reason; it never counts twice).
    CREATE TABLE feedback (
        id              INTEGER PRIMARY KEY,
        ticket_id       TEXT NOT NULL,
        snippet_key     TEXT NOT NULL,
        snippet_version INTEGER,
        agent           TEXT NOT NULL,
        language        TEXT NOT NULL,
        reason          TEXT CHECK (reason IN ('wrong_topic', 'outdated', 'wrong_language', 'missing_info')),
        comment         TEXT,
        at              TEXT NOT NULL,
        UNIQUE (ticket_id, snippet_key, agent)
    );
    CREATE INDEX feedback_snippet ON feedback (snippet_key, at);
    -- A manager dismissed a content-gap topic: its tickets leave the gap list for good.
    CREATE TABLE gap_dismissals (
        id            INTEGER PRIMARY KEY,
        terms         TEXT NOT NULL,                -- JSON list: the topic's top terms
        size          INTEGER NOT NULL,
        dismissed_by  TEXT NOT NULL,
        dismissed_at  TEXT NOT NULL
    );
    CREATE TABLE gap_dismissed_tickets (
        ticket_id     TEXT PRIMARY KEY,
        dismissal_id  INTEGER NOT NULL REFERENCES gap_dismissals (id)
    );
    -- Where an imported snippet came from, so re-importing updates it instead of duplicating.
    CREATE TABLE import_sources (
        source       TEXT NOT NULL,                 -- zendesk, freshdesk, gorgias
        source_id    TEXT NOT NULL,
        snippet_key  TEXT NOT NULL,
        imported_at  TEXT NOT NULL,
        PRIMARY KEY (source, source_id)
    );
    """),
    # -- relevance (issue 12): versions 70-79 ---------------------------------------------------
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

LAST = MIGRATIONS[-1][0]


def statements(script: str) -> Iterator[str]:
    """Split a migration into statements (executescript would commit mid-transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {pending.strip()[:60]}")


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply the legacy migrations not yet applied to a raw sqlite3 connection (autocommit mode)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        applied = []
        for version, sql in MIGRATIONS:
            if version not in done:
                for statement in statements(sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", (version,))
                applied.append(version)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return applied
