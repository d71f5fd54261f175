"""The top of the Prepare step: what Studio will do with the columns in a few sentences, the warnings still open,
and the two ways on: "Looks good, continue" or "Customise…" (the workbench of tabs below)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.prep.config import PrepConfig
from studio.core.prep.insights import Finding, Relation, is_fixed
from studio.core.prep.summary import PrepSummary
from studio.ui.widgets.common import plain_tooltip
from studio.ui.widgets.prep_warnings import TITLES

# Open warnings in the order they matter: an answer leaking into the inputs spoils every score.
PRIORITY = ("leak", "mostly_missing", "duplicates", "text_numbers", "stray_value", "blank_none", "high_cardinality")
LINKS_SHOWN = 3


class PrepSummaryCard(QFrame):
    continue_clicked = Signal()
    customise_clicked = Signal()
    warnings_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("prepSummary")
        self.setStyleSheet("QFrame#prepSummary { background: #f4f7fb; border: 1px solid #d5dde8; border-radius: 6px; }")
        self.title = QLabel("What Studio will do with your columns")
        self.title.setStyleSheet("font-weight: 600;")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.handled = QLabel()
        self.handled.setWordWrap(True)
        self.handled.setStyleSheet("color: #2f6b3a;")
        self.handled.setTextFormat(Qt.TextFormat.PlainText)  # it names columns
        self.status = QLabel()
        self.status.setStyleSheet("color: #555;")
        self.continue_button = QPushButton("Looks good, continue")
        self.continue_button.setObjectName("primary")
        self.continue_button.clicked.connect(self.continue_clicked)
        self.customise_button = QPushButton("Customise…")
        self.customise_button.setToolTip("Change how each column is used, fill gaps another way, add columns made "
                                         "by a formula, and see the result on sample rows.")
        self.customise_button.clicked.connect(self.customise_clicked)
        self.warnings_button = QPushButton("Review warnings…")
        self.warnings_button.clicked.connect(self.warnings_clicked)
        self._buttons = QHBoxLayout()
        self._buttons.setContentsMargins(0, 4, 0, 0)
        self._buttons.addWidget(self.continue_button)
        self._buttons.addWidget(self.customise_button)
        self._buttons.addWidget(self.warnings_button)
        self._buttons.addWidget(self.status)
        self._buttons.addStretch(0)  # takes the room left, unless the compact counts are on this row
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 8, 12, 8)
        self._layout.setSpacing(4)
        for label in (self.title, self.text, self.warnings, self.handled):
            self._layout.addWidget(label)
        self._layout.addLayout(self._buttons)
        self.warnings.hide()
        self.handled.hide()
        self.warnings_button.hide()
        self._compact = False
        self._has_warnings = self._has_handled = False
        self._full = self._short = ""

    def set_compact(self, compact: bool) -> None:
        """With the workbench open, the card shrinks to the counts and the way on: the tabs below say the rest,
        and a small screen needs the room for them."""
        if compact != self._compact:
            # Compact, the counts sit on the buttons' row, left of "Looks good, continue".
            (self._layout if compact else self._buttons).removeWidget(self.text)
            if compact:
                self._buttons.insertWidget(0, self.text, 1)
            else:
                self._layout.insertWidget(1, self.text)
        self._compact = compact
        self.title.setVisible(not compact)
        self._show()

    def _show(self) -> None:
        compact = self._compact
        self.text.setText(self._short if compact else self._full)
        self.warnings.setVisible(self._has_warnings and not compact)
        self.handled.setVisible(self._has_handled and not compact)
        self.warnings_button.setVisible(self._has_warnings and not compact)

    def show_summary(self, summary: PrepSummary, relations: dict[str, Relation], feature_count: int | None) -> None:
        lines = [f"<b>{_html(lead)}</b> {_html(rest)}" for lead, rest in summary.lines()]
        learned: list[str] = []
        made = ""
        target = summary.target
        if target and summary.used_count:
            made = f"; from them Studio makes {feature_count:,} columns the model learns from" \
                if feature_count else ""
            learned.append(f"The model learns to predict <b>{_html(target)}</b>{made}.")
            links = _strongest_links(summary, relations, target)
            if links:
                learned.append(_html(f"Most linked to {target}: {links}."))
        paragraphs = ["<br>".join(lines)] + (["<br>".join(learned)] if learned else [])
        self._full = "".join(f"<p style='margin: 0 0 4px 0;'>{p}</p>" for p in paragraphs)
        self._short = f"<b>{_html(summary.headline())}</b>{made}."
        self._show()

    def show_findings(self, findings: tuple[Finding, ...], prep: PrepConfig) -> None:
        waiting = [f for f in findings if not is_fixed(prep, f)]
        handled = [f for f in findings if is_fixed(prep, f)]
        if waiting:
            # Said in one line, the likeliest mistake first; the Warnings tab has each in full.
            waiting.sort(key=lambda f: PRIORITY.index(f.code) if f.code in PRIORITY else len(PRIORITY))
            groups: dict[str, list[str]] = {}
            for finding in waiting:
                groups.setdefault(_title(finding).lower(), []).append(finding.column)
            parts = [title + (f" ({', '.join(c for c in columns if c)})" if any(columns) else "")
                     for title, columns in groups.items()]
            count = f"{len(waiting)} warnings suggest" if len(waiting) > 1 else "A warning suggests"
            self.warnings.setText(f"⚠ {count} a change: {_html('; '.join(parts))}.")
            self.warnings.setToolTip(plain_tooltip("\n".join(f.message for f in waiting)))
        if handled:
            columns = ", ".join(dict.fromkeys(f.column or "duplicated rows" for f in handled))
            other = " other" if waiting else ""
            self.handled.setText(f"✓ Studio already handles {len(handled)}{other} warning"
                                 f"{'' if len(handled) == 1 else 's'} ({columns}); nothing to do.")
        self._has_warnings, self._has_handled = bool(waiting), bool(handled)
        self._show()
        self.warnings_button.setText(f"Review {'the warning' if len(waiting) == 1 else 'warnings'}…")


def _title(finding: Finding) -> str:
    return TITLES.get(finding.code, finding.code)


def _strongest_links(summary: PrepSummary, relations: dict[str, Relation], target: str) -> str:
    used = {name for group in summary.used for name in group.names}
    linked = sorted(((r.strength, name, r) for name, r in relations.items()
                     if name in used and r.word in ("strong", "moderate")), key=lambda item: -item[0])
    return ", ".join(f"{name} ({relation.word}ly)" for _, name, relation in linked[:LINKS_SHOWN])


def next_step_words(problem: str, waiting: int, workbench_open: bool) -> str:
    """The page header's line: what to do next, never "fix the warnings" when nothing needs fixing."""
    if problem:
        hint = problem + ("" if workbench_open else " Choose Customise… to change it.")
    elif waiting:
        hint = (f"Look at the {waiting} warnings" if waiting > 1 else "Look at the warning") + \
            " below, then continue; Studio's plan also works as it is."
    else:
        hint = "If this looks right, continue. Customise… changes how any column is used."
    return "This is how Studio will prepare your table for learning. " + hint


def _html(text: str) -> str:
    """Text set inside rich text: its <, > and & shown as they are (quotes need no escaping there)."""
    return escape(text, quote=False)
