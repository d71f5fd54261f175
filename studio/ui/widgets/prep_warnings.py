"""Warnings about the data, each with its reason and a one-click fix (or a tick once it is handled)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from studio.core.prep.config import PrepConfig
from studio.core.prep.insights import Finding, handled_words, is_fixed

TITLES = {"id": "Identifier", "constant": "Constant", "leak": "Possible leak of the answer",
          "mostly_missing": "Mostly missing", "high_cardinality": "Very many categories",
          "text_numbers": "Numbers stored as text", "blank_none": "Blanks that may mean none",
          "duplicates": "Duplicated rows", "stray_value": "Stray value", "infinite": "Infinite numbers"}


class FindingsList(QScrollArea):
    fix_requested = Signal(object)  # the Finding whose fix was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.fix_buttons: dict[tuple[str, str], QPushButton] = {}
        # Every edit on the page asks for the list again; a row whose warning and state did not change is kept,
        # so an edit elsewhere does not rebuild (and re-lay out) the whole list.
        self._rows: dict[tuple[Finding, str], QWidget] = {}
        self._shown: list[tuple[Finding, str]] | None = None
        self.nothing_label = QLabel("Nothing to warn about: no identifiers, constant columns, leaks, duplicated rows, "
                                    "stray values or numbers stored as text were found.")
        box = QWidget()
        self._layout = QVBoxLayout(box)
        self._layout.setSpacing(6)
        self._layout.addWidget(self.nothing_label)
        self.nothing_label.hide()
        self._layout.addStretch(1)
        self.setWidget(box)

    def show_findings(self, findings: tuple[Finding, ...], prep: PrepConfig) -> None:
        # Open warnings first, handled ones below them. A handled row says how, so it is part of the row's key.
        wanted = [(finding, handled_words(prep, finding)) for finding in findings]
        wanted.sort(key=lambda shown: bool(shown[1]))
        if wanted == self._shown:
            return
        self._shown = wanted
        for key, row in list(self._rows.items()):
            self._layout.removeWidget(row)
            if key not in wanted:
                del self._rows[key]
                row.hide()  # deleted later; hidden now so it cannot linger over the rows laid out in its place
                row.deleteLater()
        for index, key in enumerate(wanted):
            if key not in self._rows:
                self._rows[key] = self._row(*key)
            self._layout.insertWidget(index, self._rows[key])
        self.nothing_label.setVisible(not wanted)
        self.fix_buttons = {(f.code, f.column): row.findChild(QPushButton) for (f, fixed), row in self._rows.items()
                            if not fixed}

    def shown_rows(self) -> dict[tuple[Finding, str], QWidget]:
        """Each warning shown and how Studio handles it ("" while it waits for a click), with its row, top to
        bottom."""
        return {key: self._rows[key] for key in self._shown or []}

    def open_count(self, findings: tuple[Finding, ...], prep: PrepConfig) -> int:
        return sum(not is_fixed(prep, f) for f in findings)

    def _row(self, finding: Finding, handled: str) -> QWidget:
        fixed = bool(handled)
        row = QFrame()
        row.setObjectName("finding")
        colour = "#e8f5ea" if fixed else "#fff6e0"
        row.setStyleSheet(f"QFrame#finding {{ background: {colour}; border-radius: 4px; }}")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(10, 6, 10, 6)
        text = QLabel(f"<b>{_html(TITLES.get(finding.code, finding.code))}</b>"
                      + (f" — {_html(finding.column)}" if finding.column else "") + f"<br>{_html(finding.message)}"
                      + (f"<br><span style='color: #2f6b3a;'>{_html(handled)}</span>" if handled else ""))
        text.setWordWrap(True)
        layout.addWidget(text, 1)
        if fixed:
            layout.addWidget(QLabel("✓ handled"))
        else:
            button = QPushButton(finding.fix_label)
            button.clicked.connect(lambda _checked=False, f=finding: self.fix_requested.emit(f))
            layout.addWidget(button)
        return row


def _html(text: str) -> str:
    """Text set inside rich text: its <, > and & shown as they are (quotes need no escaping there)."""
    return escape(text, quote=False)
