"""Offers (managers set them and their limits) and the audit of issued codes."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from server.api import API_PREFIX, doc, json_body, query_args, url_part
from server.auth import current_user, require
from server.db import get_store
from server.errors import Unprocessable
from server.offers import service
from server.offers.schemas import (OFFER_KEY, code_list_query, code_page_schema, decision_schema, offer_code_schema,
                                   offer_body_schema, offer_schema, offers_schema, pool_counts_schema, pool_import_schema)

bp = Blueprint("offers", __name__, url_prefix=API_PREFIX)
url_part(bp, "offer_key", OFFER_KEY)


@bp.get("/offers")
@require("agent")
@doc(summary="List goodwill offers and their limits", response=offers_schema)
def list_offers():
    return offers_schema.dump(get_store().list_offers())


@bp.get("/offers/<offer_key:key>")
@require("agent")
@doc(summary="Get an offer", response=offer_schema)
def get_offer(key: str):
    return offer_schema.dump(service.get_offer(get_store(), key))


@bp.put("/offers/<offer_key:key>")
@require("manager")
@doc(summary="Create or replace an offer (its key is the URL's)", body=offer_body_schema, response=offer_schema)
def put_offer(key: str):
    data = json_body()
    if isinstance(data, dict) and data.pop("key", key) != key:  # the key may be repeated, not changed
        raise Unprocessable("The offer's key must match the URL.", errors={"key": [f"expected {key!r}"]})
    offer = {**offer_body_schema.load(data), "key": key}
    service.save_offers(get_store(), [offer])
    return offer_schema.dump(offer)


@bp.post("/offers/<offer_key:key>/pool")
@require("manager")
@doc(summary="Add shop-created codes to an offer's pool (each is handed out once)",
     body=pool_import_schema, response=pool_counts_schema)
def import_pool(key: str):
    data = pool_import_schema.load(json_body())
    return pool_counts_schema.dump(service.import_pool(get_store(), key, data["codes"]))


@bp.get("/offer-codes")
@require("manager")
@doc(summary="Audit issued codes: who gave what to whom for which ticket", query=code_list_query,
     response=code_page_schema)
def list_codes():
    items, total = service.find_codes(get_store(), query_args(code_list_query),
                                      subaddressing=current_app.config["OFFER_SUBADDRESSING"])
    return code_page_schema.dump({"items": items, "total": total})


def _decide(code_id: int, decision: str):
    # The note is optional, so an empty body is fine.
    data = decision_schema.load(json_body()) if request.content_length else {"note": None}
    code = service.decide(get_store(), code_id, decision, current_user()["name"], data["note"])
    return offer_code_schema.dump(code)


@bp.post("/offer-codes/<int(max=9223372036854775807):code_id>/approve")
@require("manager")
@doc(summary="Approve a pending code", body=decision_schema, response=offer_code_schema, errors=(409,))
def approve_code(code_id: int):
    return _decide(code_id, "approve")


@bp.post("/offer-codes/<int(max=9223372036854775807):code_id>/reject")
@require("manager")
@doc(summary="Reject a pending code", body=decision_schema, response=offer_code_schema, errors=(409,))
def reject_code(code_id: int):
    return _decide(code_id, "reject")


@bp.post("/offer-codes/<int(max=9223372036854775807):code_id>/void")
@require("manager")
@doc(summary="Void an issued or pending code", body=decision_schema, response=offer_code_schema, errors=(409,))
def void_code(code_id: int):
    return _decide(code_id, "void")
