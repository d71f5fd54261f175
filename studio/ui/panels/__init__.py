"""One wizard step per file."""
