"""Snippet shapes: the knowledge-pack line (import/export) and the API's snippet."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from server.inputs import SQL_INT_MAX, JsonBoolean, JsonInteger, Pattern

from server.render import ROOTS, check_template

KEY_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*(/[a-z0-9][a-z0-9_.\-]*)*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
# Last path segments that the API uses for sub-resources (/snippets/<key>/versions).
RESERVED_SEGMENTS = {"versions", "verify", "restore", "learned"}

# A condition's fact: a dotted path under one of the template roots (order.status).
WHEN_PATH = fields.String(validate=[validate.Length(max=200), Pattern(
    rf"^({'|'.join(ROOTS)})\.[^.]", error=f"Conditions are dotted paths under {', '.join(ROOTS)}.")])


def _examples_field():
    # Example questions a manager writes ("can I still cancel?"): the learner trains on them
    # from day one, before any agent has inserted the snippet.
    return fields.List(fields.String(validate=validate.Length(min=1, max=1_000)), load_default=list,
                       validate=validate.Length(max=50),
                       metadata={"description": "Customer questions this snippet answers, in this language."})


class PublicField(fields.Field):
    """Who may see a snippet in self-service: false (agents only), true, or a list of languages."""

    openapi = {"oneOf": [{"type": "boolean"}, {"type": "array", "minItems": 1,
                                                "items": {"type": "string", "pattern": LANGUAGE_PATTERN}}]}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) and re.fullmatch(LANGUAGE_PATTERN, v)
                                                     for v in value):
            return sorted(set(value))
        raise ValidationError("Use true, false, or a list of language codes such as [\"en\", \"it\"].")

    def _serialize(self, value, attr, obj, **kwargs):
        return value or False


class TextSchema(Schema):
    """A title and body in one language, with example questions."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    body = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    examples = _examples_field()

class FieldSpecSchema(Schema):
    """A fill-in field a reply declares (``{{ fields.NAME }}``)."""

    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(load_default="text", validate=validate.OneOf(["text", "choice", "date", "money"]))
    required = JsonBoolean(load_default=False)
    choices = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)

class SnippetContentSchema(Schema):
    """What a snippet says: exactly the knowledge-pack format (see the datasets README)."""

    key = fields.String(required=True, validate=[validate.Length(min=1, max=200),
                                                 Pattern(KEY_PATTERN, error="Keys are lowercase words separated by '/', e.g. 'reply/cancel-unshipped'.")])
    kind = fields.String(required=True, validate=validate.OneOf(["policy", "reply"]))
    language = fields.String(required=True, validate=Pattern(LANGUAGE_PATTERN, error="Use an ISO 639-1 code such as 'en'."))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    body = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    examples = _examples_field()
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                       load_default=list, validate=validate.Length(max=30))
    translations = fields.Dict(keys=fields.String(validate=Pattern(LANGUAGE_PATTERN)),
                               values=fields.Nested(TextSchema), load_default=dict)
    policies = fields.List(fields.String(validate=Pattern(KEY_PATTERN)), load_default=list)
    offer = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    when = fields.Dict(keys=WHEN_PATH, values=fields.List(fields.Raw(allow_none=True)), load_default=dict)
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.String(validate=Pattern(r"^[a-z_][a-z0-9_]*$")),
                          values=fields.Nested(FieldSpecSchema), load_default=dict)
    # No load default: a pack line without it leaves an existing snippet's choice alone (new
    # snippets start agents-only).
    public = PublicField(metadata={
        "description": "Shown in self-service (the public API and help widget): true, or a list of languages."})

    @validates("key")
    def _key_segments(self, value: str, data_key: str) -> None:
        if value.rsplit("/", 1)[-1] in RESERVED_SEGMENTS:
            raise ValidationError(f"A key may not end in one of {sorted(RESERVED_SEGMENTS)}.")

    @validates_schema
    def _templates(self, data: dict, **kwargs) -> None:
        problems = {}
        texts = {"": data.get("body", "")}
        texts.update({lang: t["body"] for lang, t in (data.get("translations") or {}).items()
                      if t and "body" in t})  # a PATCH may remove (null) or retitle a translation
        for lang, body in texts.items():
            found = check_template(body)
            if found:
                problems[f"translations.{lang}.body" if lang else "body"] = found
        if problems:
            raise ValidationError(problems)
        if data.get("language") in (data.get("translations") or {}):
            raise ValidationError({"translations": ["Do not repeat the default language among translations."]})

class PackLineSchema(SnippetContentSchema):
    """A knowledge-pack line: the content, plus (optional) the curation state a store keeps.

    ``status``, ``owner`` and ``verify_every_days`` travel with an export so a draft comes back
    a draft. A line without them imports as before: new snippets are published with a 180-day
    interval, existing ones keep what they have.
    """

    status = fields.String(validate=validate.OneOf(["draft", "published", "archived"]))
    owner = fields.String(allow_none=True, validate=validate.Length(max=100))
    verify_every_days = JsonInteger(validate=validate.Range(min=1, max=3650))


