"""A schema's dump compiled to plain dict building, for responses built from our own data.

marshmallow's ``Schema.dump`` walks every field through accessors, defaults and hooks: for a
/suggest response (10 hits of 24 fields) that was ~8% of a request's CPU. What a response
dump does with our data is simple (take each declared key, convert numbers and strings, nest),
so ``dumper(schema)`` does only that and gives the same output, key order included. The
schema stays what documents the response (OpenAPI) and what tests check responses against.
Schemas with anything else (hooks, defaults, other field types) are refused at compile time.
"""
from __future__ import annotations

from collections.abc import Callable

from marshmallow import Schema, fields, missing, utils


def _text(value):
    return value if type(value) is str else utils.ensure_text_type(value)


def _converter(field: fields.Field) -> Callable | None:
    """How a field turns a (non-None) value into its dumped form; None: as it is."""
    if isinstance(field, fields.Nested):
        nested = dumper(field.schema)
        if field.many or field.schema.many:
            return lambda value: [nested(item) for item in value]
        return nested
    if isinstance(field, fields.List):
        inner = _converter(field.inner)
        if inner is None:
            return list
        return lambda value: [None if item is None else inner(item) for item in value]
    kind = type(field)
    if (isinstance(field, fields.Number) and not field.as_string and kind._serialize is fields.Number._serialize
            and kind._format_num is fields.Number._format_num):
        return field.num_type  # Float: float(value), Integer: int(value)
    if (isinstance(field, fields.Mapping) and field.key_field is None and field.value_field is None
            and kind._serialize is fields.Mapping._serialize):
        return field.mapping_type
    if isinstance(field, fields.String) and kind._serialize is fields.String._serialize:
        return _text
    if isinstance(field, (fields.Boolean, fields.Raw)) and kind._serialize is fields.Field._serialize:
        return None  # dumped unchanged
    raise TypeError(f"fastdump cannot dump {type(field).__name__} fields")


def dumper(schema: Schema) -> Callable[[dict], dict]:
    """A function giving ``schema.dump(data)`` for a dict ``data`` (``many`` schemas: a list)."""
    if any(schema._hooks.values()):
        raise TypeError(f"fastdump cannot run {type(schema).__name__}'s hooks")
    steps = []
    for name, field in schema.dump_fields.items():
        if field.dump_default is not missing or not field._CHECK_ATTRIBUTE:
            raise TypeError(f"fastdump cannot dump {type(schema).__name__}.{name}")
        steps.append((field.attribute or name, field.data_key or name, _converter(field)))

    def dump_one(data: dict) -> dict:
        out = {}
        for attribute, key, convert in steps:
            if attribute in data:
                value = data[attribute]
                out[key] = value if value is None or convert is None else convert(value)
        return out

    if schema.many:
        return lambda items: [dump_one(item) for item in items]
    return dump_one
