"""Start-up work done off the request path, so the first tickets of a process are not the slow ones."""
from __future__ import annotations

import gc
import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


def prewarm_search_in_background(app: Flask) -> None:
    """From a background thread: read the index's postings into the search cache (index/prewarm.py,
    up to half of ``SEARCH_CACHE_MB``), then the published snippets' word pairs for the phrase
    step (server/phrasecache.py) and their character grams for the wording step (server/gramcache.py).
    A fresh 10k process's first distinct tickets paid ~15% of their CPU for cold postings, ~20% for
    analysing candidates' texts and ~40% for counting their grams."""
    from index.prewarm import prewarm
    from server import phrasecache
    from server.db import connect, Store
    from server.ranking import prewarm_wording

    searcher = app.extensions["replyassist.searcher"]
    budget = int(app.config["SEARCH_CACHE_MB"] * 1024 * 1024 / 2)
    database = app.config["DATABASE"]

    def run() -> None:
        try:
            log.info("search cache prewarmed: %s", prewarm(searcher, budget))
            store = Store(connect(database))
            try:
                log.info("phrase pairs prewarmed: %s", phrasecache.prewarm(store.iter_snippets(status="published")))
                log.info("wording grams prewarmed: %s", prewarm_wording(store.iter_snippets(status="published")))
            finally:
                store.close()
        except Exception:  # only a head start: queries read what they need themselves
            log.exception("prewarming the search cache failed")
        # What start-up loaded (models, caches: millions of objects) lives as long as the process:
        # out of the collector's sight, a full collection no longer walks it while a request waits
        # (at 100k: 113 ms quiet, 940 ms at load 10, in process; 0.0 ms after; ~5% of a request
        # at 10k). Freed as usual when its last reference goes.
        gc.freeze()
        log.info("start-up objects frozen for the garbage collector: %d", gc.get_freeze_count())

    threading.Thread(target=run, name="search-prewarm", daemon=True).start()
