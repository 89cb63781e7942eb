"""The agent's desk around the sidebar: value labels, rendered replies, recent and favourite replies."""
