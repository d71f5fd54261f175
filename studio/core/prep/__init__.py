"""Preparation of a table: per-column settings (config), the scikit-learn transformer built from them (build),
the values and rows it produces, warnings with fixes (insights), the before/after preview, and formulas."""

from __future__ import annotations

from typing import Any

_OLD_NAMES = ("frame_to_numbers", "frame_to_categories", "frame_to_days")


def __getattr__(name: str) -> Any:
    """Model files saved while the preparation was one module, ``studio.core.prep``, name these functions here;
    unpickling looks them up by that name, so they stay reachable."""
    if name in _OLD_NAMES:
        from studio.core.prep import values

        return getattr(values, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
