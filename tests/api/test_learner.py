"""The learner: trained from insertions and managers' examples, bounded, clearable, explained,
retrained in the background; a snippet nobody inserted still competes; confidence in words."""
from __future__ import annotations

import time

from server import learning
from server.db import open_store
from server.learner import Learner
from tests.api.test_learning import insert, suggest

SUGGEST = "/api/v1/suggest"
# Tickets that share no useful word with the reply they were answered with.
ODD = ["my scarf smells of smoke since it came", "the scarf reeks of cigarettes", "smoky smell on the new scarf",
       "scarf arrived stinking of tobacco", "there is a smoke odour on my scarf"]


def learner(app):
    return app.extensions["replyassist.learner"]


def model_counts(app, language="en", kind="reply"):
    store = open_store(app.config["DATABASE"])
    try:
        learner(app).refresh(store.data_version())
    finally:
        store.close()
    model = learner(app).model(language, kind)
    return dict(model.learned) if model else {}


def teach_odd(client, agent, n=len(ODD), key="reply/return-window"):
    for i, text in enumerate(ODD[:n]):
        insert(client, agent, key, f"odd-{i}", text)


def test_insertions_teach_a_classifier_that_says_how_often(demo, client, agent):
    teach_odd(client, agent)
    top = suggest(client, agent, "a strong smell of smoke on the scarf")["replies"][0]
    assert top["key"] == "reply/return-window"
    assert top["learned_score"] > 0.3
    assert "used for 5 tickets like this one" in top["why"]


def test_the_per_agent_cap_bounds_what_the_model_learns(demo, client, agent, monkeypatch):
    monkeypatch.setattr(learning, "PER_AGENT", 2)
    teach_odd(client, agent)
    assert model_counts(demo)["reply/return-window"] == 2


def test_clearing_takes_the_examples_out_of_the_model(demo, client, agent, manager):
    teach_odd(client, agent)
    assert model_counts(demo).get("reply/return-window") == 5
    assert client.delete("/api/v1/snippets/reply/return-window/learned", headers=manager).status_code == 200
    assert "reply/return-window" not in model_counts(demo)
    hits = suggest(client, agent, "a strong smell of smoke on the scarf", limit=14)["replies"]
    assert all(h["learned_score"] == 0 and "tickets like this" not in h["why"] for h in hits)


def test_a_snippet_without_examples_still_competes(demo, client, agent):
    # Heavy teaching elsewhere must not drown the replies nobody inserted yet.
    for i in range(12):
        insert(client, agent, "reply/order-status", f"os-{i}", f"where is my parcel number {i}, still not here")
        insert(client, agent, "reply/missing-package", f"mp-{i}", f"tracking says delivered, nothing at my door {i}")
    data = suggest(client, agent, "I lost my phone and can't get past the two-factor authentication code")
    assert data["replies"][0]["key"] == "reply/two-factor-reset"
    assert data["replies"][0]["learned_score"] == 0


def test_written_examples_teach_from_day_one(demo, client, manager, agent):
    r = client.patch("/api/v1/snippets/reply/return-window",
                     json={"examples": ["my scarf smells of smoke", "the parcel reeks of cigarettes"]}, headers=manager)
    assert r.status_code == 200, r.json
    assert r.json["examples"] == ["my scarf smells of smoke", "the parcel reeks of cigarettes"]
    top = suggest(client, agent, "smoky smell on the scarf")["replies"][0]
    assert top["key"] == "reply/return-window" and top["learned_score"] > 0


def test_the_model_is_retrained_in_the_background_within_seconds(demo, client, agent):
    background = Learner(demo.config["DATABASE"], background=True)
    background.train_now()
    assert background.model("en", "reply") is None  # nothing learned yet
    teach_odd(client, agent)
    store = open_store(demo.config["DATABASE"])
    try:
        version = store.data_version()
    finally:
        store.close()
    background.refresh(version)  # returns at once; the training runs in its thread
    deadline = time.monotonic() + 30
    while background.version != version and time.monotonic() < deadline:
        time.sleep(0.05)
    assert background.version == version
    assert background.model("en", "reply").learned["reply/return-window"] == 5


