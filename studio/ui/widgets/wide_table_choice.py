"""The choice a very wide table gets on the Data page: what all its columns would cost, and narrower tables to take
instead (the first columns, or columns drawn at random), before any time is spent looking at them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.data.width import WIDE_COLUMNS, WidthChoice, duration_words, seconds_for, width_sentence

# Beyond this many columns the Prepare page's list (a row and a drop-down per column) would hold the window for
# seconds at a time: every column is for the command line (`studio train --columns all`).
WINDOW_COLUMNS = 2_000


class WideTableChoice(QFrame):
    chosen = Signal(object)  # the WidthChoice clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wideTable")
        self.setStyleSheet("QFrame#wideTable { background: #fff6e0; border-radius: 4px; }")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.first_button = QPushButton(f"Keep the first {WIDE_COLUMNS:,} columns")
        self.sample_button = QPushButton(f"Keep {WIDE_COLUMNS:,} columns drawn at random")
        self.all_button = QPushButton("Use every column")
        self.first_button.clicked.connect(lambda: self.chosen.emit(WidthChoice("first", WIDE_COLUMNS)))
        self.sample_button.clicked.connect(lambda: self.chosen.emit(WidthChoice("sample", WIDE_COLUMNS)))
        self.all_button.clicked.connect(lambda: self.chosen.emit(WidthChoice("all", 0)))
        buttons = QHBoxLayout()
        for button in (self.first_button, self.sample_button, self.all_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.hide()

    def offer(self, rows: int, columns: int) -> None:
        self.message.setText(width_sentence(rows, columns) + " Which columns should Studio keep? (The column to "
                             "predict can be picked once they are looked at, so keep it among them: the first "
                             "columns are a safe choice when it comes early in the file.)")
        self.all_button.setText(f"Use all {columns:,} (about {duration_words(seconds_for(rows, columns))})")
        too_many = columns > WINDOW_COLUMNS
        self.all_button.setEnabled(not too_many)
        self.all_button.setToolTip(f"Over {WINDOW_COLUMNS:,} columns are too many for the window to list; train on "
                                   "all of them with: studio train DATA --target COLUMN --columns all"
                                   if too_many else "")
        self.show()
