"""POST /imports/<source>: a helpdesk export (Zendesk, Freshdesk, Gorgias) as reply snippets."""
from __future__ import annotations

from flask import Blueprint

from server.api import API_PREFIX, doc, json_body, query_args
from server.auth import current_user, require
from server.db import get_store
from server.errors import NotFound
from server.imports import service
from server.imports.schemas import import_query, import_report_schema

bp = Blueprint("imports", __name__, url_prefix=API_PREFIX)


@bp.post("/imports/<source>")
@require("manager")
@doc(summary="Import a helpdesk export (" + ", ".join(service.SOURCES) + "); dry_run=true only reports",
     query=import_query, response=import_report_schema)
def import_export(source: str):
    if source not in service.SOURCES:
        raise NotFound(f"No importer for {source!r}; there are {', '.join(service.SOURCES)}.")
    q = query_args(import_query)
    report = service.import_items(get_store(), source, json_body(), actor=current_user()["name"],
                                  language=q["language"], dry_run=q["dry_run"])
    return import_report_schema.dump(report)
