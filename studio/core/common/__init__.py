"""What every stage shares: errors said in words, progress items, curve points, atomic file writes, and counts,
numbers and times said the same way everywhere (words)."""
