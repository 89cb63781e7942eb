"""Snippet rules: create, change, archive, restore, verify. Every change stores a version."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.db import StaleWrite, Store, utcnow
from server.errors import Conflict, NotFound, Unprocessable
from server.indexing import write_snippets

# The fields a version snapshot holds: everything a manager can change.
SNAPSHOT_FIELDS = ("kind", "default_language", "texts", "tags", "policies", "offer", "when",
                   "fields", "status", "owner", "verified_by", "verified_at", "verify_every_days",
                   "public")


_TEXT_KEYS = {"language", "title", "body", "examples", "translations"}
# Days a snippet may stay due before agents see it flagged in the sidebar.
VERIFY_GRACE_DAYS = 14


def to_record(data: dict) -> dict:
    """Turn API/pack fields (language, title, body, translations) into a stored record."""
    record = {k: v for k, v in data.items() if k not in _TEXT_KEYS}
    if "language" in data:
        record["default_language"] = data["language"]
        main = {"title": data["title"], "body": data["body"], "examples": data.get("examples") or []}
        texts = {data["language"]: main, **(data.get("translations") or {})}
        # Stored only when written, so snippets without examples keep their earlier shape.
        record["texts"] = {lang: {k: v for k, v in t.items() if k != "examples" or v} for lang, t in texts.items()}
    return record


def to_api(snippet: dict) -> dict:
    """Turn a stored snippet into the API/pack shape."""
    lang = snippet["default_language"]
    texts = dict(snippet["texts"])
    main = texts.pop(lang)
    return {
        **{k: snippet[k] for k in ("key", "kind", "tags", "policies", "offer", "when", "fields",
                                   "status", "owner", "version", "created_at", "updated_at",
                                   "updated_by") if k in snippet},
        "public": snippet.get("public") or False,
        "language": lang, "title": main["title"], "body": main["body"], "examples": main.get("examples", []),
        "translations": texts,
        "verification": verification(snippet),
    }


def verification(snippet: dict, now: datetime | None = None) -> dict:
    """Who verified a snippet, when, whether it is due for another check, and since when.

    ``overdue`` (shown to agents) means due for longer than the grace period; a snippet never
    verified counts from its creation, so an old store is not flagged wholesale on upgrade.
    """
    every = snippet.get("verify_every_days")
    at = snippet.get("verified_at")
    now = now or datetime.now(timezone.utc)
    due, due_on, overdue = True, None, False
    since = at or snippet.get("created_at")
    if every and since:
        due_at = datetime.fromisoformat(since) + timedelta(days=every)
        due_on = due_at.date().isoformat()
        overdue = due_at + timedelta(days=VERIFY_GRACE_DAYS) < now
        if at:
            due = due_at < now
    return {"verified_by": snippet.get("verified_by"), "verified_at": at,
            "verify_every_days": every, "due": due, "due_on": due_on, "overdue": overdue}


def get_snippet(store: Store, key: str) -> dict:
    """A snippet by key, or NotFound."""
    snippet = store.get_snippet(key)
    if snippet is None:
        raise NotFound(f"No snippet has the key {key!r}.")
    return snippet


def _snapshot(record: dict) -> dict:
    return {f: record.get(f) for f in SNAPSHOT_FIELDS}


def save_snippets(store: Store, records: list[dict], actor: str | None, action: str,
                  expected_version: int | None = None) -> dict[str, int]:
    """Create or update several snippets (by key) in one transaction; count what happened.

    Unchanged snippets get no new version. The index is updated in the same transaction.
    ``expected_version`` (one record): Conflict unless the stored snippet is at that version
    when the transaction reads it; a writer on another node that commits in between makes the
    conditional update fail (StaleWrite), which is the same Conflict.
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    changed = []
    now = utcnow()
    with store.transaction():
        existing = store.get_snippets([r["key"] for r in records])
        for record in records:
            old = existing.get(record["key"])
            if expected_version is not None and old and old["version"] != expected_version:
                raise _edited_meanwhile(record["key"], old["version"], expected_version)
            if action == "create" and old:  # created by another writer since the caller looked
                raise _taken(record["key"])
            outcome, new = _merge(old, record, actor, now)
            counts[outcome] += 1
            if outcome == "created":
                try:
                    new["id"] = store.insert_snippet(new)
                except StaleWrite:  # another node's transaction created it meanwhile
                    raise _taken(record["key"]) from None
            elif outcome == "unchanged":
                continue
            else:
                new.update(version=old["version"] + 1, updated_at=now, updated_by=actor)
                try:
                    store.update_snippet(old["id"], new)
                except StaleWrite:
                    raise _edited_meanwhile(record["key"], old["version"] + 1, old["version"]) from None
            store.add_version(new["id"], new["version"], action, _snapshot(new), actor, now)
            changed.append(new)
        if changed:
            write_snippets(store, changed)
    return counts


