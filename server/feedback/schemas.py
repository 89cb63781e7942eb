"""Shapes of agents' feedback."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.inputs import Pattern
from server.snippets.schemas import KEY_PATTERN, LANGUAGE_PATTERN

REASONS = ("wrong_topic", "outdated", "wrong_language", "missing_info")


class FeedbackRequestSchema(Schema):
    """Body of POST /feedback: an agent says a suggestion did not help with a ticket."""

    ticket_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    key = fields.String(required=True, validate=Pattern(KEY_PATTERN, error="Not a snippet key."))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(REASONS),
                           metadata={"description": "Optional: " + ", ".join(REASONS) + "."})
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    language = fields.String(validate=Pattern(LANGUAGE_PATTERN, error="Use an ISO 639-1 code such as 'en'."))


class FeedbackUndoSchema(Schema):
    """Body of DELETE /feedback: take a "not helpful" back."""

    ticket_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    key = fields.String(required=True, validate=Pattern(KEY_PATTERN, error="Not a snippet key."))


class FeedbackSchema(Schema):
    """One stored "not helpful"."""

    id = fields.Integer()
    ticket_id = fields.String()
    key = fields.String(attribute="snippet_key")
    snippet_version = fields.Integer(allow_none=True)
    agent = fields.String()
    language = fields.String()
    reason = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    at = fields.String()


class FeedbackListQuery(Schema):
    """Filter of GET /feedback."""

    key = fields.String(required=True, validate=Pattern(KEY_PATTERN, error="Not a snippet key."))


class SnippetFeedbackSchema(Schema):
    """A snippet's feedback, counted and listed (managers)."""

    key = fields.String()
    total = fields.Integer()
    agents = fields.Integer(metadata={"description": "Distinct agents who gave it."})
    reasons = fields.Dict(keys=fields.String(), values=fields.Integer())
    ranking_factor = fields.Float(metadata={"description": "Its current score multiplier (1.0: no effect)."})
    items = fields.List(fields.Nested(FeedbackSchema))


feedback_request_schema = FeedbackRequestSchema()
feedback_undo_schema = FeedbackUndoSchema()
feedback_schema = FeedbackSchema()
feedback_list_query = FeedbackListQuery()
snippet_feedback_schema = SnippetFeedbackSchema()
