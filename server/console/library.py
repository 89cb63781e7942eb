"""The snippet library: filters managers use, full-text search (the same index), sorting."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import render_template, request

from server.console import add_nav, bp
from server.console.common import PAGE_SIZE, language_name, languages, page_number, page_url
from server.console.session import require
from server.db import get_store
from server.indexing import searcher
from server.snippets.service import verification

add_nav("console.library", "Snippets")

SORTS = {"key": "Key", "updated": "Last change", "usage": "Most used", "due": "Verification due"}
SEARCH_LIMIT = 200


def _filters() -> dict:
    args = request.args
    unused = args.get("unused", "").strip()
    return {
        "q": args.get("q", "").strip()[:200],
        "kind": args.get("kind") if args.get("kind") in ("policy", "reply") else None,
        "status": args.get("status") if args.get("status") in ("draft", "published", "archived") else None,
        "tag": args.get("tag") or None,
        "missing": args.get("missing") if args.get("missing", "").isalpha() else None,
        "owner": args.get("owner") or None,
        "due": args.get("due") == "1",
        "unused": int(unused) if unused.isdigit() and 0 < int(unused) < 3650 else None,
        "sort": args.get("sort") if args.get("sort") in SORTS else "key",
    }


@bp.get("/snippets")
@require("manager")
def library():
    """Every snippet, filtered and sorted as a manager asks."""
    f = _filters()
    store = get_store()
    keys = None
    if f["q"]:
        keys = [hit.key for hit in searcher().search(f["q"], limit=SEARCH_LIMIT)]
    unused_since = None
    if f["unused"]:
        unused_since = (datetime.now(timezone.utc) - timedelta(days=f["unused"])).isoformat(timespec="seconds")
    page = page_number()
    items, total = store.library(
        keys=keys, text=f["q"] or None, kind=f["kind"], status=f["status"], tag=f["tag"],
        missing=f["missing"], owner=f["owner"], due=f["due"], unused_since=unused_since, sort=f["sort"],
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    for item in items:
        item["check"] = verification(item)
    values = store.distinct_values()
    return render_template("console/library.html", items=items, total=total, f=f, sorts=SORTS,
                           values=values, all_languages=languages(values["languages"]),
                           language_name=language_name, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           page_url=page_url)
