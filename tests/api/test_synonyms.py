"""Synonyms managers edit: a ticket's word brings in the words that mean the same here."""
from __future__ import annotations

import json

BODY = "My consignment is lost, nothing came"


def suggest(client, headers):
    return client.post("/api/v1/suggest", json={"ticket": {"id": "S", "body": BODY}}, headers=headers).json


def test_synonyms_widen_the_query(demo, client, agent, manager):
    assert "consignment" not in json.dumps(client.get("/api/v1/synonyms", headers=agent).json)
    before = suggest(client, agent)
    r = client.put("/api/v1/synonyms/en", json={"groups": [["consignment", "package"], ["Lost", "missing"]]},
                   headers=manager)
    assert r.status_code == 200 and r.json["groups"] == [["consignment", "package"], ["lost", "missing"]]
    after = suggest(client, agent)
    # A reply about a parcel that never came now leads (the store has two: lost, marked delivered).
    assert "missing" in after["replies"][0]["tags"]
    assert "reply/missing-package" in [h["key"] for h in after["replies"][:3]]
    assert after != before
    assert client.get("/api/v1/synonyms", headers=agent).json["en"][0] == ["consignment", "package"]


def test_only_managers_edit_synonyms_and_bad_groups_are_422(demo, client, agent, manager):
    assert client.put("/api/v1/synonyms/en", json={"groups": [["a", "b"]]}, headers=agent).status_code == 403
    r = client.put("/api/v1/synonyms/en", json={"groups": [["alone"]]}, headers=manager)
    assert r.status_code == 422 and "groups" in r.json["errors"]
    assert client.put("/api/v1/synonyms/english", json={"groups": []}, headers=manager).status_code == 422


def test_demo_ships_synonyms_and_the_cli_loads_a_file(demo, client, agent, runner, tmp_path):
    assert ["parcel", "package", "shipment", "delivery"] in client.get("/api/v1/synonyms", headers=agent).json["en"]
    f = tmp_path / "syn.json"
    f.write_text(json.dumps({"it": [["pacco", "collo"]]}))
    result = runner.invoke(args=["synonyms", "import", str(f)])
    assert result.exit_code == 0 and "1 groups for it" in result.output
    assert client.get("/api/v1/synonyms", headers=agent).json["it"] == [["pacco", "collo"]]
    f.write_text('{"it": [["solo"]]}')
    assert runner.invoke(args=["synonyms", "import", str(f)]).exit_code != 0
