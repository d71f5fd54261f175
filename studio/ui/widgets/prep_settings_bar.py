"""The Prepare step's settings buttons: back to Studio's defaults, load and save a preparation file (the file the
CLI takes with ``--prep``), and the choices remembered per set of column names under the settings folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QWidget

from studio.core.common.errors import StudioError
from studio.core.data.profile import ColumnProfile
from studio.core.prep.config import PrepConfig, default_prep, save_prep
from studio.core.prep.files import forget_prep, prep_from_file, recall_prep, remember_prep
from studio.core.project import Project
from studio.ui.widgets.common import MessageBanner

FILE_FILTER = "Preparation settings (*.json);;All files (*)"
# Typing a number or holding an arrow key changes the choices many times a second; the file is written once
# they have rested this long.
REMEMBER_DELAY_MS = 500


class PrepSettingsBar(QWidget):
    """Writes only ``project.prep``, like the page it sits on; messages go to the page's banner."""

    def __init__(self, project: Project, banner: MessageBanner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.banner = banner
        self.settings_dir: Path | None = None
        self._unsaved: tuple[Path, tuple[ColumnProfile, ...], PrepConfig] | None = None
        self._remember_timer = QTimer(self, singleShot=True, interval=REMEMBER_DELAY_MS)
        self._remember_timer.timeout.connect(self.flush)
        self.save_button = QPushButton("Save settings…")
        self.save_button.setToolTip("Save these choices to a file, e.g. for `studio train --prep FILE.json`.")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.load_button = QPushButton("Load settings…")
        self.load_button.clicked.connect(self._on_load_clicked)
        self.reset_button = QPushButton("Studio's defaults")
        self.reset_button.setToolTip("Forget your choices for this table and use what Studio proposes.")
        self.reset_button.clicked.connect(self._on_reset_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button in (self.reset_button, self.load_button, self.save_button):
            layout.addWidget(button)

    def _on_reset_clicked(self) -> None:
        self.project.set_prep(default_prep(self.project.profiles))
        self.banner.clear()

    def _on_save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save preparation settings", "prep.json", FILE_FILTER)
        if not path:
            return
        try:
            save_prep(path, self.project.prep)
        except OSError as exc:
            self.banner.show_message(f"Could not save {Path(path).name}: {exc.strerror or exc}.", "error")
            return
        self.banner.show_message(f"Saved to {path}. Train from the command line with "
                                 f"studio train DATA --target {self.project.target} --prep {path} …", "success")

    def _on_load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load preparation settings", "", FILE_FILTER)
        if not path:
            return
        try:
            # The command line's own reading of the file (--prep): a file it refuses is refused here in its words.
            prep = prep_from_file(Path(path), self.project.profiles, self.project.target or "")
        except StudioError as exc:
            self.banner.show_message(str(exc), "error")
            return
        self.project.set_prep(prep)
        self.banner.show_message(f"Loaded the settings from {Path(path).name}.", "success")

    # -- remembered per dataset ---------------------------------------------------------------------------------
    def restore_remembered(self) -> None:
        self.flush()
        if self.settings_dir is None or not self.project.profiles:
            return
        restored = recall_prep(self.settings_dir, self.project.profiles)
        if restored is not None and restored != self.project.prep:
            self.project.set_prep(restored)
            self.banner.show_message("Your earlier choices for a table with these columns are back. "
                                     "'Studio's defaults' starts afresh.", "info")

    def remember(self) -> None:
        """Remember the current choices once the edits pause (or at the next ``flush``)."""
        if self.settings_dir is None or not self.project.profiles:
            return
        # Taken now: by the time the file is written another table may be open.
        self._unsaved = (self.settings_dir, self.project.profiles, self.project.prep)
        self._remember_timer.start()

    def flush(self) -> None:
        """Write the choices waiting to be remembered now: the page is left, the window closes or a table opens."""
        self._remember_timer.stop()
        if self._unsaved is None:
            return
        folder, profiles, prep = self._unsaved
        self._unsaved = None
        columns = [p.name for p in profiles]
        try:
            if prep == default_prep(profiles):
                forget_prep(folder, columns)
            else:
                remember_prep(folder, columns, prep)
        except OSError:
            pass  # remembering is a convenience; a read-only settings folder must not break the page
