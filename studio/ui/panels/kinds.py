"""Pages a kind of data brings with it.

The table pages are the window's own. Another kind of data (images) may bring its own page for any step; while
the Project's data is of that kind, the window shows that page instead. Adding a kind adds its pages here; it does
not edit the table pages.
"""

from __future__ import annotations

from collections.abc import Callable

from studio.core.data.kinds import DataKind
from studio.core.project import Project, Step
from studio.ui.panels.base import Panel

PageFactory = Callable[[Project], Panel]

_PAGES: dict[DataKind, dict[Step, PageFactory]] = {}


def register_pages(kind: DataKind, pages: dict[Step, PageFactory]) -> None:
    _PAGES.setdefault(kind, {}).update(pages)


def page_factory(kind: DataKind, step: Step) -> PageFactory | None:
    """The page ``kind`` brings for ``step``; None: the table page serves."""
    return _PAGES.get(kind, {}).get(step)


def kind_pages() -> list[tuple[DataKind, Step]]:
    """Every page any kind brings, as (kind, step)."""
    return [(kind, step) for kind, pages in _PAGES.items() for step in pages]
