"""Two app servers on one store: request latency and how fast each node's index catches up.

For each store (SQLite: one file both nodes open; PostgreSQL: the tests' throwaway server,
tests/pg.py: initdb/pg_ctl in a temporary directory), it loads the demo store through node
A's home, starts node A and node B (each its own REPLYASSIST_HOME and index; the production
command, gunicorn 2x4 unless --server says otherwise), and measures, from the client side:

- ``/suggest``: distinct ABCD dev tickets (never eval_test), alternately to A and B;
- ``/insertions``: alternately a plain reply and a reply carrying a goodwill code (new customer
  and ticket each time: a real issuance with its limits counted), alternately to A and B;
- save -> searchable: a manager saves a new policy on one node; the other node is asked
  ``/search`` every 10 ms until it finds it (the time after the save was acknowledged);
- N writes behind: --behind saves on A in a row, then the time until B's /health says lag 0;
- restart: B killed with -9, --behind saves on A, B started again: the time until its /health
  answers and until it says lag 0, beside a restart with nothing to catch up.

    .venv/bin/python bench/nodes.py [--stores sqlite,postgresql] [--requests 200] [--rounds 20]
                                    [--behind 100] [--server gunicorn:2x4] [--json OUT] [--keep]
"""
from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's root

from bench.latency import make_queries, pct, progress, send, spec  # noqa: E402
from server.process import ServerProcess, flask_cli, start_all  # noqa: E402

WARMUP = 20
PLAIN_REPLIES = ["reply/order-status", "reply/return-window", "reply/missing-package", "reply/cancel-shipped"]
OFFER_REPLY = "reply/cancel-unshipped"  # free-shipping: one per customer, limits counted in the store
QUIET = {"REPLYASSIST_WARM_UP": "0"}


# -- the stores ------------------------------------------------------------------------------
@contextmanager
def store_env(kind: str, workdir: Path) -> Iterator[dict[str, str]]:
    """The environment pointing a node at a fresh shared store of this kind."""
    if kind == "sqlite":
        yield {"REPLYASSIST_DATABASE": str(workdir / "store" / "replyassist.sqlite3")}
    elif kind == "postgresql":
        from tests.pg import PostgresServer  # the tests' throwaway server (initdb/pg_ctl, temp dir)

        server = PostgresServer().start()
        try:
            yield {"REPLYASSIST_DATABASE_URL": server.new_database()}
        finally:
            server.stop()
    else:
        raise SystemExit(f"unknown store {kind!r}: sqlite or postgresql")


# -- requests --------------------------------------------------------------------------------
class Client:
    """Keep-alive connections to both nodes, one bearer token."""

    def __init__(self, nodes: list[ServerProcess], token: str) -> None:
        self.conns = [http.client.HTTPConnection("127.0.0.1", n.port, timeout=60) for n in nodes]
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def call(self, node: int, method: str, path: str, body: object = None) -> tuple[int, object, float]:
        status, data, ms = send(self.conns[node], method, f"/api/v1{path}",
                                None if body is None else json.dumps(body), self.headers)
        return status, json.loads(data) if data else None, ms

    def ok(self, node: int, method: str, path: str, body: object = None, expect: tuple = (200, 201)) -> tuple:
        status, data, ms = self.call(node, method, path, body)
        if status not in expect:
            raise SystemExit(f"{method} {path} on node {'AB'[node]} answered {status}: {data}")
        return data, ms


def time_suggest(agent: Client, tickets: list[str], prefix: str) -> list[float]:
    return [agent.ok(i % 2, "POST", "/suggest", {"ticket": {"id": f"{prefix}-{i}", "body": text}, "limit": 5})[1]
            for i, text in enumerate(tickets)]


def time_insertions(agent: Client, count: int, prefix: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"plain": [], "with code": []}
    for i in range(count):
        offer = i % 2 == 1
        ticket = {"id": f"{prefix}-{i}", "body": "Please cancel my order, it has not shipped yet.",
                  "customer": {"first_name": "Maria", "email": f"{prefix.lower()}-{i}@example.com"},
                  "order": {"id": f"O-{prefix}-{i}", "status": "processing"}}
        key = OFFER_REPLY if offer else PLAIN_REPLIES[i % len(PLAIN_REPLIES)]
        times["with code" if offer else "plain"].append(
            agent.ok(i % 2, "POST", "/insertions", {"key": key, "ticket": ticket})[1])
    return times


def save(manager: Client, node: int, word: str) -> None:
    manager.ok(node, "POST", "/snippets", {"key": f"policy/bench/{word}", "kind": "policy", "language": "en",
                                           "title": f"The {word} desk",
                                           "body": f"Customers may ask at the {word} desk."})


def save_to_searchable(manager: Client, agent: Client, rounds: int, tag: str) -> list[float]:
    """Save on one node; ms until the other node's /search finds it."""
    times = []
    for r in range(rounds):
        word, writer = f"nodeword{tag}{r}x", r % 2
        save(manager, writer, word)
        acked = time.perf_counter()
        deadline = acked + 60
        while True:
            hits = agent.ok(1 - writer, "GET", f"/search?q={word}")[0]["hits"]
            if hits:
                times.append((time.perf_counter() - acked) * 1000)
                break
            if time.perf_counter() > deadline:
                raise SystemExit(f"node {'AB'[1 - writer]} never found {word}")
            time.sleep(0.01)
    return times


def wait_lag_zero(agent: Client, node: int, timeout: float = 600) -> float:
    """Seconds until the node's /health says it applied every write."""
    started = time.perf_counter()
    while True:
        index = agent.ok(node, "GET", "/health")[0]["index"]
        if index["lag_writes"] == 0:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"node {'AB'[node]} still {index['lag_writes']} writes behind after {timeout} s")
        time.sleep(0.02)


