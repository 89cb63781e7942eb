"""The snippet editor: languages side by side, fields and conditions in forms, live preview,
saves guarded by version (a second editor's save is refused with a diff), history and restore."""
from __future__ import annotations


import json
import re

from flask import current_app, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError

from server import preview as previews
from server.console import bp
from server.console import diff as diffs
from server.console.common import direction, language_name, languages
from server.console.forms import EXTRA_ROWS, FIELD_TYPES, WHEN_PATHS, form_from_snippet, inline_errors, parse
from server.console.session import current, notify, require
from server.db import get_store
from server.demo.tickets import AGENT, TICKETS
from server.errors import ApiError, Conflict, Unprocessable
from server.snippets import service
from server.snippets.schemas import snippet_patch_schema, snippet_schema

_TICKET_KEYS = ("id", "subject", "body", "customer", "order", "agent")


def _demo_tickets() -> dict[str, dict]:
    # The demo helpdesk's agent signs them, as the sidebar would send it.
    return {t["id"]: {"agent": AGENT, **{k: t[k] for k in _TICKET_KEYS if k in t}} for t in TICKETS}


def _blank() -> dict:
    return {"key": "", "kind": "reply", "language": "en", "status": "draft", "owner": current()["name"],
            "verify_every_days": 180, "tags": "", "texts": {}, "offer": "", "policies": [], "fields": [],
            "when": [], "version": None}


def _render(values: dict, *, stored: dict | None = None, errors: dict | None = None, result: dict | None = None,
            conflict: dict | None = None, status: int = 200, sample: str | None = None, chosen: str = ""):
    store = get_store()
    langs = languages([*values["texts"], *(stored["texts"] if stored else {})])
    stale = set()
    if stored:
        stale = diffs.stale_languages(store.list_versions(stored["id"]), stored["default_language"])
    owners = [u["name"] for u in store.list_users() if u["role"] in ("manager", "admin") and u["active"]]
    demo = _demo_tickets()
    return render_template(
        "console/editor.html", v=values, stored=stored, errors=errors or {}, result=result, conflict=conflict,
        langs=langs, language_name=language_name, direction=direction, stale=stale,
        offers=store.list_offers(), policy_keys=[p["key"] for p in store.iter_snippets() if p["kind"] == "policy"],
        owners=sorted({*owners, *([values["owner"]] if values["owner"] else [])}), field_types=FIELD_TYPES,
        when_paths=WHEN_PATHS, extra_rows=EXTRA_ROWS, demo_tickets=demo, chosen_ticket=chosen,
        sample_ticket=sample if sample is not None else json.dumps(next(iter(demo.values())), ensure_ascii=False, indent=2),
    ), status


def _preview_from_form(values: dict) -> tuple[dict | None, str, str]:
    """Preview the form's snippet over the chosen demo ticket or the edited sample."""
    chosen = request.form.get("preview_ticket", "")
    sample = request.form.get("sample_ticket", "")
    try:
        ticket = _demo_tickets()[chosen] if chosen in _demo_tickets() else json.loads(sample or "{}")
        if not isinstance(ticket, dict):
            raise ValueError
    except ValueError:
        return {"error": "The sample ticket is not valid JSON: check its quotes, commas and braces."}, sample, chosen
    ticket.setdefault("id", "preview")
    record = service.to_record({k: values[k] for k in ("key", "kind", "language", "title", "body", "translations",
                                                       "when", "fields", "offer", "policies")})
    record["key"] = record["key"] or "preview"
    lang = request.form.get("preview_language") or None
    try:
        result = previews.preview(get_store(), record, ticket, lang, current()["name"], current_app.config)
    except ValidationError as exc:
        return {"error": "The sample ticket does not have the shape of a ticket: "
                         + json.dumps(exc.messages, ensure_ascii=False)}, sample, chosen
    return result, sample, chosen


def prefill_values(args) -> dict:
    """Editor values from a query: kind, language, title, body, tags (bounded, never trusted)."""
    lang = args.get("language", "en") if re.fullmatch(r"[a-z]{2,3}", args.get("language", "")) else "en"
    key = args.get("key", "") if re.fullmatch(r"[a-z0-9][a-z0-9_./-]{0,199}", args.get("key", "")) else ""
    return {"key": key, "kind": "policy" if args.get("kind") == "policy" else "reply", "language": lang,
            "tags": args.get("tags", "")[:300],
            "texts": {lang: {"title": args.get("title", "")[:300], "body": args.get("body", "")[:20_000]}}}


