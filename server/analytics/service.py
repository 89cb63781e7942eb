"""Analytics reports, computed from stored events only (the console and CSVs show these numbers).

"Shown" counts distinct tickets a snippet was suggested for (the sidebar asks again after a
navigation; a ticket counts once). "Rank picked" is where the snippet stood in the newest
suggestion of that ticket made before the insertion; an insertion with no such suggestion was
found by manual search ("searched").
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from server.db import Store

REPORTS = ("snippets", "daily", "offers", "agents", "unused", "edits")
COLUMNS = {
    "snippets": ["key", "kind", "language", "title", "shown", "inserted", "insert_rate", "mean_rank",
                 "rank_1", "rank_2", "rank_3", "rank_4_plus", "searched", "not_helpful"],
    "daily": ["date", "tickets_shown", "insertions", "codes_issued", "not_helpful"],
    "offers": ["key", "label", "issued", "pending", "rejected", "void", "busiest_agent_day",
               "per_agent_per_day", "per_customer_max", "per_customer_window_days", "needs_approval_after",
               "pool_total", "pool_free"],
    "agents": ["agent", "tickets_shown", "insertions", "insert_rate", "mean_rank", "codes_issued", "not_helpful"],
    "unused": ["key", "kind", "title", "shown", "last_inserted"],
    "edits": ["key", "version", "action", "changed_by", "changed_at", "window_days", "shown_before",
              "inserted_before", "rate_before", "shown_after", "inserted_after", "rate_after", "not_helpful_before",
              "not_helpful_after"],
}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _ranks(events: list[dict]) -> dict[str, list[tuple[str, str, int, str]]]:
    """Per ticket, (at, key, rank, language) of every snippet shown, oldest first."""
    by_ticket: dict[str, list] = defaultdict(list)
    for e in events:
        for kind, key, rank in e["shown"]:
            by_ticket[e["ticket_id"]].append((e["at"], key, rank, e["language"]))
    return by_ticket


def picked_rank(shown: list[tuple[str, str, int, str]], key: str, at: str) -> tuple[int | None, str | None]:
    """The rank (and ticket language) of ``key`` in the newest suggestion made at or before ``at``."""
    best = None
    for when, k, rank, language in shown:
        if k == key and when <= at:
            best = (rank, language)
    return best or (None, None)


def _titles(store: Store, keys: list[str], language: str | None) -> dict[str, tuple[str, str]]:
    found = {}
    for key, s in store.get_snippets(sorted(set(keys))).items():
        text = s["texts"].get(language or "") or s["texts"][s["default_language"]]
        found[key] = (s["kind"], text["title"])
    return found


def snippets_report(store: Store, q: dict) -> list[dict]:
    """Per snippet and ticket language: shown, inserted, rate, ranks picked, not helpful."""
    events = store.suggestion_events(q["start"], q["end"], q.get("language"))
    shown_tickets: dict[tuple, set] = defaultdict(set)
    for e in events:
        for _kind, key, _rank in e["shown"]:
            shown_tickets[(key, e["language"])].add(e["ticket_id"])
    # Ranks need suggestions in any language (the ticket's language decides the row).
    ranks = _ranks(store.suggestion_events(q["start"], q["end"]))
    picks: dict[tuple, Counter] = defaultdict(Counter)
    for ins in store.insertions_between(q["start"], q["end"]):
        rank, language = picked_rank(ranks.get(ins["ticket_id"], []), ins["snippet_key"], ins["created_at"])
        language = language or ins["language"]
        if q.get("language") and language != q["language"]:
            continue
        bucket = "searched" if rank is None else f"rank_{rank}" if rank <= 3 else "rank_4_plus"
        picks[(ins["snippet_key"], language)].update({bucket: 1, "inserted": 1, "rank_sum": rank or 0,
                                                      "ranked": rank is not None})
    unhelpful = Counter((f["snippet_key"], f["language"]) for f in
                        store.feedback_between(q["start"], q["end"], q.get("language")))
    keys = set(shown_tickets) | set(picks) | set(unhelpful)
    titles = _titles(store, [k for k, _ in keys], q.get("language"))
    rows = []
    for key, language in keys:
        p, shown = picks[(key, language)], len(shown_tickets[(key, language)])
        kind, title = titles.get(key, ("?", "(deleted)"))
        rows.append({"key": key, "kind": kind, "language": language, "title": title, "shown": shown,
                     "inserted": p["inserted"], "insert_rate": _rate(p["inserted"], shown),
                     "mean_rank": round(p["rank_sum"] / p["ranked"], 2) if p["ranked"] else None,
                     **{b: p[b] for b in ("rank_1", "rank_2", "rank_3", "rank_4_plus", "searched")},
                     "not_helpful": unhelpful[(key, language)]})
    return sorted(rows, key=lambda r: (-r["inserted"], -r["shown"], r["key"], r["language"]))


def _days(q: dict) -> list[str]:
    first = date.fromisoformat(q["start"])
    return [(first + timedelta(days=i)).isoformat() for i in range((date.fromisoformat(q["end"]) - first).days)]


def daily_report(store: Store, q: dict) -> list[dict]:
    """Per day: tickets shown suggestions, insertions, codes issued, not-helpful marks."""
    lang = q.get("language")
    shown: dict[str, set] = defaultdict(set)
    for e in store.suggestion_events(q["start"], q["end"], lang):
        shown[e["at"][:10]].add(e["ticket_id"])
    insertions = store.insertions_between(q["start"], q["end"], lang)
    inserted = Counter(i["created_at"][:10] for i in insertions)
    codes = Counter(i["created_at"][:10] for i in insertions
                    if i["offer_code"] and i["code_status"] in ("issued", "pending"))
    unhelpful = Counter(f["at"][:10] for f in store.feedback_between(q["start"], q["end"], lang))
    return [{"date": d, "tickets_shown": len(shown[d]), "insertions": inserted[d], "codes_issued": codes[d],
             "not_helpful": unhelpful[d]} for d in _days(q)]


def offers_report(store: Store, q: dict) -> list[dict]:
    """Per offer: codes by status in the range, the busiest agent-day against its limits, the pool."""
    codes = store.codes_between(q["start"], q["end"])
    rows = []
    for offer in store.list_offers():
        mine = [c for c in codes if c["offer_key"] == offer["key"]]
        status = Counter(c["status"] for c in mine)
        per_day = Counter((c["agent"], c["issued_at"][:10]) for c in mine if c["status"] in ("issued", "pending"))
        per_customer = offer.get("per_customer") or {}
        pool = store.pool_counts(offer["key"])
        rows.append({"key": offer["key"], "label": offer.get("label"), **{s: status[s] for s in
                     ("issued", "pending", "rejected", "void")},
                     "busiest_agent_day": max(per_day.values(), default=0),
                     "per_agent_per_day": offer.get("per_agent_per_day"),
                     "per_customer_max": per_customer.get("max"),
                     "per_customer_window_days": per_customer.get("window_days"),
                     "needs_approval_after": offer.get("needs_approval_after"),
                     "pool_total": pool["total"], "pool_free": pool["free"]})
    return rows


def agents_report(store: Store, q: dict) -> list[dict]:
    """Per agent: tickets shown suggestions, insertions, rate, mean rank picked, codes, not helpful."""
    lang = q.get("language")
    events = store.suggestion_events(q["start"], q["end"], lang)
    shown: dict[str, set] = defaultdict(set)
    for e in events:
        shown[e["agent"]].add(e["ticket_id"])
    ranks = _ranks(events)
    stats: dict[str, Counter] = defaultdict(Counter)
    for ins in store.insertions_between(q["start"], q["end"], lang):
        rank, _ = picked_rank(ranks.get(ins["ticket_id"], []), ins["snippet_key"], ins["created_at"])
        stats[ins["agent"]].update({"insertions": 1, "rank_sum": rank or 0, "ranked": rank is not None,
                                    "codes": bool(ins["offer_code"]) and ins["code_status"] in ("issued", "pending")})
    for f in store.feedback_between(q["start"], q["end"], lang):
        stats[f["agent"]]["not_helpful"] += 1
    rows = []
    for agent in sorted(set(shown) | set(stats)):
        s = stats[agent]
        rows.append({"agent": agent, "tickets_shown": len(shown[agent]), "insertions": s["insertions"],
                     "insert_rate": _rate(s["insertions"], len(shown[agent])),
                     "mean_rank": round(s["rank_sum"] / s["ranked"], 2) if s["ranked"] else None,
                     "codes_issued": s["codes"], "not_helpful": s["not_helpful"]})
    return rows


def unused_report(store: Store, q: dict) -> list[dict]:
    """Published snippets nobody inserted in the range: how often they were shown, when last used."""
    lang = q.get("language")
    used = {i["snippet_key"] for i in store.insertions_between(q["start"], q["end"], lang)}
    shown: dict[str, set] = defaultdict(set)
    for e in store.suggestion_events(q["start"], q["end"], lang):
        for _kind, key, _rank in e["shown"]:
            shown[key].add(e["ticket_id"])
    last = store.last_insertions()
    rows = []
    for s in store.iter_snippets("published"):
        if s["key"] in used or (lang and lang not in s["texts"]):
            continue
        text = s["texts"].get(lang or "") or s["texts"][s["default_language"]]
        rows.append({"key": s["key"], "kind": s["kind"], "title": text["title"], "shown": len(shown[s["key"]]),
                     "last_inserted": last.get(s["key"])})
    return sorted(rows, key=lambda r: (-r["shown"], r["key"]))


def _window_stats(events: list[dict], insertions: list[dict], feedback: list[dict], key: str,
                  start: str, end: str) -> tuple[int, int, int]:
    shown = {e["ticket_id"] for e in events if start <= e["at"] < end and any(k == key for _, k, _ in e["shown"])}
    inserted = sum(1 for i in insertions if i["snippet_key"] == key and start <= i["created_at"] < end)
    unhelpful = sum(1 for f in feedback if f["snippet_key"] == key and start <= f["at"] < end)
    return len(shown), inserted, unhelpful


def edits_report(store: Store, q: dict) -> list[dict]:
    """Each edit made in the range, with the snippet's use in the ``window`` days before and after it."""
    lang, window = q.get("language"), timedelta(days=q["window"])
    edits = store.snippet_edits(q["start"], q["end"])
    if not edits:
        return []
    lo = (datetime.fromisoformat(q["start"]) - window).date().isoformat()
    hi = (datetime.fromisoformat(q["end"]) + window).date().isoformat()
    events = store.suggestion_events(lo, hi, lang)
    insertions = store.insertions_between(lo, hi, lang)
    feedback = store.feedback_between(lo, hi, lang)
    rows = []
    for edit in edits:
        at = datetime.fromisoformat(edit["changed_at"])
        before = (at - window).isoformat(timespec="seconds"), edit["changed_at"]
        after = edit["changed_at"], (at + window).isoformat(timespec="seconds")
        sb, ib, nb = _window_stats(events, insertions, feedback, edit["key"], *before)
        sa, ia, na = _window_stats(events, insertions, feedback, edit["key"], *after)
        rows.append({**{k: edit[k] for k in ("key", "version", "action", "changed_by", "changed_at")},
                     "window_days": q["window"], "shown_before": sb, "inserted_before": ib,
                     "rate_before": _rate(ib, sb), "shown_after": sa, "inserted_after": ia,
                     "rate_after": _rate(ia, sa), "not_helpful_before": nb, "not_helpful_after": na})
    return rows


_BUILDERS = {"snippets": snippets_report, "daily": daily_report, "offers": offers_report,
             "agents": agents_report, "unused": unused_report, "edits": edits_report}


def report(store: Store, name: str, q: dict) -> dict:
    """One report as {report, from, to, language, columns, rows}."""
    return {"report": name, "from": q["from"].isoformat(), "to": q["to"].isoformat(),
            "language": q.get("language"), "columns": COLUMNS[name], "rows": _BUILDERS[name](store, q)}


INSERTION_COLUMNS = ["id", "created_at", "last_at", "ticket_id", "snippet_key", "snippet_version", "kind",
                     "language", "agent", "eligible", "times", "offer_key", "offer_code", "code_status"]
CODE_COLUMNS = ["id", "offer_key", "code", "source", "status", "customer", "agent", "ticket_id", "snippet_key",
                "issued_at", "expires_on", "decided_by", "decided_at", "note"]
