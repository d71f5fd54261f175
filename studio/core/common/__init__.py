"""What every stage shares: errors said in words, progress items, curve points and atomic file writes."""
