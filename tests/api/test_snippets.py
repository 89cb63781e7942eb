"""Snippet CRUD, validation, version history, restore and translations: API answers and stored state."""
from __future__ import annotations

import threading
import time

import pytest

from server.cli import DEMO_DIR
from server.db import open_store, utcnow
from server.snippets.schemas import snippet_schema
from server.snippets.service import _merge, to_record
from tests.conftest import BOTH_STORES, DEMO_SNIPPETS, load_jsonl

SNIPPETS = "/api/v1/snippets"
KEY = "policy/store/umbrella-loans"
UMBRELLA = {"key": KEY, "kind": "policy", "language": "en", "title": "Umbrella loans at the store",
            "body": "Customers may borrow an umbrella when it rains and bring it back on their next visit.",
            "tags": ["store", "weather"]}
REPLY = {"key": "reply/umbrella-loan", "kind": "reply", "language": "en",
         "title": "Offer an umbrella loan",
         "body": "Hi {{ customer.first_name }},\n\nYou are welcome to borrow an umbrella.\n\n{{ agent.first_name }}",
         "policies": [KEY], "when": {"customer.membership": ["gold"]}}


def url(key: str, *rest: str) -> str:
    return "/".join([SNIPPETS, key, *rest])


def search_keys(client, headers, q: str, **filters) -> list[str]:
    r = client.get("/api/v1/search", query_string={"q": q, **filters}, headers=headers)
    assert r.status_code == 200, r.json
    return [h["key"] for h in r.json["hits"]]


@pytest.fixture
def umbrella(client, manager):
    """The umbrella policy, created through the API (version 1)."""
    r = client.post(SNIPPETS, json=UMBRELLA, headers=manager)
    assert r.status_code == 201, r.json
    return r.json


# -- create -------------------------------------------------------------------------------
def test_create_stores_version_one_and_answers_201_with_location(client, manager, store):
    r = client.post(SNIPPETS, json=UMBRELLA, headers=manager)
    assert r.status_code == 201, r.json
    assert r.headers["Location"].endswith(f"{SNIPPETS}/{KEY}")
    assert r.json["version"] == 1 and r.json["updated_by"] == "marco"
    assert {k: r.json[k] for k in UMBRELLA} == UMBRELLA
    assert r.json["status"] == "published"

    stored = store.get_snippet(KEY)
    assert stored["version"] == 1
    assert stored["texts"] == {"en": {"title": UMBRELLA["title"], "body": UMBRELLA["body"]}}
    assert stored["tags"] == ["store", "weather"]
    versions = store.list_versions(stored["id"])
    assert [(v["version"], v["action"], v["changed_by"]) for v in versions] == [(1, "create", "marco")]
    assert versions[0]["snapshot"]["texts"] == stored["texts"]
    # The Location really names the new snippet.
    assert client.get(r.headers["Location"], headers=manager).json["title"] == UMBRELLA["title"]


def test_create_reply_keeps_links_conditions_and_placeholders(client, manager, store, umbrella):
    r = client.post(SNIPPETS, json=REPLY, headers=manager)
    assert r.status_code == 201, r.json
    stored = store.get_snippet(REPLY["key"])
    assert stored["policies"] == [KEY]
    assert stored["when"] == {"customer.membership": ["gold"]}
    assert "{{ customer.first_name }}" in stored["texts"]["en"]["body"]


def test_duplicate_key_is_409_and_keeps_the_original(client, manager, store, umbrella):
    r = client.post(SNIPPETS, json={**UMBRELLA, "title": "Someone else's umbrellas"}, headers=manager)
    assert r.status_code == 409
    assert r.content_type == "application/problem+json"
    assert r.json["status"] == 409 and KEY in r.json["detail"]
    stored = store.get_snippet(KEY)
    assert stored["texts"]["en"]["title"] == UMBRELLA["title"] and stored["version"] == 1
    assert store.count_snippets() == 1


@pytest.mark.parametrize("change,field", [
    ({"key": "Policy/Umbrella Loans"}, "key"),
    ({"key": "policy/umbrella/versions"}, "key"),
    ({"kind": "memo"}, "kind"),
    ({"title": ""}, "title"),
    ({"body": "Hi {{ foo.bar }}, here is your umbrella."}, "body"),
    ({"translations": {"it": {"title": "Ombrelli", "body": "Ciao {{ foo.bar }}"}}}, "translations.it.body"),
    ({"body": "Hi {{ customer.first_name , here is your umbrella."}, "body"),
    ({"body": "{% if customer.membership %}Members only"}, "body"),
    ({"when": {"weather.today": ["rain"]}}, "when"),
    ({"when": {"order": ["shipped"]}}, "when"),
])
def test_invalid_snippet_is_422_naming_the_field_and_stores_nothing(client, manager, store, change, field):
    r = client.post(SNIPPETS, json={**UMBRELLA, **change}, headers=manager)
    assert r.status_code == 422, r.json
    assert r.content_type == "application/problem+json"
    assert list(r.json["errors"]) == [field]
    assert store.count_snippets() == 0


