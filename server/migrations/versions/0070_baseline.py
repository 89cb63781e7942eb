"""Baseline: the schema that the legacy migrations 1-70 built, written once for every dialect.

Revision ids are numbers continuing the legacy versions (the next one is "80"), so
``Store.schema_version()`` and /api/v1/health still report an integer. Frozen once shipped:
a change is a new revision. Autoincrement ids are ``Identity`` on PostgreSQL and the rowid on
SQLite; JSON lives in TEXT columns (the store reads and writes it as text on both).

Revision ID: 70
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "70"
down_revision = None
branch_labels = None
depends_on = None

T, I = sa.Text, sa.Integer


def _id() -> sa.Column:
    return sa.Column("id", I, sa.Identity(), primary_key=True)


def col(name: str, type_=T, *args, null: bool = False, default: str | None = None, **kw) -> sa.Column:
    return sa.Column(name, type_, *args, nullable=null, server_default=default, **kw)


def upgrade() -> None:
    op.create_table(
        "snippets", _id(), col("key", unique=True),
        col("kind"), col("default_language"), col("texts"), col("tags", default="[]"),
        col("policies", default="[]"), col("offer", null=True), col("when_json", default="{}"),
        col("fields", default="{}"), col("status", default="published"), col("owner", null=True),
        col("verified_by", null=True), col("verified_at", null=True), col("verify_every_days", I, null=True),
        col("version", I), col("created_at"), col("updated_at"), col("updated_by", null=True),
        col("public", default="false"),
        sa.CheckConstraint("kind IN ('policy', 'reply')"),
        sa.CheckConstraint("status IN ('draft', 'published', 'archived')"))
    op.create_index("snippets_kind_status", "snippets", ["kind", "status"])
    op.create_table(
        "snippet_versions", col("snippet_id", I, sa.ForeignKey("snippets.id")), col("version", I),
        col("action"), col("snapshot"), col("changed_by", null=True), col("changed_at"),
        sa.PrimaryKeyConstraint("snippet_id", "version"))
    op.create_table(
        "users", _id(), col("name", unique=True), col("role"), col("token_hash", unique=True),
        col("created_at"), col("password_hash", null=True), col("active", I, default="1"),
        col("last_sign_in_at", null=True),
        sa.CheckConstraint("role IN ('agent', 'manager', 'admin')"))
    op.create_table("offers", col("key", primary_key=True), col("data"), col("updated_at"))
    op.create_table("meta", col("key", primary_key=True), col("value"))
    op.execute("INSERT INTO meta (key, value) VALUES ('data_version', '0')")
    op.create_table(
        "offer_codes", _id(), col("offer_key"), col("code", unique=True), col("source"), col("status"),
        col("customer"), col("agent"), col("helpdesk", default=""), col("brand", default=""),
        col("ticket_id"), col("snippet_key"), col("issued_at"), col("expires_on"),
        col("decided_by", null=True), col("decided_at", null=True), col("note", null=True),
        sa.CheckConstraint("source IN ('generated', 'pool')"),
        sa.CheckConstraint("status IN ('issued', 'pending', 'rejected', 'void')"),
        sa.UniqueConstraint("helpdesk", "brand", "ticket_id", "snippet_key"))
    op.create_index("offer_codes_customer", "offer_codes", ["offer_key", "customer", "issued_at"])
    op.create_index("offer_codes_agent", "offer_codes", ["offer_key", "agent", "issued_at"])
    op.create_index("offer_codes_ticket", "offer_codes", ["ticket_id"])
    op.create_table(
        "offer_code_customers", col("customer"), col("code_id", I, sa.ForeignKey("offer_codes.id")),
        sa.PrimaryKeyConstraint("customer", "code_id"))
    op.create_table(
        "code_pool", col("code", primary_key=True), col("offer_key"), col("imported_at"),
        col("used_by", I, sa.ForeignKey("offer_codes.id"), null=True))
    op.create_index("code_pool_free", "code_pool", ["offer_key", "used_by"])
    op.create_table(
        "insertions", _id(), col("helpdesk", default=""), col("brand", default=""), col("ticket_id"),
        col("snippet_key"), col("snippet_version", I), col("kind"), col("language"), col("agent"),
        col("fields", default="{}"), col("ticket_text", default=""), col("eligible", I, null=True),
        col("offer_code_id", I, sa.ForeignKey("offer_codes.id"), null=True), col("times", I, default="1"),
        col("created_at"), col("last_at"),
        sa.UniqueConstraint("helpdesk", "brand", "ticket_id", "snippet_key"))
    op.create_index("insertions_snippet", "insertions", ["snippet_key", "created_at"])
    op.create_index("insertions_created", "insertions", ["created_at"])
    op.create_table(
        "suggestion_events", _id(), col("ticket_id"), col("agent"), col("language"), col("shown"),
        col("at"), col("ticket_text", default=""))
    op.create_index("suggestion_events_ticket", "suggestion_events", ["ticket_id"])
    op.create_index("suggestion_events_at", "suggestion_events", ["at"])
    op.create_table(
        "learned_examples", _id(), col("snippet_key"), col("language"), col("text"), col("agent"),
        col("ticket_id"), col("via"), col("created_at"), sa.UniqueConstraint("snippet_key", "ticket_id"))
    op.create_index("learned_examples_snippet", "learned_examples", ["snippet_key", "agent", "id"])
    op.create_table("index_queue", _id(), col("key"))
    op.create_table("synonyms", col("language", primary_key=True), col("groups"), col("updated_at"),
                    col("updated_by", null=True))
    op.create_table(
        "index_writes", sa.Column("seq", I, sa.Identity(), primary_key=True), col("token"), col("source"),
        col("keys", I), col("at", sa.Float))
    op.create_table("index_keys", col("key", primary_key=True), col("seq", I), col("token"))
    op.create_index("index_keys_seq", "index_keys", ["seq"])
    op.create_table(
        "console_sessions", col("id_hash", primary_key=True), col("user_id", I, sa.ForeignKey("users.id")),
        col("csrf"), col("created_at"), col("last_seen"), col("notice", null=True))
    op.create_index("console_sessions_user", "console_sessions", ["user_id"])
    op.create_table("sign_in_failures", _id(), col("name"), col("ip"), col("at"))
    op.create_index("sign_in_failures_name", "sign_in_failures", ["name", "at"])
    op.create_index("sign_in_failures_ip", "sign_in_failures", ["ip", "at"])
    op.create_table(
        "public_keys", _id(), col("name"), col("key_hash", unique=True), col("origins", default="[]"),
        col("created_at"), col("revoked_at", null=True))
    op.create_table(
        "contacts", _id(), col("customer"), col("ticket_id"), col("subject", default=""), col("url", null=True),
        col("agent"), col("first_at"), col("last_at"), sa.UniqueConstraint("customer", "ticket_id"))
    op.create_index("contacts_customer", "contacts", ["customer", "first_at"])
    op.create_table(
        "contact_alerts", _id(), col("customer"), col("ticket_id"), col("agent"), col("contacts", I),
        col("summary"), col("note", null=True), col("created_at"), sa.UniqueConstraint("customer", "ticket_id"))
    op.create_table(
        "value_labels", col("language"), col("path"), col("value"), col("label"), col("updated_at"),
        col("updated_by", null=True), sa.PrimaryKeyConstraint("language", "path", "value"))
    op.create_table("favourites", col("agent"), col("snippet_key"), col("created_at"),
                    sa.PrimaryKeyConstraint("agent", "snippet_key"))
    op.create_table(
        "withheld_offers", col("insertion_id", I, sa.ForeignKey("insertions.id")), col("offer_key"),
        col("reason", null=True), col("agent"), col("at"))
    op.create_table(
        "feedback", _id(), col("ticket_id"), col("snippet_key"), col("snippet_version", I, null=True),
        col("agent"), col("language"), col("reason", null=True), col("comment", null=True), col("at"),
        sa.CheckConstraint("reason IN ('wrong_topic', 'outdated', 'wrong_language', 'missing_info')"),
        sa.UniqueConstraint("ticket_id", "snippet_key", "agent"))
    op.create_index("feedback_snippet", "feedback", ["snippet_key", "at"])
    op.create_table("gap_dismissals", _id(), col("terms"), col("size", I), col("dismissed_by"), col("dismissed_at"))
    op.create_table("gap_dismissed_tickets", col("ticket_id", primary_key=True),
                    col("dismissal_id", I, sa.ForeignKey("gap_dismissals.id")))
    op.create_table("import_sources", col("source"), col("source_id"), col("snippet_key"), col("imported_at"),
                    sa.PrimaryKeyConstraint("source", "source_id"))
    op.create_table("customer_languages", col("customer"), col("language"), col("tickets", I), col("last_at"),
                    sa.PrimaryKeyConstraint("customer", "language"))
    op.create_table("customer_tickets", col("customer"), col("ticket_id"),
                    sa.PrimaryKeyConstraint("customer", "ticket_id"))


TABLES = ("customer_tickets", "customer_languages", "import_sources", "gap_dismissed_tickets", "gap_dismissals",
          "feedback", "withheld_offers", "favourites", "value_labels", "contact_alerts", "contacts",
          "public_keys", "sign_in_failures", "console_sessions", "index_keys", "index_writes", "synonyms",
          "index_queue", "learned_examples", "suggestion_events", "insertions", "code_pool",
          "offer_code_customers", "offer_codes", "meta", "offers", "users", "snippet_versions", "snippets")


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
