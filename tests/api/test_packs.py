"""`flask pack import|export` and `flask offers import`: counts, all-or-nothing, lossless round trips."""
from __future__ import annotations

import json
from pathlib import Path

from server import create_app
from server.db import open_store
from server.cli import DEMO_DIR
from tests.conftest import ABCD_POLICIES, DEMO_SNIPPETS, load_jsonl

DEMO_PACKS = [DEMO_DIR / "policies.jsonl", DEMO_DIR / "replies.jsonl"]


def write_lines(path: Path, lines: list[object]) -> str:
    """Write a pack; dicts become JSON, strings are written as they are (to break lines)."""
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
                    encoding="utf-8")
    return str(path)


def version_count(store) -> int:
    return sum(len(store.list_versions(s["id"])) for s in store.iter_snippets())


def policy(key: str, **extra) -> dict:
    return {"key": key, "kind": "policy", "language": "en", "title": f"Title of {key}",
            "body": f"Body of {key}.", **extra}


def test_import_of_the_abcd_pack_creates_55_then_leaves_them_unchanged(runner, store):
    result = runner.invoke(args=["pack", "import", str(ABCD_POLICIES)])
    assert result.exit_code == 0, result.output
    assert "55 created, 0 updated, 0 unchanged" in result.stdout
    assert store.count_snippets() == 55
    first = load_jsonl(ABCD_POLICIES)[0]
    stored = store.get_snippet(first["key"])
    assert stored["texts"]["en"] == {"title": first["title"], "body": first["body"]}
    assert stored["tags"] == first["tags"] and stored["version"] == 1
    versions, data_version = version_count(store), store.data_version()
    assert versions == 55

    again = runner.invoke(args=["pack", "import", str(ABCD_POLICIES)])
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 55 unchanged" in again.stdout
    assert store.count_snippets() == 55
    assert version_count(store) == versions and store.data_version() == data_version


def test_reimporting_a_changed_line_updates_only_that_snippet(runner, store, tmp_path):
    lines = load_jsonl(ABCD_POLICIES)
    runner.invoke(args=["pack", "import", str(ABCD_POLICIES)])
    lines[3]["title"] = "Renamed by the pack"
    result = runner.invoke(args=["pack", "import", write_lines(tmp_path / "changed.jsonl", lines)])
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated, 54 unchanged" in result.stdout
    stored = store.get_snippet(lines[3]["key"])
    assert stored["texts"]["en"]["title"] == "Renamed by the pack" and stored["version"] == 2
    assert version_count(store) == 56


def test_a_pack_with_bad_lines_reports_each_by_line_and_writes_nothing(runner, store, tmp_path):
    runner.invoke(args=["pack", "import", str(DEMO_DIR / "policies.jsonl")])
    before, versions = store.count_snippets(), version_count(store)
    pack = write_lines(tmp_path / "bad.jsonl", [
        policy("policy/store/umbrella-loans"),                                   # 1: valid
        '{"key": "policy/store/broken", "kind": ',                              # 2: not JSON
        {k: v for k, v in policy("policy/store/untitled").items() if k != "title"},  # 3: no title
        policy("policy/store/umbrella-loans", title="Again"),                    # 4: duplicate key
        policy("policy/store/gift-wrap"),                                        # 5: valid
    ])
    result = runner.invoke(args=["pack", "import", pack])
    assert result.exit_code != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert f"{pack}:2:" in errors[0] and "not valid JSON" in errors[0]
    assert f"{pack}:3:" in errors[1] and "title" in errors[1]
    assert f"{pack}:4:" in errors[2] and "umbrella-loans" in errors[2] and f"{pack}:1" in errors[2]
    assert "nothing was imported" in result.output
    # Not even the valid lines were written.
    assert store.count_snippets() == before and version_count(store) == versions
    assert store.get_snippet("policy/store/umbrella-loans") is None
    assert store.get_snippet("policy/store/gift-wrap") is None


def test_an_invalid_template_or_condition_in_a_pack_is_an_error(runner, store, tmp_path):
    pack = write_lines(tmp_path / "bad.jsonl", [
        policy("reply/hello", kind="reply", body="Hi {{ shopper.name }}"),
        policy("reply/bye", kind="reply", when={"weather.today": ["rain"]}),
    ])
    result = runner.invoke(args=["pack", "import", pack])
    assert result.exit_code != 0
    assert f"{pack}:1:" in result.stderr and "shopper" in result.stderr
    assert f"{pack}:2:" in result.stderr and "weather.today" in result.stderr
    assert store.count_snippets() == 0


def test_links_to_unknown_policies_and_offers_are_warnings_not_errors(runner, store, tmp_path):
    pack = write_lines(tmp_path / "links.jsonl", [
        policy("policy/store/umbrella-loans"),
        policy("reply/umbrella", kind="reply", policies=["policy/store/umbrella-loans", "policy/store/nowhere"],
               offer="free-umbrella"),
    ])
    result = runner.invoke(args=["pack", "import", pack])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2
    assert f"{pack}:2:" in warnings[0] and "'policy/store/nowhere'" in warnings[0]
    assert "'free-umbrella'" in warnings[1]
    assert "umbrella-loans'" not in " ".join(warnings)  # a link to a policy in the pack is fine
    assert store.get_snippet("reply/umbrella")["policies"] == ["policy/store/umbrella-loans", "policy/store/nowhere"]


