"""Repeat contacts: how often a customer came back, and alerts for customer success."""
