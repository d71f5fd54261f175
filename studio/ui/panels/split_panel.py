"""Split step: how many rows train the model, steer it (validation) and judge it (test)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from studio.core.data.target import Task
from studio.core.project import Project, Step
from studio.core.train.splits import split_problems, split_sizes
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import page_header


class SplitPanel(Panel):
    step = Step.SPLIT

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.validation_spin = _percent_spin()
        self.test_spin = _percent_spin()
        self.train_label = QLabel()
        self.stratify_box = QCheckBox("Keep the share of each class the same in every part (stratify)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2_147_483_647)
        self.seed_spin.setToolTip("The same number gives the same split every time, so runs can be compared.")
        self.seed_spin.setMaximumWidth(160)
        self.folds_combo = QComboBox()
        for text, folds in CV_CHOICES:
            self.folds_combo.addItem(text, folds)
        self.folds_combo.setMaximumWidth(260)
        self.folds_combo.setToolTip("Also train the model k times, each time holding out a different part of the "
                                    "training and validation rows, to see how steady the score is. Takes k times "
                                    "longer; the test rows stay aside either way.")
        self.bar = QWidget()
        self.bar.setFixedHeight(30)
        self.bar_layout = QHBoxLayout(self.bar)
        self.bar_layout.setContentsMargins(0, 0, 0, 0)
        self.bar_layout.setSpacing(2)
        self.bar_parts = [QLabel(), QLabel(), QLabel()]
        for part, color in zip(self.bar_parts, ("#2563a8", "#e58e26", "#6c757d"), strict=True):
            part.setAlignment(Qt.AlignmentFlag.AlignCenter)
            part.setStyleSheet(f"background: {color}; color: white; border-radius: 3px;")
            self.bar_layout.addWidget(part)
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)
        self.counts_label.setStyleSheet("font-size: 11pt;")
        self.form = form = QFormLayout()
        form.addRow("Training rows:", self.train_label)
        form.addRow("Validation rows:", self.validation_spin)
        form.addRow("Test rows:", self.test_spin)
        form.addRow("", self.stratify_box)
        form.addRow("Random seed:", self.seed_spin)
        form.addRow("Cross-validation:", self.folds_combo)
        self.header = page_header("Split", self._header_text("rows"))
        self.pictures_note = QLabel(
            "Near copies of a picture are kept on the same side of the split, so the test grade is not flattered "
            "by pictures the model has already seen. Cross-validation is not offered for pictures: it would train "
            "the network once per fold.")
        self.pictures_note.setWordWrap(True)
        self.pictures_note.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(self.bar)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.pictures_note)
        layout.addStretch(1)
        self._show_config()
        self.validation_spin.valueChanged.connect(self._on_editor_changed)
        self.test_spin.valueChanged.connect(self._on_editor_changed)
        self.stratify_box.toggled.connect(self._on_editor_changed)
        self.seed_spin.valueChanged.connect(self._on_editor_changed)
        self.folds_combo.currentIndexChanged.connect(self._on_editor_changed)

    @staticmethod
    def _header_text(unit: str) -> str:
        return (f"The model learns from the training {unit}. Validation {unit} show how it does while you try "
                f"settings; test {unit} are kept aside until the end, for an honest final grade on {unit} it "
                "never saw.")

    def _show_unit(self) -> None:
        """Rows for a table, pictures for pictures: the words, and the choices that apply."""
        pictures = self.project.images is not None
        unit = "pictures" if pictures else "rows"
        for label in self.header.findChildren(QLabel):
            if label.text().startswith("The model learns"):
                label.setText(self._header_text(unit))
        for row, name in enumerate(("Training", "Validation", "Test")):
            label = self.form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
            if isinstance(label, QLabel):
                label.setText(f"{name} {unit}:")
        self.form.setRowVisible(self.folds_combo, not pictures)
        self.pictures_note.setVisible(pictures)

    def _on_editor_changed(self) -> None:
        self.project.set_split(replace(self.project.split, validation=self.validation_spin.value() / 100,
                                       test=self.test_spin.value() / 100, stratify=self.stratify_box.isChecked(),
                                       seed=self.seed_spin.value(), cv_folds=int(self.folds_combo.currentData())))

    def _on_project_changed(self, what: str) -> None:
        if what in ("split", "target", "table"):
            self._show_config()

    def _show_config(self) -> None:
        self._show_unit()
        split = self.project.split
        for widget, value in ((self.validation_spin, round(split.validation * 100)),
                              (self.test_spin, round(split.test * 100)), (self.seed_spin, split.seed)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.folds_combo.blockSignals(True)
        index = self.folds_combo.findData(split.cv_folds)
        self.folds_combo.setCurrentIndex(index if index >= 0 else 0)
        self.folds_combo.blockSignals(False)
        self.stratify_box.blockSignals(True)
        self.stratify_box.setChecked(split.stratify)
        self.stratify_box.blockSignals(False)
        summary = self.project.target_summary
        classification = summary is not None and summary.task is Task.CLASSIFICATION
        self.stratify_box.setEnabled(classification)
        self.train_label.setText(f"{max(split.train, 0):.0%}")
        if summary is None:
            self.counts_label.setText("")
            return
        problems = split_problems(summary.usable_rows, split, len(summary.class_counts) if classification else 0)
        if problems:
            self.counts_label.setText(problems[0])
            return
        train, validation, test = split_sizes(summary.usable_rows, split)
        for index, (part, count, name) in enumerate(zip(self.bar_parts, (train, validation, test),
                                                         ("Training", "Validation", "Test"), strict=True)):
            part.setText(f"{name} {count:,}" if count else "")
            part.setVisible(count > 0)
            self.bar_layout.setStretch(index, max(count, 1))
        unit = "pictures" if self.project.images is not None else "rows"
        self.counts_label.setText(
            f"Of {summary.usable_rows:,} usable {unit}: <b>{train:,}</b> for training, <b>{validation:,}</b> for "
            f"validation and <b>{test:,}</b> for the final test.")


CV_CHOICES = (("Off", 0), ("3 folds (quick)", 3), ("5 folds (usual)", 5), ("10 folds (thorough, slow)", 10))


def _percent_spin() -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, 60)
    spin.setSuffix(" %")
    spin.setMaximumWidth(120)
    return spin
