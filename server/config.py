"""Configuration: defaults, then ``REPLYASSIST_HOME/config.py``, then ``REPLYASSIST_*`` variables."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

DEFAULTS = {
    # Everything the server writes lives under HOME: the SQLite file and the Whoosh index.
    "HOME": "instance",
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
    # Serve /demo pages (the demo helpdesk). On under `make run`, off by default.
    "DEMO": False,
}

ENV_PREFIX = "REPLYASSIST_"
_FLOATS = {"DETECT_MIN_CONFIDENCE"}
_INTS = {"MAX_CONTENT_LENGTH"}
_BOOLS = {"DEMO", "TESTING"}


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
    app.config.setdefault("DATABASE", str(home / "replyassist.sqlite3"))
    app.config.setdefault("INDEX_DIR", str(home / "index"))
