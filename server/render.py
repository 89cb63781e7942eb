"""Rendering reply templates over a ticket's context, in Jinja2's immutable sandbox, within bounds.

A template written by a manager can read the context and nothing else: the sandbox refuses
Python internals (``''.__class__``, ``cycler.__init__.__globals__``), there are no globals,
and the output is plain text (no autoescaping because nothing is HTML; clients insert it as
text). A value the context lacks never crashes and never silently becomes empty: it renders
as a visible marker ``[[path]]`` and its path is reported in ``missing``.

Templates are a small language, checked on save (``check_template``): placeholders, ``if``,
``for``, ``set``, comparisons, arithmetic and a few text filters. No calls, no macros, no
``include``/``extends``/``import``, no ``_private`` attributes: what the sandbox would refuse
at render time is refused at save with the reason. Rendering is bounded (``LIMITS``): output
size, loop iterations, the size of any value a template builds, and time. A template whose
constant parts alone exceed them is refused on save; one that exceeds them on a particular
ticket raises ``RenderError`` (a clear 422 for that insertion), never a hung worker, and a
template's source is never returned as its text. Nothing is evaluated at compile time
(Jinja's constant folding is off), so saving executes no template code except one bounded
trial render over an empty ticket.
"""
from __future__ import annotations

import gc
import operator
import re
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache

from jinja2 import TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

# The context roots a template may use.
ROOTS = ("customer", "order", "agent", "offer", "fields", "ticket")

# Per render. A reply body is at most 20,000 characters; its rendered text may be a few
# times that once a ticket's values are filled in, never megabytes.
LIMITS = {"output_chars": 60_000, "loop_iterations": 10_000, "value_chars": 60_000, "seconds": 0.5,
          "int_bits": 4_096}

# Text filters whose output is bounded by their input (no widths, counts or separators to inflate).
SAFE_FILTERS = ("abs", "capitalize", "count", "d", "default", "first", "float", "int", "last", "length",
                "lower", "round", "string", "title", "trim", "truncate", "upper", "wordcount")
# Template syntax a reply may use; anything else is refused on save, naming it.
_ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr,
                  nodes.Getitem, nodes.Slice, nodes.If, nodes.CondExpr, nodes.Compare, nodes.Operand,
                  nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.BinExpr, nodes.Concat,
                  nodes.Filter, nodes.Test, nodes.For, nodes.Assign, nodes.Tuple, nodes.List, nodes.Dict,
                  nodes.Pair, nodes.Keyword)
_REFUSED = {nodes.Include: "{% include %}", nodes.Extends: "{% extends %}", nodes.Import: "{% import %}",
            nodes.FromImport: "{% from ... import %}", nodes.Macro: "{% macro %}", nodes.CallBlock: "{% call %}",
            nodes.Call: "calling a function or method", nodes.Block: "{% block %}",
            nodes.FilterBlock: "{% filter %}"}


class RenderError(Exception):
    """A template that can't render over this context within the sandbox and the limits."""


class RenderLimit(RenderError):
    """A render went past one of ``LIMITS`` (or used what the limits can't bound)."""


_missing: ContextVar[list[str]] = ContextVar("missing")
_budget: ContextVar[dict] = ContextVar("budget")
_collections = threading.local()  # this thread's CPU time spent in Python's garbage collector


def _count_collection(phase: str, _info: dict) -> None:
    if phase == "start":
        _collections.started = time.thread_time()
    elif hasattr(_collections, "started"):
        _collections.spent = getattr(_collections, "spent", 0.0) + time.thread_time() - _collections.started


gc.callbacks.append(_count_collection)


def work_time() -> float:
    """This thread's CPU time less what the garbage collector took in it.

    A collection runs in whichever thread allocates when it falls due; in a process with a
    large heap one can take longer than the render limit, and that is not the template's doing
    (a full test run saw a plain reply refused that way).
    """
    return time.thread_time() - getattr(_collections, "spent", 0.0)


def _spend(kind: str, amount: int = 1) -> None:
    """Count work against this render's limits; raise RenderError past one of them."""
    budget = _budget.get(None)
    if budget is None:
        return
    budget[kind] = budget.get(kind, 0) + amount
    if budget[kind] > LIMITS[kind]:
        raise RenderLimit(f"the template needs more than {LIMITS[kind]:,} {kind.replace('_', ' ')}")
    if work_time() > budget["deadline"]:
        raise RenderLimit(f"the template needs more than {LIMITS['seconds']} s of processing to render")


