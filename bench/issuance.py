"""Throughput of POST /api/v1/insertions while several server processes issue codes at once.

For each process count: load the demo store into a fresh REPLYASSIST_HOME with the real CLI,
create a manager and one agent per client, start that many waitress processes over the one
home, raise the demo offers' limits (PUT /api/v1/offers/<key>) so that no limit refuses, then
let the clients fire insertions together: distinct tickets and customers, a mix of
reply/cancel-unshipped (issues a free-shipping code) and reply/order-status (no code), request
i going to process i % processes. Afterwards the SQLite file is read directly: it must hold one
code per successful code-issuing insertion, all distinct, and one insertion row per success.

    .venv/bin/python bench/issuance.py [--processes 2] [--clients 8] [--requests 400]
                                       [--code-share 0.5] [--threads 4] [--workdir DIR]
                                       [--keep] [--json OUT]

``--processes 1,3`` runs each count in turn (a fresh home each) and prints one row per count.
Percentiles are numpy.percentile with method="linear". Exits non-zero when a request got a
5xx or the store disagrees with the responses.
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project's root

from server.db import Store, connect  # noqa: E402
from server.process import ServerError, ServerProcess, flask_cli, start_all  # noqa: E402

SEED = 20261124
WARMUP_PER_PROCESS = 5  # order-status insertions per process before timing (not counted)
CODE_REPLY = "reply/cancel-unshipped"  # issues a free-shipping code
PLAIN_REPLY = "reply/order-status"  # no offer
HIGH = 1_000_000  # a limit no run reaches
PERCENTILE_METHOD = "linear"

_STARTED = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def request(port: int, method: str, path: str, *, token: str | None = None, body: object = None,
            conn: http.client.HTTPConnection | None = None) -> tuple[int, object]:
    """One request (on ``conn`` when given, kept alive); the status and the decoded JSON body."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        if own:
            conn.close()


def ticket(n: int, prefix: str) -> dict:
    return {"id": f"{prefix}-{n}", "subject": "About my order",
            "body": "I ordered a coat yesterday, can I still cancel it? It has not shipped.",
            "customer": {"first_name": "Maria", "email": f"{prefix.lower()}-{n}@example.com"},
            "order": {"id": f"A-{n}", "status": "processing", "tracking_number": f"TRK{n:06d}"},
            "agent": {"first_name": "Ana"}}


@dataclass
class Outcome:
    kind: str  # "code" or "plain"
    status: int  # 0: the connection failed
    ms: float
    code: str | None = None


@dataclass
class Run:
    processes: int
    clients: int
    requests: int
    wall_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)


def raise_limits(port: int, manager: str) -> None:
    """Lift every demo offer's limits so that only the store's behaviour is measured."""
    status, offers = request(port, "GET", "/api/v1/offers", token=manager)
    assert status == 200, offers
    for offer in offers:
        offer.update(per_agent_per_day=HIGH, needs_approval_after=None,
                     per_customer={"max": HIGH, "window_days": offer["per_customer"]["window_days"]})
        status, body = request(port, "PUT", f"/api/v1/offers/{offer['key']}", token=manager, body=offer)
        if status != 200:
            raise SystemExit(f"PUT /offers/{offer['key']} answered {status}: {body}")


def fire(servers: list[ServerProcess], agents: list[str], kinds: list[str]) -> tuple[float, list[Outcome]]:
    """Send every request once from len(agents) client threads released together."""
    clients = len(agents)
    outcomes: list[Outcome | None] = [None] * len(kinds)
    barrier = threading.Barrier(clients)
    starts: list[float] = []

    def client(c: int) -> None:
        conns = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=120) for s in servers]
        try:
            barrier.wait(timeout=60)
            starts.append(time.perf_counter())
            for i in range(c, len(kinds), clients):
                p = i % len(servers)
                key = CODE_REPLY if kinds[i] == "code" else PLAIN_REPLY
                began = time.perf_counter()
                try:
                    status, body = request(servers[p].port, "POST", "/api/v1/insertions", token=agents[c],
                                           body={"key": key, "ticket": ticket(i, "B")}, conn=conns[p])
                except (OSError, http.client.HTTPException):
                    conns[p].close()  # reconnects on the next request; this one is counted as failed
                    status, body = 0, None
                ms = (time.perf_counter() - began) * 1000
                code = body["offer"]["code"] if status in (200, 201) and body.get("offer") else None
                outcomes[i] = Outcome(kinds[i], status, ms, code)
        finally:
            for conn in conns:
                conn.close()

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client, c) for c in range(clients)]:
            future.result()
    return time.perf_counter() - min(starts), outcomes  # type: ignore[return-value]


def verify(database: Path, outcomes: list[Outcome], warmups: int) -> dict[str, bool]:
    """Compare the store with what the clients were told."""
    ok = [o for o in outcomes if o.status in (200, 201)]
    codes = [o.code for o in ok if o.kind == "code"]
    store = Store(connect(str(database)))
    try:
        stored = [r[0] for r in store.conn.execute("SELECT code FROM offer_codes")]
        insertions = store.conn.execute("SELECT count(*) FROM insertions").fetchone()[0]
    finally:
        store.close()
    return {
        "code rows == code insertions": len(stored) == len(codes),
        "codes distinct": len(set(stored)) == len(stored) and len(set(codes)) == len(codes),
        "stored codes == returned codes": sorted(stored) == sorted(c for c in codes if c),
        "insertion rows == successes": insertions == len(ok) + warmups,
    }


