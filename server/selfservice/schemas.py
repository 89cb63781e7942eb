"""Shapes of the public API."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.inputs import Pattern
from server.snippets.schemas import LANGUAGE_PATTERN


class AnswersQuerySchema(Schema):
    """Query of GET /public/answers."""

    q = fields.String(required=True, validate=validate.Length(min=2, max=500))
    language = fields.String(validate=Pattern(LANGUAGE_PATTERN, error="Use an ISO 639-1 code such as 'en'."))
    limit = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10))


class AnswerSchema(Schema):
    """One answer a customer may read."""

    key = fields.String()
    title = fields.String()
    text = fields.String()
    language = fields.String()


class AnswersSchema(Schema):
    """Answers to a customer's question, best first."""

    language = fields.String()
    answers = fields.List(fields.Nested(AnswerSchema))


answers_query_schema = AnswersQuerySchema()
answers_schema = AnswersSchema()
