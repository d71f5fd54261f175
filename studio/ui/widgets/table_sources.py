"""The Data page's other ways to a table: a menu for pasting cells or typing a web address, the bar where the
address is typed (and the choice offered for a large file), and the picker for a workbook's sheets."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.data.download import TooLarge, is_url
from studio.ui.widgets.common import key_text

URL_PLACEHOLDER = "https://example.com/table.csv"


class OtherSourcesButton(QToolButton):
    """"More sources": paste, a web address (and the Data page adds "Open a database…"); the page connects the
    actions. One menu, so the Data page's buttons fit a 1024-pixel-wide window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setText("More sources")
        self.setToolTip("Paste a table copied from a spreadsheet, open a CSV or Parquet file from a web address, or "
                        "read a table from a database.")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        self.paste_action = QAction(f"Paste a table from the clipboard ({key_text(QKeySequence.StandardKey.Paste)})",
                                    self)
        self.paste_action.setToolTip("Cells copied in a spreadsheet, header row included.")
        self.url_action = QAction("Open a web address (URL)…", self)
        menu.addAction(self.paste_action)
        menu.addAction(self.url_action)
        self.setMenu(menu)


class UrlBar(QWidget):
    """A line for a web address with Open and Close; after a too-large answer it offers "Download anyway"."""

    open_requested = Signal(str, bool)  # the address, and whether a file over the size limit may be downloaded

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.address = QLineEdit()
        self.address.setPlaceholderText(URL_PLACEHOLDER)
        self.address.setClearButtonEnabled(True)
        self.address.returnPressed.connect(self._on_open_clicked)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Hide the web address")
        self.close_button.clicked.connect(self.hide)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.hide()
        self.anyway_button = QPushButton("Download anyway")
        self.anyway_button.clicked.connect(self._on_anyway_clicked)
        self.anyway_button.hide()
        self._large: TooLarge | None = None

        row = QHBoxLayout()
        row.addWidget(QLabel("Web address:"))
        row.addWidget(self.address, 1)
        row.addWidget(self.open_button)
        row.addWidget(self.close_button)
        # The note (a mistyped address, a large file's size) gets a line of its own under the address.
        offer = QHBoxLayout()
        offer.addWidget(self.note, 1)
        offer.addWidget(self.anyway_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(row)
        column.addLayout(offer)
        self.hide()

    def start(self) -> None:
        """Show the bar with the cursor in the address."""
        self._clear_offer()
        self.show()
        self.address.setFocus()
        self.address.selectAll()

    def offer_large(self, large: TooLarge) -> None:
        """Say how large the file is and let the person download it anyway."""
        self.show()
        self._large = large
        self.address.setText(large.url)
        self.note.setText(large.sentence())
        self.note.show()
        self.anyway_button.show()

    def set_busy(self, busy: bool) -> None:
        for widget in (self.address, self.open_button, self.anyway_button):
            widget.setEnabled(not busy)

    def _on_open_clicked(self) -> None:
        url = self.address.text().strip()
        self._clear_offer()
        if not is_url(url):
            self.note.setText("Type an address that starts with http:// or https://, such as "
                              f"{URL_PLACEHOLDER}.")
            self.note.show()
            return
        self.open_requested.emit(url, False)

    def _on_anyway_clicked(self) -> None:
        if self._large is not None:
            url = self._large.url
            self._clear_offer()
            self.open_requested.emit(url, True)

    def _clear_offer(self) -> None:
        self._large = None
        self.note.clear()
        self.note.hide()
        self.anyway_button.hide()


class SheetPicker(QWidget):
    """"Sheet:" and the workbook's sheets; shown only for a workbook with more than one."""

    sheet_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setMinimumContentsLength(12)
        self.combo.activated.connect(self._on_combo_activated)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        label = QLabel("Sheet:")
        label.setToolTip("This workbook has more than one sheet; Studio learns from one of them.")
        row.addWidget(label)
        row.addWidget(self.combo)
        row.addStretch(1)
        self.hide()

    def show_sheets(self, sheets: tuple[str, ...], current: str | None) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(list(sheets))
        if current is not None:
            self.combo.setCurrentText(current)
        self.combo.blockSignals(False)
        self.setVisible(len(sheets) > 1)

    def _on_combo_activated(self, index: int) -> None:
        self.sheet_chosen.emit(self.combo.itemText(index))


def dropped_web_address(event: QDropEvent) -> str | None:
    """The http(s) address of a link dragged from a browser, if that is what is being dropped."""
    data = event.mimeData()
    addresses = [url.toString() for url in data.urls() if not url.isLocalFile()] if data.hasUrls() else []
    return next((address for address in addresses if is_url(address)), None)
