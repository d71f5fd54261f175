"""Where bundled resources live, in a checkout and in an installed app.

The sample tables and the style sheet are kept in ``resources/`` at the top of the checkout, and a wheel ships
them inside the package as ``studio/_resources`` (pyproject.toml maps the package ``studio._resources`` to that
folder). A frozen app (packaging/) points ``STUDIO_RESOURCES`` at its own copy.
"""

from __future__ import annotations

import os
from pathlib import Path

RESOURCES_ENV = "STUDIO_RESOURCES"

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "_resources"  # a regular install: pip install ., a wheel
_CHECKOUT = _PACKAGE.parent / "resources"  # the source tree, and an editable install of it


def resources_dir() -> Path:
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override)
    # The installed copy first: next to an installed package, ../resources would be site-packages/resources,
    # which belongs to whichever other distribution put it there.
    return _INSTALLED if _INSTALLED.is_dir() else _CHECKOUT


def sample_dataset() -> Path:
    return resources_dir() / "samples" / "penguins.csv"
