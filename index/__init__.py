"""The search index: schema, analysis, indexing and searching (no Flask here)."""
