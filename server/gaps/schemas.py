"""Shapes of content gaps."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class ExampleSchema(Schema):
    ticket_id = fields.String()
    language = fields.String()
    at = fields.String()
    text = fields.String()


class TopicSchema(Schema):
    """One topic of gap tickets."""

    id = fields.String()
    size = fields.Integer()
    languages = fields.Dict(keys=fields.String(), values=fields.Integer())
    terms = fields.List(fields.String(), metadata={"description": "Top terms, as customers wrote them."})
    ticket_ids = fields.List(fields.String())
    why = fields.Dict(keys=fields.String(), values=fields.Integer(),
                      metadata={"description": "nothing_inserted / all_unhelpful counts."})
    feedback = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "'Not helpful' marks on these tickets by reason."})
    shown = fields.List(fields.String(), metadata={"description": "Snippets most often shown to these tickets."})
    examples = fields.List(fields.Nested(ExampleSchema))
    draft = fields.Dict(metadata={"description": "What the editor is pre-filled with to write the answer."})


class GapsSchema(Schema):
    """GET /content-gaps."""

    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    language = fields.String(allow_none=True)
    tickets = fields.Integer(metadata={"description": "Gap tickets in the range."})
    unclustered = fields.Integer()
    topics = fields.List(fields.Nested(TopicSchema))


class DismissSchema(Schema):
    """Body of POST /content-gaps/dismissals."""

    ticket_ids = fields.List(fields.String(validate=validate.Length(min=1, max=200)), required=True,
                             validate=validate.Length(min=1, max=5000, error="Name 1 to 5000 tickets of the topic to dismiss."))
    terms = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list,
                        validate=validate.Length(max=20))


class DismissalSchema(Schema):
    id = fields.Integer()
    hidden = fields.Integer(metadata={"description": "Tickets newly hidden."})
    terms = fields.List(fields.String())


gaps_schema = GapsSchema()
dismiss_schema = DismissSchema()
dismissal_schema = DismissalSchema()
