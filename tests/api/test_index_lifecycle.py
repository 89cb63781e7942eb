"""The index as derived data: rebuilt on demand and at start when missing, broken or stale."""
from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from index.errors import IndexUnavailable
from index.indexer import indexed_state, open_index
from server import create_app
from tests.conftest import DEMO_DOCUMENTS, DEMO_SNIPPETS

CANCEL = {"ticket": {"id": "T-1", "body": "Hi, please cancel my order, it has not shipped yet."}}
CANCEL_POLICY = "policy/order_issue/manage_cancel"


def indexable_documents(store) -> int:
    """Documents the index should hold: one per language of each published snippet."""
    return sum(len(s["texts"]) for s in store.iter_snippets("published"))


def restart(app):
    """A new app over the same home, as a restarted server process would build it."""
    return create_app({"TESTING": True, "HOME": app.config["HOME"]})


def top_policy(client, headers) -> str:
    r = client.post("/api/v1/suggest", json=CANCEL, headers=headers)
    assert r.status_code == 200, r.json
    return r.json["policies"][0]["key"]


def test_index_rebuild_reports_progress_and_keeps_suggestions_working(demo, runner, client, agent, store):
    result = runner.invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    expected = indexable_documents(store)
    assert expected == DEMO_DOCUMENTS
    assert result.stdout.strip().splitlines()[-1] == f"indexed {expected} documents"
    assert "indexing" in result.stderr and f"{DEMO_SNIPPETS}/{DEMO_SNIPPETS}" in result.stderr  # tqdm's bar
    assert top_policy(client, agent) == CANCEL_POLICY
    assert client.get("/api/v1/health").json["index_documents"] == expected


def test_a_deleted_index_is_rebuilt_at_start(demo, agent, store):
    index_dir = Path(demo.config["INDEX_DIR"])
    shutil.rmtree(index_dir)
    with pytest.raises(IndexUnavailable):
        open_index(index_dir)
    client = restart(demo).test_client()
    assert index_dir.is_dir()
    assert top_policy(client, agent) == CANCEL_POLICY
    assert client.get("/api/v1/health").json["index_documents"] == indexable_documents(store)


# Whoosh leaves the garbage TOC's file open when it fails to read it (a ResourceWarning when
# the file object is collected); that is Whoosh's leak, not what this test is about.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_an_index_with_a_garbage_toc_is_rebuilt_at_start(demo, agent, store):
    index_dir = Path(demo.config["INDEX_DIR"])
    tocs = list(index_dir.glob("_MAIN_*.toc"))
    assert tocs
    for toc in tocs:
        toc.write_bytes(b"\x00garbage, not a table of contents\xff" * 10)
    with pytest.raises(IndexUnavailable):
        open_index(index_dir)
    client = restart(demo).test_client()
    assert top_policy(client, agent) == CANCEL_POLICY
    assert client.get("/api/v1/health").json["index_documents"] == indexable_documents(store)
    gc.collect()  # collect the leaked file objects while the warning is still ignored


def test_an_index_out_of_step_with_the_store_is_rebuilt_at_start(demo, client, agent, manager, store, tmp_path):
    index_dir = Path(demo.config["INDEX_DIR"])
    copy = tmp_path / "index-before-the-change"
    shutil.copytree(index_dir, copy)
    key = "reply/cancel-unshipped"
    r = client.patch(f"/api/v1/snippets/{key}", json={"title": "Cancel a zeppelin order before it ships"},
                     headers=manager)
    assert r.status_code == 200 and r.json["version"] == 2

    # The index goes back to a copy taken before the change (a restored backup, a lost write).
    shutil.rmtree(index_dir)
    shutil.copytree(copy, index_dir)
    assert indexed_state(open_index(index_dir)).seq < store.index_head()[0]

    fresh = restart(demo).test_client()
    assert indexed_state(open_index(index_dir)).seq == store.index_head()[0]
    r = fresh.get("/api/v1/search", query_string={"q": "zeppelin"}, headers=agent)
    assert [h["key"] for h in r.json["hits"]] == [key]
    assert r.json["hits"][0]["title"] == "Cancel a zeppelin order before it ships"


def test_an_index_in_step_is_not_rebuilt_at_start(demo, agent, caplog):
    index_dir = Path(demo.config["INDEX_DIR"])
    before = sorted(p.name for p in index_dir.iterdir())
    caplog.clear()
    client = restart(demo).test_client()
    assert not [r for r in caplog.records if "rebuilding the search index" in r.getMessage()]
    assert sorted(p.name for p in index_dir.iterdir()) == before
    assert top_policy(client, agent) == CANCEL_POLICY


def test_health_reports_the_store_and_the_index(demo, client, manager, store):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json["status"] == "ok" and r.json["schema_version"] >= 1
    assert r.json["snippets"] == DEMO_SNIPPETS
    assert r.json["index_documents"] == indexable_documents(store) == DEMO_DOCUMENTS
    # An archived reply (five languages) leaves the index; the store keeps it.
    assert client.delete("/api/v1/snippets/reply/cancel-unshipped", headers=manager).status_code == 200
    r = client.get("/api/v1/health")
    assert r.json["snippets"] == DEMO_SNIPPETS
    assert r.json["index_documents"] == indexable_documents(store) == DEMO_DOCUMENTS - 5


def test_health_of_an_empty_store(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert (r.json["snippets"], r.json["index_documents"]) == (0, 0)


def test_openapi_document_describes_the_api(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/suggest", "/api/v1/search", "/api/v1/snippets", "/api/v1/snippets/{key}"} <= spec["paths"].keys()
    assert "SuggestRequest" in spec["components"]["schemas"]
    suggest = spec["paths"]["/api/v1/suggest"]["post"]
    assert suggest["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SuggestRequest"}
    assert suggest["security"] == [{"bearer": []}]
    assert "manager" in spec["paths"]["/api/v1/snippets"]["post"]["description"]
    assert spec["components"]["schemas"]["SuggestRequest"]["required"] == ["ticket"]
    validate(spec)  # raises if the document is not valid OpenAPI
