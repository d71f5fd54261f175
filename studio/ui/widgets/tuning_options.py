"""The search's options on the Model step: time, what "best" means, method, and the ranges to search. Everything
is read from and written to ``Project.tuning``."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.models.params import ParamKind
from studio.core.models.registry import describe_params, get_model
from studio.core.project import Project
from studio.core.search.modes import SearchMethod, TuneMode
from studio.core.search.policy import auto_families, default_metric, metric_choices, metric_label
from studio.core.search.spaces import ParamRange, build_space

BUDGETS = (("1 minute", 60), ("5 minutes", 300), ("15 minutes", 900), ("Custom…", 0))
RANGE_HEADERS = ("Search", "Setting", "Now", "From", "To")


class SearchOptions(QWidget):
    """Budget, metric, method and ranges; the method and ranges only for tuning one chosen model."""

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.budget_combo = QComboBox()
        self.budget_combo.setObjectName("budgetCombo")
        for text, seconds in BUDGETS:
            self.budget_combo.addItem(text, seconds)
        self.custom_seconds = QSpinBox()
        self.custom_seconds.setObjectName("customBudget")
        self.custom_seconds.setRange(5, 24 * 3600)
        self.custom_seconds.setSuffix(" seconds")
        self.custom_seconds.setSingleStep(10)
        budget_row = QHBoxLayout()
        budget_row.addWidget(self.budget_combo)
        budget_row.addWidget(self.custom_seconds)
        budget_row.addStretch(1)
        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("metricCombo")
        self.metric_combo.setMinimumWidth(260)
        self.method_combo = QComboBox()
        self.method_combo.setObjectName("methodCombo")
        self.method_combo.setMinimumWidth(260)
        for method in SearchMethod:
            self.method_combo.addItem(method.label, method.value)
        form = QFormLayout()
        form.setVerticalSpacing(8)
        form.addRow(_bold("Time to spend"), budget_row)
        form.addRow(_bold("Best means"), _left(self.metric_combo))
        self.method_title = _bold("Search method")
        form.addRow(self.method_title, _left(self.method_combo))
        self.ranges_title = _bold("Settings to search (untick to keep the value shown under “Now”)")
        self.ranges = QTableWidget(0, len(RANGE_HEADERS))
        self.ranges.setObjectName("rangesTable")
        self.ranges.setHorizontalHeaderLabels(RANGE_HEADERS)
        self.ranges.verticalHeader().hide()
        self.ranges.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.ranges.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.ranges.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.none_note = QLabel("* also tries “No limit”.")
        self.none_note.setStyleSheet("color: #555;")
        self.error = QLabel()
        self.error.setObjectName("rangeError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        self.error.hide()
        self.families = QLabel()
        self.families.setObjectName("autoFamilies")
        self.families.setWordWrap(True)
        self.families.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.families)
        layout.addWidget(self.ranges_title)
        layout.addWidget(self.ranges, 1)
        layout.addWidget(self.none_note)
        layout.addWidget(self.error)
        layout.addStretch(0)
        self._layout = layout
        self._generated: dict[str, ParamRange] = {}
        self._shown: tuple[str, str, Task | None] | None = None
        self.budget_combo.currentIndexChanged.connect(self._on_budget_changed)
        self.custom_seconds.editingFinished.connect(self._on_budget_changed)
        self.metric_combo.currentIndexChanged.connect(self._on_metric_changed)
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)

    # -- showing ----------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        tuning, task = self.project.tuning, self.project.task or Task.CLASSIFICATION
        tune_one = tuning.mode is TuneMode.TUNE
        spec = get_model(self.project.model.key)
        if tune_one:
            self.intro.setText(f"Studio tries settings for the <b>{spec.label.lower()}</b> within the ranges below. "
                               "Each try is judged on the training rows (cross-validation, or on a larger table a "
                               "share of them held out); the test rows stay aside to score the winner once at the "
                               "end.")
        else:
            self.intro.setText("Studio tries several kinds of model, each first small and quick to train, and "
                               "grows and spends the time on the most promising ones. Each try is judged on the "
                               "training rows (cross-validation, or on a larger table a share of them held out); "
                               "the test rows stay aside to score the winner once at the end.")
        for widget in (self.method_title, self.method_combo, self.ranges_title, self.ranges):
            widget.setVisible(tune_one)
        self.families.setVisible(not tune_one)
        if not tune_one:
            self.families.setText(self._families_text(task))
        # Without the ranges table the options sit at the top instead of spreading down the page.
        self._layout.setStretch(self._layout.count() - 1, 0 if tune_one else 1)
        self.error.setVisible(tune_one and bool(self.error.text()))
        self._show_budget(tuning.budget_s)
        self._fill_metrics(task, tuning.metric)
        _select(self.method_combo, tuning.method)
        shown = (spec.key, str(self.project.model.params), self.project.task)
        if tune_one and shown != self._shown:
            self._fill_ranges(task)
            self._shown = shown
        self.none_note.setVisible(tune_one and any(r.allow_none for r in self._generated.values()))

    def _families_text(self, task: Task) -> str:
        frame = self.project.training_frame()
        rows = len(frame) if frame is not None else 0
        columns = len(self.project.prep.features(self.project.target))
        keys = auto_families(task, rows, columns, kind=self.project.data_kind, budget_s=self.project.tuning.budget_s)
        labels = [get_model(k).label.lower() for k in keys]
        listed = ", ".join(labels[:-1]) + " and " + labels[-1] if len(labels) > 1 else "".join(labels)
        return (f"Kinds of model it will try, most promising first: {listed}. More time lets it try more "
                "settings of the best ones; you can stop the search at any time and keep the best so far.")

    def _show_budget(self, seconds: float) -> None:
        index = self.budget_combo.findData(int(seconds))
        self.budget_combo.blockSignals(True)
        self.budget_combo.setCurrentIndex(index if index >= 0 else self.budget_combo.count() - 1)
        self.budget_combo.blockSignals(False)
        self.custom_seconds.setValue(int(seconds))
        self.custom_seconds.setVisible(index < 0)

    def _fill_metrics(self, task: Task, chosen: str | None) -> None:
        summary = self.project.target_summary
        counts = summary.class_counts if summary else ()
        recommended = default_metric(task, counts)
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        for metric in metric_choices(task):
            if metric == "roc_auc" and len(counts) != 2:
                continue  # ranking two classes only
            suffix = " (recommended)" if metric == recommended else ""
            self.metric_combo.addItem(metric_label(metric) + suffix, metric)
        _select(self.metric_combo, chosen or recommended)
        self.metric_combo.blockSignals(False)

    def _fill_ranges(self, task: Task) -> None:
        spec = get_model(self.project.model.key)
        if task not in spec.tasks:
            self.ranges.setRowCount(0)
            return
        current = spec.resolve(task, self.project.model.params_dict())
        space = build_space(spec, task, current)
        tuning = self.project.tuning
        chosen = {r.name: r for r in tuning.ranges} if tuning.ranges_model == spec.key else None
        self._generated = {r.name: r for r in space.ranges}
        self.ranges.clearSpans()
        self.ranges.setRowCount(len(space.ranges))
        for row, generated in enumerate(space.ranges):
            shown = chosen.get(generated.name, generated) if chosen is not None else generated
            param = spec.param(generated.name)
            box = QCheckBox()
            box.setObjectName(f"search_{generated.name}")
            box.setChecked(chosen is None or generated.name in chosen)
            box.toggled.connect(self._on_ranges_edited)
            self.ranges.setCellWidget(row, 0, _centered(box))
            name_item = QTableWidgetItem(param.label + (" *" if generated.allow_none else ""))
            name_item.setToolTip(param.help)
            name_item.setData(Qt.ItemDataRole.UserRole, generated.name)
            self.ranges.setItem(row, 1, name_item)
            self.ranges.setItem(row, 2, QTableWidgetItem(describe_params({param.name: current[param.name]},
                                                                         spec.key).removeprefix(param.label + ": ")))
            if generated.is_numeric:
                for column, value in ((3, shown.low), (4, shown.high)):
                    edit = QLineEdit(f"{value:g}")
                    edit.setObjectName(f"{'low' if column == 3 else 'high'}_{generated.name}")
                    edit.editingFinished.connect(self._on_ranges_edited)
                    self.ranges.setCellWidget(row, column, edit)
            else:
                options = "yes and no" if param.kind is ParamKind.BOOL else f"all {len(generated.choices)} options"
                self.ranges.setItem(row, 3, QTableWidgetItem(options))
                self.ranges.setSpan(row, 3, 1, 2)
        header = self.ranges.horizontalHeader()
        for column in (0, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (3, 4):  # a number fits; a line edit's own size hint would make these very wide
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, 110)

    # -- editing ----------------------------------------------------------------------------------------------------
    def _on_budget_changed(self) -> None:
        seconds = self.budget_combo.currentData() or self.custom_seconds.value()
        self.custom_seconds.setVisible(self.budget_combo.currentData() == 0)
        if float(seconds) != self.project.tuning.budget_s:
            self.project.set_tuning(replace(self.project.tuning, budget_s=float(seconds)))

    def _on_metric_changed(self) -> None:
        self.project.set_tuning(replace(self.project.tuning, metric=self.metric_combo.currentData()))

    def _on_method_changed(self) -> None:
        self.project.set_tuning(replace(self.project.tuning, method=self.method_combo.currentData()))

    def _on_ranges_edited(self) -> None:
        spec = get_model(self.project.model.key)
        ranges: list[ParamRange] = []
        try:
            for row in range(self.ranges.rowCount()):
                name = self.ranges.item(row, 1).data(Qt.ItemDataRole.UserRole)
                box = self.ranges.cellWidget(row, 0).findChild(QCheckBox)
                if not box.isChecked():
                    continue
                generated = self._generated[name]
                if generated.is_numeric:
                    low = self._number(row, 3, spec.param(name).label)
                    high = self._number(row, 4, spec.param(name).label)
                    ranges.append(generated.narrowed(spec.param(name), low, high))
                else:
                    ranges.append(generated)
        except StudioError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        if not ranges:
            self.error.setText("Tick at least one setting to search.")
            self.error.show()
            return
        self.error.setText("")
        self.error.hide()
        self.project.set_tuning(replace(self.project.tuning, ranges=tuple(ranges), ranges_model=spec.key))

    def _number(self, row: int, column: int, label: str) -> float:
        edit = self.ranges.cellWidget(row, column)
        assert isinstance(edit, QLineEdit)
        try:
            return float(edit.text().replace(",", ""))
        except ValueError:
            raise StudioError(f"{label}: '{edit.text()}' is not a number.") from None


def _bold(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: 600;")
    return label


def _left(widget: QWidget) -> QWidget:
    cell = QWidget()
    layout = QHBoxLayout(cell)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    layout.addStretch(1)
    return cell


def _centered(widget: QWidget) -> QWidget:
    cell = QWidget()
    layout = QHBoxLayout(cell)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout.addWidget(widget)
    return cell


def _select(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    if index >= 0 and index != combo.currentIndex():
        combo.blockSignals(True)
        combo.setCurrentIndex(index)
        combo.blockSignals(False)
