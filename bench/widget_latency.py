"""Customer asks -> answers drawn, in the help widget on the demo FAQ page (real Chromium).

Starts a real waitress server over a fresh demo home (`flask demo`, `REPLYASSIST_DEMO=1`),
opens /demo/faq in Debian's Chromium (headless, no extension) and asks the widget questions,
each timed inside the page from the submit (`data-asked-at`) to the answers drawn
(`data-answered-at`, performance.now()): the widget's fetch with the public key, CORS-free
same-origin HTTP, key check, rate limit, ranking, rendering and drawing.

Two runs:
  distinct  ABCD dev customer messages (all different: the ranking cache never helps); with no
            ../shared/datasets, the ten demo helpdesk tickets' texts instead.
  repeat    the first ten questions asked again: the browser's HTTP cache (Cache-Control
            max-age) or a 304 answers.
Also the public API alone, from Python (urllib, no browser), over the distinct questions.

    .venv/bin/python bench/widget_latency.py [--questions 60] [--json OUT]

Percentiles are numpy.percentile(method="linear"), as in bench/latency.py.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's root

from server.demo.tickets import TICKETS  # noqa: E402
from server.process import ServerProcess, flask_cli  # noqa: E402

EVAL_DEV = ROOT.parent / "shared" / "datasets" / "abcd" / "eval_dev.jsonl"  # never eval_test
CHROMIUM = "/usr/bin/chromium"
WIDGET = ".replyassist-help"
WARMUP = 3


def questions(count: int) -> list[str]:
    """Customer questions: ABCD dev messages, else the demo tickets' texts."""
    if EVAL_DEV.exists():
        lines = [json.loads(line)["text"] for line in EVAL_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
        unique = list(dict.fromkeys(t for t in lines if len(t) >= 10))
        return unique[:count]
    return [f"{t['subject']}\n{t['body']}" for t in TICKETS][:count]


def ask(page, question: str) -> float:
    """Ask once; milliseconds from submit to answers drawn."""
    before = page.locator(WIDGET).get_attribute("data-answered-at")
    box = page.locator(f"{WIDGET} input")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "([sel, before]) => { const el = document.querySelector(sel);"
        " return el.dataset.answeredAt !== before && el.dataset.state !== 'loading'; }",
        arg=[WIDGET, before], timeout=30000)
    asked, answered = page.locator(WIDGET).evaluate("el => [el.dataset.askedAt, el.dataset.answeredAt]")
    return float(answered) - float(asked)


def summary(samples: list[float]) -> dict:
    a = np.array(samples)
    return {"n": len(samples), "p50_ms": round(float(np.percentile(a, 50, method="linear")), 1),
            "p95_ms": round(float(np.percentile(a, 95, method="linear")), 1),
            "max_ms": round(float(a.max()), 1)}


def api_only(url: str, key: str, qs: list[str]) -> list[float]:
    out = []
    for q in qs:
        started = time.perf_counter()
        request = urllib.request.Request(f"{url}/api/v1/public/answers?{urllib.parse.urlencode({'q': q})}",
                                         headers={"X-Replyassist-Key": key})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    qs = questions(args.questions)
    with tempfile.TemporaryDirectory(prefix="ra-widget-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        flask_cli(home, "demo")
        key = (home / "demo-public.key").read_text().strip()
        # A rate limit far above the bench's pace: the bench measures answers, not refusals.
        server = ServerProcess(home, threads=8, env={"REPLYASSIST_DEMO": "1", "REPLYASSIST_PUBLIC_RATE_LIMIT": "100000/60"})
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page()
                page.goto(f"{server.url}/demo/faq")
                for q in qs[:WARMUP]:
                    ask(page, q + " (warm-up)")
                distinct = [ask(page, q) for q in qs]
                print(f"distinct: {len(distinct)} questions", file=sys.stderr)
                repeat = [ask(page, q) for q in qs[:10]]
                browser.close()
            api = api_only(server.url, key, [q + " ?" for q in qs])  # not cached by the first run
        finally:
            server.stop()
    result = {"distinct": summary(distinct), "repeat": summary(repeat), "api_only": summary(api),
              "questions_from": "abcd eval_dev" if EVAL_DEV.exists() else "demo tickets"}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
