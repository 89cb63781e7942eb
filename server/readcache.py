"""Store reads the suggest path repeats, cached per process and checked once per request.

A /suggest read the same rows again and again: the token's user, the synonyms, the value
labels, the offers, and the snippets it ranks and shows (parsing their JSON was ~14% of a 10k
request; on PostgreSQL each read is a round trip). Here one statement per request
(``Store.read_versions``) says whether any of it changed, in this process or any other, on
this node or another:

- **snippets** follow the index's change log (server/indexing.py): every transaction that
  writes a snippet appends a write to it, so the snippets changed since the cache's position
  are exactly ``index_keys_since(position)``; only those are dropped. A log that no longer
  holds the cache's position (trimmed, or a store restored from a backup) drops everything.
- **users, synonyms, value labels, offers** change rarely: each write of them bumps the
  store's settings version (``Store.bump_settings_version``), which drops them all.

Order makes it safe: a request reads the versions before the rows, and writers bump after
(or with) the rows, so a row read is never older than the versions it is filed under. A row
fetched while another thread moved the cache on is returned but not kept (``_epoch``).

What the cache hands out is shared between requests: callers read it, never change it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app, g

from server.db import Store, get_store

SNIPPETS = 4096  # snippets kept (LRU; config SNIPPET_CACHE); ~5 KB each with their texts


class ReadCache:
    """One process's cached reads of one store, shared by its request threads."""

    def __init__(self, snippets: int = SNIPPETS) -> None:
        self.capacity = snippets
        self._lock = threading.Lock()
        self._snippets: OrderedDict[str, dict | None] = OrderedDict()
        self._position: tuple[int, str] | None = None  # the change-log write the snippets reflect
        self._epoch = 0  # moves whenever snippets are dropped: rows fetched before it are not kept
        self._settings_version: int | None = None
        self._settings: dict[tuple, object] = {}
        self.hits = self.misses = 0

    def view(self, store: Store) -> CachedStore:
        """The store seen through this cache for one request."""
        return CachedStore(store, self)

    # -- keeping in step ---------------------------------------------------------------------
    def follow(self, store: Store, head: tuple[int, str], settings_version: int) -> int:
        """Drop what changed up to these versions; return the snippet epoch the request reads in."""
        with self._lock:
            if settings_version != self._settings_version:  # either way: a restored store goes back
                self._settings.clear()
                self._settings_version = settings_version
        while True:
            with self._lock:
                position, epoch = self._position, self._epoch
            if position == head:
                return epoch
            changed = None  # first use, or a log that lost our position: nothing is known
            if position is not None:
                with store.snapshot():
                    known = store.has_index_write(*position)
                    if known and head[0] > position[0]:
                        changed = store.index_keys_since(position[0])
                if known and head[0] <= position[0]:
                    return epoch  # another thread already follows a newer head: its rows are fresher
            with self._lock:
                if self._position != position:  # another thread moved on meanwhile: again from there
                    continue
                if changed is None:
                    self._snippets.clear()
                else:
                    for key in changed:
                        self._snippets.pop(key, None)
                self._position = head
                self._epoch += 1
                return self._epoch

    # -- snippets ----------------------------------------------------------------------------
    def snippets(self, store: Store, keys: list[str], epoch: int) -> dict[str, dict]:
        """Snippets by key (unknown keys left out), from the cache or the store."""
        found: dict[str, dict] = {}
        wanted = []
        with self._lock:
            for key in keys:
                if key in self._snippets:
                    self._snippets.move_to_end(key)
                    snippet = self._snippets[key]
                    if snippet is not None:
                        found[key] = snippet
                else:
                    wanted.append(key)
            self.hits += len(keys) - len(wanted)
            self.misses += len(wanted)
        if not wanted:
            return found if len(found) == len(keys) else {k: found[k] for k in keys if k in found}
        read = store.get_snippets(wanted)
        with self._lock:
            if epoch == self._epoch:  # nothing was dropped since the versions were read
                for key in wanted:
                    self._snippets[key] = read.get(key)  # None: known to be absent
                while len(self._snippets) > self.capacity:
                    self._snippets.popitem(last=False)
        found.update(read)
        return {k: found[k] for k in keys if k in found}

    # -- settings ----------------------------------------------------------------------------
    def setting(self, key: tuple, version: int, load):
        """A value derived from users, synonyms, labels or offers, cached under the settings version."""
        with self._lock:
            if version == self._settings_version and key in self._settings:
                return self._settings[key]
        value = load()
        with self._lock:
            if version == self._settings_version:
                self._settings[key] = value
        return value

    def holds(self, key: str) -> bool:
        """Whether a snippet is cached now."""
        with self._lock:
            return self._snippets.get(key) is not None

    def stats(self) -> dict:
        """Snippets kept, hits and misses so far."""
        with self._lock:
            return {"snippets": len(self._snippets), "capacity": self.capacity, "hits": self.hits,
                    "misses": self.misses}


class CachedStore:
    """A request's store with its repeated reads answered by the process's cache.

    For read-only request paths (auth, /suggest, public answers): the versions are read once,
    at the first cached read, so a write made later in the same request is not seen through
    it. Everything else goes to the store itself.
    """

    def __init__(self, store: Store, cache: ReadCache) -> None:
        self.store, self.cache = store, cache
        self._versions: tuple[int, str, int, int] | None = None
        self._epoch = -1

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def _check(self) -> tuple[int, str, int, int]:
        if self._versions is None:
            self._versions = self.store.read_versions()
            seq, token, _data, settings = self._versions
            self._epoch = self.cache.follow(self.store, (seq, token), settings)
        return self._versions

    def data_version(self) -> int:
        """How many snippet writes and insertions the store has seen (read with the versions)."""
        return self._check()[2]

    def get_snippets(self, keys: list[str]) -> dict[str, dict]:
        """Snippets by key, unknown keys left out (shared: read only)."""
        self._check()
        return self.cache.snippets(self.store, keys, self._epoch)

    def get_snippet(self, key: str) -> dict | None:
        """One snippet by key, or None (shared: read only)."""
        return self.get_snippets([key]).get(key)

    def _setting(self, key: tuple, load):
        return self.cache.setting(key, self._check()[3], load)

    def user_by_token_hash(self, token_hash: str) -> dict | None:
        """The active user owning a token hash, or None."""
        return self._setting(("user", token_hash), lambda: self.store.user_by_token_hash(token_hash))

    def get_synonyms(self) -> dict[str, list[list[str]]]:
        """Synonym groups by language (shared: read only)."""
        return self._setting(("synonyms",), self.store.get_synonyms)

    def value_labels(self, language: str | None = None) -> dict:
        """Value labels, as ``Store.value_labels`` (shared: read only)."""
        return self._setting(("labels", language), lambda: self.store.value_labels(language))

    def get_offer(self, key: str) -> dict | None:
        """One offer by key, or None (shared: read only)."""
        return self._setting(("offer", key), lambda: self.store.get_offer(key))


def cached_store() -> CachedStore:
    """This request's store through the process's read cache (one per request)."""
    if "cached_store" not in g:
        g.cached_store = current_app.extensions["replyassist.reads"].view(get_store())
    return g.cached_store


def init_app(app) -> None:
    """Give the app its read cache."""
    app.extensions["replyassist.reads"] = ReadCache(app.config["SNIPPET_CACHE"])
