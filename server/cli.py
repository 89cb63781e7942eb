"""Command line: ``flask --app server index|pack|offers|users|demo|db ...``."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from marshmallow import ValidationError
from tqdm import tqdm

from server import auth, people
from server.db import open_store
from server.desk.schemas import value_labels_schema
from server.errors import ApiError
from server.indexing import index_health, rebuild_index
from server.offers.schemas import offers_schema, pool_import_schema
from server.offers.service import import_pool, save_offers
from server.packs.service import export_pack, import_records, read_packs
from server.selfservice.keys import create_public_key
from server.suggest.schemas import synonyms_schema

DEMO_DIR = Path(__file__).resolve().parent.parent / "index" / "demo"
DEMO_AGENT = "demo-agent"
DEMO_MANAGER = "demo-manager"

index_cli = AppGroup("index", help="Manage the search index.")
pack_cli = AppGroup("pack", help="Import and export knowledge packs (JSON Lines).")
offers_cli = AppGroup("offers", help="Manage goodwill offers.")
users_cli = AppGroup("users", help="Manage users and their API tokens.")


def _store():
    return open_store(current_app.config["DATABASE"])


@index_cli.command("rebuild")
@click.option("--procs", type=int, default=None,
              help="Build processes (default: one per core, at most 4; one for small stores).")
def rebuild_command(procs: int | None) -> None:
    """Rebuild the search index aside from a snapshot of the store, then swap it in.

    Servers keep answering from the old index meanwhile, and writes keep working: what
    changed during the build is applied before the swap.
    """
    if procs is not None:
        current_app.config["INDEX_BUILD_PROCS"] = procs
    tqdm.monitor_interval = 0  # no monitor thread: build processes fork only from a one-thread process
    bar = tqdm(unit="snippet", desc="indexing", file=sys.stderr)
    count = rebuild_index(current_app, progress=bar.update, start=lambda total: setattr(bar, "total", total) or bar.refresh())
    bar.close()
    click.echo(f"indexed {count} documents")


@index_cli.command("status")
def status_command() -> None:
    """Print how the index stands against the store (as /api/v1/health reports it), as JSON."""
    store = _store()
    try:
        click.echo(json.dumps(index_health(store, current_app.config["INDEX_DIR"]), indent=2))
    finally:
        store.close()


def import_pack_files(files: list[str], actor: str = "cli") -> dict[str, int]:
    """Validate packs, then import all of them or nothing; raises ClickException on errors."""
    store = _store()
    try:
        report = read_packs(files, store)
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        if report.errors:
            for error in report.errors:
                click.echo(f"error: {error}", err=True)
            raise click.ClickException(f"{len(report.errors)} invalid line(s); nothing was imported.")
        return import_records(store, report.records, actor)
    finally:
        store.close()


@pack_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def pack_import_command(files: tuple[str, ...]) -> None:
    """Validate every line of FILES, then upsert all snippets by key (all or nothing)."""
    counts = import_pack_files(list(files))
    click.echo("imported: {created} created, {updated} updated, {unchanged} unchanged".format(**counts))


@pack_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--include-archived", is_flag=True, help="Also export archived snippets.")
def pack_export_command(file: str, include_archived: bool) -> None:
    """Write every snippet to FILE in the knowledge-pack format."""
    store = _store()
    try:
        count = export_pack(store, file, include_archived)
    finally:
        store.close()
    click.echo(f"exported {count} snippets to {file}")


def import_offer_file(file: str) -> dict[str, int]:
    """Validate an offers.json file and upsert its offers; raises ClickException if invalid."""
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
        offers = offers_schema.load(data if isinstance(data, list) else [data])
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    except ValidationError as exc:
        raise click.ClickException(f"{file} is not a valid offers file: {exc.messages}") from exc
    store = _store()
    try:
        return save_offers(store, offers)
    finally:
        store.close()


@offers_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def offers_import_command(file: str) -> None:
    """Load goodwill offers from a JSON file (a list of offers), upserting by key."""
    counts = import_offer_file(file)
    click.echo("offers: {created} created, {updated} updated".format(**counts))


def read_code_csv(file: str) -> list[str]:
    """Codes from a CSV: the ``code`` column if there is a header naming it, else the first column."""
    with open(file, newline="", encoding="utf-8-sig") as handle:
        return read_code_csv_text(handle.read())


def read_code_csv_text(text: str) -> list[str]:
    """Codes from CSV text (or one code a line), as ``read_code_csv`` reads a file."""
    rows = [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if row and any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("code") if "code" in header else 0
    body = rows[1:] if "code" in header else rows
    return [row[column].strip() for row in body if len(row) > column]


@offers_cli.command("pool")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--offer", "offer_key", required=True, help="The offer these codes belong to.")
def offers_pool_command(file: str, offer_key: str) -> None:
    """Add shop-created codes from a CSV FILE to an offer's pool (each is handed out once)."""
    codes = read_code_csv(file)
    try:
        pool_import_schema.load({"codes": codes})
    except ValidationError as exc:
        raise click.ClickException(f"{file}: {exc.messages}") from exc
    store = _store()
    try:
        counts = import_pool(store, offer_key, codes)
    except ApiError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        store.close()
    click.echo("pool {offer}: {added} added, {skipped} already known; {free} of {total} free".format(
        offer=offer_key, **counts))