def test_template_errors_say_what_is_wrong(client, manager):
    r = client.post(SNIPPETS, json={**UMBRELLA, "body": "Hi {{ foo.bar }}"}, headers=manager)
    assert "foo" in r.json["errors"]["body"][0]
    r = client.post(SNIPPETS, json={**UMBRELLA, "body": "Hi {{ customer.first_name "}, headers=manager)
    assert "syntax error on line 1" in r.json["errors"]["body"][0]


# -- read -----------------------------------------------------------------------------------
def test_get_snippet_and_404(client, agent, umbrella):
    r = client.get(url(KEY), headers=agent)
    assert r.status_code == 200
    assert r.json["title"] == UMBRELLA["title"] and r.json["version"] == 1
    r = client.get(url("policy/store/no-such-thing"), headers=agent)
    assert r.status_code == 404
    assert r.content_type == "application/problem+json"
    assert "policy/store/no-such-thing" in r.json["detail"]


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_list_filters_by_kind_status_and_tag(demo, client, agent, manager):
    replies = load_jsonl(DEMO_DIR / "replies.jsonl")
    everything = load_jsonl(DEMO_DIR / "policies.jsonl") + replies

    r = client.get(SNIPPETS, query_string={"kind": "reply", "limit": 500}, headers=agent)
    assert r.status_code == 200
    assert r.json["total"] == len(replies)
    assert sorted(i["key"] for i in r.json["items"]) == sorted(x["key"] for x in replies)

    tagged = sorted(x["key"] for x in everything if "cancellation" in x.get("tags", []))
    r = client.get(SNIPPETS, query_string={"tag": "cancellation", "limit": 500}, headers=agent)
    assert tagged and r.json["total"] == len(tagged)
    assert [i["key"] for i in r.json["items"]] == tagged

    assert client.delete(url("reply/cancel-shipped"), headers=manager).status_code == 200
    r = client.get(SNIPPETS, query_string={"status": "archived"}, headers=agent)
    assert r.json["total"] == 1 and r.json["items"][0]["key"] == "reply/cancel-shipped"
    r = client.get(SNIPPETS, query_string={"status": "published", "kind": "reply", "limit": 500}, headers=agent)
    assert r.json["total"] == len(replies) - 1

    r = client.get(SNIPPETS, query_string={"kind": "memo"}, headers=agent)
    assert r.status_code == 422 and "kind" in r.json["errors"]


def test_list_pages_in_key_order_with_the_full_total(demo, client, agent):
    every = client.get(SNIPPETS, query_string={"limit": 500}, headers=agent).json
    assert every["total"] == DEMO_SNIPPETS and len(every["items"]) == DEMO_SNIPPETS
    keys = [i["key"] for i in every["items"]]
    assert keys == sorted(keys)
    first = client.get(SNIPPETS, query_string={"limit": 10}, headers=agent).json
    second = client.get(SNIPPETS, query_string={"limit": 10, "offset": 10}, headers=agent).json
    assert first["total"] == second["total"] == DEMO_SNIPPETS
    assert [i["key"] for i in first["items"] + second["items"]] == keys[:20]
    last = client.get(SNIPPETS, query_string={"limit": 10, "offset": DEMO_SNIPPETS - 4}, headers=agent).json
    assert [i["key"] for i in last["items"]] == keys[-4:]
    assert client.get(SNIPPETS, query_string={"limit": 0}, headers=agent).status_code == 422