class VerificationSchema(Schema):
    """Who last confirmed a snippet is still right, and when it is due again."""

    verified_by = fields.String(allow_none=True)
    verified_at = fields.String(allow_none=True)
    verify_every_days = fields.Integer(allow_none=True)
    due = fields.Boolean()
    due_on = fields.String(allow_none=True, metadata={"description": "When the next check falls due."})
    overdue = fields.Boolean(metadata={"description": "Due for longer than the grace period (agents see a flag)."})

class SnippetSchema(SnippetContentSchema):
    """A snippet as the API shows it and accepts it."""

    status = fields.String(load_default="published", validate=validate.OneOf(["draft", "published", "archived"]))
    owner = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    verify_every_days = JsonInteger(load_default=180, validate=validate.Range(min=1, max=3650),
                                       load_only=True)
    verification = fields.Nested(VerificationSchema, dump_only=True)
    version = fields.Integer(dump_only=True)
    created_at = fields.String(dump_only=True)
    updated_at = fields.String(dump_only=True)
    updated_by = fields.String(dump_only=True)

class FieldSpecPatchSchema(Schema):
    """A change to one fill-in field: a member left out keeps its stored value."""

    label = fields.String(validate=validate.Length(min=1, max=100))
    type = fields.String(validate=validate.OneOf(["text", "choice", "date", "money"]))
    required = JsonBoolean()
    choices = fields.List(fields.String(validate=validate.Length(max=100)))


class TextPatchSchema(Schema):
    """A change to one translation: a member left out keeps its stored value."""

    title = fields.String(validate=validate.Length(min=1, max=300))
    body = fields.String(validate=validate.Length(min=1, max=20_000))


class SnippetPatchSchema(SnippetSchema):
    """A partial update, as a JSON Merge Patch (RFC 7396); ``version``, when sent, must be the version being changed.

    Members left out keep their value; objects (``translations``, ``when``, ``fields``) merge
    member by member, and ``null`` removes one (``{"translations": {"fr": null}}`` removes the
    French text); lists (``tags``, ``policies``) are replaced whole.
    """

    translations = fields.Dict(keys=fields.String(validate=Pattern(LANGUAGE_PATTERN)),
                               values=fields.Nested(TextPatchSchema, allow_none=True))
    when = fields.Dict(keys=WHEN_PATH, values=fields.List(fields.Raw(allow_none=True), allow_none=True))
    fields_ = fields.Dict(data_key="fields", attribute="fields",
                          keys=fields.String(validate=Pattern(r"^[a-z_][a-z0-9_]*$")),
                          values=fields.Nested(FieldSpecPatchSchema, allow_none=True))

    expected_version = JsonInteger(data_key="version", load_only=True, validate=validate.Range(min=1, max=SQL_INT_MAX))

class SnippetListQuery(Schema):
    """Filters of the snippet list."""

    kind = fields.String(validate=validate.OneOf(["policy", "reply"]))
    status = fields.String(validate=validate.OneOf(["draft", "published", "archived"]))
    tag = fields.String(validate=validate.Length(max=50))
    due = fields.Boolean(metadata={"description": "Only snippets due (true) or not due (false) for verification."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=SQL_INT_MAX))

class VersionSchema(Schema):
    """One entry of a snippet's history."""

    version = fields.Integer()
    action = fields.String()
    changed_by = fields.String(allow_none=True)
    changed_at = fields.String()
    snapshot = fields.Dict()

class SnippetPageSchema(Schema):
    """A page of snippets."""

    items = fields.List(fields.Nested(SnippetSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()

class LearnedExampleSchema(Schema):
    """One ticket a snippet learned from."""

    id = fields.Integer()
    language = fields.String()
    text = fields.String()
    agent = fields.String()
    ticket_id = fields.String()
    via = fields.String(metadata={"description": "The key that was inserted (a reply teaches its policies)."})
    created_at = fields.String()


class LearnedSchema(Schema):
    """What a snippet has learned."""

    key = fields.String()
    count = fields.Integer()
    removed = fields.Integer()
    examples = fields.List(fields.Nested(LearnedExampleSchema))


learned_schema = LearnedSchema()
snippet_content_schema = SnippetContentSchema()
pack_line_schema = PackLineSchema()
snippet_schema = SnippetSchema()
snippet_patch_schema = SnippetPatchSchema(partial=True)
snippet_list_query = SnippetListQuery()
snippet_page_schema = SnippetPageSchema()
versions_schema = VersionSchema(many=True)
version_schema = VersionSchema()
