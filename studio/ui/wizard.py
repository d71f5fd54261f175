"""The wizard's frame: the step list on the left and the Back / Next bar with the reason Next is disabled, and the
keys that move between the steps."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QToolButton,
    QWidget,
)

from studio.core.project import WIZARD_STEPS, Step
from studio.ui.widgets.common import key_text

# A browser's Back and Forward keys: one pair on every page, whatever has focus.
NEXT_KEYS = "Alt+Right"
BACK_KEYS = "Alt+Left"
# Where Enter already means something: finish what was typed (fields, and the number boxes that commit it), a new
# line, or open the entry of a list or table.
_KEEPS_ENTER = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit, QAbstractItemView)


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
        self.back_button.setToolTip(f"Previous step ({key_text(BACK_KEYS)})")
        self.next_button.setToolTip(f"Next step (Enter or {key_text(NEXT_KEYS)})")
        self.back_button.clicked.connect(self.back_clicked)
        self.next_button.clicked.connect(self.next_clicked)
        # The bar is on screen with every page, so its shortcuts work window-wide.
        QShortcut(QKeySequence(NEXT_KEYS), self, activated=self.press_next)
        QShortcut(QKeySequence(BACK_KEYS), self, activated=self.press_back)
        self._enter_key = _EnterKey(self)
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

    def press_next(self) -> bool:
        """Next, as a click would, when the step allows it (a key must not skip what disables the button)."""
        if not (self.next_button.isVisible() and self.next_button.isEnabled()):
            return False
        self.next_button.click()
        return True

    def press_back(self) -> bool:
        if not (self.back_button.isVisible() and self.back_button.isEnabled()):
            return False
        self.back_button.click()
        return True

    def enter_pressed(self, focus: QWidget | None) -> bool:
        """Enter pressed on ``focus``, as in a dialog: a focused button is pressed; Enter in a field, an editor, a
        table or a list stays theirs; anywhere else it is Next. Returns whether it was used."""
        if isinstance(focus, (QPushButton, QToolButton)):
            if focus.isEnabled():
                focus.click()
            return True
        if isinstance(focus, StepSidebar):  # the steps list opens a step on a click alone: Enter is free there
            return self.press_next()
        if isinstance(focus, _KEEPS_ENTER) or (isinstance(focus, QComboBox) and focus.isEditable()):
            return False
        return self.press_next()


class _EnterKey(QObject):
    """Gives Enter to the bar (``NavBar.enter_pressed``) before the focused widget of the bar's window sees it.

    It watches the focused widget itself, not the window: a field lets Enter through to its parents once it has
    taken what was typed, so at the window there is no telling where the key was pressed."""

    def __init__(self, bar: NavBar) -> None:
        super().__init__(bar)
        self._bar = bar
        self._watched: QWidget | None = None
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        app.focusChanged.connect(self._on_app_focus_changed)

    def _on_app_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if self._watched is not None:
            with contextlib.suppress(RuntimeError):  # the widget is gone (a page rebuilt its form)
                self._watched.removeEventFilter(self)
        window = self._bar.window()
        self._watched = new if new is not None and new is not window and new.window() is window else None
        if self._watched is not None:
            self._watched.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent) \
                or event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                or event.modifiers() not in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier):
            return False
        return isinstance(watched, QWidget) and self._bar.enter_pressed(watched)
