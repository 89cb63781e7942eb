"""Ticket opened -> suggestions drawn, in Chromium with the extension, against the demo store.

Starts a real waitress server over a fresh demo home (`flask demo`, `REPLYASSIST_DEMO=1`),
launches Debian's Chromium with the unpacked extension (headless, as the tests do), and
opens tickets over and over. Each opening is timed inside the page: from the navigation's
start (a full page load) or the click on the ticket (a single-page switch) to the moment the
sidebar has drawn the suggestions (`data-drawn-at` on the sidebar host, performance.now() in
the page's time origin). So a number covers all the agent waits for: page load, the content
script starting, reading the ticket, the relay through the service worker, HTTP, auth,
ranking, rendering on the server, and drawing the sidebar.

Three runs:
  reload    /demo/tickets/<n>, n = 1..10 round robin, each a full page load. After the first
            ten, the server's ranking cache answers (the same ten tickets come back).
  spa       the same tickets, switched by clicking the helpdesk's ticket list (pushState).
  distinct  a page in the demo helpdesk's format per ABCD dev customer message (real customer
            language, all different, so the ranking cache never helps): the cold path.
            Needs ../shared/datasets; skipped without it.

    .venv/bin/python bench/open_latency.py [--openings 60] [--runs reload,spa,distinct] [--json OUT]

Percentiles are numpy.percentile(method="linear"), as in bench/latency.py.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's root

from server.process import ServerError, ServerProcess, flask_cli  # noqa: E402

EXTENSION = ROOT / "extension"
EVAL_DEV = ROOT.parent / "shared" / "datasets" / "abcd" / "eval_dev.jsonl"  # never eval_test
CHROMIUM = "/usr/bin/chromium"
SIDEBAR = "#reply-assist-sidebar"
DEMO_TICKETS = [str(1001 + i) for i in range(10)]
WARMUP = 3
PERCENTILE_METHOD = "linear"


def bench_page(i: int, text: str) -> str:
    """A ticket page in the demo helpdesk's format (what the demo adapter reads)."""
    body = html.escape(text)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="replyassist-demo" content="1"><title>Bench ticket {i}</title></head><body>
<main data-demo-ticket data-ticket-id="B-{i}" data-customer-first-name="Alex"
      data-customer-email="alex{i}@example.com" data-customer-membership="silver"
      data-order-id="A-{20000 + i}" data-order-status="processing">
<h1 data-ticket-subject></h1>
<article data-message data-author="customer"><div class="message-body">{body}</div></article>
<span data-agent-first-name="Ana"></span>
<textarea data-reply-box></textarea></main></body></html>"""


def drawn_at(page, ticket_id: str) -> float:
    page.wait_for_selector(f'{SIDEBAR}[data-state="ready"][data-ticket-id="{ticket_id}"]', state="attached",
                           timeout=30000)
    return float(page.get_attribute(SIDEBAR, "data-drawn-at"))


def run_reload(page, url: str, n: int) -> list[float]:
    times = []
    for i in range(n):
        number = i % len(DEMO_TICKETS) + 1
        page.goto(f"{url}/demo/tickets/{number}", wait_until="commit")
        times.append(drawn_at(page, DEMO_TICKETS[number - 1]))
    return times


def run_spa(page, url: str, n: int) -> list[float]:
    page.goto(f"{url}/demo/tickets/1")
    drawn_at(page, DEMO_TICKETS[0])
    times = []
    for i in range(n):
        number = (i + 1) % len(DEMO_TICKETS) + 1  # never the ticket already open
        page.click(f'nav.queue a[href$="/demo/tickets/{number}"]')
        end = drawn_at(page, DEMO_TICKETS[number - 1])
        times.append(end - float(page.evaluate("document.documentElement.dataset.navAt")))
    return times


def run_distinct(context, page, url: str, n: int) -> list[float]:
    texts = [json.loads(line)["text"] for line in EVAL_DEV.read_text(encoding="utf-8").splitlines()[:n]]
    pages = {f"/bench/tickets/{i}": bench_page(i, t) for i, t in enumerate(texts)}
    context.route(f"{url}/bench/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=pages[urllib.parse.urlsplit(route.request.url).path]))
    times = []
    for i in range(len(texts)):
        page.goto(f"{url}/bench/tickets/{i}", wait_until="commit")
        times.append(drawn_at(page, f"B-{i}"))
    return times


def percentiles(values: list[float]) -> dict:
    return {"n": len(values),
            "median": round(float(np.percentile(values, 50, method=PERCENTILE_METHOD)), 1),
            "p95": round(float(np.percentile(values, 95, method=PERCENTILE_METHOD)), 1),
            "min": round(min(values), 1), "max": round(max(values), 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--openings", type=int, default=60, help="openings per run (default 60)")
    parser.add_argument("--runs", default="reload,spa,distinct", help="comma-separated: reload, spa, distinct")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if "distinct" in runs and not EVAL_DEV.exists():
        print(f"skipping 'distinct': {EVAL_DEV} is missing")
        runs.remove("distinct")

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ra-open-latency-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        token = flask_cli(home, "demo").strip().splitlines()[-1]
        server = ServerProcess(home, threads=8, env={"REPLYASSIST_DEMO": "1"}, log=home / "server.log")
        url = server.url
        try:
            server.start(timeout=60)
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    str(Path(tmp) / "profile"), executable_path=CHROMIUM, headless=True,
                    viewport={"width": 1280, "height": 860},
                    args=[f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}",
                          "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run"])
                worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
                worker.evaluate("s => chrome.storage.local.set(s)", {"backendUrl": url, "token": token})
                page = context.new_page()
                run_reload(page, url, WARMUP)  # module cache, worker start: not what an agent waits for each time
                for run in runs:
                    started = time.perf_counter()
                    if run == "reload":
                        times = run_reload(page, url, args.openings)
                    elif run == "spa":
                        times = run_spa(page, url, args.openings)
                    elif run == "distinct":
                        times = run_distinct(context, page, url, args.openings)
                    else:
                        raise SystemExit(f"unknown run {run!r}")
                    results[run] = percentiles(times)
                    results[run]["slowest_opening"] = int(np.argmax(times))  # 0-based, in run order
                    results[run]["wall_s"] = round(time.perf_counter() - started, 1)
                context.close()
        finally:
            server.stop(timeout=10)

    print(f"\nticket opened -> suggestions drawn (ms), Chromium {chromium_version()} headless, "
          f"{os.cpu_count()} CPUs, demo store")
    print(f"{'run':<10}{'n':>5}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}")
    for run, r in results.items():
        print(f"{run:<10}{r['n']:>5}{r['median']:>9.1f}{r['p95']:>9.1f}{r['min']:>9.1f}{r['max']:>9.1f}")
    print(f"percentiles: numpy.percentile(method={PERCENTILE_METHOD!r}); the slowest opening of each run: "
          + ", ".join(f"{run} #{r['slowest_opening'] + 1}" for run, r in results.items()))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "openings": args.openings}, indent=2) + "\n")
    return results


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.split()[1] if out.split() else "?"
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


if __name__ == "__main__":
    try:
        main()
    except ServerError as exc:  # a message, not a traceback: the server's log tail says what went wrong
        raise SystemExit(str(exc)) from None