public_key_cli = AppGroup("public-key", help="Manage shops' public keys for the help widget and public API.")


@public_key_cli.command("create")
@click.option("--name", default="shop", show_default=True, help="Whose key this is (the shop).")
@click.option("--origin", "origins", multiple=True,
              help="A site origin the widget runs on (https://shop.example); repeat for several.")
def public_key_create_command(name: str, origins: tuple[str, ...]) -> None:
    """Create a public key for the help widget; the key is printed alone on the last line."""
    store = _store()
    try:
        key = create_public_key(store, name, list(origins))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    where = ", ".join(origins) if origins else "the server's own pages only"
    click.echo(f"created public key for {name!r}, allowed from {where}:")
    click.echo(key)


synonyms_cli = AppGroup("synonyms", help="Manage synonym groups that widen ticket queries.")


def _per_language_file(file: str, member: str, schema, shape: str) -> dict:
    """{language: value} from a JSON file, each value loaded through ``schema`` as ``{member: value}``."""
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
        return {lang: schema.load({member: value})[member] for lang, value in data.items()}
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    except (ValidationError, AttributeError) as exc:
        raise click.ClickException(f"{file} is not a {member} file ({shape}): {exc}") from exc


def _store_per_language(loaded: dict, write) -> None:
    """Call ``write(store, language, value)`` for each language, in one transaction."""
    store = _store()
    try:
        with store.transaction():
            for lang, value in loaded.items():
                write(store, lang, value)
    finally:
        store.close()


def load_synonyms_file(file: str, actor: str = "cli") -> dict[str, int]:
    """Replace the synonym groups of every language in FILE ({language: [[word, ...], ...]})."""
    loaded = _per_language_file(file, "groups", synonyms_schema, "{language: [[word, ...]]}")
    _store_per_language(loaded, lambda store, lang, groups: store.set_synonyms(
        lang, [[w.strip().lower() for w in g] for g in groups], actor))
    return {lang: len(groups) for lang, groups in loaded.items()}


@synonyms_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def synonyms_import_command(file: str) -> None:
    """Replace synonym groups from FILE, e.g. {"en": [["parcel", "package"]]}."""
    counts = load_synonyms_file(file)
    click.echo("synonyms: " + ", ".join(f"{n} groups for {lang}" for lang, n in counts.items()))


labels_cli = AppGroup("labels", help="Manage how ticket values read in each language.")


def load_labels_file(file: str, actor: str = "cli") -> dict[str, int]:
    """Replace the value labels of every language in FILE ({language: {path: {value: label}}})."""
    loaded = _per_language_file(file, "labels", value_labels_schema, "{language: {path: {value: label}}}")
    _store_per_language(loaded, lambda store, lang, labels: store.set_value_labels(
        lang, {p: {v.strip().lower(): t for v, t in vals.items()} for p, vals in labels.items()}, actor))
    return {lang: sum(map(len, labels.values())) for lang, labels in loaded.items()}