def _sized(value):
    """``value`` if it is within the size limit for one value; RenderError otherwise."""
    if isinstance(value, (str, list, tuple, dict)) and len(value) > LIMITS["value_chars"]:
        raise RenderLimit(f"the template builds a value of more than {LIMITS['value_chars']:,} items or characters")
    if isinstance(value, int) and value.bit_length() > LIMITS["int_bits"]:
        raise RenderLimit(f"the template builds a number of more than {LIMITS['int_bits']:,} bits")
    return value


def _size(value) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 1


def _bounded_binop(op: str, left, right):
    """An arithmetic operator whose result size is checked before it is computed."""
    _spend("loop_iterations", 0)  # a time check
    if op == "*" and isinstance(right, (str, list, tuple)):
        left, right = right, left
    if op == "*" and isinstance(left, (str, list, tuple)) and isinstance(right, int):
        if len(left) * max(right, 0) > LIMITS["value_chars"]:
            raise RenderLimit(f"the template builds a value of more than {LIMITS['value_chars']:,} characters")
    elif op == "*" and isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > LIMITS["int_bits"]:
            raise RenderLimit(f"the template builds a number of more than {LIMITS['int_bits']:,} bits")
    elif op == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
        if right > 0 and right * left.bit_length() > LIMITS["int_bits"]:
            raise RenderLimit(f"the template builds a number of more than {LIMITS['int_bits']:,} bits")
    elif op == "%" and isinstance(left, str):
        raise RenderLimit("'%' string formatting is not available in templates; use placeholders")
    elif op == "+" and _size(left) + _size(right) > LIMITS["value_chars"]:
        raise RenderLimit(f"the template builds a value of more than {LIMITS['value_chars']:,} characters")
    return _sized(_BINOPS[op](left, right))


_BINOPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "//": operator.floordiv, "%": operator.mod, "**": operator.pow}


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

    def _gap(self, *_args):
        return self  # arithmetic on a missing value keeps the gap visible

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _gap
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = __neg__ = __pos__ = _gap

    def _unknown(self, _other) -> bool:
        return False  # an unknown fact satisfies no comparison

    __lt__ = __le__ = __gt__ = __ge__ = _unknown


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


def _loop(iterable):
    """The iterable of a ``for``, counting every step against the loop limit."""
    for item in iterable:
        _spend("loop_iterations")
        yield item


def _concat(parts):
    """``a ~ b``, with the result size checked before it is built."""
    texts = [str(p) for p in parts]
    if sum(map(len, texts)) > LIMITS["value_chars"]:
        raise RenderLimit(f"the template builds a value of more than {LIMITS['value_chars']:,} characters")
    return "".join(texts)


