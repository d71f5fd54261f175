"""New columns computed from a formula over other columns, checked as they are typed."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from studio.core.common.errors import DataError
from studio.core.prep.config import PrepConfig
from studio.core.prep.formula import FUNCTIONS, parse_formula


class FormulaEditor(QWidget):
    added = Signal(str, str)  # name, formula
    removed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prep = PrepConfig()
        self.target: str | None = None
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("name, e.g. bmi")
        self.name_edit.setMaximumWidth(200)
        self.formula_edit = QLineEdit()
        self.formula_edit.setPlaceholderText("formula, e.g. weight / height ** 2")
        self.add_button = QPushButton("Add column")
        self.add_button.setEnabled(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # the reason quotes what was typed
        help_text = QLabel(
            "Combine columns with + − * / and ** (power), numbers and the functions "
            f"{', '.join(FUNCTIONS)}. Write a name with spaces in backticks, like `body mass`. The new column is "
            "computed the same way for new rows when predicting.")
        help_text.setWordWrap(True)
        help_text.setStyleSheet("color: #555;")
        row = QHBoxLayout()
        row.addWidget(self.name_edit)
        row.addWidget(QLabel("="))
        row.addWidget(self.formula_edit, 1)
        row.addWidget(self.add_button)
        self.list_box = QGridLayout()
        # (name, formula) -> the row's name label, formula label and Remove button; kept across edits elsewhere.
        self._rows: dict[tuple[str, str], tuple[QLabel, QLabel, QPushButton]] = {}
        self.list_box.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(help_text)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addLayout(self.list_box)
        layout.addStretch(1)
        self.name_edit.textChanged.connect(self._check)
        self.formula_edit.textChanged.connect(self._check)
        self.formula_edit.returnPressed.connect(self._on_add_clicked)
        self.add_button.clicked.connect(self._on_add_clicked)

    def show_prep(self, prep: PrepConfig, target: str | None = None) -> None:
        self.prep = prep
        self.target = target
        wanted = [(column.name, column.formula) for column in prep.derived()]
        if wanted != list(self._rows):
            self._show_rows(wanted)
        self._check()

    def row_widgets(self) -> list[tuple[QLabel, QLabel, QPushButton]]:
        """Each new column's name, formula and Remove button, in the order shown."""
        return list(self._rows.values())

    def _show_rows(self, wanted: list[tuple[str, str]]) -> None:
        kept: dict[tuple[str, str], tuple[QLabel, QLabel, QPushButton]] = {}
        for key, widgets in self._rows.items():
            for widget in widgets:
                self.list_box.removeWidget(widget)
                if key not in wanted:
                    widget.hide()  # deleted later; hidden now so it cannot linger over the rows that follow
                    widget.deleteLater()
            if key in wanted:
                kept[key] = widgets
        self._rows = {}
        for row, (name, formula) in enumerate(wanted):
            widgets = kept.get((name, formula)) or self._row(name, formula)
            for column, widget in enumerate(widgets):
                self.list_box.addWidget(widget, row, column)
            self._rows[(name, formula)] = widgets

    def _row(self, name: str, formula: str) -> tuple[QLabel, QLabel, QPushButton]:
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda _checked=False: self.removed.emit(name))
        name_label, formula_label = QLabel(f"<b>{escape(name, quote=False)}</b>"), QLabel(f"= {formula}")
        formula_label.setTextFormat(Qt.TextFormat.PlainText)  # names in backticks may hold < and >
        return name_label, formula_label, remove

    def problem(self) -> str:
        """Why the typed formula cannot be added, or "" when it can."""
        name, text = self.name_edit.text().strip(), self.formula_edit.text().strip()
        if not name and not text:
            return " "
        if not name:
            return "Give the new column a name."
        if self.prep.get(name) is not None and not self.prep.get(name).formula:
            return f"There is already a column called '{name}'."
        try:
            usable = [c.name for c in self.prep.columns if c.name != name]
            formula = parse_formula(text, usable)
            if self.target in formula.names:
                return f"A formula cannot read '{self.target}', the column to predict: the model would see the answer."
        except DataError as exc:
            return str(exc)
        return ""

    def _check(self) -> None:
        problem = self.problem()
        self.add_button.setEnabled(not problem)
        self.message.setText(problem.strip())
        self.message.setStyleSheet("color: #8a1c12;")

    def _on_add_clicked(self) -> None:
        if self.problem():
            return
        name, text = self.name_edit.text().strip(), self.formula_edit.text().strip()
        self.added.emit(name, text)
        self.name_edit.clear()
        self.formula_edit.clear()
