"""Shapes of insertions."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.inputs import JsonBoolean, Pattern
from server.snippets.schemas import KEY_PATTERN, LANGUAGE_PATTERN
from server.suggest.schemas import TicketSchema


class InsertionRequestSchema(Schema):
    """Body of POST /insertions: the reply (or policy) the agent used on a ticket."""

    key = fields.String(required=True, validate=Pattern(KEY_PATTERN))
    ticket = fields.Nested(TicketSchema, required=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.String(validate=validate.Length(max=50)),
                          values=fields.Raw(allow_none=True), load_default=dict,
                          validate=validate.Length(max=50))
    language = fields.String(validate=Pattern(LANGUAGE_PATTERN))
    confirm_ineligible = JsonBoolean(load_default=False, metadata={
        "description": "Insert a reply whose conditions the ticket does not meet (recorded)."})
    without_offer = JsonBoolean(load_default=False, metadata={
        "description": "Send the reply without its offer code (say, a limit refused it); recorded as such."})
    withheld_because = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                                     metadata={"description": "Why, e.g. the refusing limit (per_customer)."})


class OfferCodeViewSchema(Schema):
    """The code an insertion carries."""

    key = fields.String()
    code = fields.String(allow_none=True, metadata={"description": "Only once issued; null while pending, rejected or void"})
    expires_on = fields.String()
    status = fields.String(metadata={"description": "issued, pending (waits for a manager), rejected or void"})


class InsertionResponseSchema(Schema):
    """What to put in the reply box."""

    insertion_id = fields.Integer()
    key = fields.String()
    kind = fields.String()
    text = fields.String(allow_none=True)
    language = fields.String()
    missing = fields.List(fields.String())
    offer = fields.Nested(OfferCodeViewSchema, allow_none=True)
    eligible = fields.Boolean(allow_none=True)
    reason = fields.String(allow_none=True)
    repeated = fields.Boolean(metadata={"description": "True when this ticket already had this reply"})
    offer_withheld = fields.Boolean(metadata={"description": "Sent without its offer code (without_offer)"})
    notice = fields.String(allow_none=True, metadata={
        "description": "Why text is null: the code waits for a manager's approval (or was rejected or voided)."})


insertion_request_schema = InsertionRequestSchema()
insertion_response_schema = InsertionResponseSchema()
