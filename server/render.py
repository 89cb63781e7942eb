"""Rendering reply templates over a ticket's context, in Jinja2's immutable sandbox.

A template written by a manager can read the context and nothing else: the sandbox refuses
Python internals (``''.__class__``, ``cycler.__init__.__globals__``), there are no globals,
and the output is plain text (no autoescaping because nothing is HTML; clients insert it as
text). A value the context lacks never crashes and never silently becomes empty: it renders
as a visible marker ``[[path]]`` and its path is reported in ``missing``.
"""
from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field

from jinja2 import TemplateSyntaxError, Undefined, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The context roots a template may use.
ROOTS = ("customer", "order", "agent", "offer", "fields", "ticket")

_missing: ContextVar[list[str]] = ContextVar("missing")


class _Missing(Undefined):
    """An absent value: renders as ``[[path]]`` and records the path."""

    __slots__ = ("path",)

    def __init__(self, hint=None, obj=None, name=None, exc=None, path: str | None = None):
        super().__init__(hint, obj, name, exc)
        self.path = path or (name if isinstance(name, str) else "value")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Missing(path=f"{self.path}.{name}")

    __getitem__ = __getattr__

    def __str__(self) -> str:
        found = _missing.get(None)
        if found is not None and self.path not in found:
            found.append(self.path)
        return f"[[{self.path}]]"

    __html__ = __str__


class _Context(dict):
    """A context mapping that knows its own dotted path, for precise ``missing`` reports."""

    def __init__(self, data: dict, path: str) -> None:
        super().__init__(data)
        self.path = path


def _wrap(value, path: str):
    if isinstance(value, dict) and not isinstance(value, _Context):
        return _Context(value, path)
    if value is None or value == "":
        return _Missing(path=path)
    return value


class _Environment(ImmutableSandboxedEnvironment):
    def getattr(self, obj, attribute):
        if isinstance(obj, _Context):
            path = f"{obj.path}.{attribute}"
            return _wrap(obj[attribute], path) if attribute in obj else _Missing(path=path)
        if isinstance(obj, _Missing):
            return getattr(obj, attribute) if isinstance(attribute, str) else obj
        return super().getattr(obj, attribute)

    getitem = getattr


_env = _Environment(undefined=_Missing, autoescape=False, keep_trailing_newline=True)
# No globals (range, dict, lipsum, cycler, ...): templates see only the ticket's context.
_env.globals.clear()


@dataclass
class Rendered:
    """Rendered text and the placeholders that had no value."""

    text: str
    missing: list[str] = field(default_factory=list)


def placeholders(source: str) -> list[str]:
    """The dotted paths a template uses, e.g. ``customer.first_name``; raises ValueError if invalid."""
    try:
        ast = _env.parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc
    paths = []
    for node in ast.find_all((nodes.Getattr, nodes.Name)):
        parts = []
        while isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        if isinstance(node, nodes.Name):
            parts.append(node.name)
            paths.append(".".join(reversed(parts)))
    # "customer" is also seen inside "customer.first_name": keep only the longest paths.
    unique = set(paths)
    return sorted(p for p in unique if not any(q.startswith(p + ".") for q in unique))


def check_template(source: str) -> list[str]:
    """Problems that should stop a template being saved (syntax, unknown roots)."""
    try:
        roots = meta.find_undeclared_variables(_env.parse(source))
    except TemplateSyntaxError as exc:
        return [f"template syntax error on line {exc.lineno}: {exc.message}"]
    unknown = sorted(r for r in roots if r not in ROOTS)
    if unknown:
        return [f"unknown placeholder {name!r}: placeholders start with one of "
                f"{', '.join(ROOTS)}" for name in unknown]
    return []


def render(source: str, context: dict) -> Rendered:
    """Render a template over a ticket context; never raises for a missing value."""
    found: list[str] = []
    token = _missing.set(found)
    try:
        template = _env.from_string(source)
        ctx = {root: _wrap(context.get(root) or {}, root) for root in ROOTS}
        text = template.render(ctx)
    except TemplateSyntaxError:
        # Stored templates are checked on save; an old broken one shows as written.
        return Rendered(text=source, missing=[])
    except Exception:  # a SecurityError or a type error inside a manager's template
        return Rendered(text=source, missing=[])
    finally:
        _missing.reset(token)
    return Rendered(text=text, missing=found)



MARKER = re.compile(r"\[\[([a-z_]+)((?:\.[a-z0-9_]+)*)\]\]")
# Sentences end at . ! ? and their CJK and Arabic forms (with a closing quote or bracket).
_SENTENCE = re.compile(r"[^.!?。！？؟]*(?:[.!?。！？؟]+[\"'」』)）]*\s*|$)")
_HIDDEN = re.compile("\x00([a-z_]+)([\x01a-z0-9_]*)\x00")


def without_sentences(text: str, roots: set[str]) -> str:
    """Rendered text less every sentence holding a ``[[marker]]`` under ``roots`` (e.g. an
    unissued ``[[offer.code]]``); a line left empty goes too. Other markers stay as they are."""
    # Markers become dot-free tokens first, so "[[offer.code]]" does not end a sentence.
    text = MARKER.sub(lambda m: f"\x00{m.group(1)}{m.group(2).replace('.', chr(1))}\x00", text)
    lines = []
    for line in text.split("\n"):
        kept = "".join(s for s in _SENTENCE.findall(line)
                       if not any(m.group(1) in roots for m in _HIDDEN.finditer(s)))
        if line.strip() and not kept.strip():
            continue
        lines.append(kept.rstrip())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return _HIDDEN.sub(lambda m: f"[[{m.group(1)}{m.group(2).replace(chr(1), '.')}]]", text)
