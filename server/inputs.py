"""Checks every JSON input gets before any schema or service sees it: depth and valid Unicode.

JSON may spell lone surrogates (``"\\ud800"``), which Python decodes into strings that no UTF-8
encoder (SQLite, the JSON response, a log line) accepts; and it may nest deeper than any code
walking it recursively can follow. Both are refused here, naming where, so nothing downstream
fails half-way through a write.
"""
from __future__ import annotations

import re

from marshmallow import fields, validate

# The largest integer SQLite stores; bigger numbers in a query or body are a 422, not an overflow.
SQL_INT_MAX = 2**63 - 1
MAX_DEPTH = 32  # a ticket's customer/order facts are a few levels deep; nothing needs more
_SURROGATE = re.compile("[\ud800-\udfff]")


def problems(data: object, max_depth: int = MAX_DEPTH) -> dict[str, str]:
    """Where ``data`` breaks the rules, as {dotted.path: message}; empty when it is fine."""
    found: dict[str, str] = {}
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack:  # iterative: the input may be deeper than Python's recursion limit
        value, path, depth = stack.pop()
        if depth > max_depth:
            found[path or "body"] = f"Nested more than {max_depth} levels deep."
            continue
        if isinstance(value, str):
            if _SURROGATE.search(value):
                found[path or "body"] = ("Contains a lone UTF-16 surrogate (such as \\ud800), which is not "
                                         "a character; send valid Unicode text.")
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                if _SURROGATE.search(str(key)):
                    found[path or "body"] = "A key contains a lone UTF-16 surrogate; send valid Unicode text."
                    continue
                stack.append((item, where, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}" if path else str(i), depth + 1) for i, item in enumerate(value))
    return found


def nested(flat: dict[str, str]) -> dict:
    """{"a.b": msg} as {"a": {"b": [msg]}}, the shape of marshmallow's ``errors``."""
    out: dict = {}
    for path, message in sorted(flat.items()):
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[leaf] = [message]
    return out


class Pattern(validate.Regexp):
    """``validate.Regexp`` that reads ``$`` as the document does (JSON Schema, ECMA-262): the very end.

    Python's ``$`` also matches before a final newline, so ``"en\\n"`` passed ``^[a-z]{2,3}$``
    here while the OpenAPI document (which shows the same pattern) refuses it.
    """

    def __init__(self, regex: str, *args, **kwargs) -> None:
        super().__init__(regex, *args, **kwargs)
        end = re.sub(r"(?<!\\)\$$", r"\\Z", self.regex.pattern)  # only a final, unescaped $
        self._strict = re.compile(end, self.regex.flags)

    def __call__(self, value: str) -> str:
        if self._strict.match(value) is None:
            raise validate.ValidationError(self._format_error(value))
        return value


# JSON bodies' numbers and flags as the document (JSON Schema) means them. marshmallow's own
# fields also take "3" and 3.5 (truncated to 3) for an integer and "yes" or 1 for a boolean,
# all of which the document refuses. (Query strings are text: their schemas keep marshmallow's
# fields. The console's forms turn what looks like a number into one first, server/console/forms.py.)
def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class JsonInteger(fields.Integer):
    """A whole number: 3 or 3.0, never "3" or 3.5."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not _number(value) or (isinstance(value, float) and not value.is_integer()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonBoolean(fields.Boolean):
    """true or false, never "yes" or 1."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class JsonNumber(fields.Float):
    """A number: 3 or 3.5, never "3"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not _number(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)
