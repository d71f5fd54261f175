"""A stored run as a self-contained HTML report (text, tables and SVG charts)."""
