"""The selected column up close: what it holds, its chart, its relation to the target, and how to prepare it."""

from __future__ import annotations

from functools import partial
from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.data.profile import DATE_FORMATS, ColumnProfile
from studio.core.prep.config import (
    DATE_PARTS,
    Binning,
    ColumnPrep,
    Encoding,
    Infinite,
    Missing,
    Outliers,
    Scaling,
    Treatment,
    choice_label,
)
from studio.core.prep.insights import Relation
from studio.ui.widgets.common import section_label
from studio.ui.widgets.prep_chart import ColumnChart

PART_LABELS = {"year": "Year", "month": "Month", "weekday": "Day of week", "hour": "Hour", "days": "Days since"}
GUESS_FORMAT = "Guess for each value"
DROP_COLUMN = "drop_column"


def _choice_combo(options: tuple) -> QComboBox:
    combo = QComboBox()
    # Sized to a short label, not the longest one: the column's facts beside the form keep their room on a small
    # screen (the open list shows every label whole).
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(22)
    for option in options:
        combo.addItem(choice_label(option), option.value)
    return combo


class ColumnForm(QWidget):
    """Emits ``column_changed(name, changes)`` with the ColumnPrep fields a person changed."""

    column_changed = Signal(str, object)  # object: a dict signal would turn the enums into plain strings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = ""
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a column's name, shown as it is
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setStyleSheet("color: #444;")
        self.chart = ColumnChart()
        self.missing_combo = _choice_combo(tuple(Missing))
        self.missing_combo.addItem("Leave the column out", DROP_COLUMN)
        self.fill_edit = QLineEdit()
        self.fill_edit.setPlaceholderText("e.g. none or 0")
        self.indicator_check = QCheckBox("Add a 'was missing' column")
        self.outliers_combo = _choice_combo(tuple(Outliers))
        self.infinite_combo = _choice_combo(tuple(Infinite))
        self.scaling_combo = _choice_combo(tuple(Scaling))
        self.binning_combo = _choice_combo(tuple(Binning))
        self.bins_spin = QSpinBox()
        self.bins_spin.setRange(2, 50)
        self.encoding_combo = _choice_combo(tuple(Encoding))
        self.max_categories_spin = QSpinBox()
        self.max_categories_spin.setRange(2, 500)
        self.rare_spin = QDoubleSpinBox()
        self.rare_spin.setRange(0.0, 20.0)
        self.rare_spin.setSingleStep(0.5)
        self.rare_spin.setSuffix(" % of rows")
        self.rare_spin.setSpecialValueText("keep every category")
        self.format_combo = QComboBox()
        self.format_combo.setEditable(True)
        self.format_combo.addItems([GUESS_FORMAT, *DATE_FORMATS])
        self.part_checks = {part: QCheckBox(PART_LABELS[part]) for part in DATE_PARTS}
        parts_row = QHBoxLayout()
        parts_row.setContentsMargins(0, 0, 0, 0)
        for check in self.part_checks.values():
            parts_row.addWidget(check)
        parts_row.addStretch(1)
        self.parts_box = QWidget()
        self.parts_box.setLayout(parts_row)
        self.reference_edit = QLineEdit()
        self.reference_edit.setPlaceholderText("1970-01-01")
        self.vocabulary_spin = QSpinBox()
        self.vocabulary_spin.setRange(10, 5000)
        self.vocabulary_spin.setSingleStep(50)
        self.vocabulary_spin.setSuffix(" words")

        self.form = QFormLayout()
        self.form.setHorizontalSpacing(14)
        self.form.setVerticalSpacing(7)
        self._rows: dict[str, QWidget] = {}
        for key, label, widget in (
                ("missing", "Missing values", self.missing_combo), ("fill", "Fill value", self.fill_edit),
                ("indicator", "", self.indicator_check), ("outliers", "Outliers", self.outliers_combo),
                ("infinite", "Infinite numbers", self.infinite_combo),
                ("scaling", "Scaling", self.scaling_combo), ("binning", "Binning", self.binning_combo),
                ("bins", "Number of bins", self.bins_spin), ("encoding", "Encoding", self.encoding_combo),
                ("max_categories", "At most", self.max_categories_spin),
                ("rare", "Group values rarer than", self.rare_spin), ("format", "Date format", self.format_combo),
                ("parts", "Use the", self.parts_box), ("reference", "Count days from", self.reference_edit),
                ("vocabulary", "Vocabulary", self.vocabulary_spin)):
            self.form.addRow(label, widget)
            self._rows[key] = widget
        self.max_categories_spin.setSuffix(" categories")
        about = QVBoxLayout()
        about.addWidget(self.title)
        about.addWidget(self.facts)
        about.addWidget(self.chart, 1)
        about.addStretch(0)  # a column without a chart keeps its facts under its name, not spread down the page
        settings = QVBoxLayout()
        settings.addWidget(section_label("How to prepare it"))
        self.left_out_hint = QLabel("This column is left out. Choose how to use it in the list above.")
        self.left_out_hint.setWordWrap(True)
        self.left_out_hint.setStyleSheet("color: #555;")
        settings.addWidget(self.left_out_hint)
        settings.addLayout(self.form)
        settings.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 0)
        layout.setSpacing(24)
        layout.addLayout(about, 5)
        layout.addLayout(settings, 4)
        self._connect()
        self.show_column(None, None, None, None)

    def _connect(self) -> None:
        def emit(field: str, value: Any) -> None:
            if self.name:
                self.column_changed.emit(self.name, {field: value})

        for field, combo, choices in (
                ("missing", self.missing_combo, Missing), ("outliers", self.outliers_combo, Outliers),
                ("scaling", self.scaling_combo, Scaling), ("binning", self.binning_combo, Binning),
                ("encoding", self.encoding_combo, Encoding), ("infinite", self.infinite_combo, Infinite)):
            combo.currentIndexChanged.connect(partial(self._on_choice_changed, field, combo, choices))
        self.fill_edit.editingFinished.connect(lambda: emit("fill_value", self.fill_edit.text().strip()))
        self.indicator_check.toggled.connect(lambda on: emit("missing_indicator", on))
        self.bins_spin.valueChanged.connect(lambda v: emit("bins", v))
        self.max_categories_spin.valueChanged.connect(lambda v: emit("max_categories", v))
        self.rare_spin.valueChanged.connect(lambda v: emit("rare_share", round(v / 100, 4)))
        # Typed formats count once typing is done, so the page does not refill the box under the cursor.
        def emit_format() -> None:
            text = self.format_combo.currentText().strip()
            emit("date_format", "" if text == GUESS_FORMAT else text)

        self.format_combo.activated.connect(lambda _index: emit_format())
        self.format_combo.lineEdit().editingFinished.connect(emit_format)
        for check in self.part_checks.values():
            check.toggled.connect(lambda _on: emit("date_parts", self._chosen_parts()))
        self.vocabulary_spin.valueChanged.connect(lambda v: emit("text_vocabulary", v))
        self.reference_edit.editingFinished.connect(lambda: emit("date_reference", self.reference_edit.text().strip()))

    def _on_choice_changed(self, field: str, combo: QComboBox, choices: type, index: int) -> None:
        if not self.name or index < 0:
            return
        if combo.itemData(index) == DROP_COLUMN:
            self.column_changed.emit(self.name, {"treatment": Treatment.EXCLUDE,
                                                 "reason": "you chose to drop it rather than fill its gaps"})
        else:
            self.column_changed.emit(self.name, {field: choices(combo.itemData(index))})

    def _chosen_parts(self) -> tuple[str, ...]:
        return tuple(p for p, check in self.part_checks.items() if check.isChecked()) or ("days",)

    def show_column(self, column: ColumnPrep | None, profile: ColumnProfile | None, related: Relation | None,
                    outliers: tuple[int, int] | None, target: str | None = None) -> None:
        self.name = ""  # no change signals while the widgets are filled in
        self.chart.show_profile(profile)
        if column is None:
            self.title.setText("Pick a column in the list to see it up close.")
            self.facts.setText("")
            self.left_out_hint.hide()
            for key in self._rows:
                self._set_row_visible(key, False)
            return
        self.title.setText(column.name)
        self.facts.setText(_facts(column, profile, related, outliers, target))
        self._fill(column)
        treatment = column.treatment
        used = column.used and treatment is not Treatment.TEXT
        numeric = treatment is Treatment.NUMERIC
        visible = {
            "missing": used, "fill": used and column.missing is Missing.CONSTANT, "indicator": used,
            "outliers": numeric,
            # Only where there are infinite numbers, or a choice about them was made.
            "infinite": numeric and (bool(profile and profile.infinite) or column.infinite is not Infinite.AUTO),
            "scaling": (numeric and column.binning is Binning.NONE) or treatment is Treatment.DATE,
            "binning": numeric, "bins": numeric and column.binning is not Binning.NONE,
            "encoding": treatment is Treatment.CATEGORICAL,
            "max_categories": treatment is Treatment.CATEGORICAL and column.encoding is Encoding.ONE_HOT,
            "rare": treatment is Treatment.CATEGORICAL and column.encoding is Encoding.ONE_HOT,
            "format": treatment is Treatment.DATE, "parts": treatment is Treatment.DATE,
            "reference": treatment is Treatment.DATE and "days" in column.date_parts,
            "vocabulary": treatment is Treatment.TEXT,
        }
        for key, shown in visible.items():
            self._set_row_visible(key, shown)
        self.left_out_hint.setVisible(not column.used)
        self.name = column.name

    def _fill(self, column: ColumnPrep) -> None:
        for combo, value in ((self.missing_combo, column.missing), (self.outliers_combo, column.outliers),
                             (self.scaling_combo, column.scaling), (self.binning_combo, column.binning),
                             (self.encoding_combo, column.encoding), (self.infinite_combo, column.infinite)):
            combo.setCurrentIndex(combo.findData(value.value))
        self.fill_edit.setText(column.fill_value)
        self.indicator_check.setChecked(column.missing_indicator)
        self.bins_spin.setValue(column.bins)
        self.max_categories_spin.setValue(column.max_categories)
        self.rare_spin.setValue(column.rare_share * 100)
        self.format_combo.setCurrentText(column.date_format or GUESS_FORMAT)
        for part, check in self.part_checks.items():
            check.setChecked(part in column.date_parts)
        self.vocabulary_spin.setValue(column.text_vocabulary)
        self.reference_edit.setText(column.date_reference)

    def _set_row_visible(self, key: str, visible: bool) -> None:
        self.form.setRowVisible(self._rows[key], visible)


