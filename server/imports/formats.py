"""The export formats of each helpdesk's public API, read into one shape (plain dicts).

Each item: ``source_id``, ``title``, ``text`` or ``html``, ``tags``, ``active``, ``language``
(None when the helpdesk has none), ``notes`` (what was read but not imported, in words).
"""
from __future__ import annotations

from server.errors import Unprocessable


def _list(data: object, key: str, source: str) -> list[dict]:
    items = data.get(key) if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Unprocessable(f"This is not a {source} export: expected a list of objects"
                            + (f" (or {{\"{key}\": [...]}})" if key else "") + ".")
    return items


def _require(item: dict, names: tuple[str, ...], source: str, index: int) -> None:
    missing = [n for n in names if item.get(n) in (None, "")]
    if missing:
        raise Unprocessable(f"{source} item {index + 1} has no {', '.join(missing)}.",
                            errors={str(index): [f"missing {n}" for n in missing]})


def zendesk_macros(data: object) -> list[dict]:
    """``{"macros": [{"id", "title", "description", "active", "actions": [{"field", "value"}], "restriction"}]}``."""
    items = []
    for n, macro in enumerate(_list(data, "macros", "Zendesk macros")):
        _require(macro, ("id", "title"), "Zendesk macro", n)
        item = {"source_id": str(macro["id"]), "title": macro["title"], "tags": [], "language": None,
                "active": macro.get("active", True) is not False, "notes": [], "text": None, "html": None}
        for action in macro.get("actions") or []:
            field, value = action.get("field"), action.get("value")
            if field == "comment_value_html":
                item["html"] = value if isinstance(value, str) else None
            elif field == "comment_value":
                # Older macros hold ["channel:all", "text"] here.
                item["text"] = value[-1] if isinstance(value, list) and value else value
            elif field in ("set_tags", "current_tags"):
                item["tags"] += str(value or "").split()
            else:
                item["notes"].append(f"action {field}={value!r} not imported (agents set ticket fields in the helpdesk)")
        restriction = macro.get("restriction")
        if restriction:
            item["notes"].append(f"restricted to {restriction.get('type', 'some')} {restriction.get('id') or restriction.get('ids')} "
                                 "in Zendesk; imported for every agent")
        items.append(item)
    return items


def freshdesk_canned(data: object) -> list[dict]:
    """A list of canned responses ``{"id", "title", "content", "content_html", "folder_id"}``
    (or ``{"canned_responses": [...], "folders": [{"id", "name"}]}``)."""
    folders = {}
    if isinstance(data, dict):
        folders = {str(f.get("id")): f.get("name") for f in data.get("folders") or [] if isinstance(f, dict)}
    items = []
    for n, response in enumerate(_list(data, "canned_responses", "Freshdesk canned responses")):
        _require(response, ("id", "title"), "Freshdesk canned response", n)
        folder = response.get("folder_id")
        tags = [folders.get(str(folder)) or f"folder-{folder}"] if folder is not None else []
        items.append({"source_id": str(response["id"]), "title": response["title"], "tags": tags,
                      "language": None, "active": True, "notes": [],
                      "text": response.get("content"), "html": response.get("content_html")})
    return items


def gorgias_macros(data: object) -> list[dict]:
    """``{"data": [{"id", "name", "language", "archived_datetime", "actions": [{"name", "arguments":
    {"body_text", "body_html", "tags"}}]}]}`` (or the list itself)."""
    items = []
    for n, macro in enumerate(_list(data, "data", "Gorgias macros")):
        _require(macro, ("id", "name"), "Gorgias macro", n)
        item = {"source_id": str(macro["id"]), "title": macro["name"], "tags": [],
                "language": macro.get("language") or None, "active": not macro.get("archived_datetime"),
                "notes": [], "text": None, "html": None}
        for action in macro.get("actions") or []:
            args = action.get("arguments") or {}
            if action.get("name") == "setResponseText" or "body_text" in args or "body_html" in args:
                item["text"] = args.get("body_text") or item["text"]
                item["html"] = args.get("body_html") or item["html"]
            elif action.get("name") == "addTags":
                item["tags"] += [t.strip() for t in str(args.get("tags") or "").split(",") if t.strip()]
            else:
                item["notes"].append(f"action {action.get('name')} not imported")
        items.append(item)
    return items


READERS = {"zendesk": zendesk_macros, "freshdesk": freshdesk_canned, "gorgias": gorgias_macros}
