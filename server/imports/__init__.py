"""Imports of macros and canned responses from other helpdesks (Zendesk, Freshdesk, Gorgias)."""
