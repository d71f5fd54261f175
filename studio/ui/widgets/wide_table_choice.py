"""The choice a very wide table gets on the Data page: what all its columns would cost, and narrower tables to take
instead (the first columns, or columns drawn at random), before any time is spent looking at them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.data.width import WIDE_COLUMNS, WidthChoice, duration_words, seconds_for, width_sentence

# Beyond this many columns the Prepare page's list (a row and a drop-down per column) would hold the window for
# seconds at a time: every column is for the command line (`studio train --columns all`).
WINDOW_COLUMNS = 2_000
NO_TARGET = "(pick later)"


class WideTableChoice(QFrame):
    chosen = Signal(object)  # the WidthChoice clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wideTable")
        self.setStyleSheet("QFrame#wideTable { background: #fff6e0; border-radius: 4px; }")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        # The column to predict, picked before the columns are narrowed, so that it is always among those kept
        # (without it a target late in the file could not be reached: 'Use every column' is off above the limit).
        self.target_combo = QComboBox()
        self.target_combo.setEditable(True)  # typing finds a name among thousands
        self.target_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.target_combo.setMinimumContentsLength(16)
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.first_button = QPushButton(f"Keep the first {WIDE_COLUMNS:,} columns")
        self.sample_button = QPushButton(f"Keep {WIDE_COLUMNS:,} columns drawn at random")
        self.all_button = QPushButton("Use every column")
        self.first_button.clicked.connect(lambda: self.chosen.emit(WidthChoice("first", WIDE_COLUMNS)))
        self.sample_button.clicked.connect(lambda: self.chosen.emit(WidthChoice("sample", WIDE_COLUMNS)))
        self.all_button.clicked.connect(lambda: self.chosen.emit(WidthChoice("all", 0)))
        target_row = QHBoxLayout()
        target_row.addWidget(QLabel("Column to predict (always kept):"))
        target_row.addWidget(self.target_combo)
        target_row.addStretch(1)
        buttons = QHBoxLayout()
        for button in (self.first_button, self.sample_button, self.all_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.message)
        layout.addLayout(target_row)
        layout.addLayout(buttons)
        self.hide()

    def offer(self, rows: int, columns: int, names: list[str] | None = None) -> None:
        self.message.setText(width_sentence(rows, columns) + " Which columns should Studio keep? Pick the column "
                             "to predict first, if you know it: it is kept whichever you choose.")
        self.target_combo.clear()
        self.target_combo.addItem(NO_TARGET)
        self.target_combo.addItems(names or [])
        self.target_combo.setVisible(bool(names))
        self.all_button.setText(f"Use all {columns:,} (about {duration_words(seconds_for(rows, columns))})")
        too_many = columns > WINDOW_COLUMNS
        self.all_button.setEnabled(not too_many)
        self.all_button.setToolTip(f"Over {WINDOW_COLUMNS:,} columns are too many for the window to list; train on "
                                   "all of them with: studio train DATA --target COLUMN --columns all"
                                   if too_many else "")
        self.show()

    def target(self) -> str | None:
        """The column to predict picked here, or None."""
        text = self.target_combo.currentText()
        return None if text in ("", NO_TARGET) or self.target_combo.findText(text) < 0 else text
