"""Verification: what is due or overdue, oldest first, verified in bulk."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from server.console import add_nav, bp
from server.console.session import current, notify, require
from server.db import get_store
from server.errors import Unprocessable
from server.snippets import service

add_nav("console.verification", "Verification")
QUEUE_LIMIT = 500


@bp.get("/verification")
@require("manager")
def verification():
    """The due queue: never verified first, then the longest overdue."""
    store = get_store()
    owner = request.args.get("owner") or None
    if request.args.get("mine"):
        owner = current()["name"]
    due, total = store.library(due=True, owner=owner, sort="due", limit=QUEUE_LIMIT)
    due = [s for s in due if s["status"] != "archived"]
    for item in due:
        item["check"] = service.verification(item)
    overdue = sum(1 for s in due if s["check"]["overdue"])
    return render_template("console/verification.html", items=due, total=len(due), overdue=overdue,
                           owner=owner, all_count=store.count_snippets())


@bp.post("/verification")
@require("manager")
def verify_selected():
    """Verify every ticked snippet as the signed-in manager."""
    keys = request.form.getlist("key")
    if not keys:
        raise Unprocessable("Tick the snippets you checked, then press Verify.")
    count = service.verify_snippets(get_store(), keys, current()["name"])
    notify(f"Verified {count} snippet{'s' * (count != 1)}: {', '.join(keys)}.")
    return redirect(url_for("console.verification", **request.args))
