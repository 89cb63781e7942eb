"""Goodwill offers, as in ``offers.json``."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class PerCustomerSchema(Schema):
    """At most ``max`` codes per customer within ``window_days``."""

    max = fields.Integer(required=True, validate=validate.Range(min=1))
    window_days = fields.Integer(required=True, validate=validate.Range(min=1, max=3650))


class OfferSchema(Schema):
    """A goodwill offer and its limits."""

    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9_\-]{0,99}$"))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(["free_shipping", "percent_off", "amount_off"]))
    value = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    code_prefix = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9]{2,20}$"))
    valid_days = fields.Integer(required=True, validate=validate.Range(min=1, max=3650))
    per_customer = fields.Nested(PerCustomerSchema, required=True)
    per_agent_per_day = fields.Integer(required=True, validate=validate.Range(min=1))
    needs_approval_after = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))


offer_schema = OfferSchema()
offers_schema = OfferSchema(many=True)
