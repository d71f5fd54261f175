"""The Data page's "Reading options" fold: how a text table is read (delimiter, decimal mark, encoding, header row,
rows to skip). Closed until opened; each change is a new ``ReadOptions`` (the page reads the file again with it in
the loading worker). "Detect" leaves a choice to Studio, and the fold says what it found."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.errors import StudioError
from studio.core.data.read_options import DECIMAL_NAMES, ReadOptions
from studio.core.data.tabular import DELIMITER_NAMES, LoadedTable, encoding_label

DETECT = "Detect"
DELIMITER_CHOICES = ((DETECT, None), ("Comma ,", ","), ("Semicolon ;", ";"), ("Tab", "\t"), ("Vertical bar |", "|"))
DECIMAL_CHOICES = ((DETECT, None), ("Point: 1.5", "."), ("Comma: 1,5", ","))
ENCODING_CHOICES = ((DETECT, None), ("UTF-8", "utf-8"), ("UTF-16", "utf-16"),
                    ("Western European (cp1252)", "cp1252"), ("Central European (cp1250)", "cp1250"),
                    ("Latin-2 (ISO-8859-2)", "iso8859_2"), ("Cyrillic (cp1251)", "cp1251"),
                    ("Japanese (Shift-JIS)", "cp932"), ("Korean (EUC-KR)", "cp949"), ("Chinese (GB18030)", "gb18030"))


class ReadingOptionsFold(QWidget):
    """A fold button and, when open, one row of choices; ``options_changed(ReadOptions)`` on every change."""

    options_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setObjectName("readingOptionsToggle")
        self.toggle.setText("Reading options")
        self.toggle.setToolTip("How Studio reads this text file: what separates the values, the decimal mark, the "
                               "text encoding, the header row and rows to skip.")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.setStyleSheet("font-weight: 600; color: #1f4e79;")
        self.toggle.toggled.connect(self._on_toggle_toggled)
        self.detected_label = QLabel()
        self.detected_label.setStyleSheet("color: #555;")
        self.detected_label.setWordWrap(True)

        self.delimiter_combo = _combo(DELIMITER_CHOICES)
        self.decimal_combo = _combo(DECIMAL_CHOICES)
        self.encoding_combo = _combo(ENCODING_CHOICES)
        self.header_check = QCheckBox("First row holds the column names")
        self.header_check.setChecked(True)
        self.skip_spin = QSpinBox()
        self.skip_spin.setRange(0, 10_000)
        self.skip_spin.setToolTip("Lines above the table to leave out, such as a title or notes.")
        # Two short rows: one wide row ran off a 1024-pixel window.
        self.encoding_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.encoding_combo.setMinimumContentsLength(16)
        rows = (QHBoxLayout(), QHBoxLayout())
        for row, pairs in zip(rows, ((("Delimiter", self.delimiter_combo), ("Decimal", self.decimal_combo),
                                      ("Encoding", self.encoding_combo)), (("Rows to skip", self.skip_spin),)),
                              strict=True):
            row.setContentsMargins(0, 0, 0, 0)
            for label, widget in pairs:
                row.addWidget(QLabel(label))
                row.addWidget(widget)
                row.addSpacing(6)
        rows[1].addWidget(self.header_check)
        for row in rows:
            row.addStretch(1)
        self.box = QWidget()
        box_layout = QVBoxLayout(self.box)
        box_layout.setContentsMargins(16, 0, 0, 0)
        box_layout.setSpacing(4)
        for row in rows:
            box_layout.addLayout(row)
        box_layout.addWidget(self.detected_label)
        self.box.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.box)
        for combo in (self.delimiter_combo, self.decimal_combo, self.encoding_combo):
            combo.currentIndexChanged.connect(self._on_choice_changed)
        self.header_check.toggled.connect(self._on_choice_changed)
        self.skip_spin.valueChanged.connect(self._on_choice_changed)

    def options(self) -> ReadOptions:
        return ReadOptions(delimiter=self.delimiter_combo.currentData(), decimal=self.decimal_combo.currentData(),
                           encoding=self.encoding_combo.currentData(), header=self.header_check.isChecked(),
                           skip_rows=self.skip_spin.value())

    def show_options(self, options: ReadOptions) -> None:
        """Show ``options`` without announcing them as a change (they come from the project)."""
        widgets = (self.delimiter_combo, self.decimal_combo, self.encoding_combo, self.header_check, self.skip_spin)
        for widget in widgets:
            widget.blockSignals(True)
        _select(self.delimiter_combo, options.delimiter)
        _select(self.decimal_combo, options.decimal)
        _select(self.encoding_combo, options.encoding)
        self.header_check.setChecked(options.header)
        self.skip_spin.setValue(options.skip_rows)
        for widget in widgets:
            widget.blockSignals(False)

    def show_table(self, table: LoadedTable | None) -> None:
        """Offered for delimited text only; says how the open file was read, detected choices included."""
        is_text = table is not None and table.delimiter is not None
        self.setVisible(is_text)
        if table is None or table.delimiter is None:
            return
        found = [f"{DELIMITER_NAMES.get(table.delimiter, repr(table.delimiter))}-separated",
                 f"numbers with a {DECIMAL_NAMES.get(table.decimal, table.decimal)}"]
        if table.thousands is not None:
            found.append("thousands separated by " + {" ": "a space", ",": "a comma", ".": "a point",
                                                      "'": "an apostrophe"}.get(table.thousands, table.thousands))
        if table.encoding is not None:
            found.append(encoding_label(table.encoding))
        notes = " ".join(table.notes)
        self.detected_label.setText("Read as: " + ", ".join(found) + "." + (f" {notes}" if notes else ""))

    def _on_toggle_toggled(self, opened: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if opened else Qt.ArrowType.RightArrow)
        self.box.setVisible(opened)

    def _on_choice_changed(self, *_args: object) -> None:
        try:
            options = self.options()
        except StudioError as exc:  # a comma for both the delimiter and the decimal mark
            self.detected_label.setText(str(exc))
            return
        self.options_changed.emit(options)


def _combo(choices: tuple[tuple[str, str | None], ...]) -> QComboBox:
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    for text, value in choices:
        combo.addItem(text, value)
    return combo


def _select(combo: QComboBox, value: str | None) -> None:
    index = combo.findData(value)
    if index < 0 and value is not None:  # an encoding set elsewhere (the command line's) that the list lacks
        combo.addItem(value, value)
        index = combo.count() - 1
    combo.setCurrentIndex(max(index, 0))
