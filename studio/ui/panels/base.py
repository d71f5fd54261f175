"""What every wizard page has in common."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from studio.core.project import Project, Step


class Panel(QWidget):
    """A wizard page: reads and writes the Project, never other panels' widgets."""

    step: Step

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        project.subscribe(self._on_project_changed)

    def _on_project_changed(self, what: str) -> None:
        """Refresh from the Project; ``what`` names the part that changed."""

    def entered(self) -> None:
        """Called when the page is shown."""

    def shutdown(self) -> None:
        """Stop and join this page's background work (window closing, test teardown)."""