# -- change -----------------------------------------------------------------------------------
def test_patch_changes_one_field_as_version_two_and_keeps_the_rest(client, manager, store, umbrella):
    r = client.patch(url(KEY), json={"title": "Umbrella loans for members"}, headers=manager)
    assert r.status_code == 200, r.json
    assert r.json["version"] == 2
    assert r.json["title"] == "Umbrella loans for members"
    assert r.json["body"] == UMBRELLA["body"] and r.json["tags"] == UMBRELLA["tags"]

    stored = store.get_snippet(KEY)
    assert stored["version"] == 2
    assert stored["texts"] == {"en": {"title": "Umbrella loans for members", "body": UMBRELLA["body"]}}
    assert stored["tags"] == ["store", "weather"] and stored["status"] == "published"
    versions = store.list_versions(stored["id"])
    assert [(v["version"], v["action"]) for v in versions] == [(2, "update"), (1, "create")]
    assert versions[1]["snapshot"]["texts"]["en"]["title"] == UMBRELLA["title"]


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_create_racing_another_writer_of_the_same_key_is_409(app, client, manager, store):
    # Another node creates the key and has not committed yet when this create starts: on
    # SQLite our write waits for its lock, on PostgreSQL our insert waits on the unique key.
    # Either way the loser gets a 409, not the UNIQUE violation as a 500 or a silent update.
    other = open_store(app.config["DATABASE"])
    answers = []
    try:
        with other.transaction():
            other.insert_snippet(_merge(None, to_record(snippet_schema.load(UMBRELLA)), "ana", utcnow())[1])
            racer = threading.Thread(target=lambda: answers.append(
                client.post(SNIPPETS, json={**UMBRELLA, "title": "Umbrellas, the second writer"}, headers=manager)))
            racer.start()
            time.sleep(0.5)  # let the racer reach the wait (if it is slower, it sees the row: 409 too)
        racer.join(30)
    finally:
        other.close()
    assert answers and answers[0].status_code == 409, answers and answers[0].json
    assert answers[0].content_type == "application/problem+json"
    assert store.get_snippet(KEY)["texts"]["en"]["title"] == UMBRELLA["title"]


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_patch_of_a_stale_version_is_409_and_changes_nothing(client, manager, store, umbrella):
    r = client.patch(url(KEY), json={"version": 1, "title": "Umbrella loans for members"}, headers=manager)
    assert r.status_code == 200 and r.json["version"] == 2
    # A second editor still holding version 1:
    r = client.patch(url(KEY), json={"version": 1, "title": "Umbrella loans for everyone", "tags": ["x"]},
                     headers=manager)
    assert r.status_code == 409
    assert r.content_type == "application/problem+json"
    assert r.json["current_version"] == 2
    stored = store.get_snippet(KEY)
    assert stored["version"] == 2
    assert stored["texts"]["en"]["title"] == "Umbrella loans for members"
    assert stored["tags"] == ["store", "weather"]
    assert len(store.list_versions(stored["id"])) == 2


def test_patch_without_a_change_creates_no_version(client, manager, store, umbrella):
    data_version = store.data_version()
    r = client.patch(url(KEY), json={"version": 1, "title": UMBRELLA["title"], "tags": UMBRELLA["tags"]},
                     headers=manager)
    assert r.status_code == 200
    assert r.json["version"] == 1
    stored = store.get_snippet(KEY)
    assert stored["version"] == 1 and len(store.list_versions(stored["id"])) == 1
    assert store.data_version() == data_version


def test_invalid_patch_is_422_and_changes_nothing(client, manager, store, umbrella):
    r = client.patch(url(KEY), json={"body": "Hi {{ weather.today }}"}, headers=manager)
    assert r.status_code == 422 and "body" in r.json["errors"]
    r = client.patch(url("policy/store/nothing-here"), json={"title": "x"}, headers=manager)
    assert r.status_code == 404
    assert store.get_snippet(KEY)["version"] == 1


def test_delete_archives_keeps_history_and_leaves_suggest_and_search(demo, client, agent, manager, store):
    key = "reply/cancel-unshipped"
    ticket = {"ticket": {"id": "T-9", "body": "Please cancel my order, it has not shipped yet."}}
    before = client.post("/api/v1/suggest", json=ticket, headers=agent).json
    assert key in [h["key"] for h in before["replies"]]
    assert key in search_keys(client, agent, "cancel order shipped")

    r = client.delete(url(key), headers=manager)
    assert r.status_code == 200
    assert r.json["status"] == "archived"

    stored = store.get_snippet(key)
    assert stored["status"] == "archived" and stored["version"] == 2
    assert [v["action"] for v in store.list_versions(stored["id"])] == ["archive", "import"]
    # Still readable by key, but nowhere to be suggested or found.
    assert client.get(url(key), headers=agent).json["status"] == "archived"
    after = client.post("/api/v1/suggest", json=ticket, headers=agent).json
    assert key not in [h["key"] for h in after["replies"]]
    assert after["replies"]  # the other cancel reply is still there
    assert key not in search_keys(client, agent, "cancel order shipped")
    assert key not in search_keys(client, agent, "annullare ordine", language="it")


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_verify_records_who_and_when(client, manager, store, umbrella):
    # A new snippet starts verified by its creator, so day one is not "everything due".
    assert umbrella["verification"]["due"] is False and umbrella["verification"]["verified_by"] == "marco"
    store.conn.execute("UPDATE snippets SET verified_at = '2020-01-01T00:00:00+00:00', verified_by = NULL")
    assert client.get(url(KEY), headers=manager).json["verification"]["due"] is True
    r = client.post(url(KEY, "verify"), headers=manager)
    assert r.status_code == 200, r.json
    assert r.json["verification"]["verified_by"] == "marco"
    assert r.json["verification"]["verified_at"]
    assert r.json["verification"]["due"] is False
    stored = store.get_snippet(KEY)
    assert stored["verified_by"] == "marco" and stored["verified_at"] == r.json["verification"]["verified_at"]
    assert store.list_versions(stored["id"])[0]["action"] == "verify"


