"""The wizard's frame: the step list on the left and the Back / Next bar with the reason Next is disabled."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QWidget

from studio.core.project import WIZARD_STEPS, Step


class StepSidebar(QListWidget):
    step_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setFixedWidth(170)
        self.setIconSize(QSize(0, 0))
        self.setSpacing(2)
        for number, step in enumerate(WIZARD_STEPS, start=1):
            self._add(f"{number}  {step.label}", step)
        separator = QListWidgetItem("")
        separator.setFlags(Qt.ItemFlag.NoItemFlags)
        separator.setSizeHint(QSize(10, 14))
        self.addItem(separator)
        self._add("▶  Predict", Step.PREDICT)
        self._add("☰  Runs", Step.RUNS)
        self.currentItemChanged.connect(self._on_current_item_changed)

    def _add(self, text: str, step: Step) -> None:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, step.value)
        item.setSizeHint(QSize(150, 34))
        self.addItem(item)

    def item_for(self, step: Step) -> QListWidgetItem:
        for row in range(self.count()):
            if self.item(row).data(Qt.ItemDataRole.UserRole) == step.value:
                return self.item(row)
        raise KeyError(step)

    def show_step(self, step: Step) -> None:
        self.blockSignals(True)
        self.setCurrentItem(self.item_for(step))
        self.blockSignals(False)

    def set_reachable(self, step: Step, reachable: bool) -> None:
        item = self.item_for(step)
        flags = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled if reachable else Qt.ItemFlag.NoItemFlags
        item.setFlags(flags)

    def _on_current_item_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None and current.data(Qt.ItemDataRole.UserRole):
            self.step_chosen.emit(current.data(Qt.ItemDataRole.UserRole))


class NavBar(QWidget):
    back_clicked = Signal()
    next_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reason = QLabel()
        self.reason.setObjectName("navReason")
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #7a5200;")
        self.back_button = QPushButton("‹ Back")
        self.next_button = QPushButton("Next ›")
        self.next_button.setObjectName("primary")
        self.next_button.setDefault(True)
        self.back_button.clicked.connect(self.back_clicked)
        self.next_button.clicked.connect(self.next_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.reason, 1)
        layout.addWidget(self.back_button)
        layout.addWidget(self.next_button)

    def update_state(self, can_go_back: bool, can_go_next: bool, has_next: bool, reason: str) -> None:
        self.back_button.setEnabled(can_go_back)
        self.next_button.setEnabled(can_go_next and has_next)
        self.next_button.setVisible(has_next)
        self.reason.setText(reason)
