"""The Model step's choice of how the settings are found: by hand, tuned for one model, or the best model found."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QRadioButton, QWidget

from studio.core.project import Project
from studio.core.search.modes import TuneMode
from studio.ui.widgets.search_run import warm_up_search

MODES = ((TuneMode.MANUAL, "Choose a model and its settings myself"),
         (TuneMode.TUNE, "Choose a model; let Studio tune its settings"),
         (TuneMode.AUTO, "Find the best model for me"))


class ModeChoice(QWidget):
    """Three radio buttons: by hand, tune one model, or find the best model."""

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        for mode, text in MODES:
            button = QRadioButton(text)
            button.setObjectName(f"mode_{mode}")
            self.group.addButton(button)
            self.buttons[mode] = button
            layout.addWidget(button)
            button.toggled.connect(lambda checked, m=mode: checked and self._on_mode_toggled(m))
        layout.addStretch(1)
        self.refresh()

    def refresh(self) -> None:
        button = self.buttons.get(self.project.tuning.mode, self.buttons[TuneMode.MANUAL])
        if not button.isChecked():
            button.setChecked(True)

    def _on_mode_toggled(self, mode: TuneMode) -> None:
        if mode != self.project.tuning.mode:
            self.project.set_tuning(replace(self.project.tuning, mode=mode))
            warm_up_search(self.project)
