"""Help ▸ About Studio: the version, and where this computer keeps Studio's settings, runs and log file."""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import PySide6
from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import studio
from studio.ui.app_icon import app_icon


@dataclass(frozen=True)
class StudioPlaces:
    """The files the About dialog names (each may not exist yet: it is made when first needed)."""

    settings: Path
    runs: Path
    log: Path


class AboutDialog(QDialog):
    def __init__(self, places: StudioPlaces, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Studio")
        self.places = places
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        title = QLabel(f"Studio {studio.__version__}")
        title.setStyleSheet("font-size: 16pt; font-weight: 600;")
        blurb = QLabel("Train a model on a table or on pictures without writing code.\n"
                       f"Python {platform.python_version()}, Qt {PySide6.__version__}, {platform.system()}.")
        blurb.setWordWrap(True)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        self.path_labels: dict[str, QLabel] = {}
        self.open_buttons: dict[str, QPushButton] = {}
        rows = (("settings", "Settings", places.settings), ("runs", "Training runs", places.runs),
                ("log", "Log file", places.log))
        for row, (key, label, path) in enumerate(rows):
            grid.addWidget(QLabel(f"<b>{label}</b>"), row, 0)
            shown = QLabel(str(path))
            shown.setTextFormat(Qt.TextFormat.PlainText)
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            shown.setWordWrap(True)
            self.path_labels[key] = shown
            grid.addWidget(shown, row, 1)
            button = QPushButton("Show folder")
            button.setToolTip(f"Open {path.parent} in the file manager.")
            button.clicked.connect(lambda _checked=False, folder=path.parent: self._on_show_folder_clicked(folder))
            self.open_buttons[key] = button
            grid.addWidget(button, row, 2)
        note = QLabel("Send the log file along when you report a problem: it holds the details behind the "
                      "messages Studio shows.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        head = QGridLayout()
        head.addWidget(icon, 0, 0, 2, 1)
        head.addWidget(title, 0, 1)
        head.addWidget(blurb, 1, 1)
        head.setColumnStretch(1, 1)
        layout.addLayout(head)
        layout.addSpacing(8)
        layout.addLayout(grid)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())

    def _on_show_folder_clicked(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class HelpMenu(QObject):
    """The window's Help menu with "About Studio" (on macOS Qt moves it into the application menu, as Mac apps
    have it). The dialog opens without blocking the window's event loop."""

    def __init__(self, window: QMainWindow, places: Callable[[], StudioPlaces]) -> None:
        super().__init__(window)
        self._window = window
        self._places = places  # asked when the dialog opens: the runs may have moved since
        self.dialog: AboutDialog | None = None
        self.about_action = QAction("About Studio…", window)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self._on_about_action_triggered)
        window.menuBar().addMenu("&Help").addAction(self.about_action)

    def _on_about_action_triggered(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = AboutDialog(self._places(), self._window)
        self.dialog.open()
