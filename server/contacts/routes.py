"""Alerts for customer success: agents raise them from the sidebar, managers list them."""
from __future__ import annotations

from flask import Blueprint, current_app

from server.api import API_PREFIX, doc, json_body, query_args
from server.auth import current_user, require
from server.contacts import service
from server.contacts.schemas import alert_list_query, alert_page_schema, alert_request_schema, alert_schema
from server.db import get_store

bp = Blueprint("contacts", __name__, url_prefix=f"{API_PREFIX}/contacts")


@bp.post("/alerts")
@require("agent")
@doc(summary="Alert customer success about a customer who keeps getting in touch",
     body=alert_request_schema, response=alert_schema, status=201, also=(200,))
def create_alert():
    data = alert_request_schema.load(json_body())
    alert, created = service.raise_alert(get_store(), data["ticket"], current_user()["name"], data["note"],
                                         current_app.config)
    return alert_schema.dump(alert), 201 if created else 200


@bp.get("/alerts")
@require("manager")
@doc(summary="Alerts for customer success, newest first", query=alert_list_query, response=alert_page_schema)
def list_alerts():
    args = query_args(alert_list_query)
    items, total = get_store().list_contact_alerts(args["limit"], args["offset"])
    return alert_page_schema.dump({"items": items, "total": total, **args})
