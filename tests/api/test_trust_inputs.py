"""Bad input is a clear 4xx that writes nothing, PATCH merges, and the routes tell the truth
(issue 8, defects 8, 9, 10)."""
from __future__ import annotations

import json

import pytest

from tests.api.test_insertions import cancel_ticket, codes
from tests.api.test_snippets import KEY, SNIPPETS, UMBRELLA, url

SURROGATE = '"\\ud800"'  # JSON for a lone surrogate; Python decodes it into an unencodable str


def raw(client, method, path, body: str, headers):
    return client.open(path, method=method, data=body, headers={**headers, "Content-Type": "application/json"})


def count(store, table: str) -> int:
    return store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


TICKET = json.dumps(cancel_ticket("S-1"))


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/v1/suggest", '{"ticket": ' + TICKET[:-1] + ', "body": ' + SURROGATE + "}}"),
    ("POST", "/api/v1/suggest", '{"ticket": {"id": "S-1", "customer": {"name": ' + SURROGATE + "}}}"),
    ("POST", "/api/v1/insertions", '{"key": "reply/cancel-unshipped", "ticket": ' + TICKET[:-1] + ', "subject": ' + SURROGATE + "}}"),
    ("POST", "/api/v1/snippets", json.dumps({**UMBRELLA, "key": "policy/x"})[:-1] + ', "title": ' + SURROGATE + "}"),
    ("PATCH", f"/api/v1/snippets/{KEY}", '{"title": ' + SURROGATE + "}"),
    ("PUT", "/api/v1/synonyms/en", '{"groups": [["parcel", ' + SURROGATE + "]]}"),
    ("POST", "/api/v1/offers/free-shipping/pool", '{"codes": [' + SURROGATE + "]}"),
    ("PUT", "/api/v1/offers/free-shipping", '{"key": ' + SURROGATE + "}"),
])
def test_a_lone_surrogate_is_a_422_that_writes_nothing(demo, client, manager, store, method, path, body):
    client.post(SNIPPETS, json=UMBRELLA, headers=manager)
    before = {t: count(store, t) for t in ("suggestion_events", "insertions", "offer_codes", "snippet_versions",
                                           "synonyms", "code_pool")}
    r = raw(client, method, path, body, manager)
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.content_type == "application/problem+json" and "surrogate" in json.dumps(r.json["errors"])
    assert {t: count(store, t) for t in before} == before


def test_json_nested_50000_deep_is_a_4xx(demo, client, agent):
    deep = '{"ticket": {"id": "D-1", "customer": {"x": ' + "[" * 50_000 + "]" * 50_000 + "}}}"
    r = raw(client, "POST", "/api/v1/suggest", deep, agent)
    assert r.status_code == 400 and r.content_type == "application/problem+json"
    assert "nests deeper" in r.json["detail"]
    r = raw(client, "POST", "/api/v1/suggest", '{"ticket": {"id": "D-1", "customer": {"x": ' + "[" * 40 + "]" * 40 + "}}}", agent)
    assert r.status_code == 422 and "Nested more than 32 levels" in json.dumps(r.json["errors"])


@pytest.mark.parametrize("path", ["/api/v1/snippets", "/api/v1/offer-codes"])
def test_an_offset_past_sqlite_integers_is_a_422(client, manager, path):
    r = client.get(path, query_string={"offset": "9223372036854775808"}, headers=manager)
    assert r.status_code == 422 and "offset" in r.json["errors"]
    assert client.get(path, query_string={"offset": "9223372036854775807"}, headers=manager).status_code == 200


def test_a_version_or_code_id_past_sqlite_integers_is_a_404(client, manager, umbrella):
    assert client.get(url(KEY, "versions", "9223372036854775808"), headers=manager).status_code == 404
    assert client.post("/api/v1/offer-codes/9223372036854775808/void", headers=manager).status_code == 404


def test_pack_import_names_the_line_of_a_lone_surrogate(runner, tmp_path):
    pack = tmp_path / "pack.jsonl"
    line = json.dumps({**UMBRELLA, "key": "policy/ok"})
    pack.write_text(line + "\n" + line.replace('"Umbrella loans', '"\\ud800 loans').replace("policy/ok", "policy/bad") + "\n")
    result = runner.invoke(args=["pack", "import", str(pack)])
    assert result.exit_code != 0
    assert f"{pack}:2: title: Contains a lone UTF-16 surrogate" in result.output
    assert "Traceback" not in result.output


# -- defect 9: PATCH merges ---------------------------------------------------------------------
ITALIAN = {"title": "Prestito di ombrelli", "body": "I clienti possono prendere in prestito un ombrello."}
JAPANESE = {"title": "傘の貸し出し", "body": "雨の日は傘をお貸しします。"}


@pytest.fixture
def umbrella(client, manager):
    r = client.post(SNIPPETS, json={**UMBRELLA, "translations": {"it": ITALIAN, "ja": JAPANESE}}, headers=manager)
    assert r.status_code == 201, r.json
    return r.json


def test_adding_a_translation_keeps_the_others(client, manager, store, umbrella):
    french = {"title": "Prêt de parapluies", "body": "Les clients peuvent emprunter un parapluie."}
    r = client.patch(url(KEY), json={"translations": {"fr": french}}, headers=manager)
    assert r.status_code == 200, r.json
    assert r.json["translations"] == {"it": ITALIAN, "ja": JAPANESE, "fr": french}
    assert set(store.get_snippet(KEY)["texts"]) == {"en", "it", "ja", "fr"}


def test_null_removes_a_translation_and_a_partial_one_merges(client, manager, store, umbrella):
    r = client.patch(url(KEY), json={"translations": {"ja": None, "it": {"title": "Ombrelli"}}}, headers=manager)
    assert r.status_code == 200, r.json
    assert r.json["translations"] == {"it": {**ITALIAN, "title": "Ombrelli"}}
    r = client.patch(url(KEY), json={"translations": {"fr": {"title": "Parapluies"}}}, headers=manager)
    assert r.status_code == 422 and "fr" in r.json["errors"]["translations"]
    assert set(store.get_snippet(KEY)["texts"]) == {"en", "it"}


# -- defect 10: the routes and the document agree --------------------------------------------------
@pytest.mark.parametrize("rest", ["learned", "verify", "versions"])
def test_patch_on_a_sub_resource_is_a_405_without_patch_in_allow(client, manager, umbrella, rest):
    r = client.patch(url(KEY, rest), json={"title": "x"}, headers=manager)
    assert r.status_code == 405 and r.content_type == "application/problem+json"
    assert "PATCH" not in r.headers["Allow"]


def test_synonyms_refuse_an_empty_word(client, manager):
    for blank in ("", "   "):  # a word of spaces was stored as "" once stripped
        r = client.put("/api/v1/synonyms/en", json={"groups": [["parcel", blank]]}, headers=manager)
        assert r.status_code == 422, blank
    assert client.get("/api/v1/synonyms", headers=manager).json == {}


def test_the_document_lists_200_for_a_repeated_insertion(client):
    spec = client.get("/api/v1/openapi.json").json
    responses = spec["paths"]["/api/v1/insertions"]["post"]["responses"]
    assert {"200", "201", "409", "422"} <= responses.keys()
