"""Workers starting together (gunicorn) rebuild a missing index once, not once each."""
from __future__ import annotations

import logging
import shutil
import threading

from server.indexing import ensure_index, index_health


def test_workers_starting_together_rebuild_a_missing_index_once(demo, store, caplog):
    shutil.rmtree(demo.config["INDEX_DIR"])
    errors: list[BaseException] = []

    def start() -> None:  # what each worker's create_app does first
        try:
            ensure_index(demo)
        except BaseException as exc:
            errors.append(exc)

    caplog.set_level(logging.WARNING, logger="server.indexing")
    workers = [threading.Thread(target=start) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert sum("rebuilding the search index" in r.getMessage() for r in caplog.records) == 1
    health = index_health(store, demo.config["INDEX_DIR"])
    assert health["state"] == "in_step" and health["last_rebuild"]["documents"] > 0
