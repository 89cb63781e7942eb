"""Console pages of issue 11: analytics with charts, content gaps, helpdesk imports, feedback."""
from __future__ import annotations

import json
import secrets
import shutil

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from server.analytics import service as reporting
from server.analytics.schemas import range_query
from server.console import add_nav, bp
from server.console.charts import bars, columns
from server.console.common import language_name, languages
from server.console.packs import _UPLOAD_ID, _uploads
from server.console.session import current, notify, require
from server.db import get_store
from server.analytics.csvout import csv_response
from server.errors import NotFound, Unprocessable
from server.gaps.routes import CSV_COLUMNS, csv_rows
from server.feedback import service as feedback
from server.gaps import service as gaps
from server.imports import service as importer
from server.insights import fresh_events

add_nav("console.analytics", "Analytics")
add_nav("console.content_gaps", "Content gaps")
add_nav("console.imports", "Helpdesk import")
TOP = 12  # snippets and agents drawn in a chart (the table beside it has them all)


def _range() -> tuple[dict, dict]:
    """The filters from the query (bad ones fall back to the defaults, with the problem shown)."""
    fresh_events()
    args = {k: v for k, v in request.args.items() if k in ("from", "to", "language") and v}
    try:
        return range_query.load(args), {}
    except ValidationError as exc:
        return range_query.load({}), exc.messages


@bp.get("/analytics")
@require("manager")
def analytics():
    """Use of snippets, per day, offers, agents, unused snippets and edits, with charts and tables."""
    q, problems = _range()
    store = get_store()
    reports = {name: reporting.report(store, name, q) for name in reporting.REPORTS}
    daily = reports["daily"]["rows"]
    snippets = reports["snippets"]["rows"][:TOP]
    charts = {
        "daily": columns([(r["date"], r["insertions"]) for r in daily], label="Insertions per day"),
        "snippets": bars([(f"{r['title']} · {r['language']}", r["inserted"], r["shown"]) for r in snippets],
                         label="Inserted out of shown, per snippet", names=("inserted", "shown")),
        "offers": bars([(f"{r['label'] or r['key']} · {r['issued']} issued"
                         + (f", pool {r['pool_free']}/{r['pool_total']} free" if r["pool_total"] else ""),
                         r["busiest_agent_day"], r["per_agent_per_day"] or r["busiest_agent_day"])
                        for r in reports["offers"]["rows"]],
                       label="Busiest agent-day against the daily limit per agent, per offer",
                       names=("busiest agent-day", "daily limit per agent")),
        "agents": bars([(r["agent"], r["insertions"], r["tickets_shown"]) for r in reports["agents"]["rows"][:TOP]],
                       label="Insertions out of tickets shown, per agent", names=("inserted", "tickets shown")),
    }
    query = {"from": q["from"].isoformat(), "to": q["to"].isoformat(), **({"language": q["language"]} if q.get("language") else {})}
    return render_template("console/analytics.html", q=q, query=query, problems=problems, reports=reports,
                           charts=charts, all_languages=languages(), language_name=language_name)


@bp.get("/content-gaps")
@require("manager")
def content_gaps():
    """Topics of tickets where nothing was inserted, each with a way to write the answer."""
    q, problems = _range()
    result = gaps.content_gaps(get_store(), q)
    query = {"from": q["from"].isoformat(), "to": q["to"].isoformat(), **({"language": q["language"]} if q.get("language") else {})}
    return render_template("console/gaps.html", q=q, query=query, problems=problems, result=result,
                           all_languages=languages(), language_name=language_name)


