"""The Model step's first choice: let Studio choose, pick a model by hand, tune one model, or search them all."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QRadioButton, QWidget

from studio.core.models.choice_spec import CHOICE_KEY
from studio.core.models.registry import get_model
from studio.core.project import ModelConfig, Project
from studio.core.search.modes import TuneMode
from studio.ui.widgets.search_run import warm_up_search

CHOOSE = "choose"
# Buttons by key: "choose" is the quick choice among a few families (no search); the others name TuneModes.
MODES = ((CHOOSE, "Let Studio choose", "Studio tries a few strong models on your rows and keeps the best: "
          "seconds, not minutes."),
         (TuneMode.MANUAL.value, "Pick a model myself", "Choose a kind of model and its settings."),
         (TuneMode.TUNE.value, "Tune a model's settings", "Choose a kind of model; Studio searches its settings "
          "(takes as long as you allow)."),
         (TuneMode.AUTO.value, "Search every model", "Studio searches every kind of model and their settings "
          "(takes as long as you allow)."))
# The model "Pick a model myself" starts from when the quick choice was selected: a strong, well-known family.
FIRST_PICK = "random_forest"


class ModeChoice(QWidget):
    """Four radio buttons in a row; "Let Studio choose" is the default for tables."""

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        # The model a person picked (with their settings) before letting Studio choose, to come back to.
        self.last_pick: ModelConfig | None = None
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        for key, text, tip in MODES:
            button = QRadioButton(text)
            button.setObjectName(f"mode_{key}")
            button.setToolTip(tip)
            self.group.addButton(button)
            self.buttons[key] = button
            layout.addWidget(button)
            button.toggled.connect(lambda checked, k=key: checked and self._on_mode_toggled(k))
        layout.addStretch(1)
        self.refresh()

    def current(self) -> str:
        mode = self.project.tuning.mode
        if mode is TuneMode.MANUAL and get_model(self.project.model.key).choices:
            return CHOOSE
        return mode.value

    def refresh(self) -> None:
        self.buttons[CHOOSE].setVisible(get_model(CHOICE_KEY).takes(self.project.data_kind))
        button = self.buttons[self.current()]
        if not button.isChecked():
            button.setChecked(True)

    def _on_mode_toggled(self, key: str) -> None:
        if key == self.current():
            return
        project = self.project
        mode = TuneMode.MANUAL if key == CHOOSE else TuneMode(key)
        with project.batch():
            if mode != project.tuning.mode:
                project.set_tuning(replace(project.tuning, mode=mode))
            chooses = bool(get_model(project.model.key).choices)
            if key == CHOOSE and not chooses:
                self.last_pick = project.model if get_model(project.model.key).pickable else None
                project.set_model(ModelConfig(CHOICE_KEY))
            elif key in (TuneMode.MANUAL.value, TuneMode.TUNE.value) and chooses:
                # Settings belong to one kind of model: picking or tuning starts from the one picked before, or a
                # strong well-known family.
                project.set_model(self.last_pick or ModelConfig(FIRST_PICK))
        if mode.searches:
            warm_up_search(project)