def _facts(column: ColumnPrep, profile: ColumnProfile | None, related: Relation | None,
           outliers: tuple[int, int] | None, target: str | None) -> str:
    lines = []
    if column.formula:
        lines.append(f"Computed as <b>{escape(column.formula, quote=False)}</b>.")
    if profile is not None:
        missing = f"{profile.missing:,} missing ({profile.missing_share:.1%})" if profile.missing else "nothing missing"
        lines.append(f"{profile.kind.label} · {missing} · {profile.distinct:,} different values")
        if profile.note:
            lines.append(escape(profile.note[0].upper() + profile.note[1:] + ".", quote=False))
        if profile.infinite:
            shown = ", ".join(profile.infinite_examples)
            lines.append(escape(f"{profile.infinite:,} infinite numbers ({shown}), too large to compute with.",
                                quote=False))
    if related is not None and target:
        linked = related.linked_to(f"<b>{escape(target, quote=False)}</b>")
        lines.append(linked[:1].upper() + linked[1:] + f" ({escape(related.summary, quote=False)}).")
    if outliers is not None and any(outliers):
        lines.append(f"Extreme values: {outliers[0]:,} rows far outside the usual range (the IQR fences), "
                     f"{outliers[1]:,} over 3 spreads from the average.")
    lines.append(f"<i>{escape(column.describe(), quote=False)}</i>")
    return "<br>".join(lines)
