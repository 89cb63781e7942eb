"""The near-neighbour library and its labelled tickets load, link up and keep their split."""
from __future__ import annotations

import hashlib

from server.cli import DEMO_DIR
from server.packs.service import read_packs
from tests.conftest import ROOT, load_jsonl

LANGUAGES = {"en", "it", "id", "ja", "ar"}
SPLITS = {name: ROOT / "bench" / "data" / f"nn_{name}.jsonl" for name in ("dev", "test")}


def split_of(ticket_id: str) -> str:
    """The fixed split rule of bench/data/README.md: 60% dev, 40% test, by a hash of the id."""
    digest = int(hashlib.sha256(f"nn-split-1:{ticket_id}".encode()).hexdigest(), 16)
    return "dev" if digest % 10 < 6 else "test"


def test_every_demo_line_imports_with_no_error_or_warning(runner, store):
    assert runner.invoke(args=["offers", "import", str(DEMO_DIR / "offers.json")]).exit_code == 0
    report = read_packs([DEMO_DIR / "policies.jsonl", DEMO_DIR / "replies.jsonl"], store)
    assert report.errors == [] and report.warnings == []
    replies = [r for r in load_jsonl(DEMO_DIR / "replies.jsonl")]
    assert len(replies) >= 74  # the 14 store replies and at least 60 near neighbours
    for reply in replies:
        assert {reply["language"], *reply["translations"]} == LANGUAGES, reply["key"]


def test_tickets_are_labelled_with_existing_replies_and_follow_the_split_rule():
    replies = {r["key"]: r for r in load_jsonl(DEMO_DIR / "replies.jsonl")}
    texts = [t["body"] for r in replies.values() for t in [r, *r["translations"].values()]]
    seen, per_language = set(), dict.fromkeys(LANGUAGES, 0)
    for name, path in SPLITS.items():
        for line in load_jsonl(path):
            assert line["id"] not in seen and split_of(line["id"]) == name, line["id"]
            seen.add(line["id"])
            assert line["language"] in LANGUAGES and line["expect"], line["id"]
            assert all(key in replies for key in line["expect"]), line["id"]
            assert not any(line["text"] in body for body in texts), line["id"]  # not copied from a reply
            per_language[line["language"]] += 1
    assert min(per_language.values()) >= 30, per_language
