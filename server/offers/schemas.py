"""Goodwill offers, as in ``offers.json``."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.inputs import SQL_INT_MAX, JsonInteger, JsonNumber, Pattern


class PerCustomerSchema(Schema):
    """At most ``max`` codes per customer within ``window_days``."""

    max = JsonInteger(required=True, validate=validate.Range(min=1, max=SQL_INT_MAX))
    window_days = JsonInteger(required=True, validate=validate.Range(min=1, max=3650))


OFFER_KEY = r"[a-z0-9][a-z0-9_\-]{0,99}"


class OfferSchema(Schema):
    """A goodwill offer and its limits."""

    key = fields.String(required=True, validate=Pattern(rf"^{OFFER_KEY}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(["free_shipping", "percent_off", "amount_off"]))
    value = JsonNumber(load_default=None, allow_none=True, validate=validate.Range(min=0, max=SQL_INT_MAX))
    code_prefix = fields.String(required=True, validate=Pattern(r"^[A-Z0-9]{2,20}$"))
    valid_days = JsonInteger(required=True, validate=validate.Range(min=1, max=3650))
    per_customer = fields.Nested(PerCustomerSchema, required=True)
    per_agent_per_day = JsonInteger(required=True, validate=validate.Range(min=1, max=SQL_INT_MAX))
    needs_approval_after = JsonInteger(load_default=None, allow_none=True, validate=validate.Range(min=0, max=SQL_INT_MAX))


class OfferBodySchema(OfferSchema):
    """An offer as PUT takes it: the key comes from the URL."""

    key = fields.String(dump_only=True)


offer_schema = OfferSchema()
offer_body_schema = OfferBodySchema()
offers_schema = OfferSchema(many=True)


class OfferCodeSchema(Schema):
    """An issued goodwill code, as managers audit it."""

    id = fields.Integer()
    offer_key = fields.String()
    code = fields.String()
    source = fields.String()
    status = fields.String()
    customer = fields.String()
    agent = fields.String()
    ticket_id = fields.String()
    snippet_key = fields.String()
    issued_at = fields.String()
    expires_on = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class CodeListQuery(Schema):
    """Filters of the code list."""

    status = fields.String(validate=validate.OneOf(["issued", "pending", "rejected", "void"]))
    offer_key = fields.String(data_key="offer")
    agent = fields.String()
    customer = fields.String()
    ticket_id = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=SQL_INT_MAX))


class CodePageSchema(Schema):
    """A page of codes."""

    items = fields.List(fields.Nested(OfferCodeSchema))
    total = fields.Integer()


class DecisionSchema(Schema):
    """A manager's note on a decision."""

    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class PoolImportSchema(Schema):
    """Codes created in the shop, to hand out once each."""

    codes = fields.List(fields.String(validate=Pattern(r"^[A-Za-z0-9_\-]{4,64}$")),
                        required=True, validate=validate.Length(min=1, max=100_000))


class PoolCountsSchema(Schema):
    """The result of a pool import."""

    added = fields.Integer()
    skipped = fields.Integer()
    total = fields.Integer()
    free = fields.Integer()


offer_code_schema = OfferCodeSchema()
code_list_query = CodeListQuery()
code_page_schema = CodePageSchema()
decision_schema = DecisionSchema()
pool_import_schema = PoolImportSchema()
pool_counts_schema = PoolCountsSchema()