def restart(node: ServerProcess, agent: Client, manager: Client, writes: int, tag: str) -> dict:
    """Kill node B with -9, save ``writes`` policies on A, start B: seconds to /health and to lag 0."""
    node.kill()
    for w in range(writes):
        save(manager, 0, f"restart{tag}{w}x")
    started = time.perf_counter()
    node.start(timeout=600)
    answering = time.perf_counter() - started
    agent.conns[1].close()
    caught_up = answering + wait_lag_zero(agent, 1)
    if writes and not agent.ok(1, "GET", f"/search?q=restart{tag}{writes - 1}x")[0]["hits"]:
        raise SystemExit("the restarted node does not find the last write")
    return {"to_health_s": round(answering, 2), "to_lag0_s": round(caught_up, 2)}


# -- one store -------------------------------------------------------------------------------
def run_store(kind: str, workdir: Path, args: argparse.Namespace, tickets: list[str]) -> dict:
    progress(f"{kind}: starting the store and loading the demo")
    with store_env(kind, workdir) as env:
        env = {**env, **QUIET}
        home_a, home_b = workdir / "a", workdir / "b"
        home_b.mkdir(parents=True)
        agent_token = flask_cli(home_a, "demo", env=env).strip().splitlines()[-1]
        manager_token = flask_cli(home_a, "users", "create", "marco", "--role", "manager",
                                  env=env).strip().splitlines()[-1]
        server, workers, threads = spec(args.server)
        nodes = [ServerProcess(home, kind=server, workers=workers, threads=threads, env=env,
                               log=home / "server.log") for home in (home_a, home_b)]
        try:
            start_all(nodes, timeout=600)
            agent, manager = Client(nodes, agent_token), Client(nodes, manager_token)
            offer = manager.ok(0, "GET", "/offers/free-shipping")[0]
            manager.ok(0, "PUT", "/offers/free-shipping", {**{k: v for k, v in offer.items() if k != "key"},
                                                           "per_agent_per_day": 1_000_000})
            progress(f"{kind}: warm-up, then {len(tickets) - WARMUP} suggests and {args.requests} insertions")
            time_suggest(agent, tickets[:WARMUP], "WARM")
            suggest = time_suggest(agent, tickets[WARMUP:], f"S{kind}")
            insert = time_insertions(agent, args.requests, f"I{kind}")
            progress(f"{kind}: {args.rounds} saves, each until the other node finds it")
            searchable = save_to_searchable(manager, agent, args.rounds, kind[:2])
            progress(f"{kind}: {args.behind} saves on A in a row, then B's lag to 0")
            for w in range(args.behind):
                save(manager, 0, f"behind{kind[:2]}{w}x")
            behind = wait_lag_zero(agent, 1)
            progress(f"{kind}: restarts of B (kill -9), with 0 and {args.behind} writes to catch up")
            restart_idle = restart(nodes[1], agent, manager, 0, f"{kind[:2]}i")
            restart_behind = restart(nodes[1], agent, manager, args.behind, f"{kind[:2]}b")
        finally:
            for node in nodes:
                node.stop(timeout=15)
    return {"store": kind, "suggest_ms": pct(suggest, 50, 95, 99),
            "insertions_plain_ms": pct(insert["plain"], 50, 95, 99),
            "insertions_with_code_ms": pct(insert["with code"], 50, 95, 99),
            "save_to_searchable_ms": {**pct(searchable, 50, 95), "max": round(max(searchable), 1)},
            "behind_writes": args.behind, "behind_to_lag0_s": round(behind, 2),
            "restart_idle": restart_idle, "restart_behind": restart_behind}


def print_table(results: list[dict]) -> None:
    names = [r["store"] for r in results]
    print("\n| measure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))

    def row(label: str, cell) -> None:
        print(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")

    for key, label in (("suggest_ms", "/suggest ms p50 / p95 / p99"),
                       ("insertions_plain_ms", "/insertions (plain) ms p50 / p95 / p99"),
                       ("insertions_with_code_ms", "/insertions (issues a code) ms p50 / p95 / p99")):
        row(label, lambda r, k=key: " / ".join(f"{r[k][p]:.1f}" for p in ("p50", "p95", "p99")))
    row("save on one node -> found on the other, ms p50 / p95 / max",
        lambda r: " / ".join(f"{r['save_to_searchable_ms'][p]:.0f}" for p in ("p50", "p95", "max")))
    row(f"{results[0]['behind_writes']} saves in a row -> other node lag 0, s", lambda r: f"{r['behind_to_lag0_s']:.2f}")
    row("restart (kill -9), nothing to catch up: health / lag 0, s",
        lambda r: f"{r['restart_idle']['to_health_s']:.2f} / {r['restart_idle']['to_lag0_s']:.2f}")
    row(f"restart after {results[0]['behind_writes']} writes: health / lag 0, s",
        lambda r: f"{r['restart_behind']['to_health_s']:.2f} / {r['restart_behind']['to_lag0_s']:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=200, help="suggests and insertions each")
    parser.add_argument("--rounds", type=int, default=20, help="saves timed until the other node finds them")
    parser.add_argument("--behind", type=int, default=100, help="writes a node catches up with")
    parser.add_argument("--server", default="gunicorn:2x4")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    tickets = make_queries(WARMUP + args.requests)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="bench-nodes-"))
    results = []
    try:
        for kind in args.stores.split(","):
            results.append(run_store(kind, root / kind, args, tickets))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
