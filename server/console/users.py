"""(placeholder, filled in below)."""
