"""Offers and codes: limits in a form, the approval queue, the audit list, pools."""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from server.cli import read_code_csv_text
from server.console import add_nav, bp
from server.console.common import PAGE_SIZE, page_number, page_url
from server.console.forms import number, plain
from server.console.session import current, notify, require
from server.db import get_store
from server.errors import Unprocessable
from server.offers import service
from server.offers.schemas import offer_schema, pool_import_schema

add_nav("console.approvals", "Approvals")
add_nav("console.codes", "Codes")
add_nav("console.offers", "Offers")

KINDS = ("free_shipping", "percent_off", "amount_off")


def pool_state(counts: dict) -> dict:
    """A pool's free codes and whether it is running low (under a tenth, or under 5)."""
    low = counts["total"] > 0 and counts["free"] < max(5, counts["total"] // 10)
    return {**counts, "low": low}


@bp.get("/offers")
@require("manager")
def offers():
    """Every offer with its limits and its pool."""
    store = get_store()
    rows = [{**o, "pool": pool_state(store.pool_counts(o["key"]))} for o in store.list_offers()]
    return render_template("console/offers.html", offers=rows)


def _offer_values(form) -> dict:
    return {k: form.get(k, "").strip() for k in ("key", "label", "kind", "value", "code_prefix", "valid_days",
                                                  "per_customer_max", "per_customer_window_days",
                                                  "per_agent_per_day", "needs_approval_after")}


def _offer_body(v: dict) -> dict:
    body = {"key": v["key"], "label": v["label"], "kind": v["kind"], "code_prefix": v["code_prefix"],
            "valid_days": number(v["valid_days"]), "per_agent_per_day": number(v["per_agent_per_day"]),
            "per_customer": {"max": number(v["per_customer_max"]),
                             "window_days": number(v["per_customer_window_days"])},
            "value": number(v["value"]) if v["value"] else None,
            "needs_approval_after": number(v["needs_approval_after"]) if v["needs_approval_after"] else None}
    return body


def _flat_errors(messages: dict) -> dict[str, list[str]]:
    out = {}
    for name, found in messages.items():
        if name == "per_customer" and isinstance(found, dict):
            for inner, msgs in found.items():
                out[f"per_customer_{inner}"] = [plain(m) for m in msgs]
        else:
            out[name] = [plain(m) for m in (found if isinstance(found, list) else [str(found)])]
    return out


@bp.route("/offers/new", methods=["GET", "POST"])
@bp.route("/offers/edit/<key>", methods=["GET", "POST"])
@require("manager")
def edit_offer(key: str | None = None):
    """An offer's limits in a form; saving replaces the offer."""
    store = get_store()
    offer = service.get_offer(store, key) if key else None
    errors, status = {}, 200
    if request.method == "POST":
        values = _offer_values(request.form)
        if key:
            values["key"] = key
        try:
            loaded = offer_schema.load(_offer_body(values))
        except ValidationError as exc:
            errors, status = _flat_errors(exc.messages), 422
        else:
            service.save_offers(store, [loaded])
            notify(f"Saved offer {loaded['key']}.")
            return redirect(url_for("console.offers"))
    elif offer:
        values = {**{k: "" if offer.get(k) is None else offer[k] for k in ("key", "label", "kind", "value",
                                                                         "code_prefix", "valid_days",
                                                                         "per_agent_per_day", "needs_approval_after")},
                  "per_customer_max": offer["per_customer"]["max"],
                  "per_customer_window_days": offer["per_customer"]["window_days"]}
    else:
        values = {"key": "", "label": "", "kind": "free_shipping", "value": "", "code_prefix": "", "valid_days": 30,
                  "per_customer_max": 1, "per_customer_window_days": 90, "per_agent_per_day": 10,
                  "needs_approval_after": ""}
    pool = pool_state(store.pool_counts(key)) if key else None
    return render_template("console/offer.html", v=values, offer=offer, errors=errors, kinds=KINDS,
                           pool=pool), status


@bp.post("/offers/pool/<key>")
@require("manager")
def add_pool(key: str):
    """Add shop-created codes (one a line, or a CSV with a ``code`` column) to the pool."""
    codes = read_code_csv_text(request.form.get("codes", ""))
    try:
        pool_import_schema.load({"codes": codes})
    except ValidationError as exc:
        bad = exc.messages.get("codes")
        return render_template("console/error.html", title="Codes not added",
                               message="Codes are 4 to 64 letters, digits, '-' or '_', one a line. "
                                       f"Nothing was added. ({bad})"), 422
    counts = service.import_pool(get_store(), key, codes)
    notify(f"Pool {key}: {counts['added']} added, {counts['skipped']} already known; "
           f"{counts['free']} of {counts['total']} free.")
    return redirect(url_for("console.edit_offer", key=key))


@bp.get("/approvals")
@require("manager")
def approvals():
    """Codes waiting for a manager, oldest first."""
    items, total = get_store().list_codes(status="pending", limit=500)
    return render_template("console/approvals.html", items=list(reversed(items)), total=total)


@bp.post("/codes/decide/<int:code_id>")
@require("manager")
def decide_code(code_id: int):
    """Approve, reject or void a code, with an optional note."""
    decision = request.form.get("decision")
    if decision not in ("approve", "reject", "void"):
        raise Unprocessable("Choose approve, reject or void.")
    note = (request.form.get("note") or "").strip()[:500] or None
    code = service.decide(get_store(), code_id, decision, current()["name"], note)
    notify(f"Code {code['code']} is now {code['status']}.")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith("/console/")
                    else url_for("console.approvals"))


def _day(value: str) -> str | None:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


@bp.get("/codes")
@require("manager")
def codes():
    """The audit list: who gave what to whom for which ticket, filtered."""
    args = request.args
    f = {k: (args.get(k) or "").strip() for k in ("offer", "agent", "customer", "ticket", "status", "from", "to")}
    until = _day(f["to"])
    page = page_number()
    items, total = service.find_codes(get_store(), dict(
        status=f["status"] or None, offer_key=f["offer"] or None, agent=f["agent"] or None,
        customer=f["customer"] or None, ticket_id=f["ticket"] or None, issued_from=_day(f["from"]),
        issued_before=(date.fromisoformat(until) + timedelta(days=1)).isoformat() if until else None,
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE), subaddressing=current_app.config["OFFER_SUBADDRESSING"])
    return render_template("console/codes.html", items=items, total=total, f=f,
                           offers=get_store().list_offers(), page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), page_url=page_url,
                           back=request.full_path)
