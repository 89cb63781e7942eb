"""Shapes of value labels, rendered replies and the agent's own replies."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.inputs import Pattern
from server.render import ROOTS
from server.snippets.schemas import KEY_PATTERN, LANGUAGE_PATTERN
from server.suggest.schemas import HitSchema, TicketSchema


class ValueLabelsSchema(Schema):
    """One language's labels: {"order.status": {"processing": "in lavorazione"}}."""

    labels = fields.Dict(keys=fields.String(validate=[validate.Length(min=3, max=100), Pattern(
        rf"^({'|'.join(ROOTS)})\.", error=f"Paths are dotted, under {', '.join(ROOTS)}.")]),
                         values=fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)),
                                            values=fields.String(validate=validate.Length(min=1, max=200))),
                         required=True, validate=validate.Length(max=200))


class RenderRequestSchema(Schema):
    """Body of POST /replies/render: replies to show for the open ticket."""

    ticket = fields.Nested(TicketSchema, required=True)
    keys = fields.List(fields.String(validate=Pattern(KEY_PATTERN)), required=True,
                       validate=validate.Length(min=1, max=20))
    language = fields.String(validate=Pattern(LANGUAGE_PATTERN))


class RenderResponseSchema(Schema):
    """Replies rendered over a ticket, as /suggest shows them."""

    language = fields.String()
    replies = fields.List(fields.Nested(HitSchema))


class ShortcutSchema(Schema):
    """A reply the agent keeps at hand."""

    key = fields.String()
    title = fields.String()


class MyRepliesSchema(Schema):
    """The agent's favourite and recently inserted replies."""

    favourites = fields.List(fields.Nested(ShortcutSchema))
    recent = fields.List(fields.Nested(ShortcutSchema))


value_labels_schema = ValueLabelsSchema()
render_request_schema = RenderRequestSchema()
render_response_schema = RenderResponseSchema()
my_replies_schema = MyRepliesSchema()
