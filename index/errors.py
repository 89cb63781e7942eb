"""Exceptions raised by the index package (callers never see Whoosh's own)."""
from __future__ import annotations


class IndexUnavailable(Exception):
    """The index is missing, unreadable or of an older schema, and must be rebuilt."""


class IndexBusy(Exception):
    """Another writer held the index lock for longer than we were willing to wait."""
