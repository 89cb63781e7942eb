"""``flask --app server import zendesk-macros|freshdesk-canned|gorgias-macros FILE.json``."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from server.db import open_store
from server.errors import ApiError
from server.imports.service import import_items

import_cli = AppGroup("import", help="Import macros and canned responses from other helpdesks.")


def run_import(source: str, file: str, dry_run: bool, language: str) -> None:
    """Read FILE, import it, print the report (every unknown placeholder and skipped item)."""
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    store = open_store(current_app.config["DATABASE"])
    try:
        report = import_items(store, source, data, actor=f"import:{source}", language=language, dry_run=dry_run)
    except ApiError as exc:
        raise click.ClickException(f"{file}: {exc.detail}") from exc
    finally:
        store.close()
    for line in report["items"]:
        click.echo(f"{line['action']:9} {line['key'] or '-'}  ({source} {line['source_id']}: {line['title']})"
                   + ("  [draft]" if line["status"] == "draft" else ""))
        for path in line["unknown"]:
            click.echo(f"          no equivalent for {path}: kept visible"
                       + (" as a fill-in field" if not path.startswith("{%") else " in the text"), err=True)
        for note in line["notes"]:
            click.echo(f"          note: {note}", err=True)
    prefix = "dry run, nothing written: would be " if dry_run else ""
    click.echo(prefix + "{created} created, {updated} updated, {unchanged} unchanged, {skipped} skipped".format(**report))
    if report["unknown_placeholders"]:
        click.echo("placeholders with no equivalent: " + ", ".join(
            f"{p} ({n})" for p, n in report["unknown_placeholders"].items()))


def _command(name: str, source: str, what: str) -> None:
    @import_cli.command(name, help=f"Import {what} from FILE (the helpdesk API's JSON) as replies.")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
    @click.option("--language", default="en", show_default=True, help="Language of items that name none.")
    def command(file: str, dry_run: bool, language: str) -> None:
        run_import(source, file, dry_run, language)


_command("zendesk-macros", "zendesk", "Zendesk macros")
_command("freshdesk-canned", "freshdesk", "Freshdesk canned responses")
_command("gorgias-macros", "gorgias", "Gorgias macros")
