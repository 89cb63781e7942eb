"""Shapes of suggestions and manual search."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.inputs import JsonInteger, Pattern
from server.snippets.schemas import LANGUAGE_PATTERN

# A ticket is untrusted text. 100 KB e-mails with quoted history are real; past these limits
# the request is refused with a 422 naming the field (the whole body is capped at 1 MiB: 413).
MAX_SUBJECT = 2_000
MAX_BODY = 200_000

_context = fields.Dict(keys=fields.String(validate=validate.Length(max=100)), values=fields.Raw(allow_none=True),
                       load_default=dict)


class TicketSchema(Schema):
    """The ticket the agent has open, with what the helpdesk knows around it."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    # Where the ticket lives: ticket ids of two helpdesks, or two brands of one, collide.
    helpdesk = fields.String(load_default="", validate=validate.Length(max=50), metadata={
        "description": "The helpdesk the ticket is in (zendesk, freshdesk, ...); part of the conversation's identity."})
    brand = fields.String(load_default="", validate=validate.Length(max=200), metadata={
        "description": "The helpdesk account or brand (e.g. its host name); part of the conversation's identity."})
    subject = fields.String(load_default="", validate=validate.Length(max=MAX_SUBJECT))
    body = fields.String(load_default="", validate=validate.Length(max=MAX_BODY))
    language = fields.String(validate=Pattern(LANGUAGE_PATTERN, error="Use an ISO 639-1 code such as 'en'."))
    customer = _context
    order = _context
    agent = _context
    # An http(s) address without blanks or control characters: it is only ever a link back, so
    # its host is not checked further (marshmallow's URL rules can't be stated in the document).
    url = fields.String(validate=[validate.Length(max=2000), Pattern(
        r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20/?#]+([/?#][^\x00-\x20]*)?$", error="Not an http(s) URL.")],
                        metadata={"description": "The ticket's address in the helpdesk (links back to it)."})


class SuggestRequestSchema(Schema):
    """Body of POST /suggest."""

    ticket = fields.Nested(TicketSchema, required=True)
    limit = JsonInteger(load_default=5, validate=validate.Range(min=1, max=20))


class HitSchema(Schema):
    """One suggested snippet."""

    key = fields.String()
    kind = fields.String()
    title = fields.String()
    language = fields.String()
    fallback = fields.Boolean(metadata={"description": "Shown in its default language: no translation in the ticket's."})
    score = fields.Float()
    matched_terms = fields.List(fields.String(), metadata={"description": "Analysed ticket terms the snippet contains."})
    learned_from = fields.Integer(metadata={"description": "Earlier tickets in this language the snippet was used for."})
    why = fields.String(metadata={"description": "Why it ranked, in one line."})
    confidence = fields.Float(metadata={"description": "Calibrated probability (0-1) that this is the right snippet."})
    confidence_label = fields.String(metadata={"description": "The confidence in words: likely, possible or unlikely."})
    learned_score = fields.Float(metadata={"description": "The learner's probability for this snippet (0 if nothing learned)."})
    verification_overdue = fields.Boolean(metadata={
        "description": "Overdue for verification past the grace period: agents see a flag."})
    body = fields.String(metadata={"description": "Policies: the card's text."})
    text = fields.String(allow_none=True, metadata={"description": "Replies: the body rendered over the ticket (null when it can't be: see render_error)."})
    render_error = fields.String(allow_none=True, metadata={"description": "Replies: why the template can't be rendered for this ticket (a render limit)."})
    missing = fields.List(fields.String(), metadata={"description": "Replies: placeholders without a value."})
    policies = fields.List(fields.String())
    offer = fields.String(allow_none=True)
    offer_preview = fields.Dict(allow_none=True, metadata={"description": "Replies: the offer's key, label and kind: inserting issues a code."})
    eligible = fields.Boolean(allow_none=True, metadata={"description": "Replies: true, false, or null when the ticket lacks a fact."})
    reason = fields.String(allow_none=True)
    conditions = fields.Boolean(metadata={"description": "Replies: whether the reply has conditions at all "
                                                         "(eligible with none means nothing to check)."})
    fields_ = fields.List(fields.Dict(), data_key="fields", attribute="fields",
                          metadata={"description": "Replies: fill-in fields (name, label, type, required, choices)."})
    tags = fields.List(fields.String())


class SuggestResponseSchema(Schema):
    """Suggestions for a ticket."""

    language = fields.String()
    language_source = fields.String(metadata={"description": "client, detected or default"})
    policies = fields.List(fields.Nested(HitSchema))
    replies = fields.List(fields.Nested(HitSchema))
    confident = fields.Boolean(metadata={"description": "False when no reply (or, without replies, no policy) is more than an unlikely guess."})
    took_ms = fields.Float()
    contact = fields.Dict(allow_none=True, metadata={
        "description": "The customer's contacts in the window (server/contacts/schemas.py ContactSummarySchema)."})


class SearchQuerySchema(Schema):
    """Query of GET /search."""

    q = fields.String(required=True, validate=validate.Length(min=1, max=500))
    kind = fields.String(validate=validate.OneOf(["policy", "reply"]))
    language = fields.String(validate=Pattern(LANGUAGE_PATTERN))
    tag = fields.String(validate=validate.Length(max=50))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class SearchHitSchema(Schema):
    """A search result; fragments are lists of [text, is_match] segments."""

    key = fields.String()
    kind = fields.String()
    language = fields.String()
    title = fields.String()
    score = fields.Float()
    tags = fields.List(fields.String())
    title_fragments = fields.List(fields.Raw())
    body_fragments = fields.List(fields.Raw())


class SearchResponseSchema(Schema):
    """Results of GET /search."""

    query = fields.String()
    hits = fields.List(fields.Nested(SearchHitSchema))
    took_ms = fields.Float()


suggest_request_schema = SuggestRequestSchema()
suggest_response_schema = SuggestResponseSchema()
search_query_schema = SearchQuerySchema()
search_response_schema = SearchResponseSchema()


BLANKS = " \t\n\r\f\v"


class SynonymsSchema(Schema):
    """Groups of words that mean the same in one language's tickets."""

    # A word is stored without surrounding blanks, so one of only blanks would be "": refused.
    # (ASCII blanks, spelled out: JSON Schema's \s and Python's differ; BLANKS is the same set.)
    groups = fields.List(fields.List(fields.String(validate=[validate.Length(min=1, max=50), Pattern(
        r"^[ \t\n\r\f\v]*[^ \t\n\r\f\v]", error="A word needs a letter, not only spaces.")]),
                                     validate=validate.Length(min=2, max=20)),
                         required=True, validate=validate.Length(max=1000))


synonyms_schema = SynonymsSchema()
