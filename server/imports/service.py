"""Importing helpdesk macros as reply snippets: convert, report, upsert by source id (or dry-run)."""
from __future__ import annotations

import re
import unicodedata

from marshmallow import ValidationError

from server.db import Store, utcnow
from server.imports.formats import READERS
from server.imports.text import convert_placeholders, html_to_text, tidy
from server.snippets.schemas import snippet_content_schema
from server.snippets.service import SNAPSHOT_FIELDS, save_snippets, to_record

SOURCES = tuple(READERS)


def slug(text: str) -> str:
    """Lowercase ASCII words joined by '-', for keys and tags ('' when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


def split_title(title: str) -> tuple[str, list[str]]:
    """'Returns::Damaged item' → ('Damaged item', ['returns']): categories become tags."""
    parts = [p.strip() for p in title.split("::")]
    parts = [p for p in parts if p] or [title.strip()]
    return parts[-1], [slug(p) for p in parts[:-1] if slug(p)]


def _convert(item: dict, source: str, language: str) -> dict:
    """One helpdesk item → a pack record and its report line."""
    title, category_tags = split_title(item["title"])
    body = html_to_text(item["html"]) if item.get("html") else tidy(item.get("text") or "")
    converted = convert_placeholders(body, source)
    tags = list(dict.fromkeys([*category_tags, *(slug(t) for t in item["tags"] if slug(t)), f"from-{source}"]))
    line = {"source_id": item["source_id"], "title": title, "tags": tags,
            "status": "published" if item["active"] else "draft",
            "translated": sorted({f"{a} → {b}" for a, b in converted.translated}),
            "unknown": list(dict.fromkeys(converted.unknown)), "notes": item["notes"] + converted.notes,
            "key": None, "action": None}
    if not converted.text:
        line.update(action="skipped", notes=line["notes"] + ["no reply text (the macro only sets ticket fields)"])
        return {"line": line}
    record = {"kind": "reply", "language": item.get("language") or language, "title": title[:300],
              "body": converted.text[:20_000], "tags": tags[:30], "fields": converted.fields}
    return {"line": line, "record": record}


def _key(store_keys: set[str], source: str, title: str, source_id: str) -> str:
    base = f"reply/{source}/{slug(title) or source_id}"
    return base if base not in store_keys else f"{base}-{source_id}"


def import_items(store: Store, source: str, data: object, *, actor: str, language: str = "en",
                 dry_run: bool = False) -> dict:
    """Import a helpdesk export: every item reported; nothing written on a dry run."""
    items = READERS[source](data)
    known = store.import_source_keys(source)
    taken = {s["key"] for s in store.iter_snippets()}
    lines, records = [], []
    for item in items:
        result = _convert(item, source, language)
        line = result["line"]
        lines.append(line)
        if "record" not in result:
            continue
        key = known.get(item["source_id"]) or _key(taken, source, line["title"], item["source_id"])
        taken.add(key)
        try:
            data_ = snippet_content_schema.load({"key": key, **result["record"]})
        except ValidationError as exc:
            line.update(action="skipped", key=key, notes=line["notes"] + [f"not valid: {exc.messages}"])
            continue
        record = {**to_record(data_), "status": line["status"]}
        line["key"] = key
        records.append((item["source_id"], record, line))
    existing = store.get_snippets([r["key"] for _, r, _ in records])
    for _, record, line in records:
        old = existing.get(record["key"])
        if old is None:
            line["action"] = "created"
        else:
            merged = {**old, **record}
            line["action"] = "unchanged" if all(merged.get(f) == old.get(f) for f in SNAPSHOT_FIELDS) else "updated"
    if not dry_run and records:
        with store.transaction():
            save_snippets(store, [r for _, r, _ in records], actor, f"import:{source}")
            for source_id, record, _ in records:
                store.set_import_source(source, source_id, record["key"], utcnow())
    counts = {a: sum(1 for line in lines if line["action"] == a)
              for a in ("created", "updated", "unchanged", "skipped")}
    unknown: dict[str, int] = {}
    for line in lines:
        for path in line["unknown"]:
            unknown[path] = unknown.get(path, 0) + 1
    return {"source": source, "dry_run": dry_run, **counts, "unknown_placeholders": unknown, "items": lines}
