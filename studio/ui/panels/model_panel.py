"""Model step: pick a model family, read what it does, adjust its settings in plain words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.core.data.target import Task
from studio.core.evaluate.details import balance_hint
from studio.core.models.imbalance import rare_class, with_default_weights
from studio.core.models.params import ParamValue
from studio.core.models.registry import get_model, models_for
from studio.core.models.spec import ModelSpec
from studio.core.project import ModelConfig, Project, Step
from studio.core.search.modes import TuneMode
from studio.ui.panels.base import Panel
from studio.ui.widgets.add_networks import AddNetworksWidget
from studio.ui.widgets.common import MessageBanner, page_header, section_label
from studio.ui.widgets.ensemble_members import EnsembleMembersWidget
from studio.ui.widgets.mode_choice import ModeChoice
from studio.ui.widgets.param_form import ParamForm
from studio.ui.widgets.tuning_options import SearchOptions


class ModelPanel(Panel):
    step = Step.MODEL

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.model_list = QListWidget()
        self.model_list.setObjectName("modelList")
        self.model_list.setMaximumWidth(240)
        self.model_list.currentItemChanged.connect(self._on_model_list_changed)
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 13pt; font-weight: 600;")
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.form = ParamForm()
        self.form.value_changed.connect(self._on_form_value_changed)
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.clicked.connect(self._on_reset_clicked)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.form)
        self.form_scroll = scroll
        self.settings_label = section_label("Settings")
        # A model only the search makes (the ensemble) shows its members instead of a form.
        self.members_label = section_label("Members")
        self.members = EnsembleMembersWidget()
        self._made_model: ModelConfig | None = None
        self.mode_choice = ModeChoice(project)
        self.search_options = SearchOptions(project)
        details = QVBoxLayout()
        details.addWidget(self.title)
        details.addWidget(self.description)
        # PyTorch missing: the offer to add it (shown while the chosen model needs it).
        self.add_networks = AddNetworksWidget()
        self.add_networks.installed.connect(self._on_add_networks_installed)
        self.add_networks.hide()
        details.addWidget(self.add_networks)
        self.balance_hint = MessageBanner()
        details.addWidget(self.balance_hint)
        details.addWidget(self.settings_label)
        details.addWidget(scroll, 1)
        details.addWidget(self.members_label)
        details.addWidget(self.members, 1)
        details.addWidget(self.search_options, 1)
        # Takes the free height while nothing stretchy is shown ("Let Studio choose"), so the words stay together.
        self.filler = QWidget()
        details.addWidget(self.filler, 1)
        reset_row = QHBoxLayout()
        reset_row.addStretch(1)
        reset_row.addWidget(self.reset_button)
        details.addLayout(reset_row)
        body = QHBoxLayout()
        body.addWidget(self.model_list)
        body.addSpacing(12)
        body.addLayout(details, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(page_header("Model", "Let Studio choose a model (a good start), or pick one yourself: "
                                     "each kind has settings with sensible defaults, explained under each one. "
                                     "Then press Next to train."))
        layout.addWidget(self.mode_choice)
        layout.addLayout(body, 1)
        self._task: Task | None = None
        self._shown: tuple[str, Task | None] | None = None
        self._stale = False

    def select_model(self, key: str) -> None:
        self._refresh_if_stale()
        for row in range(self.model_list.count()):
            if self.model_list.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.model_list.setCurrentRow(row)
                return
        raise KeyError(key)

    def _on_project_changed(self, what: str) -> None:
        if what in ("target", "model", "tuning") and not self.isVisible():
            # Building the settings form takes tens of milliseconds; a hidden page does it when next shown
            # rather than on every change made elsewhere (opening data changes the target and model at once).
            self._stale = True
            return
        if what == "target" and self.project.task != self._task:
            self._fill_models()
        elif what == "model":
            shown = (self.project.model.key, self.project.task)
            # Only rebuild the form for another model or a reset: a rebuild from inside an editor's own
            # signal would destroy that editor mid-call.
            made = not get_model(self.project.model.key).pickable  # its members have no editors to destroy
            if shown != self._shown or not self.project.model.params or made:
                self._show_model()
            self._show_mode()
        elif what in ("tuning", "target"):
            self._show_mode()

    def entered(self) -> None:
        self._stale = self._stale or self.project.task != self._task or self.model_list.count() == 0
        self._refresh_if_stale()
        self._show_mode()

    def _refresh_if_stale(self) -> None:
        if self._stale:
            self._stale = False
            self._fill_models()

    def _show_mode(self) -> None:
        """Let Studio choose: what it will try. By hand: the settings form. Tune: the search's options and ranges.
        Search every model: no model list."""
        mode = self.project.tuning.mode
        self.mode_choice.refresh()
        spec = get_model(self.project.model.key)
        made, chooses = not spec.pickable, bool(spec.choices)
        for widget in (self.settings_label, self.form_scroll, self.reset_button):
            widget.setVisible(mode is TuneMode.MANUAL and not made and not chooses)
        for widget in (self.members_label, self.members):
            widget.setVisible(mode is not TuneMode.AUTO and made)
        self.model_list.setVisible(mode is not TuneMode.AUTO and not chooses)
        self.filler.setVisible(chooses and mode is TuneMode.MANUAL)
        for widget in (self.title, self.description):
            widget.setVisible(mode is not TuneMode.AUTO)
        self.add_networks.setVisible(mode is not TuneMode.AUTO and spec.missing_requirement() is not None)
        # Nothing of an ensemble can be tuned; the bar under the page says so.
        self.search_options.setVisible(mode is TuneMode.AUTO or (mode is TuneMode.TUNE and not made))
        if mode is not TuneMode.MANUAL:
            self.search_options.refresh()

    def _fill_models(self) -> None:
        self._task = self.project.task
        task = self._task or Task.CLASSIFICATION
        self.model_list.blockSignals(True)
        self.model_list.clear()
        for spec in models_for(task, self.project.data_kind):
            if spec.choices:  # "Let Studio choose" is the first button above the list, not a list entry
                continue
            item = QListWidgetItem(spec.label)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            item.setToolTip(spec.description)
            self.model_list.addItem(item)
        self.model_list.blockSignals(False)
        self._made_model = None
        self._show_model()

    def _show_model(self) -> None:
        spec = get_model(self.project.model.key)
        task = self.project.task or Task.CLASSIFICATION
        self.model_list.blockSignals(True)
        if not spec.pickable:
            self._list_made_model(spec)
        for row in range(self.model_list.count()):
            if self.model_list.item(row).data(Qt.ItemDataRole.UserRole) == spec.key:
                self.model_list.setCurrentRow(row)
        self.model_list.blockSignals(False)
        self.title.setText(spec.label)
        self.description.setText(spec.description)
        if not spec.pickable:
            self.members.show_members(self.project.model.params_dict())
            self.form.set_specs((), {})
            self._shown = (spec.key, self.project.task)
            self.balance_hint.clear()
            return
        values = spec.resolve(task, self._with_default_weights(spec)) if task in spec.tasks else {}
        self.form.set_specs(spec.params_for(task), values)
        self._shown = (spec.key, self.project.task)
        self._show_balance_hint(spec, task, values)

    def _list_made_model(self, spec: ModelSpec) -> None:
        """The ensemble is listed first while it is the Project's model (until the list is next filled), so the
        person sees what is chosen and can come back to it after looking at another model."""
        self._made_model = self.project.model
        for row in range(self.model_list.count()):
            if self.model_list.item(row).data(Qt.ItemDataRole.UserRole) == spec.key:
                return
        item = QListWidgetItem(spec.label)
        item.setData(Qt.ItemDataRole.UserRole, spec.key)
        item.setToolTip(spec.description)
        font = item.font()
        font.setItalic(True)
        item.setFont(font)
        self.model_list.insertItem(0, item)

    def _with_default_weights(self, spec: ModelSpec) -> dict[str, ParamValue]:
        """The model's settings with the classes weighed as training will weigh them (models.imbalance)."""
        params = self.project.model.params_dict()
        summary = self.project.target_summary
        if self.project.task is not Task.CLASSIFICATION or summary is None:
            return params
        return with_default_weights(spec, params, dict(summary.class_counts))

    def _show_balance_hint(self, spec: ModelSpec, task: Task, values: dict[str, ParamValue]) -> None:
        """Imbalanced classes: what Studio does about a rare class, or class weighting where the model has it."""
        summary = self.project.target_summary
        hint = ""
        rare = rare_class(dict(summary.class_counts)) if task is Task.CLASSIFICATION and summary else None
        if rare is not None and summary is not None and len(summary.class_counts) == 2:
            self.balance_hint.show_message(
                f"Only {rare.share:.1%} of the rows are '{rare.label}'. Studio will choose how sure the model must "
                f"be before it says '{rare.label}', for the best balance between finding those rows and false "
                "alarms (macro F1); you can move that threshold on the Results page.", "info")
            return
        if rare is not None and spec.choices:
            self.balance_hint.show_message(
                f"Only {rare.share:.1%} of the rows are '{rare.label}'. The model Studio chooses weighs the classes, "
                "so rare ones count as much as common ones while it learns.", "info")
            return
        if task is Task.CLASSIFICATION and summary is not None:
            can = any(p.name == "balanced" for p in spec.params_for(task))
            hint = balance_hint(summary.class_counts, spec.label, can, bool(values.get("balanced")))
        if hint:
            self.balance_hint.show_message(hint, "info" if values.get("balanced") else "warning")
        else:
            self.balance_hint.clear()

    def _on_model_list_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None:
            key = current.data(Qt.ItemDataRole.UserRole)
            if key != self.project.model.key:
                made = self._made_model if self._made_model is not None and self._made_model.key == key else None
                self.project.set_model(made or ModelConfig(key))

    def _on_form_value_changed(self, name: str, value: object) -> None:
        self.project.set_model(self.project.model.with_param(name, value))
        if name == "balanced" and self.project.task is not None:
            spec = get_model(self.project.model.key)
            self._show_balance_hint(spec, self.project.task,
                                    spec.resolve(self.project.task, self._with_default_weights(spec)))

    def _on_reset_clicked(self) -> None:
        self.project.set_model(ModelConfig(self.project.model.key))

    def _on_add_networks_installed(self) -> None:
        self.project.set_model(self.project.model)  # the Model step's problems are asked again

    def shutdown(self) -> None:
        self.form.shutdown()
        self.add_networks.shutdown()
