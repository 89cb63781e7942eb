"""Knowledge packs (JSON Lines, one snippet a line): validate all, then import all or nothing."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError

from server import inputs
from server.db import Store
from server.snippets.schemas import pack_line_schema
from server.snippets.service import save_snippets, to_api, to_record


@dataclass
class PackReport:
    """What reading one or more packs found."""

    records: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "file:line: message"
    warnings: list[str] = field(default_factory=list)


def read_packs(paths: list[str | Path], store: Store) -> PackReport:
    """Parse and validate every line of every pack; nothing is written."""
    report = PackReport()
    seen: dict[str, str] = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                where = f"{path}:{number}"
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                    bad = inputs.problems(raw)
                    if bad:
                        report.errors.append(f"{where}: " + "; ".join(f"{k}: {v}" for k, v in sorted(bad.items())))
                        continue
                    data = pack_line_schema.load(raw)
                except json.JSONDecodeError as exc:
                    report.errors.append(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
                    continue
                except RecursionError:
                    report.errors.append(f"{where}: nests deeper than {inputs.MAX_DEPTH} levels")
                    continue
                except ValidationError as exc:
                    report.errors.append(f"{where}: {_flatten(exc.messages)}")
                    continue
                if data["key"] in seen:
                    report.errors.append(f"{where}: key {data['key']!r} already appears at {seen[data['key']]}")
                    continue
                seen[data["key"]] = where
                report.records.append(to_record(data))
    _check_links(report, store, seen)
    return report


def _flatten(messages: object, prefix: str = "") -> str:
    if isinstance(messages, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}." if k != "_schema" else prefix)
                         for k, v in messages.items())
    if isinstance(messages, list):
        return f"{prefix.rstrip('.') or 'line'}: " + " ".join(str(m) for m in messages)
    return f"{prefix.rstrip('.')}: {messages}"


def _check_links(report: PackReport, store: Store, seen: dict[str, str]) -> None:
    """Warn (not fail) about links to policies or offers that are nowhere to be found."""
    offers = {o["key"] for o in store.list_offers()}
    linked = {k for r in report.records for k in r.get("policies") or []} - seen.keys()
    known = set(store.get_snippets(sorted(linked)))
    for record in report.records:
        where = seen[record["key"]]
        for policy in record.get("policies") or []:
            if policy not in seen and policy not in known:
                report.warnings.append(f"{where}: links to policy {policy!r}, which is not in the store or pack")
        if record.get("offer") and record["offer"] not in offers:
            report.warnings.append(f"{where}: uses offer {record['offer']!r}, which is not imported yet")


def import_records(store: Store, records: list[dict], actor: str) -> dict[str, int]:
    """Upsert validated records by key, in one transaction."""
    return save_snippets(store, records, actor, "import")


def export_pack(store: Store, path: str | Path, include_archived: bool = False) -> int:
    """Write the store's snippets as a knowledge pack; return how many lines were written."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for snippet in store.iter_snippets():
            if snippet["status"] == "archived" and not include_archived:
                continue
            line = pack_line_schema.dump({**to_api(snippet), "verify_every_days": snippet["verify_every_days"]})
            line = {k: v for k, v in line.items() if v not in (None, [], {}) or k in ("title", "body")}
            for spec in (line.get("fields") or {}).values():
                if not spec.get("choices"):
                    spec.pop("choices", None)  # the default; keeps exported packs as written
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
    return count