@bp.post("/content-gaps/dismiss")
@require("manager")
def dismiss_gap():
    """Dismiss one topic (its tickets, as the page listed them)."""
    ids = [t for t in request.form.get("ticket_ids", "").split("\n") if t.strip()]
    terms = [t for t in request.form.get("terms", "").split(",") if t.strip()]
    done = gaps.dismiss(get_store(), {"ticket_ids": ids[:5000], "terms": terms[:20]}, current()["name"])
    notify(f"Dismissed the topic “{', '.join(terms[:3])}”: {done['hidden']} tickets hidden.")
    return redirect(url_for("console.content_gaps", **{k: v for k, v in request.form.items()
                                                        if k in ("from", "to", "language") and v}))


@bp.get("/imports")
@require("manager")
def imports():
    """Upload a helpdesk export for a dry run."""
    return render_template("console/imports.html", report=None, sources=importer.SOURCES)


def _read_upload(upload_id: str) -> object:
    try:
        return json.loads((_uploads() / upload_id / "export.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise Unprocessable(f"The file is not valid JSON: {exc.msg} (line {exc.lineno}).") from exc


@bp.post("/imports")
@require("manager")
def run_import():
    """Dry run of an upload (stored for the import that follows), or the import of a checked one."""
    source, language = request.form.get("source", ""), request.form.get("language", "en")
    if source not in importer.SOURCES:
        raise Unprocessable(f"Choose where the file comes from: {', '.join(importer.SOURCES)}.")
    upload_id = request.form.get("upload", "")
    if not upload_id:
        upload = request.files.get("export")
        if upload is None or not upload.filename:
            raise Unprocessable("Choose the JSON file your helpdesk exported.")
        upload_id = secrets.token_urlsafe(24)
        (_uploads() / upload_id).mkdir()
        upload.save(_uploads() / upload_id / "export.json")
    elif not _UPLOAD_ID.match(upload_id) or not (_uploads() / upload_id / "export.json").exists():
        raise Unprocessable("That upload is gone; upload the file again.")
    dry_run = request.form.get("confirm") != "1"
    report = importer.import_items(get_store(), source, _read_upload(upload_id), actor=current()["name"],
                                  language=language if language in languages() else "en", dry_run=dry_run)
    if dry_run:
        return render_template("console/imports.html", report=report, sources=importer.SOURCES,
                               upload=upload_id, source=source, language=language)
    shutil.rmtree(_uploads() / upload_id, ignore_errors=True)
    notify("Imported from {source}: {created} created, {updated} updated, {unchanged} unchanged, "
           "{skipped} skipped.".format(**report))
    return redirect(url_for("console.imports"))


@bp.app_template_global()
def snippet_feedback(key: str) -> dict:
    """Agents' "not helpful" on a snippet, for its editor page."""
    return feedback.for_snippet(get_store(), key)


@bp.get("/analytics/<name>.csv")
@require("manager")
def analytics_csv(name: str):
    """One report as CSV, with the page's filters."""
    if name not in reporting.REPORTS:
        raise NotFound(f"No report {name!r}.")
    q, _ = _range()
    result = reporting.report(get_store(), name, q)
    return csv_response(result["columns"], result["rows"], f"{name}-{result['from']}-{result['to']}.csv")


@bp.get("/exports/<name>.csv")
@require("manager")
def export_csv(name: str):
    """Insertions or codes of the range, as CSV for the shop's own BI."""
    q, _ = _range()
    store = get_store()
    if name == "insertions":
        rows, columns_ = store.insertions_between(q["start"], q["end"], q.get("language")), reporting.INSERTION_COLUMNS
    elif name == "codes":
        rows, columns_ = store.codes_between(q["start"], q["end"]), reporting.CODE_COLUMNS
    else:
        raise NotFound(f"No export {name!r}; there are insertions and codes.")
    return csv_response(columns_, rows, f"{name}-{q['from']}-{q['to']}.csv")


@bp.get("/content-gaps.csv")
@require("manager")
def content_gaps_csv():
    """The topics as CSV."""
    q, _ = _range()
    result = gaps.content_gaps(get_store(), q)
    return csv_response(CSV_COLUMNS, csv_rows(result), f"content-gaps-{result['from']}-{result['to']}.csv")
