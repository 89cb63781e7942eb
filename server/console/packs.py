"""Packs: upload with a dry run first (counts and every error with its line), then import;
export downloads the store as a pack."""
from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import time
from io import BytesIO
from pathlib import Path

from flask import current_app, redirect, render_template, request, send_file, url_for

from server.console import add_nav, bp
from server.console.session import current, notify, require
from server.db import get_store, utcnow
from server.errors import Unprocessable
from server.packs.service import export_pack, import_records, read_packs
from server.snippets.service import plan_snippets

add_nav("console.packs", "Packs")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{20,60}$")


UPLOAD_TTL = 24 * 3600  # seconds a checked but never imported upload is kept


def _uploads() -> Path:
    path = Path(current_app.config["HOME"]) / "console-uploads"
    path.mkdir(exist_ok=True)
    return path


def _forget_old_uploads() -> None:
    """Drop dry-run uploads nobody imported within a day."""
    now = time.time()
    for entry in _uploads().iterdir():
        if entry.is_dir() and now - entry.stat().st_mtime > UPLOAD_TTL:
            shutil.rmtree(entry, ignore_errors=True)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(name or "pack.jsonl").name)[:100] or "pack.jsonl"


def _check(upload_id: str, name: str) -> dict:
    """Read an uploaded pack and say what importing it would do; lines are named by the file's name."""
    path = _uploads() / upload_id / name
    report = read_packs([path], get_store())
    # "/tmp/.../pack.jsonl:2: ..." becomes "pack.jsonl, line 2: ..."
    named = [re.sub(rf"^{re.escape(str(path))}:(\d+):", rf"{name}, line \1:", m) for m in report.errors]
    warnings = [re.sub(rf"^{re.escape(str(path))}:(\d+):", rf"{name}, line \1:", m) for m in report.warnings]
    counts = plan_snippets(get_store(), report.records) if not report.errors else None
    return {"id": upload_id, "name": name, "errors": named, "warnings": warnings, "counts": counts,
            "records": report.records, "lines": len(report.records) + len(report.errors)}


@bp.get("/packs")
@require("manager")
def packs():
    """Upload and export."""
    return render_template("console/packs.html", report=None)


@bp.post("/packs/check")
@require("manager")
def check_pack():
    """Dry run: store the upload, validate every line, count what would change; write nothing."""
    upload = request.files.get("pack")
    if upload is None or not upload.filename:
        raise Unprocessable("Choose a pack file (.jsonl, one snippet a line) to upload.")
    _forget_old_uploads()
    upload_id, name = secrets.token_urlsafe(24), _safe_name(upload.filename)
    (_uploads() / upload_id).mkdir()
    upload.save(_uploads() / upload_id / name)
    report = _check(upload_id, name)
    return render_template("console/packs.html", report=report), 422 if report["errors"] else 200


@bp.post("/packs/import")
@require("manager")
def import_pack():
    """Import a checked upload (checked again: the store may have changed since)."""
    upload_id, name = request.form.get("upload", ""), _safe_name(request.form.get("name", ""))
    if not _UPLOAD_ID.match(upload_id) or not (_uploads() / upload_id / name).exists():
        raise Unprocessable("That upload is gone; upload the pack again.")
    report = _check(upload_id, name)
    if report["errors"]:
        return render_template("console/packs.html", report=report), 422
    counts = import_records(get_store(), report["records"], current()["name"])
    shutil.rmtree(_uploads() / upload_id, ignore_errors=True)
    notify("Imported {name}: {created} created, {updated} updated, {unchanged} unchanged.".format(name=name, **counts))
    return redirect(url_for("console.packs"))


@bp.get("/packs/export")
@require("manager")
def export():
    """Download every snippet as a pack (archived ones when asked)."""
    include_archived = request.args.get("archived") == "1"
    handle = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False, dir=_uploads())
    handle.close()
    export_pack(get_store(), handle.name, include_archived)
    data = Path(handle.name).read_bytes()
    Path(handle.name).unlink()
    stamp = utcnow()[:10]
    return send_file(BytesIO(data), mimetype="application/x-ndjson", as_attachment=True,
                     download_name=f"replyassist-pack-{stamp}.jsonl")
