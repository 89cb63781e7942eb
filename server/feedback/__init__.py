"""Agents' feedback on suggestions: "not helpful" with a reason, and its bounded effect on ranking."""
