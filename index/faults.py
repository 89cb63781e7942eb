"""Named points where tests make a process die or wait (test-only; off unless the env asks).

``REPLYASSIST_CRASH_AT=<point>[:<n>]`` kills the process with SIGKILL the n-th time (default
the first) it reaches ``<point>``, as a power cut would: no cleanup, no rollback handlers.
``REPLYASSIST_PAUSE_AT=<point>`` makes it create ``<point>.paused`` in
``REPLYASSIST_PAUSE_DIR`` and wait there until a test deletes the file. The crash-consistency
tests (tests/api/test_crash_consistency.py) use both; production never sets them.
"""
from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

_seen: Counter = Counter()
_paused: set[str] = set()


def point(name: str) -> None:
    """A place where a test may kill or pause this process."""
    crash = os.environ.get("REPLYASSIST_CRASH_AT")
    pause = os.environ.get("REPLYASSIST_PAUSE_AT")
    if not crash and not pause:
        return
    _seen[name] += 1
    if crash:
        wanted, _, nth = crash.partition(":")
        if wanted == name and _seen[name] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
    if pause == name and name not in _paused:  # once per process
        _paused.add(name)
        flag = Path(os.environ.get("REPLYASSIST_PAUSE_DIR", ".")) / f"{name}.paused"
        flag.write_text(str(os.getpid()))
        while flag.exists():
            time.sleep(0.02)