@labels_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def labels_import_command(file: str) -> None:
    """Replace value labels from FILE, e.g. {"it": {"order.status": {"processing": "in lavorazione"}}}."""
    counts = load_labels_file(file)
    click.echo("labels: " + ", ".join(f"{n} for {lang}" for lang, n in counts.items()))


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(auth.ROLES), default="agent", show_default=True)
@click.option("--password", "ask_password", is_flag=True,
              help="Also set a console password (prompted twice, never echoed).")
def users_create_command(name: str, role: str, ask_password: bool) -> None:
    """Create a user; the new API token is printed alone on the last line."""
    password = None
    if ask_password:
        password = click.prompt("Console password", hide_input=True, confirmation_prompt=True, err=True)
    store = _store()
    try:
        if password is not None:
            people.check_password_rules(password)
        token = auth.create_user(store, name, role)
        if password is not None:
            people.set_password(store, name, password)
    except ApiError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        store.close()
    signs_in = " (can sign in to /console/)" if password is not None else ""
    click.echo(f"created {role} {name!r}{signs_in}; API token (shown once):")
    click.echo(token)


@users_cli.command("password")
@click.argument("name")
def users_password_command(name: str) -> None:
    """Set a user's console password (prompted twice, never echoed)."""
    password = click.prompt("New console password", hide_input=True, confirmation_prompt=True, err=True)
    store = _store()
    try:
        people.set_password(store, name, password)
    except ApiError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        store.close()
    click.echo(f"password of {name!r} changed")


@users_cli.command("list")
def users_list_command() -> None:
    """List users, their roles and whether they are active."""
    store = _store()
    try:
        for user in store.list_users():
            state = "active" if user["active"] else "deactivated"
            click.echo(f"{user['name']}\t{user['role']}\t{state}\tpassword: {'yes' if user['has_password'] else 'no'}")
    finally:
        store.close()


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo store if the database is empty, and print the demo agent's token."""
    store = _store()
    try:
        empty = store.count_snippets() == 0
    finally:
        store.close()
    if empty:
        offers = import_offer_file(str(DEMO_DIR / "offers.json"))
        counts = import_pack_files([str(DEMO_DIR / "policies.jsonl"), str(DEMO_DIR / "replies.jsonl")], actor="demo")
        load_synonyms_file(str(DEMO_DIR / "synonyms.json"), actor="demo")
        load_labels_file(str(DEMO_DIR / "value_labels.json"), actor="demo")
        click.echo(f"demo store loaded: {counts['created']} snippets, {offers['created']} offers")
    token_file = Path(current_app.config["HOME"]) / "demo-agent.token"
    store = _store()
    try:
        if store.get_user(DEMO_AGENT) is None or not token_file.exists():
            token = (auth.create_user(store, DEMO_AGENT, "agent") if store.get_user(DEMO_AGENT) is None
                     else auth.rotate_token(store, DEMO_AGENT))
            token_file.write_text(token + "\n")
            token_file.chmod(0o600)
    finally:
        store.close()
    password_file = Path(current_app.config["HOME"]) / "demo-manager.password"
    store = _store()
    try:
        if store.get_user(DEMO_MANAGER) is None or not password_file.exists():
            if store.get_user(DEMO_MANAGER) is None:
                auth.create_user(store, DEMO_MANAGER, "manager")
            password = people.new_password()
            people.set_password(store, DEMO_MANAGER, password)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
    finally:
        store.close()
    click.echo(f"console: sign in at /console/login as {DEMO_MANAGER} with password "
               f"{password_file.read_text().strip()} (also in {password_file})")
    public_file = Path(current_app.config["HOME"]) / "demo-public.key"
    if not public_file.exists():  # the demo FAQ page's widget uses it (/demo/faq)
        store = _store()
        try:
            public_file.write_text(create_public_key(store, "demo-shop", []) + "\n")
        finally:
            store.close()
    # The token stays the last line: scripts and tests read it from there.
    click.echo(f"demo agent token (also in {token_file}):")
    click.echo(token_file.read_text().strip())


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (index_cli, pack_cli, offers_cli, users_cli, synonyms_cli, public_key_cli, labels_cli,
                    demo_command):
        app.cli.add_command(command)
    from server.migrations import cli as db_cli
    db_cli.init_app(app)
