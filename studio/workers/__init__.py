"""Bridges from core generators to Qt threads (QtCore only)."""
