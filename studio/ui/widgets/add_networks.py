"""The Model step's offer when PyTorch is missing: "Add neural networks (about N MB download)".

It installs the PyTorch build that fits this computer (studio.core.models.torch_install) into Studio's own Python,
with pip's output streamed in the background and a Cancel button; where Studio cannot install (a packaged app, no
pip) it says why and shows the one command to run instead."""

from __future__ import annotations

from collections.abc import Callable, Generator

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.progress import Progress, StopCheck
from studio.core.models.torch_install import TorchPlan, can_install_here, plan_job, run_install
from studio.workers.runner import JobRunner

PlanJob = Callable[[StopCheck], Generator[Progress, None, TorchPlan]]
MAX_LOG_LINES = 400


class AddNetworksWidget(QFrame):
    """Shown by the Model page while a chosen model needs PyTorch and it is not installed."""

    installed = Signal()

    def __init__(self, make_plan: PlanJob = plan_job, can_install: Callable[[], str | None] = can_install_here,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addNetworks")
        self.setStyleSheet("#addNetworks { background:#e9f2fc; border:1px solid #bcd6f2; border-radius:4px; }")
        self._make_plan = make_plan
        self._can_install = can_install
        self.plan: TorchPlan | None = None
        self._job = ""
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._on_runner_progressed)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.cancelled.connect(self._on_runner_cancelled)
        self.runner.finished.connect(self._on_runner_finished)
        self.message = QLabel("Neural networks need PyTorch, which is not installed here.")
        self.message.setWordWrap(True)
        self.add_button = QPushButton("Add neural networks")
        self.add_button.setObjectName("primary")
        self.add_button.setEnabled(False)  # until the download's size is known
        self.add_button.clicked.connect(self._on_add_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.details_button = QToolButton()
        self.details_button.setText("Show what it does")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._on_details_toggled)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setMaximumBlockCount(MAX_LOG_LINES)
        self.output.setMinimumHeight(90)
        self.output.hide()
        self.command = QLabel()
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command.setTextFormat(Qt.TextFormat.PlainText)
        self.command.setStyleSheet("font-family: monospace; color: #333;")
        self.command.hide()
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        row.addStretch(0)
        row.addWidget(self.details_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.message)
        layout.addLayout(row)
        layout.addWidget(self.command)
        layout.addWidget(self.output)

    # -- the plan, made in the background when first shown -------------------------------------------------------
    def showEvent(self, event: object) -> None:  # type: ignore[override]
        super().showEvent(event)  # type: ignore[arg-type]
        if self.plan is None and not self.runner.is_running():
            self._job = "plan"
            self.runner.start(self._make_plan)

    def _show_plan(self, plan: TorchPlan) -> None:
        self.plan = plan
        self.add_button.setText(f"Add neural networks (about {plan.download_mb:,} MB download)")
        self.command.setText("Or run this in a terminal, then start Studio again:\n" + plan.as_shell())
        why_not = self._can_install()
        if why_not:
            self.message.setText(f"Neural networks need PyTorch, which is not installed here. {why_not}")
            self.add_button.hide()
            self.details_button.hide()
            self.command.show()
            return
        self.message.setText(f"Neural networks need PyTorch, which is not installed here. {plan.summary}")

    # -- installing ----------------------------------------------------------------------------------------------
    def _on_add_clicked(self) -> None:
        if self.plan is None or self.runner.is_running():
            return
        commands = self.plan.commands
        self._job = "install"
        self.output.clear()
        self.progress.setRange(0, 0)  # pip gives no fraction while it downloads
        self.progress.setFormat("Starting…")
        self.progress.show()
        self.cancel_button.show()
        self.add_button.setEnabled(False)
        self.runner.start(lambda stop: run_install(commands, stop))

    def _on_runner_progressed(self, item: object) -> None:
        if not isinstance(item, Progress) or self._job != "install":
            return
        self.output.appendPlainText(item.message)
        self.progress.setFormat(f"{item.stage}: {item.message[:70]}")

    def _on_runner_finished(self) -> None:
        # Enabled only once a job has ended (the plan made, an install failed or stopped): a click while the job is
        # still ending would find the runner busy and do nothing. Hidden once the networks are installed.
        if self.plan is not None and not self.add_button.isHidden():
            self.add_button.setEnabled(True)

    def _on_runner_succeeded(self, value: object) -> None:
        if self._job == "plan" and isinstance(value, TorchPlan):
            self._show_plan(value)
            return
        self._end_install()
        self.message.setText("Neural networks are ready: pick one in the list, or let Studio choose.")
        self.add_button.hide()
        self.installed.emit()

    def _on_runner_failed(self, message: str, details: str) -> None:
        if self._job == "plan":
            self.message.setText(f"Neural networks need PyTorch, which is not installed here. {message}")
            return
        self._end_install()
        self.output.appendPlainText(details.strip().splitlines()[-1] if details.strip() else "")
        self.message.setText(f"{message} Nothing else changed; you can try again.")
        self.details_button.setChecked(True)
        self.command.show()

    def _on_runner_cancelled(self) -> None:
        if self._job != "install":
            return
        self._end_install()
        self.message.setText("Stopped: the neural networks were not added. You can start again at any time.")

    def _end_install(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def _on_details_toggled(self, shown: bool) -> None:
        self.output.setVisible(shown)
        self.details_button.setText("Hide what it does" if shown else "Show what it does")

    def shutdown(self) -> None:
        self.runner.stop()
