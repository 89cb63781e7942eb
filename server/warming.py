"""Start-up work done off the request path, so the first tickets of a process are not the slow ones."""
from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


def prewarm_search_in_background(app: Flask) -> None:
    """Read the index's postings into the search cache from a background thread (index/prewarm.py),
    up to half of ``SEARCH_CACHE_MB``: a fresh 10k process's first distinct tickets paid ~15% of
    their CPU for cold reads."""
    from index.prewarm import prewarm

    searcher = app.extensions["replyassist.searcher"]
    budget = int(app.config["SEARCH_CACHE_MB"] * 1024 * 1024 / 2)

    def run() -> None:
        try:
            log.info("search cache prewarmed: %s", prewarm(searcher, budget))
        except Exception:  # only a head start: queries read what they need themselves
            log.exception("prewarming the search cache failed")

    threading.Thread(target=run, name="search-prewarm", daemon=True).start()
