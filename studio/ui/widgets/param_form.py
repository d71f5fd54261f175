"""A hyperparameter form generated from ParamSpecs; no per-model form code.

Settings with a ``group`` are shown under its heading; a setting with a ``live_note`` gets that note under it once
the (slow) lookup has answered in the background. Settings marked ``advanced`` (specialists' words such as ReLU,
Adam or batch size) are folded under "Advanced settings", closed until opened, their help saying what the default
does.
"""

from __future__ import annotations

from collections.abc import Generator

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtGui import QDoubleValidator, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.errors import StudioError
from studio.core.common.progress import Progress
from studio.core.models.params import ParamKind, ParamSpec, ParamValue
from studio.workers.runner import JobRunner

SPIN_LIMIT = 2_000_000_000
ADVANCED_NOTE = ("Settings in specialists' words. Their defaults suit most data; each one's note says what the "
                 "default does.")
_HEADING_STYLE = ("font-size: 11pt; font-weight: 600; color: #1f4e79; margin-top: 8px; "
                  "border-bottom: 1px solid #d5dde6; padding-bottom: 2px;")


class ParamForm(QWidget):
    value_changed = Signal(str, object)  # name, checked value
    invalid = Signal(str, str)  # name, message

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._form = _form_layout()
        self.advanced_button = QToolButton()
        self.advanced_button.setObjectName("advancedToggle")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setStyleSheet("font-weight: 600; color: #1f4e79;")
        self.advanced_button.toggled.connect(self._on_advanced_button_toggled)
        self.advanced_box = QWidget()
        advanced_layout = QVBoxLayout(self.advanced_box)
        advanced_layout.setContentsMargins(16, 0, 0, 0)
        advanced_note = QLabel(ADVANCED_NOTE)
        advanced_note.setWordWrap(True)
        advanced_note.setStyleSheet("color: #666; font-size: 9pt;")
        advanced_layout.addWidget(advanced_note)
        self._advanced_form = _form_layout()
        advanced_layout.addLayout(self._advanced_form)
        self.advanced_box.hide()
        self.advanced_button.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._form)
        layout.addSpacing(8)
        layout.addWidget(self.advanced_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.advanced_box)
        layout.addStretch(1)  # room to spare goes below the fold, not between the settings and its button
        self._editors: dict[str, QWidget] = {}
        self._specs: dict[str, ParamSpec] = {}
        self._errors: dict[str, QLabel] = {}
        self._notes: dict[str, QLabel] = {}
        self._known_notes: dict[str, str] = {}  # lookups already answered, shown at once on the next rebuild
        self._note_runner = JobRunner(self)
        self._note_runner.succeeded.connect(self._on_note_runner_succeeded)
        self._note_runner.failed.connect(self._on_note_runner_failed)
        self._asking = ""
        self._note_runner.finished.connect(self._start_pending_notes)
        self._loading = False

    def set_specs(self, specs: tuple[ParamSpec, ...], values: dict[str, ParamValue]) -> None:
        self._loading = True
        for form in (self._form, self._advanced_form):
            while form.rowCount():
                form.removeRow(0)
        self._editors.clear()
        self._specs = {s.name: s for s in specs}
        self._errors.clear()
        self._notes.clear()
        advanced = [s for s in specs if s.advanced]
        self._add_rows(self._form, [s for s in specs if not s.advanced], values, "group_")
        self._add_rows(self._advanced_form, advanced, values, "advanced_group_")
        self.advanced_button.setVisible(bool(advanced))
        self.advanced_button.setText(f"Advanced settings ({len(advanced)})")
        self.advanced_box.setVisible(bool(advanced) and self.advanced_button.isChecked())
        self._loading = False
        self._start_pending_notes()

    def _add_rows(self, form: QFormLayout, specs: list[ParamSpec], values: dict[str, ParamValue],
                  heading_prefix: str) -> None:
        group = ""
        for spec in specs:
            if spec.group and spec.group != group:
                group = spec.group
                heading = QLabel(group)
                heading.setObjectName(f"{heading_prefix}{group}")
                heading.setStyleSheet(_HEADING_STYLE)
                form.addRow(heading)
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
            if spec.live_note is not None:
                note = QLabel(self._known_notes.get(spec.name, "Looking…"))
                note.setObjectName(f"note_{spec.name}")
                note.setWordWrap(True)
                note.setStyleSheet("color: #1d5b28; font-size: 9pt;")
                cell_layout.addWidget(note)
                self._notes[spec.name] = note
            error = QLabel()
            error.setStyleSheet("color: #b3261e; font-size: 9pt;")
            error.hide()
            cell_layout.addWidget(error)
            self._errors[spec.name] = error
            title = QLabel(spec.label)
            title.setStyleSheet("font-weight: 600;")
            form.addRow(title, cell)

    def show_advanced(self, shown: bool) -> None:
        """Open or close the fold of advanced settings (it stays as it is when another model is chosen)."""
        self.advanced_button.setChecked(shown)

    def advanced_names(self) -> list[str]:
        return [name for name, spec in self._specs.items() if spec.advanced]

    def _on_advanced_button_toggled(self, checked: bool) -> None:
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)
        self.advanced_box.setVisible(checked and bool(self.advanced_names()))

    def editor(self, name: str) -> QWidget:
        return self._editors[name]

    def note(self, name: str) -> str:
        return self._notes[name].text()

    def groups(self) -> list[str]:
        return [label.text() for label in self.findChildren(QLabel) if label.objectName().startswith("group_")]

    def shutdown(self) -> None:
        self._note_runner.stop()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._start_pending_notes()

    def _start_pending_notes(self) -> None:
        # Looked up only once the form is on screen: finding the graphics card imports PyTorch, whose libraries
        # load for about a second without letting the window draw, so it must not happen behind another page.
        if not self.isVisible():
            return
        pending = [s for s in self._specs.values() if s.live_note is not None and s.name not in self._known_notes]
        if not pending or self._note_runner.is_running():
            return
        spec = pending[0]
        lookup = spec.live_note
        self._asking = spec.name

        def job(_stop: object) -> Generator[Progress, None, tuple[str, str]]:
            yield Progress("Looking", None, spec.label)
            assert lookup is not None
            return spec.name, lookup()

        self._note_runner.start(job)

    def _on_note_runner_succeeded(self, answer: tuple[str, str]) -> None:
        self._show_note(*answer)

    def _on_note_runner_failed(self, message: str, _details: str) -> None:
        self._show_note(self._asking, f"Could not find out: {message}")

    def _show_note(self, name: str, text: str) -> None:
        self._known_notes[name] = text  # also ends the lookups for it, answered or not
        if name in self._notes:
            self._notes[name].setText(text)

    def names(self) -> list[str]:
        """The settings in the models' own order, folded ones included."""
        return [name for name in self._specs if name in self._editors]

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
        if spec.kind is ParamKind.INT_LIST:
            text = QLineEdit("" if value is None else str(value))
            text.setPlaceholderText("e.g. 64, 32")
            text.editingFinished.connect(lambda n=spec.name, e=text: self._emit_text(n, e.text()))
            return text
        if spec.kind is ParamKind.TEXT:
            return self._text_editor(spec, value)
        line = QLineEdit(_format_float(value))
        validator = QDoubleValidator()
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        validator.setLocale(QLocale.c())  # settings use a decimal point whatever the desktop's language
        line.setValidator(validator)
        line.editingFinished.connect(lambda n=spec.name, e=line: self._emit_text(n, e.text()))
        return line

    def _text_editor(self, spec: ParamSpec, value: ParamValue) -> QWidget:
        text = QLineEdit("" if value is None else str(value))
        text.editingFinished.connect(lambda n=spec.name, e=text: self._emit_text(n, e.text()))
        if not spec.file_filter:
            return text
        text.setPlaceholderText("None chosen")
        choose = QPushButton("Choose…")
        choose.clicked.connect(lambda _checked=False, s=spec, e=text: self._choose_file(s, e))
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(text, 1)
        row.addWidget(choose)
        holder.setFocusProxy(text)
        return holder

    def _choose_file(self, spec: ParamSpec, line: QLineEdit) -> None:
        path, _ = QFileDialog.getOpenFileName(self, spec.label, line.text(), spec.file_filter)
        if path:
            line.setText(path)
            self._emit_text(spec.name, path)

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
        if self._specs[name].advanced:
            self.show_advanced(True)  # a mistake must not hide in a closed fold
        self._errors[name].setText(message)
        self._errors[name].show()
        self.invalid.emit(name, message)


def _form_layout() -> QFormLayout:
    form = QFormLayout()
    form.setContentsMargins(0, 0, 0, 0)
    form.setVerticalSpacing(10)
    return form


def _format_float(value: ParamValue) -> str:
    if value is None:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return f"{number:g}"
