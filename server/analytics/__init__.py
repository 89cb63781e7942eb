"""Analytics over what the store recorded: suggestions shown, insertions, codes, feedback."""
