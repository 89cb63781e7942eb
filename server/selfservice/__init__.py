"""Self-service: the same curated answers agents get, for customers (public API and help widget)."""
