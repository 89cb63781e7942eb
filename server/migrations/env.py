"""Alembic's environment: runs on the connection the store hands over (server/migrations/__init__.py)."""
from alembic import context

context.configure(connection=context.config.attributes["connection"], target_metadata=None,
                  render_as_batch=True)  # batch mode: SQLite rebuilds a table to alter it
with context.begin_transaction():
    context.run_migrations()
