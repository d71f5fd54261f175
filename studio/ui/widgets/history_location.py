"""Where the run history is kept, with a button to keep it in another file (a shared drive, a project folder)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

HISTORY_FILTER = "Run history (*.sqlite3);;All files (*)"


class HistoryLocationWidget(QWidget):
    """Says how many runs are kept where; ``path_chosen`` carries the file a person picked for the history."""

    path_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: #666; font-size: 9pt;")
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # a path, shown as it is
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.change_button = QPushButton("Keep runs in another file…")
        self.change_button.setToolTip("Choose the file the run history is kept in: an existing history to carry on "
                                      "with, or a new file to start one. Studio remembers the choice.")
        self.change_button.clicked.connect(self._on_change_clicked)
        self._current = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.change_button)

    def show_location(self, path: str, runs: int) -> None:
        self._current = path
        self.label.setText(f"{runs:,} run{'s' if runs != 1 else ''} kept in {path}")

    def _on_change_clicked(self) -> None:
        # An existing file is a history to open, not one to overwrite, so no overwrite question.
        path, _ = QFileDialog.getSaveFileName(self, "Keep the run history in", self._current or str(Path.home()),
                                              HISTORY_FILTER, options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.path_chosen.emit(path)
