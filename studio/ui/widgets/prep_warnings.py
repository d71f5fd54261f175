"""Warnings about the data, each with its reason and a one-click fix (or a tick once it is handled)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from studio.core.prep import PrepConfig
from studio.core.prep_insights import Finding, is_fixed

TITLES = {"id": "Identifier", "constant": "Constant", "leak": "Possible leak of the answer",
          "mostly_missing": "Mostly missing", "high_cardinality": "Very many categories",
          "text_numbers": "Numbers stored as text", "blank_none": "Blanks that may mean none",
          "duplicates": "Duplicated rows"}


class FindingsList(QScrollArea):
    fix_requested = Signal(object)  # the Finding whose fix was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.fix_buttons: dict[tuple[str, str], QPushButton] = {}
        self._show_widgets([])

    def show_findings(self, findings: tuple[Finding, ...], prep: PrepConfig) -> None:
        self.fix_buttons = {}
        rows: list[QWidget] = []
        # Open warnings first, handled ones below them.
        for finding in sorted(findings, key=lambda f: is_fixed(prep, f)):
            rows.append(self._row(finding, is_fixed(prep, finding)))
        if not findings:
            rows.append(QLabel("Nothing to warn about: no identifiers, constant columns, leaks, duplicated rows or "
                               "numbers stored as text were found."))
        self._show_widgets(rows)

    def open_count(self, findings: tuple[Finding, ...], prep: PrepConfig) -> int:
        return sum(not is_fixed(prep, f) for f in findings)

    def _row(self, finding: Finding, fixed: bool) -> QWidget:
        row = QFrame()
        row.setObjectName("finding")
        colour = "#e8f5ea" if fixed else "#fff6e0"
        row.setStyleSheet(f"QFrame#finding {{ background: {colour}; border-radius: 4px; }}")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(10, 6, 10, 6)
        text = QLabel(f"<b>{TITLES.get(finding.code, finding.code)}</b>"
                      + (f" — {finding.column}" if finding.column else "") + f"<br>{finding.message}")
        text.setWordWrap(True)
        layout.addWidget(text, 1)
        if fixed:
            layout.addWidget(QLabel("✓ handled"))
        else:
            button = QPushButton(finding.fix_label)
            button.clicked.connect(lambda _checked=False, f=finding: self.fix_requested.emit(f))
            self.fix_buttons[(finding.code, finding.column)] = button
            layout.addWidget(button)
        return row

    def _show_widgets(self, rows: list[QWidget]) -> None:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setSpacing(6)
        for row in rows:
            layout.addWidget(row)
        layout.addStretch(1)
        self.setWidget(box)
