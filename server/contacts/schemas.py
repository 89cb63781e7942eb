"""Shapes of repeat contacts and alerts."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.inputs import SQL_INT_MAX
from server.suggest.schemas import TicketSchema


class EarlierContactSchema(Schema):
    """An earlier ticket of the same customer."""

    ticket_id = fields.String()
    subject = fields.String()
    url = fields.String(allow_none=True, metadata={"description": "Link back into the helpdesk, when it sent one."})
    at = fields.String()


class ContactSummarySchema(Schema):
    """How many times the customer got in touch in the window, and about what."""

    count = fields.Integer(metadata={"description": "Contacts in the window, this ticket included."})
    window_days = fields.Integer()
    alert_at = fields.Integer(metadata={"description": "From this count the sidebar warns."})
    repeat = fields.Boolean()
    alerted = fields.Boolean(metadata={"description": "Customer success was already alerted from this ticket."})
    earlier = fields.List(fields.Nested(EarlierContactSchema))


# An alert is about someone: the ticket's customer needs an e-mail or an id.
_SOMEONE = {"required": ["customer"], "properties": {"customer": {"anyOf": [
    {"required": ["email"], "properties": {"email": {"type": "string", "minLength": 1}}},
    {"required": ["id"], "properties": {"id": {"type": ["string", "number"], "minLength": 1}}}]}}}


def _names_someone(customer: dict) -> bool:
    email, ident = customer.get("email"), customer.get("id")
    return ((isinstance(email, str) and email != "")
            or (isinstance(ident, (str, int, float)) and not isinstance(ident, bool) and ident != ""))


class AlertRequestSchema(Schema):
    """Body of POST /contacts/alerts."""

    ticket = fields.Nested(TicketSchema, required=True, metadata={"openapi": _SOMEONE, "description": (
        "Its customer's e-mail or id must still name someone once normalised (server/identity.py): "
        "one of only invisible characters is a 422.")})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _someone(self, data: dict, **kwargs) -> None:
        if "ticket" in data and not _names_someone(data["ticket"]["customer"]):
            raise ValidationError({"ticket": {"customer": ["Name the customer: an e-mail or an id."]}})


class AlertSchema(Schema):
    """An alert for customer success."""

    id = fields.Integer()
    customer = fields.String()
    ticket_id = fields.String()
    agent = fields.String()
    contacts = fields.Integer()
    summary = fields.List(fields.Nested(EarlierContactSchema))
    note = fields.String(allow_none=True)
    created_at = fields.String()


class AlertPageSchema(Schema):
    """A page of alerts, newest first."""

    items = fields.List(fields.Nested(AlertSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class AlertListQuery(Schema):
    """Paging of the alert list."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=SQL_INT_MAX))


contact_summary_schema = ContactSummarySchema()
alert_request_schema = AlertRequestSchema()
alert_schema = AlertSchema()
alert_page_schema = AlertPageSchema()
alert_list_query = AlertListQuery()