def test_each_suggestion_carries_a_confidence_in_words(demo, client, agent):
    data = client.post(SUGGEST, json={"ticket": {"id": "C-1", "body": "I forgot my password and can't log in "
                                                 "to my account, please send a reset link"}}, headers=agent).json
    top = data["replies"][0]
    assert top["key"] == "reply/password-reset"
    assert top["confidence_label"] == "likely" and 0.5 <= top["confidence"] <= 1
    assert data["confident"] is True
    confidences = [h["confidence"] for h in data["replies"]]
    assert confidences == sorted(confidences, reverse=True)
    assert all(h["confidence_label"] in ("likely", "possible", "unlikely") for h in data["replies"][1:])


def test_a_weak_guess_is_not_called_confident(demo, client, agent):
    data = client.post(SUGGEST, json={"ticket": {"id": "C-2", "body": "a question about my thing from last week"}},
                       headers=agent).json
    assert data["replies"], "the closest replies are still listed"
    assert data["confident"] is False
    assert all(h["confidence_label"] == "unlikely" for h in data["replies"])


def test_a_large_store_is_sampled_for_the_other_class(demo, app, client, agent, monkeypatch):
    # What stands for "none of what was learned" is an even sample of at most MAX_OTHER texts:
    # fitting the features on every snippet of a large store made a training take 26 s.
    from server import learner as module
    seen = []
    train = module.train
    monkeypatch.setattr(module, "MAX_OTHER", 50)
    monkeypatch.setattr(module, "train", lambda texts, labels, lang, weights: seen.append(labels)
                        or train(texts, labels, lang, weights))
    teach_odd(client, agent, 2)
    assert model_counts(app) == {"reply/return-window": 2}
    english = [labels for labels in seen if "reply/return-window" in labels][-1]
    assert 25 <= english.count(module.OTHER) <= 50


PASSWORD = "I forgot my password and can't log in to my account, please send a reset link"
# One ticket each for the password reply's near neighbours, worded like the password ticket.
NEIGHBOURS = {"reply/reset-link-expired": "the reset link you sent does not work, I still can't log in",
              "reply/account-locked": "I can't log in, it says my account is locked",
              "reply/app-crashes": "I can't log in on the app, it closes when I open my account",
              "reply/two-factor-code-not-arriving": "can't log in, the login code never arrives",
              "reply/authenticator-code-rejected": "can't log in to my account, the authenticator code is rejected",
              "reply/suspicious-email": "an email says my password was changed and I can't log in"}


def test_one_example_per_neighbour_does_not_displace_a_clear_cold_winner(demo, client, agent):
    # The learner's word about a snippet counts by that snippet's own examples: one ticket
    # each for many near neighbours moves them a little, not past what the words make clear,
    # however much the learner knows about an unrelated reply.
    for i, (key, text) in enumerate(NEIGHBOURS.items()):
        insert(client, agent, key, f"nb-{i}", text)
    for i in range(24):
        insert(client, agent, "reply/order-status", f"os-{i}", f"where is my parcel {i}? it has not arrived yet")
    top = suggest(client, agent, PASSWORD)["replies"][0]
    assert top["key"] == "reply/password-reset" and top["learned_score"] == 0
    # Many examples do lead: a desk that answers these tickets with another reply is followed.
    for i in range(12):
        insert(client, agent, "reply/account-locked", f"al-{i}", f"forgot my password, can't log in, send a reset link ({i})")
    top = suggest(client, agent, PASSWORD)["replies"][0]
    assert top["key"] == "reply/account-locked" and "used for 13 tickets like this one" in top["why"]


def test_a_language_without_the_snippets_text_still_has_the_other_class(demo, client, agent):
    # English-only policies taught by Italian tickets: the Italian model's "none of these"
    # is made of the other policies' English text, so an untaught policy still competes.
    insert(client, agent, "reply/missing-package", "it-1", "Il pacco risulta consegnato ma non è mai arrivato", language="it")
    insert(client, agent, "reply/order-status", "it-2", "Dov'è il mio ordine? Non ho ancora il numero di tracking", language="it")
    assert model_counts(demo, "it", "policy") == {"policy/shipping_issue/missing": 1, "policy/shipping_issue/status": 1,
                                                  "policy/order_issue/status_delivery_time": 1}
    assert "__other__" in learner(demo).model("it", "policy").classifier.classes_
    data = client.post(SUGGEST, json={"ticket": {"id": "it-3", "language": "it", "body":
                       "Ho dimenticato la password e non riesco ad accedere, mandatemi il link per reimpostarla"}},
                       headers=agent).json
    assert data["policies"][0]["key"] == "policy/account_access/recover_password"