def _merge(old: dict | None, record: dict, actor: str | None, now: str) -> tuple[str, dict]:
    """What saving ``record`` over ``old`` gives: created, updated or unchanged, and the result.

    A new snippet starts verified by its creator (day one is not "everything due").
    """
    if old is None:
        new = {"status": "published", "verify_every_days": 180, "verified_by": actor,
               "verified_at": now if actor else None, **record,
               "version": 1, "updated_at": now, "updated_by": actor}
        return "created", new
    new = {**old, **record}
    return ("unchanged" if _snapshot(new) == _snapshot(old) else "updated"), new


def plan_snippets(store: Store, records: list[dict]) -> dict[str, int]:
    """What ``save_snippets`` would do with these records, without writing (a dry run)."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    existing = store.get_snippets([r["key"] for r in records])
    for record in records:
        counts[_merge(existing.get(record["key"]), record, None, utcnow())[0]] += 1
    return counts


def _taken(key: str) -> Conflict:
    return Conflict(f"A snippet with the key {key!r} already exists; change it with PATCH.")


def create_snippet(store: Store, data: dict, actor: str) -> dict:
    """Create a snippet; Conflict if its key is taken, also by a writer that commits meanwhile."""
    save_snippets(store, [to_record(data)], actor, "create")
    return get_snippet(store, data["key"])


def merge_patch(target: object, patch: object) -> object:
    """``patch`` applied to ``target`` as JSON Merge Patch (RFC 7396): objects merge, null removes."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


_MERGED = ("translations", "when", "fields")  # objects a PATCH merges into the stored ones


def update_snippet(store: Store, key: str, changes: dict, actor: str) -> dict:
    """Apply a partial change (JSON Merge Patch); Conflict if the caller edited an older version."""
    current = get_snippet(store, key)
    stored = to_api(current)
    changes = {**changes, **{name: merge_patch(stored[name], changes[name]) for name in _MERGED if name in changes}}
    incomplete = sorted(lang for lang, text in changes.get("translations", {}).items()
                        if not (text.get("title") and text.get("body")))
    if incomplete:
        raise Unprocessable("A new translation needs both a title and a body.",
                            errors={"translations": {lang: ["Send both title and body."] for lang in incomplete}})
    unlabelled = sorted(name for name, spec in changes.get("fields", {}).items() if not spec.get("label"))
    if unlabelled:
        raise Unprocessable("A new field needs a label.",
                            errors={"fields": {name: ["Send a label."] for name in unlabelled}})
    expected = changes.pop("expected_version", None)
    if expected is not None and expected != current["version"]:
        raise _edited_meanwhile(key, current["version"], expected)
    if changes.pop("key", key) != key:
        raise Unprocessable("A snippet's key cannot change; create a new snippet and archive this one.",
                            errors={"key": ["Keys are stable; this one is " + repr(key) + "."]})
    record = {k: v for k, v in changes.items() if k not in _TEXT_KEYS}
    if _TEXT_KEYS & changes.keys():
        merged = {**stored, **changes}
        # The schema checks this only when both fields are sent; a partial change can still
        # name the default language among translations, which would overwrite its text.
        if merged["language"] in merged["translations"]:
            raise Unprocessable("The default language cannot also be a translation.",
                                errors={"translations": ["Do not repeat the default language among translations."]})
        record.update(to_record({k: merged[k] for k in _TEXT_KEYS}))
    record["key"] = key
    save_snippets(store, [record], actor, "update", expected_version=expected)
    return get_snippet(store, key)


def _edited_meanwhile(key: str, current: int, expected: int) -> Conflict:
    return Conflict(f"Snippet {key!r} is at version {current}, not {expected}: "
                    "someone changed it meanwhile. Reload it and apply your change again.",
                    current_version=current)


def archive_snippet(store: Store, key: str, actor: str) -> dict:
    """Retire a snippet: it leaves suggestions and search but keeps its history."""
    get_snippet(store, key)
    save_snippets(store, [{"key": key, "status": "archived"}], actor, "archive")
    return get_snippet(store, key)


def verify_snippet(store: Store, key: str, actor: str) -> dict:
    """Record that ``actor`` checked the snippet and it is still right."""
    verify_snippets(store, [key], actor)
    return get_snippet(store, key)


def verify_snippets(store: Store, keys: list[str], actor: str) -> int:
    """Verify several snippets at once (all or none); return how many."""
    for key in keys:
        get_snippet(store, key)
    now = utcnow()
    save_snippets(store, [{"key": k, "verified_by": actor, "verified_at": now} for k in keys], actor, "verify")
    return len(keys)


def list_versions(store: Store, key: str) -> list[dict]:
    """A snippet's versions, newest first."""
    return store.list_versions(get_snippet(store, key)["id"])


def get_version(store: Store, key: str, version: int) -> dict:
    """One version of a snippet."""
    found = store.get_version(get_snippet(store, key)["id"], version)
    if found is None:
        raise NotFound(f"Snippet {key!r} has no version {version}.")
    return found


def restore_version(store: Store, key: str, version: int, actor: str) -> dict:
    """Make an old version current again, as a new version (history is never rewritten)."""
    old = get_version(store, key, version)
    save_snippets(store, [{"key": key, **old["snapshot"]}], actor, f"restore:{version}")
    return get_snippet(store, key)
