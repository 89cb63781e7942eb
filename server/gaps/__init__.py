"""Content gaps: tickets where agents found nothing to insert, grouped into topics."""
