"""The snippet editor's form: to the API's snippet shape and back, errors in plain words."""
from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from server.render import check_template

FIELD_TYPES = ("text", "choice", "date", "money")
# Context paths managers usually put conditions on (the list is a hint; any path works).
WHEN_PATHS = ("order.status", "customer.membership", "order.payment_method", "order.shipping_method",
              "customer.country", "order.channel")
EXTRA_ROWS = 2


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def number(text: str) -> int | float | str:
    """A form's text as the JSON number it spells ("30" → 30, "2.5" → 2.5), else unchanged:
    the API's schemas take only JSON numbers and say that anything else is not one."""
    text = text.strip()
    if re.fullmatch(r"[+-]?\d{1,30}", text):
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", text):
        return float(text)
    return text


def form_from_snippet(api: dict) -> dict:
    """Values for the editor's inputs from a snippet in API shape."""
    texts = {api["language"]: {"title": api["title"], "body": api["body"]}, **api.get("translations", {})}
    return {
        "key": api["key"], "kind": api["kind"], "language": api["language"], "status": api["status"],
        "owner": api.get("owner") or "", "verify_every_days": (api.get("verification") or {}).get("verify_every_days")
        or api.get("verify_every_days") or 180,
        "tags": ", ".join(api.get("tags") or []), "texts": texts, "offer": api.get("offer") or "",
        "policies": list(api.get("policies") or []),
        "fields": [{"name": n, **spec, "choices": ", ".join(spec.get("choices") or [])}
                   for n, spec in (api.get("fields") or {}).items()],
        "when": [{"path": p, "values": ", ".join(str(v) for v in vals)} for p, vals in (api.get("when") or {}).items()],
        "version": api.get("version"),
        "public": api.get("public") or False,  # self-service: true, or a list of languages
    }


def parse(form: MultiDict, languages: list[str]) -> tuple[dict, dict, dict[str, list[str]]]:
    """The form as editor values, as an API body, and the problems found before validation."""
    problems: dict[str, list[str]] = {}
    default = form.get("language", "en")
    texts = {}
    for lang in languages:
        title, body = form.get(f"title_{lang}", "").strip(), form.get(f"body_{lang}", "").replace("\r\n", "\n")
        if title or body.strip():
            texts[lang] = {"title": title, "body": body}
            # The schema checks templates only once every field is valid; say it at once.
            if check_template(body):
                problems[f"body_{lang}"] = check_template(body)
    fields, field_rows = {}, []
    for i in range(int(form.get("field_rows", 0) or 0)):
        row = {"name": form.get(f"field_name_{i}", "").strip(), "label": form.get(f"field_label_{i}", "").strip(),
               "type": form.get(f"field_type_{i}", "text"), "required": bool(form.get(f"field_required_{i}")),
               "choices": form.get(f"field_choices_{i}", "")}
        if not (row["name"] or row["label"]):
            continue
        field_rows.append(row)
        if not row["name"]:
            problems.setdefault(f"field_{len(field_rows) - 1}", []).append("Give the field a name, e.g. refund_amount.")
            continue
        fields[row["name"]] = {"label": row["label"], "type": row["type"] if row["type"] in FIELD_TYPES else "text",
                               "required": row["required"], "choices": _split(row["choices"])}
    when, when_rows = {}, []
    for i in range(int(form.get("when_rows", 0) or 0)):
        path, values = form.get(f"when_path_{i}", "").strip(), form.get(f"when_values_{i}", "")
        if not (path or values.strip()):
            continue
        when_rows.append({"path": path, "values": values})
        if not _split(values):
            problems.setdefault(f"when_{len(when_rows) - 1}", []).append(
                "List the values this reply is for, separated by commas.")
            continue
        when[path] = _split(values)
    main = texts.pop(default, {"title": "", "body": ""})
    body = {
        "key": form.get("key", "").strip(), "kind": form.get("kind", "reply"), "language": default,
        "title": main["title"], "body": main["body"], "translations": texts,
        "tags": _split(form.get("tags", "")), "policies": form.getlist("policies"),
        "offer": form.get("offer") or None, "when": when, "fields": fields,
        "status": form.get("status", "draft"), "owner": form.get("owner") or None,
        "public": (_split(form.get("public_languages", "")) or True) if form.get("public") else False,
    }
    every = form.get("verify_every_days", "").strip()
    if every:
        body["verify_every_days"] = number(every)  # the schema says whether it is a number in range
    values = {**body, "texts": {default: main, **texts}, "tags": form.get("tags", ""),
              "fields": field_rows, "when": when_rows, "offer": body["offer"] or "", "owner": body["owner"] or "",
              "verify_every_days": every, "version": form.get("version", type=int)}
    return values, body, problems


_PLAIN = [
    (re.compile(r"^Missing data for required field\.$"), lambda m: "Required."),
    (re.compile(r"^Length must be between 1 and (\d+)\.$"), lambda m: f"Required, at most {m[1]} characters."),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), lambda m: f"Between {m[1]} and {m[2]} characters."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), lambda m: f"At most {m[1]} characters."),
    (re.compile(r"^Must be one of: (.*)\.$"), lambda m: f"Choose one of: {m[1]}."),
    (re.compile(r"^Not a valid integer\.$"), lambda m: "Enter a whole number."),
    (re.compile(r"^Not a valid number\.$"), lambda m: "Enter a number."),
    (re.compile(r"^Must be greater than or equal to (\d+) and less than or equal to (\d+)\.$"),
     lambda m: f"Enter a number from {m[1]} to {m[2]}."),
    (re.compile(r"^String does not match expected pattern\.$"), lambda m: "Use lowercase letters, digits and '/' only."),
]


def plain(message: str) -> str:
    """A validation message in words a manager understands."""
    for pattern, say in _PLAIN:
        found = pattern.match(message)
        if found:
            return say(found)
    return message


def _leaves(messages: object) -> list[str]:
    if isinstance(messages, dict):
        return [m for v in messages.values() for m in _leaves(v)]
    if isinstance(messages, list):
        return [m for v in messages for m in _leaves(v)]
    return [str(messages)]


def inline_errors(messages: dict, values: dict) -> dict[str, list[str]]:
    """Schema errors keyed by the editor input they belong to (``title_en``, ``field_0``, ...)."""
    out: dict[str, list[str]] = {}
    default = values["language"]
    field_index = {row["name"]: i for i, row in enumerate(values["fields"])}
    when_index = {row["path"]: i for i, row in enumerate(values["when"])}

    def add(name: str, found: object) -> None:
        out.setdefault(name, []).extend(plain(m) for m in _leaves(found))

    for key, found in messages.items():
        if key in ("title", "body"):
            add(f"{key}_{default}", found)
        elif key.startswith("translations.") and key.count(".") == 2:  # template problems
            _, lang, part = key.split(".")
            add(f"{part}_{lang}", found)
        elif key == "translations" and isinstance(found, dict):
            for lang, inner in found.items():
                if isinstance(inner, dict) and "value" in inner and isinstance(inner["value"], dict):
                    for part, msgs in inner["value"].items():
                        add(f"{part}_{lang}", msgs)
                else:
                    add("translations", inner)
        elif key == "fields" and isinstance(found, dict):
            for name, inner in found.items():
                add(f"field_{field_index.get(name, 0)}", inner)
        elif key == "when":
            bad = [p for p in when_index if p in str(found)] or list(when_index)[:1]
            for path in bad:
                add(f"when_{when_index[path]}", found)
            if not when_index:
                add("when", found)
        else:
            add(key, found)
    return out