# -- history ------------------------------------------------------------------------------------
def test_versions_are_listed_newest_first_and_readable_one_by_one(client, manager, umbrella):
    client.patch(url(KEY), json={"title": "Umbrella loans for members"}, headers=manager)
    client.patch(url(KEY), json={"tags": ["store"]}, headers=manager)
    r = client.get(url(KEY, "versions"), headers=manager)
    assert r.status_code == 200
    assert [(v["version"], v["action"]) for v in r.json] == [(3, "update"), (2, "update"), (1, "create")]
    assert all(v["changed_by"] == "marco" and v["changed_at"] for v in r.json)

    r = client.get(url(KEY, "versions", "1"), headers=manager)
    assert r.status_code == 200
    assert r.json["snapshot"]["texts"]["en"]["title"] == UMBRELLA["title"]
    assert r.json["snapshot"]["tags"] == ["store", "weather"]
    r = client.get(url(KEY, "versions", "9"), headers=manager)
    assert r.status_code == 404 and r.content_type == "application/problem+json"


@BOTH_STORES  # the store's guarantees, on SQLite and on PostgreSQL
def test_restore_stores_the_old_content_as_a_new_version_and_reindexes(client, agent, manager, store, umbrella):
    r = client.patch(url(KEY), json={"title": "Parasol lending at the store", "tags": ["store"]},
                     headers=manager)
    assert r.json["version"] == 2
    assert KEY in search_keys(client, agent, "parasol")
    assert KEY not in search_keys(client, agent, "loans")  # a word only the old title had

    r = client.post(url(KEY, "versions", "1", "restore"), headers=manager)
    assert r.status_code == 200, r.json
    assert r.json["version"] == 3
    assert r.json["title"] == UMBRELLA["title"] and r.json["tags"] == UMBRELLA["tags"]

    stored = store.get_snippet(KEY)
    versions = store.list_versions(stored["id"])
    assert [(v["version"], v["action"]) for v in versions] == [(3, "restore:1"), (2, "update"), (1, "create")]
    assert versions[0]["snapshot"] == versions[2]["snapshot"]
    assert stored["texts"]["en"]["title"] == UMBRELLA["title"]
    # The index shows the restored text, not the replaced one.
    assert KEY in search_keys(client, agent, "loans")
    assert KEY not in search_keys(client, agent, "parasol")


def test_restore_of_an_unknown_version_is_404_and_changes_nothing(client, manager, store, umbrella):
    r = client.post(url(KEY, "versions", "7", "restore"), headers=manager)
    assert r.status_code == 404
    assert store.get_snippet(KEY)["version"] == 1


# -- translations -------------------------------------------------------------------------------
def test_translation_added_by_patch_is_searchable_in_its_language(client, agent, manager, store, umbrella):
    assert search_keys(client, agent, "ombrello", language="it") == []
    italian = {"title": "Prestito di ombrelli in negozio",
               "body": "I clienti possono prendere in prestito un ombrello quando piove."}
    r = client.patch(url(KEY), json={"translations": {"it": italian}}, headers=manager)
    assert r.status_code == 200, r.json
    assert r.json["translations"] == {"it": italian} and r.json["version"] == 2
    assert r.json["title"] == UMBRELLA["title"]

    stored = store.get_snippet(KEY)
    assert stored["texts"]["it"] == italian and stored["texts"]["en"]["title"] == UMBRELLA["title"]
    r = client.get("/api/v1/search", query_string={"q": "ombrello", "language": "it"}, headers=agent)
    assert [(h["key"], h["language"]) for h in r.json["hits"]] == [(KEY, "it")]
    assert r.json["hits"][0]["title"] == italian["title"]
    # The English text is still found in English.
    assert KEY in search_keys(client, agent, "umbrella", language="en")


@pytest.mark.parametrize("change", [
    {"translations": {"en": {"title": "Overwritten", "body": "Overwritten."}}},
    {"language": "it", "translations": {"it": {"title": "Ombrelli", "body": "Ombrelli."}}},
])
def test_patch_may_not_repeat_the_default_language_as_a_translation(client, manager, store, umbrella, change):
    r = client.patch(url(KEY), json=change, headers=manager)
    assert r.status_code == 422
    assert r.content_type == "application/problem+json"
    assert "translations" in r.json["errors"]
    stored = store.get_snippet(KEY)
    assert stored["texts"] == {"en": {"title": UMBRELLA["title"], "body": UMBRELLA["body"]}}
    assert stored["version"] == 1
