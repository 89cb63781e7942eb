"""Language routing: only the store's languages (plus a configured list), a prior for short
text from the customer's earlier tickets or the agent's locale, examples in their true language."""
from __future__ import annotations

from server.db import open_store
from server.language import candidates, route
from tests.api.test_learning import insert

SUGGEST = "/api/v1/suggest"
ITALIAN = "Buongiorno, vorrei annullare il mio ordine di ieri perché ho sbagliato la taglia delle scarpe."


def ask(client, headers, body, **ticket):
    ticket = {"id": ticket.pop("id", "R-1"), "body": body, **ticket}
    return client.post(SUGGEST, json={"ticket": ticket}, headers=headers).json


def test_detection_chooses_among_the_stores_languages_and_the_configured_ones():
    assert candidates(["en", "it", "ja"], "") == ("en", "it", "ja")
    assert candidates(["en"], "fr, de") == ("de", "en", "fr")
    assert candidates(["en", "xx"], "zz") == ("en",)  # codes the detector doesn't know are dropped


def test_a_short_english_ticket_is_not_taken_for_a_language_the_store_lacks(demo, client, agent):
    # Among every language lingua knows, "Merci" leans French; the demo store has no French.
    data = ask(client, agent, "Merci, ok")
    assert data["language"] in ("en", "it", "id", "ja", "ar")
    assert data["language"] != "fr"


def test_the_customers_earlier_tickets_decide_a_short_one(demo, client, agent):
    customer = {"email": "Giulia@example.com"}
    assert ask(client, agent, ITALIAN, id="R-1", customer=customer)["language"] == "it"
    data = ask(client, agent, "A-10482 ?", id="R-2", customer={"email": "giulia@example.com"})
    assert (data["language"], data["language_source"]) == ("it", "prior")
    # A long ticket still speaks for itself.
    data = ask(client, agent, "Hello, I would like to cancel my order from yesterday, it has not shipped yet.",
               id="R-3", customer=customer)
    assert (data["language"], data["language_source"]) == ("en", "detected")


def test_the_agents_locale_is_the_prior_when_the_customer_is_new(demo, client, agent):
    data = ask(client, agent, "A-10482 ?", agent={"locale": "it-IT"})
    assert (data["language"], data["language_source"]) == ("it", "prior")
    # Without a prior, two letters say nothing: not "74% Indonesian" for "ok".
    assert (ask(client, agent, "ok")["language"], ask(client, agent, "ok")["language_source"]) == ("en", "default")


def test_route_weighs_the_prior_less_as_the_text_grows():
    langs = ("en", "it")
    assert route("ok", langs, {"it": 1.0}, "en", 0.35) == ("it", "prior")
    long = "I would like to know when my refund for the returned boots will arrive on my card"
    assert route(long, langs, {"it": 1.0}, "en", 0.35) == ("en", "detected")


def test_learned_examples_count_for_their_true_language(demo, client, agent):
    # An example recorded under a language the store has no content in (an older detector's
    # mistake) trains the model of the language it is really in.
    insert(client, agent, "reply/return-window", "L-1", "my scarf smells of smoke since it came", language="nl")
    store = open_store(demo.config["DATABASE"])
    try:
        assert store.list_examples("reply/return-window")[0]["language"] == "nl"
        learner = demo.extensions["replyassist.learner"]
        learner.refresh(store.data_version())
    finally:
        store.close()
    assert learner.model("en", "reply").learned["reply/return-window"] == 1
    assert learner.model("nl", "reply") is None