class _Bounded(NodeTransformer):
    """Routes every loop and every ``~`` through the counting filters above."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_ra_loop", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        node = self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), "_ra_concat", [], [], None, None,
                            lineno=node.lineno)


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(_BINOPS)

    def call_binop(self, context, operator_, left, right):
        return _bounded_binop(operator_, left, right)

    def getattr(self, obj, attribute):
        if isinstance(obj, _Context):
            path = f"{obj.path}.{attribute}"
            return _wrap(obj[attribute], path) if attribute in obj else _Missing(path=path)
        if isinstance(obj, _Missing):
            return getattr(obj, attribute) if isinstance(attribute, str) else obj
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        if isinstance(obj, (_Context, _Missing)):
            return self.getattr(obj, argument)
        return super().getitem(obj, argument)


# optimized=False: Jinja would otherwise fold constant expressions ('a' * 10**9) while compiling.
_env = _Environment(undefined=_Missing, autoescape=False, keep_trailing_newline=True, optimized=False)
# No globals (range, dict, lipsum, cycler, ...): templates see only the ticket's context.
_env.globals.clear()
_env.filters = {name: FILTERS[name] for name in SAFE_FILTERS}
_env.filters.update({"_ra_loop": _loop, "_ra_concat": _concat})


@dataclass
class Rendered:
    """Rendered text and the placeholders that had no value."""

    text: str
    missing: list[str] = field(default_factory=list)


def _parse(source: str) -> nodes.Template:
    try:
        return _env.parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc


def placeholders(source: str) -> list[str]:
    """The dotted paths a template uses, e.g. ``customer.first_name``; raises ValueError if invalid."""
    return list(_placeholders(source))


@lru_cache(maxsize=2048)
def _placeholders(source: str) -> tuple[str, ...]:
    if "{" not in source:  # plain text: nothing to parse (most snippets)
        return ()
    ast = _parse(source)
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
    return tuple(sorted(p for p in unique if not any(q.startswith(p + ".") for q in unique)))


def _syntax_problems(ast: nodes.Template) -> list[str]:
    """What in a parsed template the sandbox or the limits would refuse, in words."""
    problems = []
    for node in ast.find_all(nodes.Node):
        refused = next((name for cls, name in _REFUSED.items() if isinstance(node, cls)), None)
        if refused:
            problems.append(f"line {node.lineno}: {refused} is not available in reply templates")
        elif not isinstance(node, _ALLOWED_NODES):
            problems.append(f"line {node.lineno}: '{type(node).__name__}' is not available in reply templates")
        elif isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
            problems.append(f"line {node.lineno}: the filter '{node.name}' is not available; "
                            f"use one of {', '.join(SAFE_FILTERS)}")
        elif isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            problems.append(f"line {node.lineno}: '{node.attr}' is private; the sandbox refuses it")
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            problems.append(f"line {node.lineno}: '{node.arg.value}' is private; the sandbox refuses it")
        elif isinstance(node, nodes.For) and node.recursive:
            problems.append(f"line {node.lineno}: recursive loops are not available in reply templates")
    return list(dict.fromkeys(problems))


@lru_cache(maxsize=2048)
def _compile(source: str):
    """The checked template, compiled once per source, with every loop and ``~`` bounded."""
    ast = _parse(source)
    problems = _syntax_problems(ast)
    if problems:
        raise RenderError("; ".join(problems))
    return _env.from_string(_Bounded().visit(ast))


def check_template(source: str) -> list[str]:
    """Problems that should stop a template being saved (syntax, refused syntax, unknown roots, limits)."""
    try:
        ast = _parse(source)
    except ValueError as exc:
        return [str(exc)]
    problems = _syntax_problems(ast)
    if problems:
        return problems
    unknown = sorted(r for r in meta.find_undeclared_variables(ast) if r not in ROOTS)
    if unknown:
        return [f"unknown placeholder {name!r}: placeholders start with one of "
                f"{', '.join(ROOTS)}" for name in unknown]
    try:  # one bounded trial over an empty ticket: what fails here fails on every ticket
        render(source, {})
    except RenderLimit as exc:
        return [f"the template can never render within the limits: {exc}"]
    except RenderError:
        pass  # a type error over an empty ticket may not happen over a real one
    return []


def render(source: str, context: dict) -> Rendered:
    """Render a template over a ticket context within ``LIMITS``; RenderError if it can't."""
    if "{" not in source:  # no tag, placeholder or comment: Jinja would only normalise newlines
        text = source.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) > LIMITS["output_chars"]:
            raise RenderLimit(f"the template needs more than {LIMITS['output_chars']:,} output chars")
        return Rendered(text=text)
    found: list[str] = []
    missing_token = _missing.set(found)
    # The time limit counts this thread's CPU time, not the wall clock: on a loaded machine a
    # plain reply must not fail because other processes held the cores (seen in a 10k import).
    budget_token = _budget.set({"deadline": work_time() + LIMITS["seconds"]})
    try:
        template = _compile(source)
        ctx = {root: _wrap(context.get(root) or {}, root) for root in ROOTS}
        chunks = []
        for chunk in template.generate(ctx):
            _spend("output_chars", len(chunk))
            chunks.append(chunk)
        text = "".join(chunks)
    except (ValueError, SecurityError, TemplateError, ArithmeticError, TypeError, LookupError,
            RecursionError) as exc:  # a manager's template that fails on this ticket's values
        raise RenderError(f"{exc}"[:300]) from exc
    finally:
        _missing.reset(missing_token)
        _budget.reset(budget_token)
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