def run_once(processes: int, clients: int, total: int, code_share: float, threads: int,
             workdir: Path, keep: bool) -> Run:
    home = Path(tempfile.mkdtemp(prefix=f"issuance-{processes}p-", dir=workdir))
    run = Run(processes, clients, total)
    servers: list[ServerProcess] = []
    try:
        progress(f"{processes} process(es): loading the demo store into {home}")
        flask_cli(home, "demo")
        users = [("marco", "manager")] + [(f"agent-{c}", "agent") for c in range(clients)]
        with ThreadPoolExecutor(4) as pool:
            tokens = list(pool.map(lambda u: flask_cli(home, "users", "create", u[0], "--role", u[1])
                                   .strip().splitlines()[-1], users))
        manager, agents = tokens[0], tokens[1:]
        servers = [ServerProcess(home, threads=threads, log=home / f"server-{n}.log") for n in range(processes)]
        start_all(servers, timeout=120)
        raise_limits(servers[0].port, manager)
        for server in servers:  # warm-up: first requests load modules, templates, the language detector
            for n in range(WARMUP_PER_PROCESS):
                status, body = request(server.port, "POST", "/api/v1/insertions", token=agents[0],
                                       body={"key": PLAIN_REPLY, "ticket": ticket(n, f"WARM{server.port}")})
                if status != 201:
                    raise SystemExit(f"warm-up insertion answered {status}: {body}")
        rng = random.Random(SEED)
        kinds = ["code" if rng.random() < code_share else "plain" for _ in range(total)]
        progress(f"{processes} process(es): firing {total} insertions from {clients} clients")
        run.wall_s, run.outcomes = fire(servers, agents, kinds)
        for server in servers:
            server.check_alive()  # raises with the log's tail if it died during the run
        run.checks = verify(home / "replyassist.sqlite3", run.outcomes, WARMUP_PER_PROCESS * processes)
    finally:
        for server in servers:
            server.stop()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
    return run


def pct(values: list[float], *qs: float) -> list[float]:
    if not values:
        return [float("nan")] * len(qs)
    return [float(v) for v in np.percentile(values, qs, method=PERCENTILE_METHOD)]


def summary(run: Run) -> dict:
    ok = [o for o in run.outcomes if o.status in (200, 201)]
    ok_code = [o for o in ok if o.kind == "code"]
    p50, p95, p99, p100 = pct([o.ms for o in run.outcomes], 50, 95, 99, 100)
    c50, c99 = pct([o.ms for o in run.outcomes if o.kind == "code"], 50, 99)
    return {"processes": run.processes, "clients": run.clients, "requests": run.requests,
            "wall_s": run.wall_s, "ok": len(ok), "ok_code": len(ok_code),
            "per_s": len(ok) / run.wall_s, "code_per_s": len(ok_code) / run.wall_s,
            "p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "max_ms": p100,
            "code_p50_ms": c50, "code_p99_ms": c99,
            "status_5xx": sum(1 for o in run.outcomes if o.status >= 500),
            "other_failures": sum(1 for o in run.outcomes if not (o.status in (200, 201) or o.status >= 500)),
            "checks": run.checks}


def print_table(rows: list[dict], threads: int, code_share: float) -> None:
    print(f"\nPOST /api/v1/insertions, waitress --threads {threads} per process, one shared SQLite home, "
          f"{code_share:.0%} code-issuing (reply/cancel-unshipped), the rest reply/order-status\n")
    print("| processes | clients | requests | ok (code) | wall s | insertions/s | code insertions/s "
          "| p50 ms | p95 ms | p99 ms | max ms | code p50/p99 ms | 5xx | other failures | store checks |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        checks = "ok" if all(r["checks"].values()) else \
            "FAILED: " + ", ".join(k for k, v in r["checks"].items() if not v)
        print(f"| {r['processes']} | {r['clients']} | {r['requests']} | {r['ok']} ({r['ok_code']}) "
              f"| {r['wall_s']:.2f} | {r['per_s']:.1f} | {r['code_per_s']:.1f} | {r['p50_ms']:.1f} "
              f"| {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.0f} | {r['code_p50_ms']:.1f} / {r['code_p99_ms']:.1f} "
              f"| {r['status_5xx']} | {r['other_failures']} | {checks} |")
    print("\nstore checks (read from SQLite after the run): " + "; ".join(rows[0]["checks"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="2", help="process count, or a comma-separated list (1,3)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (one agent each)")
    parser.add_argument("--requests", type=int, default=400, help="timed insertions per process count")
    parser.add_argument("--code-share", type=float, default=0.5, help="share of code-issuing insertions")
    parser.add_argument("--threads", type=int, default=4, help="waitress --threads per process")
    parser.add_argument("--workdir", type=Path, default=None, help="parent of the temporary homes")
    parser.add_argument("--keep", action="store_true", help="keep the homes (database, server logs)")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers to this file")
    args = parser.parse_args(argv)
    counts = [int(p) for p in args.processes.split(",") if p.strip()]
    if not counts or min(counts) < 1 or args.clients < 1 or args.requests < 1:
        parser.error("--processes, --clients and --requests must be positive")
    rows = [summary(run_once(p, args.clients, args.requests, args.code_share, args.threads,
                             args.workdir, args.keep)) for p in counts]
    print_table(rows, args.threads, args.code_share)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    failed = [r for r in rows if r["status_5xx"] or r["other_failures"] or not all(r["checks"].values())]
    if failed:
        raise SystemExit(f"{len(failed)} run(s) had failures or a store that disagrees; see the table")


if __name__ == "__main__":
    try:
        main()
    except ServerError as exc:  # a message, not a traceback: the log's tail says what went wrong
        raise SystemExit(str(exc)) from None
