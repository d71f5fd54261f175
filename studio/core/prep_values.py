"""Old path of ``studio.core.prep.values``, kept importable.

Model files saved before the core was organised by stage name their pieces here, and unpickling looks them
up by this name.
"""

from __future__ import annotations

from typing import Any

from studio.core.prep import values as _moved


def __getattr__(name: str) -> Any:
    return getattr(_moved, name)