def test_a_link_to_a_policy_already_in_the_store_is_no_warning(runner, store, tmp_path):
    runner.invoke(args=["pack", "import", str(DEMO_DIR / "policies.jsonl")])
    pack = write_lines(tmp_path / "reply.jsonl", [
        policy("reply/cancel-now", kind="reply", policies=["policy/order_issue/manage_cancel"]),
    ])
    result = runner.invoke(args=["pack", "import", pack])
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_export_then_import_into_a_fresh_store_is_lossless(demo, runner, store, tmp_path):
    exported = tmp_path / "export.jsonl"
    result = runner.invoke(args=["pack", "export", str(exported)])
    assert result.exit_code == 0, result.output
    assert f"exported {DEMO_SNIPPETS} snippets" in result.output

    # Every line of the demo packs comes back exactly: translations, when, offer, policies, tags,
    # plus the curation state the store added (published, checked every 180 days).
    by_key = {line["key"]: line for line in load_jsonl(exported)}
    for source in (line for pack in DEMO_PACKS for line in load_jsonl(pack)):
        line = dict(by_key[source["key"]])
        assert (line.pop("status"), line.pop("verify_every_days")) == ("published", 180)
        assert line.pop("public") == source.pop("public", False)  # self-service: written always
        assert line == source
    reply = by_key["reply/cancel-unshipped"]
    assert set(reply["translations"]) == {"it", "id", "ja", "ar"}
    assert reply["when"] and reply["offer"] == "free-shipping" and reply["policies"]

    fresh = create_app({"TESTING": True, "HOME": str(tmp_path / "fresh")})
    fresh_runner = fresh.test_cli_runner()
    result = fresh_runner.invoke(args=["pack", "import", str(exported)])
    assert result.exit_code == 0, result.output
    assert f"{DEMO_SNIPPETS} created" in result.stdout
    again = tmp_path / "again.jsonl"
    assert fresh_runner.invoke(args=["pack", "export", str(again)]).exit_code == 0
    assert again.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")


def test_export_keeps_status_owner_and_interval(demo, runner, client, manager, tmp_path):
    key = "reply/cancel-shipped"
    r = client.patch(f"/api/v1/snippets/{key}", headers=manager,
                     json={"status": "draft", "owner": "marco", "verify_every_days": 30})
    assert r.status_code == 200, r.json
    exported = tmp_path / "export.jsonl"
    assert runner.invoke(args=["pack", "export", str(exported)]).exit_code == 0
    line = next(item for item in load_jsonl(exported) if item["key"] == key)
    assert (line["status"], line["owner"], line["verify_every_days"]) == ("draft", "marco", 30)

    fresh = create_app({"TESTING": True, "HOME": str(tmp_path / "fresh")})
    assert fresh.test_cli_runner().invoke(args=["pack", "import", str(exported)]).exit_code == 0
    s = open_store(fresh.config["DATABASE"])
    try:
        stored = s.get_snippet(key)
    finally:
        s.close()
    assert (stored["status"], stored["owner"], stored["verify_every_days"]) == ("draft", "marco", 30)


def test_export_leaves_out_archived_snippets_unless_asked(demo, runner, client, manager, tmp_path):
    client.delete("/api/v1/snippets/reply/cancel-shipped", headers=manager)
    plain, full = tmp_path / "plain.jsonl", tmp_path / "full.jsonl"
    runner.invoke(args=["pack", "export", str(plain)])
    runner.invoke(args=["pack", "export", "--include-archived", str(full)])
    assert "reply/cancel-shipped" not in [line["key"] for line in load_jsonl(plain)]
    assert "reply/cancel-shipped" in [line["key"] for line in load_jsonl(full)]
    assert len(load_jsonl(full)) == len(load_jsonl(plain)) + 1


def test_offers_import_creates_the_three_demo_offers(runner, store):
    result = runner.invoke(args=["offers", "import", str(DEMO_DIR / "offers.json")])
    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated" in result.output
    source = json.loads((DEMO_DIR / "offers.json").read_text(encoding="utf-8"))
    stored = {o["key"]: o for o in store.list_offers()}
    assert sorted(stored) == sorted(o["key"] for o in source)
    for offer in source:
        assert {k: stored[offer["key"]][k] for k in offer} == offer
    again = runner.invoke(args=["offers", "import", str(DEMO_DIR / "offers.json")])
    assert "0 created, 3 updated" in again.output and len(store.list_offers()) == 3


def test_an_invalid_offers_file_is_refused_and_writes_nothing(runner, store, tmp_path):
    offers = json.loads((DEMO_DIR / "offers.json").read_text(encoding="utf-8"))
    del offers[1]["code_prefix"]
    path = tmp_path / "offers.json"
    path.write_text(json.dumps(offers), encoding="utf-8")
    result = runner.invoke(args=["offers", "import", str(path)])
    assert result.exit_code != 0
    assert "not a valid offers file" in result.output and "code_prefix" in result.output
    assert store.list_offers() == []  # not even the two valid offers


def test_an_offers_file_that_is_not_json_is_refused(runner, store, tmp_path):
    path = tmp_path / "offers.json"
    path.write_text('[{"key": "free-shipping",', encoding="utf-8")
    result = runner.invoke(args=["offers", "import", str(path)])
    assert result.exit_code != 0 and "not valid JSON" in result.output
    assert store.list_offers() == []


def test_demo_loads_once_and_keeps_its_token(runner, store):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert f"{DEMO_SNIPPETS} snippets, 3 offers" in first.output
    second = runner.invoke(args=["demo"])
    assert "demo store loaded" not in second.output
    assert second.output.splitlines()[-1] == first.output.splitlines()[-1]
    assert store.count_snippets() == DEMO_SNIPPETS and version_count(store) == DEMO_SNIPPETS
    assert store.get_user("demo-agent")["role"] == "agent"
