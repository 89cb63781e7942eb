"""Shapes of helpdesk imports."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.inputs import Pattern
from server.snippets.schemas import LANGUAGE_PATTERN


class ImportQuery(Schema):
    """Query of POST /imports/<source>."""

    dry_run = fields.Boolean(load_default=False)
    language = fields.String(load_default="en", validate=Pattern(LANGUAGE_PATTERN),
                             metadata={"description": "Language of items whose helpdesk names none."})


class ImportLineSchema(Schema):
    source_id = fields.String()
    key = fields.String(allow_none=True)
    title = fields.String()
    status = fields.String()
    action = fields.String(metadata={"description": "created, updated, unchanged or skipped."})
    tags = fields.List(fields.String())
    translated = fields.List(fields.String())
    unknown = fields.List(fields.String(), metadata={"description": "Placeholders with no equivalent: kept "
                                                                    "visible as fill-in fields."})
    notes = fields.List(fields.String())


class ImportReportSchema(Schema):
    source = fields.String()
    dry_run = fields.Boolean()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    skipped = fields.Integer()
    unknown_placeholders = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(ImportLineSchema))


import_query = ImportQuery()
import_report_schema = ImportReportSchema()
