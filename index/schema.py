"""The Whoosh schema: one document per snippet and language, one field set per language.

Giving each language its own ``title_xx``/``body_xx`` fields lets each use its own analyzer
and makes the language filter free: an Italian query only touches Italian fields. Languages
without dedicated analysis share the generic ``xx`` field set.
"""
from __future__ import annotations

from whoosh.fields import COLUMN, ID, KEYWORD, TEXT, Schema

from index.analyzers import SUPPORTED_LANGUAGES, analyzer_for, field_language

FIELD_LANGUAGES = (*SUPPORTED_LANGUAGES, "xx")
# Bump when analysis changes (stop words, stemming, tokenising): an index built with an older
# analysis is rebuilt at start, since its terms no longer match what queries produce.
ANALYSIS_VERSION = "5"

# Relative weights of the fields when ranking (title > tags > body), used by both the suggest
# scorer and manual search. Tuned on ABCD dev (bench/relevance.py).
TITLE_BOOST = 2.5
# The learned-tickets field no longer scores: the learner (server/learner.py) ranks by what was
# learned. Scored at 3, a library where only some snippets had learned tickets broke: with one or
# two tickets per reply the field's idf rewarded any snippet with learned text for generic words
# (near-neighbour dev halves, learned: top-1 0.21 at 3, 0.56 at 0; ABCD 0.819 at 3, 0.811 at 0).
# Nor do its terms count as coverage or matched terms (index/searcher.py term_matrix).
LEARNED_BOOST = 0.0
TAGS_BOOST = 1.0
BODY_BOOST = 1.0


def title_field(lang: str) -> str:
    """The title field holding text of this language."""
    return f"title_{field_language(lang)}"


def learned_field(lang: str) -> str:
    """The field holding learned tickets of this language."""
    return f"learned_{field_language(lang)}"


def body_field(lang: str) -> str:
    """The body field holding text of this language."""
    return f"body_{field_language(lang)}"


def build_schema() -> Schema:
    """The schema every index of this project is created with."""
    fields = {
        "doc_id": ID(unique=True, stored=True),  # "<key>#<language>"
        "key": ID(stored=True),
        "kind": ID(stored=True),
        "language": ID(stored=True),
        # "1" on the document in the snippet's default language: the fallback when the
        # ticket's language has no translation.
        "is_default": ID(stored=True),
        # Every language the snippet exists in, so the fallback can skip translated snippets.
        "langs": KEYWORD(stored=True, commas=True),
        "tags": KEYWORD(stored=True, commas=True, lowercase=True),  # exact, for the tag filter
        # The same tags as words (English analysis: tags are labels written in English), so a
        # ticket saying "cancelled" meets the tag "cancellation".
        "tag_terms": TEXT(analyzer=analyzer_for("en"), phrase=False),
        "policies": KEYWORD(stored=True, commas=True),
        # Only on the one state document: "<analysis>:<seq>:<token>", the last store write the
        # index reflects (see server/indexing.py).
        "data_version": ID(stored=True),
        # "<key> <token>": the store write that last changed this snippet, as a column (cheap to
        # read for every document at once), so a reconcile can diff the index against the store.
        "rev": COLUMN(),
        # "en:12,it:3": how many learned tickets of each language the snippet has.
        "learned_counts": ID(stored=True),
    }
    for lang in FIELD_LANGUAGES:
        analyzer = analyzer_for("generic" if lang == "xx" else lang)
        # phrase=False: term frequencies without positions. Nothing queries phrases (ranking
        # reads frequencies, highlighting re-analyses the stored text), and positions made
        # every build write and encode a list per term and document.
        fields[f"title_{lang}"] = TEXT(analyzer=analyzer, stored=True, phrase=False)
        fields[f"body_{lang}"] = TEXT(analyzer=analyzer, stored=True, phrase=False)
        # Not stored: the examples live in the store, where managers see and clear them.
        fields[f"learned_{lang}"] = TEXT(analyzer=analyzer, phrase=False)
    return Schema(**fields)


STATE_DOC_ID = "__state__"


def state_document(seq: int, token: str) -> dict:
    """The document recording which store write the index reflects (never a search hit)."""
    return {"doc_id": STATE_DOC_ID, "kind": "state", "data_version": f"{ANALYSIS_VERSION}:{seq}:{token}"}


def parse_state(value: str) -> tuple[int, str] | None:
    """The (seq, token) of a state document's value, or None if built with another analysis."""
    analysis, _, rest = (value or "").partition(":")
    seq, _, token = rest.partition(":")
    return (int(seq), token) if analysis == ANALYSIS_VERSION and seq.isdigit() else None


def documents_for(snippet: dict) -> list[dict]:
    """The index documents of one snippet, one per language it is written in."""
    langs = sorted(snippet["texts"])
    learned = snippet.get("learned") or {}
    counts = ",".join(f"{lang}:{len(texts)}" for lang, texts in sorted(learned.items()))
    learned_fields: dict[str, str] = {}
    # Managers' example questions are indexed with the learned tickets: the same kind of text.
    learned = {lang: [*(learned.get(lang) or []), *(snippet["texts"].get(lang, {}).get("examples") or [])]
               for lang in sorted({*learned, *snippet["texts"]})}
    for lang, texts in learned.items():  # two unsupported languages share the "xx" field
        if not texts:
            continue
        name = learned_field(lang)
        learned_fields[name] = (learned_fields.get(name, "") + "\n" + "\n".join(texts)).strip()
    docs = []
    for lang, text in snippet["texts"].items():
        docs.append({
            "doc_id": f"{snippet['key']}#{lang}",
            "key": snippet["key"],
            "kind": snippet["kind"],
            "language": lang,
            "is_default": "1" if lang == snippet["default_language"] else "0",
            "langs": ",".join(langs),
            "tags": ",".join(snippet.get("tags") or []),
            "tag_terms": " ".join(snippet.get("tags") or []).replace("-", " ").replace("_", " "),
            "policies": ",".join(snippet.get("policies") or []),
            title_field(lang): text["title"],
            body_field(lang): text["body"],
            "learned_counts": counts,
            "rev": f"{snippet['key']} {snippet.get('index_token') or ''}".encode(),
            **learned_fields,
        })
    return docs
