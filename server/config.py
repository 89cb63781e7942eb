"""Configuration: defaults, then ``REPLYASSIST_HOME/config.py``, then ``REPLYASSIST_*`` variables."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

DEFAULTS = {
    # Everything the server writes lives under HOME: the SQLite file and the Whoosh index.
    "HOME": "instance",
    # The store of record: empty for the SQLite file under HOME, or a PostgreSQL URL
    # (postgresql://user:password@host/dbname) shared by several nodes (README "Several nodes").
    "DATABASE_URL": "",
    "DEFAULT_LANGUAGE": "en",
    # Languages the detector chooses among besides those the store has content in (comma
    # separated). Restricting it keeps detection fast and stops short tickets ("ok thanks")
    # being taken for a language the shop never answers in.
    "DETECT_LANGUAGES": "",
    # Below this confidence the ticket is taken to be in DEFAULT_LANGUAGE.
    "DETECT_MIN_CONFIDENCE": 0.35,
    # A whole request body; a ticket field has its own, tighter limit in the schemas.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Origins allowed to call the API from a browser, besides the server's own: the extension's
    # id is pinned by the `key` in extension/manifest.json (see extension/README.md).
    "CORS_ORIGINS": "chrome-extension://agdaiocgilkaohmjahdndclkkkieaaac",
    # Self-service (server/selfservice): requests per key and client address ("count/seconds"),
    # how long browsers and CDNs may keep an answer, and site origins allowed for every key
    # (each key also carries its shop's own, from `public-key create --origin`).
    "PUBLIC_RATE_LIMIT": "30/60",
    "PUBLIC_MAX_AGE": 300,
    "PUBLIC_CORS_ORIGINS": "",
    # Repeat contacts: the window counted, and from which contact the sidebar warns.
    "REPEAT_WINDOW_DAYS": 14,
    "REPEAT_ALERT_AT": 3,
    # /api/v1/health/ready answers 503 while the index lags the store by more than this many
    # seconds (or disagrees with it), so a load balancer keeps the node out until it caught up.
    "READY_MAX_LAG": 5.0,
    # Seconds between a node's looks at the store's change log for other nodes' writes, and how
    # many writes behind it rebuilds its index aside instead of applying them (server/follower.py).
    "INDEX_FOLLOW_SECONDS": 0.4,
    "INDEX_FOLLOW_MAX_WRITES": 5_000,
    # Processes that build the index in `index rebuild` (0: one per core, at most 4).
    "INDEX_BUILD_PROCS": 0,
    # Load the language models in the background at start (off: on the first detection, which
    # saves a CLI command or a test's short-lived process ~2 s of CPU).
    "WARM_UP": True,
    # Train the learner's models in one niced child process per node and publish them to a file
    # every worker loads (server/trainer.py); off: each process trains its own in a thread.
    "TRAINER_PROCESS": True,
    # The trainer process's niceness: it yields the cores to the serving processes (0: an equal
    # share; the higher, the longer a busy node waits for a retrained model: at 10 on a loaded
    # 2-core machine a 10k training did not finish within a minute, bench/README.md).
    "TRAINER_NICE": 5,
    # On Linux, also run the training under SCHED_IDLE: a serving process that wakes takes the
    # core from it at once. Off by default: on a busy machine it starved the training (the
    # models fell minutes behind) and did not reliably shorten the live tail (bench/README.md,
    # fifth round).
    "TRAINER_IDLE": False,
    # Serve /demo pages (the demo helpdesk). On under `make run`, off by default.
    "DEMO": False,
    # Per-customer offer limits: "strip" counts maria+x@ as maria@ (sub-addressing), "keep"
    # treats them as two customers (server/identity.py).
    "OFFER_SUBADDRESSING": "strip",
    # Memory (MB) each process may give the search cache (postings, lengths, stored fields per
    # index segment); bench/README.md says what 10k snippets take.
    "SEARCH_CACHE_MB": 256,
    # Snippets each process keeps parsed for /suggest (LRU, ~5 KB each), checked against the
    # store's change log once per request (server/readcache.py).
    "SNIPPET_CACHE": 4096,
    # Seconds suggestion events gather before one background write (server/events.py).
    "EVENTS_PAUSE": 0.2,
    # The managers' console: a session idle this long (minutes) ends.
    "CONSOLE_IDLE_MINUTES": 30,
}

ENV_PREFIX = "REPLYASSIST_"
_FLOATS = {"DETECT_MIN_CONFIDENCE", "READY_MAX_LAG", "SEARCH_CACHE_MB", "EVENTS_PAUSE", "INDEX_FOLLOW_SECONDS"}
_INTS = {"MAX_CONTENT_LENGTH", "INDEX_BUILD_PROCS", "INDEX_FOLLOW_MAX_WRITES", "CONSOLE_IDLE_MINUTES", "SNIPPET_CACHE",
         "PUBLIC_MAX_AGE", "REPEAT_WINDOW_DAYS", "REPEAT_ALERT_AT", "TRAINER_NICE"}
_BOOLS = {"DEMO", "TESTING", "WARM_UP", "TRAINER_PROCESS", "TRAINER_IDLE"}


def _coerce(name: str, value: str) -> object:
    if name in _INTS:
        return int(value)
    if name in _FLOATS:
        return float(value)
    if name in _BOOLS:
        return value.lower() in {"1", "true", "yes", "on"}
    return value


def load(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` in order: defaults, instance file, environment, then ``test_config``."""
    app.config.from_mapping(DEFAULTS)
    env = {k[len(ENV_PREFIX):]: _coerce(k[len(ENV_PREFIX):], v)
           for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    home = Path((test_config or {}).get("HOME") or env.get("HOME") or DEFAULTS["HOME"]).resolve()
    app.config.from_pyfile(str(home / "config.py"), silent=True)
    app.config.update(env)
    if test_config:
        app.config.update(test_config)
    app.config["HOME"] = str(home)
    # DATABASE is what the store opens: a SQLite file path or a database URL.
    app.config.setdefault("DATABASE", app.config["DATABASE_URL"] or str(home / "replyassist.sqlite3"))
    app.config.setdefault("INDEX_DIR", str(home / "index"))