@bp.get("/snippets/new")
@require("manager")
def new_snippet():
    """An empty editor, or one pre-filled from the query ("write an answer" of content gaps)."""
    values = _blank()
    if request.args.get("prefill"):
        values.update(prefill_values(request.args))
    return _render(values)


@bp.get("/snippets/edit/<path:key>")
@require("manager")
def edit_snippet(key: str):
    """The editor over a stored snippet."""
    stored = service.get_snippet(get_store(), key)
    return _render(form_from_snippet(service.to_api(stored) | {"verify_every_days": stored["verify_every_days"]}),
                   stored=stored)


@bp.post("/snippets/new")
@bp.post("/snippets/edit/<path:key>")
@require("manager")
def save_snippet(key: str | None = None):
    """Save (create or update with the version guard), or show a preview of the form."""
    store = get_store()
    stored = service.get_snippet(store, key) if key else None
    langs = languages([*(stored["texts"] if stored else {})])
    values, body, problems = parse(request.form, langs)
    if key:
        values["key"] = body["key"] = key
    if request.form.get("action") == "preview":
        result, sample, chosen = _preview_from_form(body)
        return _render(values, stored=stored, result=result, sample=sample, chosen=chosen)
    sample, chosen = request.form.get("sample_ticket"), request.form.get("preview_ticket", "")
    try:
        schema = snippet_schema if stored is None else snippet_patch_schema
        loaded = schema.load(body if stored is None else {**body, "version": values["version"]})
    except ValidationError as exc:
        problems = {**problems, **inline_errors(exc.messages, values)}
    if problems:
        return _render(values, stored=stored, errors=problems, status=422, sample=sample, chosen=chosen)
    try:
        if stored is None:
            saved = service.create_snippet(store, loaded, current()["name"])
        else:
            saved = service.update_snippet(store, key, loaded, current()["name"])
    except Conflict as exc:
        if stored is None or "current_version" not in exc.extra:
            return _render(values, stored=stored, errors={"key": [exc.detail]}, status=409, sample=sample, chosen=chosen)
        latest = service.get_snippet(store, key)
        mine = service.to_record({**body, "key": key})
        conflict = {"detail": exc.detail, "by": latest["updated_by"], "at": latest["updated_at"],
                    "version": latest["version"], "mine": values["version"],
                    "changes": diffs.snapshots(latest, {**latest, **mine})}
        values["version"] = latest["version"]  # saving again is a deliberate overwrite of this version
        return _render(values, stored=latest, conflict=conflict, status=409, sample=sample, chosen=chosen)
    except Unprocessable as exc:
        errors = inline_errors(exc.extra.get("errors") or {"form": [exc.detail]}, values)
        return _render(values, stored=stored, errors=errors, status=422, sample=sample, chosen=chosen)
    notify(f"Saved {saved['key']} as version {saved['version']}.")
    return redirect(url_for("console.edit_snippet", key=saved["key"]))


@bp.post("/snippets/preview")
@require("manager")
def preview_snippet():
    """The live preview's JSON (the editor's script posts the whole form here)."""
    stored = service.get_snippet(get_store(), request.form["key"]) if request.form.get("stored_key") else None
    langs = languages([*(stored["texts"] if stored else {})])
    values, body, _ = parse(request.form, langs)
    result, _, _ = _preview_from_form(body)
    return jsonify(result)


@bp.get("/snippets/history/<path:key>")
@require("manager")
def snippet_history(key: str):
    """Every version with who and when, and the difference between any two."""
    store = get_store()
    stored = service.get_snippet(store, key)
    versions = store.list_versions(stored["id"])
    newest = versions[0]["version"]
    a = request.args.get("a", type=int) or max(newest - 1, 1)
    b = request.args.get("b", type=int) or newest
    by_version = {v["version"]: v for v in versions}
    if a not in by_version or b not in by_version:
        raise ApiError(f"{key} has versions 1 to {newest}.")
    changes = diffs.snapshots(by_version[a]["snapshot"], by_version[b]["snapshot"])
    return render_template("console/history.html", snippet=stored, versions=versions, a=a, b=b,
                           changes=changes, direction=direction)


@bp.post("/snippets/restore/<path:key>")
@require("manager")
def restore_snippet(key: str):
    """Restore an old version as a new one."""
    version = request.form.get("version", type=int)
    restored = service.restore_version(get_store(), key, version or 0, current()["name"])
    notify(f"Restored version {version} of {key} as version {restored['version']}.")
    return redirect(url_for("console.snippet_history", key=key))
