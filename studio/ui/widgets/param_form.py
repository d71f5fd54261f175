"""A hyperparameter form generated from ParamSpecs; no per-model form code."""

from __future__ import annotations

from PySide6.QtCore import QLocale, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.core.models.params import ParamKind, ParamSpec, ParamValue

SPIN_LIMIT = 2_000_000_000


class ParamForm(QWidget):
    value_changed = Signal(str, object)  # name, checked value
    invalid = Signal(str, str)  # name, message

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setVerticalSpacing(10)
        self._editors: dict[str, QWidget] = {}
        self._specs: dict[str, ParamSpec] = {}
        self._errors: dict[str, QLabel] = {}
        self._loading = False

    def set_specs(self, specs: tuple[ParamSpec, ...], values: dict[str, ParamValue]) -> None:
        self._loading = True
        while self._form.rowCount():
            self._form.removeRow(0)
        self._editors.clear()
        self._specs = {s.name: s for s in specs}
        self._errors.clear()
        for spec in specs:
            editor = self._make_editor(spec, values.get(spec.name, spec.default))
            editor.setToolTip(spec.help)
            editor.setObjectName(f"param_{spec.name}")
            editor.setMaximumWidth(320)
            self._editors[spec.name] = editor
            cell = QWidget()
            cell_layout = QVBoxLayout(cell)
            cell_layout.setContentsMargins(0, 0, 0, 0)
            cell_layout.setSpacing(2)
            cell_layout.addWidget(editor)
            help_label = QLabel(spec.help)
            help_label.setWordWrap(True)
            help_label.setStyleSheet("color: #666; font-size: 9pt;")
            cell_layout.addWidget(help_label)
            error = QLabel()
            error.setStyleSheet("color: #b3261e; font-size: 9pt;")
            error.hide()
            cell_layout.addWidget(error)
            self._errors[spec.name] = error
            title = QLabel(spec.label)
            title.setStyleSheet("font-weight: 600;")
            self._form.addRow(title, cell)
        self._loading = False

    def editor(self, name: str) -> QWidget:
        return self._editors[name]

    def names(self) -> list[str]:
        return list(self._editors)

    def _make_editor(self, spec: ParamSpec, value: ParamValue) -> QWidget:
        if spec.kind is ParamKind.BOOL:
            box = QCheckBox("Yes")
            box.setChecked(bool(value))
            box.toggled.connect(lambda checked, n=spec.name: self._emit(n, checked))
            return box
        if spec.kind is ParamKind.CHOICE:
            combo = QComboBox()
            for choice_value, label in spec.choices:
                combo.addItem(label, choice_value)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(lambda _i, n=spec.name, c=combo: self._emit(n, c.currentData()))
            return combo
        if spec.kind is ParamKind.INT:
            spin = QSpinBox()
            low = int(spec.low) if spec.low is not None else -SPIN_LIMIT
            high = int(spec.high) if spec.high is not None else SPIN_LIMIT
            if spec.none_label is not None:
                # The value just below the range stands for "no limit" and shows as that word.
                spin.setRange(low - 1, high)
                spin.setSpecialValueText(spec.none_label)
            else:
                spin.setRange(low, high)
            spin.setValue(low - 1 if value is None else int(value))
            spin.setAccelerated(True)
            spin.valueChanged.connect(lambda v, n=spec.name, s=spin: self._emit_int(n, v, s))
            return spin
        line = QLineEdit(_format_float(value))
        validator = QDoubleValidator()
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        validator.setLocale(QLocale.c())  # settings use a decimal point whatever the desktop's language
        line.setValidator(validator)
        line.editingFinished.connect(lambda n=spec.name, e=line: self._emit_text(n, e.text()))
        return line

    def _emit_int(self, name: str, value: int, spin: QSpinBox) -> None:
        spec = self._specs[name]
        is_none = spec.none_label is not None and value == spin.minimum()
        self._emit(name, None if is_none else value)

    def _emit_text(self, name: str, text: str) -> None:
        try:
            value = self._specs[name].parse(text)
        except StudioError as exc:
            self._show_error(name, str(exc))
            return
        self._emit(name, value)

    def _emit(self, name: str, value: ParamValue) -> None:
        if self._loading:
            return
        try:
            checked = self._specs[name].check(value)
        except StudioError as exc:
            self._show_error(name, str(exc))
            return
        self._errors[name].hide()
        self.value_changed.emit(name, checked)

    def _show_error(self, name: str, message: str) -> None:
        self._errors[name].setText(message)
        self._errors[name].show()
        self.invalid.emit(name, message)


def _format_float(value: ParamValue) -> str:
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return f"{number:g}"
