"""Prepare step for pictures: the size and colour the network sees, how pictures that are not square are made
square, and the augmentation used while training, with a preview of exactly what the network is given.

The preview is made by the core (``ImagePrep.preview``), the same transforms training runs, on a worker thread:
decoding a photo and running torchvision would stall the window on every click.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QPen, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.data.images import (
    CLASS_COLUMN,
    IMAGE_COLUMN,
    display_name,
    read_pixels,
    size_summary,
    typical_side,
)
from studio.core.data.kinds import DataKind
from studio.core.models.registry import get_model
from studio.core.prep.images import FIT_WORDS, PRETRAINED_SIZE, ImagePrep
from studio.core.project import Project, Step
from studio.ui.panels.base import Panel
from studio.ui.panels.kinds import register_pages
from studio.ui.widgets.common import page_header, section_label
from studio.workers.runner import JobRunner

PREVIEW_DELAY_MS = 150  # long enough to skip the values a spin box passes through, short enough to feel live
TILE_COUNT = 8  # the picture as the network sees it, then seven training variations
SAMPLE_COUNT = 8  # sample pictures offered in the preview's list, spread over the classes
SIZE_CHOICES: tuple[tuple[int, str], ...] = (
    (32, "fastest; small details are lost"),
    (64, ""),
    (96, ""),
    (128, ""),
    (160, ""),
    (PRETRAINED_SIZE, "what pretrained networks learned at"),
    (256, ""),
    (384, "slow"),
    (512, "slowest; for fine details"),
)
FIT_CHOICES: tuple[tuple[str, str], ...] = (
    ("pad", "Pad: keep the whole picture"),
    ("stretch", "Stretch it to a square"),
    ("crop", "Crop: cut out the middle"),
)
# The strength a checkbox switches on when the person has not chosen one yet: ImagePrep's own defaults, and for
# noise (off by default) a light speckle.
DEFAULT_STRENGTHS: dict[str, float] = {"rotate": 10.0, "zoom": 0.1, "color": 0.2, "noise": 0.25}
NO_TORCH_NOTE = ("The training variations cannot be shown: PyTorch, the part of Studio that trains networks, is not "
                 "installed. The picture is shown as the network would see it.")
NO_AUGMENTATION_NOTE = "Augmentation is off: the network sees this same picture every time it trains on it."

PreviewKey = tuple[str, int, ImagePrep, int]  # picture, size, preparation, seed of the variations


@dataclass(frozen=True)
class PreviewTiles:
    """What the worker made: the key it was made for, uint8 (H, W, C) tiles, and why only one tile ("" if not)."""

    key: PreviewKey
    tiles: tuple[np.ndarray, ...]
    note: str = ""


def augmentation_available() -> bool:
    """Whether torch and torchvision are installed, asked without importing them (importing torch takes seconds)."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "torchvision"))


def preview_job(key: PreviewKey, count: int = TILE_COUNT) -> Generator[None, None, PreviewTiles]:
    """Read the picture and make its variations; runs on a worker thread."""
    yield from ()
    path, size, prep, seed = key
    if prep.augments and not augmentation_available():
        return PreviewTiles(key, (read_pixels(path, size, prep.grayscale, prep.fit),), NO_TORCH_NOTE)
    try:
        tiles = prep.preview(path, size, count, seed)
    except ImportError:  # installed but broken: the plain picture still helps
        return PreviewTiles(key, (read_pixels(path, size, prep.grayscale, prep.fit),), NO_TORCH_NOTE)
    return PreviewTiles(key, tuple(tiles), "" if prep.augments else NO_AUGMENTATION_NOTE)


def to_qimage(pixels: np.ndarray) -> QImage:
    """uint8 (H, W, 1 or 3) pixels as a QImage that owns its memory."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width, channels = pixels.shape
    if channels == 1:
        image = QImage(pixels.tobytes(), width, height, width, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.tobytes(), width, height, width * 3, QImage.Format.Format_RGB888)
    return image.copy()  # the bytes object above goes away; the copy keeps its own pixels


def sample_rows(frame: pd.DataFrame, count: int, seed: int = 0) -> list[int]:
    """Up to ``count`` row positions taken in turn from each class, so every class shows among the first few."""
    rng = np.random.default_rng(seed)
    by_class = [rng.permutation(np.flatnonzero((frame[CLASS_COLUMN] == name).to_numpy())).tolist()
                for name in sorted(frame[CLASS_COLUMN].unique(), key=str)]
    chosen: list[int] = []
    while len(chosen) < count and any(by_class):
        for rows in by_class:
            if rows and len(chosen) < count:
                chosen.append(int(rows.pop(0)))
    return chosen


class PictureTile(QWidget):
    """One preview picture drawn as a square with a caption under it.

    ``image`` keeps the network's own pixels at their own size; only the drawing is scaled, without smoothing
    when enlarged, so a 32-pixel input looks as coarse as it is."""

    CAPTION_HEIGHT = 34  # two lines: a narrow tile wraps its caption rather than cut it

    def __init__(self, caption: str, highlighted: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.highlighted = highlighted
        self.image: QImage | None = None
        self.pixels: np.ndarray | None = None
        self.setToolTip(caption)

    def set_pixels(self, pixels: np.ndarray | None) -> None:
        self.pixels = pixels
        self.image = to_qimage(pixels) if pixels is not None else None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        side = max(1, min(self.width(), self.height() - self.CAPTION_HEIGHT))
        box = QRect((self.width() - side) // 2, 0, side, side)
        painter.fillRect(box, QColor("#eef0f3"))
        if self.image is not None:
            enlarged = side >= self.image.width()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not enlarged)
            painter.drawImage(box, self.image)
        painter.setPen(QPen(QColor("#2563a8" if self.highlighted else "#c9ced6"), 2 if self.highlighted else 1))
        painter.drawRect(box.adjusted(0, 0, -1, -1))
        font = QFont(self.font())
        font.setBold(self.highlighted)
        painter.setFont(font)
        painter.setPen(QColor("#22313f" if self.highlighted else "#555"))
        text_box = QRect(0, side + 2, self.width(), self.CAPTION_HEIGHT - 2)
        painter.drawText(text_box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                         | Qt.TextFlag.TextWordWrap, self.caption)
        painter.end()


class TileGrid(QWidget):
    """Eight tiles in two rows of four, as large as the space allows, and a note under them.

    The tiles are placed by hand: a layout that sized square tiles from the width would change the height it asks
    for, and with it the width it is given, and never settle."""

    COLUMNS = 4
    GAP = 8
    MIN_SIDE, MAX_SIDE = 56, 240

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles = [PictureTile("As the network sees it", highlighted=True, parent=self)]
        self.tiles += [PictureTile(f"Training variation {i}", parent=self) for i in range(1, TILE_COUNT)]
        self.note = _hint()
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # it may quote a file name, which is not markup
        self.note.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.place()

    def minimumSizeHint(self) -> QSize:
        side = self.MIN_SIDE
        return QSize(self.COLUMNS * side + (self.COLUMNS - 1) * self.GAP,
                     2 * (side + PictureTile.CAPTION_HEIGHT) + self.GAP + 3 * self.fontMetrics().height())

    def sizeHint(self) -> QSize:
        side = 140
        return QSize(self.COLUMNS * side + (self.COLUMNS - 1) * self.GAP,
                     2 * (side + PictureTile.CAPTION_HEIGHT) + self.GAP)

    def side(self) -> int:
        """The side of a tile's picture at the present size."""
        across = (self.width() - (self.COLUMNS - 1) * self.GAP) // self.COLUMNS
        # Room for a note of up to three lines under the tiles.
        down = (self.height() - 2 * self.GAP - 3 * self.fontMetrics().height()) // 2 - PictureTile.CAPTION_HEIGHT
        return max(self.MIN_SIDE, min(self.MAX_SIDE, across, down))

    def place(self) -> None:
        side = self.side()
        for index, tile in enumerate(self.tiles):
            row, column = divmod(index, self.COLUMNS)
            tile.setGeometry(column * (side + self.GAP), row * (side + PictureTile.CAPTION_HEIGHT + self.GAP),
                             side, side + PictureTile.CAPTION_HEIGHT)
        top = 2 * (side + PictureTile.CAPTION_HEIGHT + self.GAP)
        width = self.COLUMNS * side + (self.COLUMNS - 1) * self.GAP
        self.note.setGeometry(0, top, width, max(0, min(self.note.heightForWidth(width), self.height() - top)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.place()


class ImagePrepPanel(Panel):
    step = Step.PREPARE
    preview_ready = Signal()  # a preview of the current choices is on screen (the tests wait for it)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.preview: PreviewTiles | None = None
        self.seed = 0
        self._asked: PreviewKey | None = None
        self._shown: PreviewKey | None = None  # the key on screen, or the one that failed (not retried by itself)
        self._strengths = dict(DEFAULT_STRENGTHS)
        self.runner = JobRunner(self)
        self.runner.succeeded.connect(self._on_preview_succeeded)
        self.runner.failed.connect(self._on_preview_failed)
        self.runner.finished.connect(self._on_preview_finished)
        self._timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self._start_preview)

        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 8, 0)
        settings_layout.addWidget(section_label("What the network sees"))
        settings_layout.addLayout(self._build_picture_form())
        settings_layout.addSpacing(4)
        settings_layout.addWidget(section_label("Augmentation (while training only)"))
        settings_layout.addWidget(self._build_augmentation())
        settings_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(330)
        scroll.setMaximumWidth(470)
        self.settings_scroll = scroll

        body = QHBoxLayout()
        body.setSpacing(14)
        body.addWidget(scroll, 4)
        body.addWidget(self._build_preview(), 5)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.next_label = QLabel()
        self.next_label.setWordWrap(True)
        self.next_label.setStyleSheet("color: #154a7d;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(page_header(
            "Prepare the pictures", "Choose what the network sees and how training pictures are varied; the "
            "preview shows exactly what it gets."))
        layout.addLayout(body, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.next_label)
        self._refill_samples()
        self._show_prep()

    # -- building ------------------------------------------------------------------------------------------------
    def _build_picture_form(self) -> QVBoxLayout:
        self.size_combo = QComboBox()
        self.size_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.size_combo.setMinimumContentsLength(18)
        self.size_combo.setToolTip("Bigger pictures keep more detail but make training slower and need more memory.")
        self.size_combo.currentIndexChanged.connect(self._on_size_chosen)
        self.size_note = _hint()
        self.colour_button = QRadioButton("Colour")
        self.gray_button = QRadioButton("Grayscale")
        self.gray_button.setToolTip("Shades of gray only: a little faster, for pictures where colour does not matter "
                                    "(X-rays, scans, handwriting).")
        self.colour_group = QButtonGroup(self)
        self.colour_group.addButton(self.colour_button)
        self.colour_group.addButton(self.gray_button)
        self.gray_button.toggled.connect(self._on_colour_chosen)
        colours = QHBoxLayout()
        colours.setContentsMargins(0, 0, 0, 0)
        colours.addWidget(self.colour_button)
        colours.addWidget(self.gray_button)
        colours.addStretch(1)
        self.fit_combo = QComboBox()
        for fit, text in FIT_CHOICES:
            self.fit_combo.addItem(text, fit)
        self.fit_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.fit_combo.setMinimumContentsLength(18)
        self.fit_combo.currentIndexChanged.connect(self._on_fit_chosen)
        self.fit_note = _hint()
        # Labels above their fields: beside them, they would leave the long choices too narrow at 1024 pixels.
        form = QVBoxLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setSpacing(3)
        form.addWidget(QLabel("Size"))
        form.addWidget(self.size_combo)
        form.addWidget(self.size_note)
        form.addSpacing(4)
        colours.insertWidget(0, QLabel("Colour:"))
        colours.insertSpacing(1, 6)
        form.addLayout(colours)
        form.addSpacing(4)
        form.addWidget(QLabel("Pictures that are not square"))
        form.addWidget(self.fit_combo)
        form.addWidget(self.fit_note)
        return form

    def _build_augmentation(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        why = _hint("Slightly changed copies of the training pictures teach the network what matters, not the "
                    "exact pixels, so it does better on new pictures. Test pictures are never changed.")
        layout.addWidget(why)
        self.flip_check = QCheckBox("Mirror left to right")
        self.flip_check.setToolTip("Leave this off when left and right matter, as in text, arrows or road signs.")
        self.rotate_check = QCheckBox()
        self.zoom_check = QCheckBox()
        self.color_check = QCheckBox()
        self.blur_check = QCheckBox("Soften (blur) some pictures")
        self.blur_check.setToolTip("Helps when new pictures may be slightly out of focus.")
        self.noise_check = QCheckBox()
        self.noise_check.setToolTip("Helps when new pictures may be grainy (low light, cheap cameras).")
        for check in (self.flip_check, self.rotate_check, self.zoom_check, self.color_check, self.blur_check,
                      self.noise_check):
            layout.addWidget(check)
            check.toggled.connect(self._on_augmentation_changed)

        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced: how strong each change is")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.toggled.connect(self._on_advanced_toggled)
        self.rotate_spin = _spin(1, 45, "°", "How far a picture may be turned, either way.")
        self.zoom_spin = _spin(5, 50, " %", "How much of a picture's edge may be cut away before it is enlarged "
                                            "back to full size.")
        self.color_spin = _spin(5, 60, " %", "How much lighter, darker, flatter or punchier a picture may be made.")
        self.noise_spin = _spin(5, 100, " %", "How grainy the speckled pictures are.")
        for spin in (self.rotate_spin, self.zoom_spin, self.color_spin, self.noise_spin):
            spin.valueChanged.connect(self._on_strength_changed)
        self.usual_button = QPushButton("Back to the usual settings")
        self.usual_button.setToolTip("Studio's starting choices for size, colour, shape and augmentation.")
        self.usual_button.clicked.connect(self._on_usual_clicked)
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        form.setContentsMargins(18, 0, 0, 0)
        form.addRow("Turn by up to:", self.rotate_spin)
        form.addRow("Crop and zoom up to:", self.zoom_spin)
        form.addRow("Brightness and contrast:", self.color_spin)
        form.addRow("Speckle strength:", self.noise_spin)
        usual_row = QHBoxLayout()  # a row of its own: beside the labels it would widen the column
        usual_row.addWidget(self.usual_button)
        usual_row.addStretch(1)
        form.addRow(usual_row)
        self.advanced.hide()
        layout.addSpacing(4)
        layout.addWidget(self.advanced_button)
        layout.addWidget(self.advanced)
        return box

    def _build_preview(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(section_label("Preview"))
        self.sample_combo = QComboBox()
        self.sample_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.sample_combo.setMinimumContentsLength(14)
        self.sample_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.sample_combo.setToolTip("Sample pictures from each class.")
        self.sample_combo.currentIndexChanged.connect(lambda _i: self._schedule_preview())
        self.another_button = QPushButton("Another picture")
        self.another_button.setToolTip("Add a picture chosen at random from the folder and show it.")
        self.another_button.clicked.connect(self.show_another_picture)
        self.reshuffle_button = QPushButton("New variations")
        self.reshuffle_button.setToolTip("Draw seven other random training variations of the same picture.")
        self.reshuffle_button.clicked.connect(self._on_reshuffle_clicked)
        row = QHBoxLayout()
        row.addWidget(self.sample_combo, 1)
        row.addWidget(self.another_button)
        row.addWidget(self.reshuffle_button)
        layout.addLayout(row)
        self.grid = TileGrid()
        self.tiles = self.grid.tiles
        self.preview_note = self.grid.note
        layout.addWidget(self.grid, 1)
        return box

    # -- the project ---------------------------------------------------------------------------------------------
    def _on_project_changed(self, what: str) -> None:
        if what == "table":
            self.seed = 0
            self.preview, self._shown = None, None
            self._refill_samples()
            self._clear_tiles()
        elif what == "images_checked":
            self._refill_samples()
        if what in ("table", "images_checked", "prep", "model"):
            self._show_prep()
            self._schedule_preview()

    def entered(self) -> None:
        self._show_prep()
        self._schedule_preview()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._schedule_preview()

    def _pretrained(self) -> bool:
        return bool(get_model(self.project.model.key).pretrained)

    def _sizes(self) -> tuple[tuple[int, int], ...] | None:
        images = self.project.images
        return images.check.sizes if images is not None and images.check is not None else None

    def input_size(self) -> int:
        """The side of the square the network is given, for the chosen model."""
        return self.project.image_input_size()

    def _set_prep(self, prep: ImagePrep) -> None:
        if prep != self.project.image_prep:
            self.project.set_image_prep(prep)

    # -- showing the settings ------------------------------------------------------------------------------------
    def _show_prep(self) -> None:
        prep = self.project.image_prep
        for name in DEFAULT_STRENGTHS:
            value = float(getattr(prep, name))
            if value:
                self._strengths[name] = value
        sizes = self._sizes()
        pretrained = self._pretrained()
        automatic = replace(prep, size=None).input_size(typical_side(sizes or ()), pretrained)
        size = self.input_size()
        with _quiet(self.size_combo, self.colour_button, self.gray_button, self.fit_combo, self.flip_check,
                    self.rotate_check, self.zoom_check, self.color_check, self.blur_check, self.noise_check,
                    self.rotate_spin, self.zoom_spin, self.color_spin, self.noise_spin):
            choices = list(SIZE_CHOICES)
            if prep.size is not None and prep.size not in dict(choices):
                choices = sorted([*choices, (int(prep.size), "")])
            automatic_text = (f"Automatic (follows your pictures: {automatic} × {automatic})" if sizes is not None
                              else "Automatic (follows your pictures)")
            items: list[tuple[str, int | None]] = [(automatic_text, None)]
            items += [(f"{side} × {side}" + (f" ({note})" if note else ""), side) for side, note in choices]
            _set_items(self.size_combo, items)
            self.size_combo.setCurrentIndex(max(0, self.size_combo.findData(prep.size)) if prep.size else 0)
            self.gray_button.setChecked(prep.grayscale)
            self.colour_button.setChecked(not prep.grayscale)
            self.fit_combo.setCurrentIndex(max(0, self.fit_combo.findData(prep.fit)))
            self.flip_check.setChecked(prep.flip)
            self.rotate_check.setChecked(bool(prep.rotate))
            self.zoom_check.setChecked(bool(prep.zoom))
            self.color_check.setChecked(bool(prep.color))
            self.blur_check.setChecked(prep.blur)
            self.noise_check.setChecked(bool(prep.noise))
            self.rotate_spin.setValue(round(self._strengths["rotate"]))
            self.zoom_spin.setValue(round(self._strengths["zoom"] * 100))
            self.color_spin.setValue(round(self._strengths["color"] * 100))
            self.noise_spin.setValue(round(self._strengths["noise"] * 100))
        self.rotate_check.setText(f"Turn a little (up to {self.rotate_spin.value()}°)")
        self.zoom_check.setText(f"Crop and zoom in (up to {self.zoom_spin.value()} %)")
        self.color_check.setText(f"Vary brightness and contrast (up to {self.color_spin.value()} %)")
        self.noise_check.setText(f"Add speckle noise (strength {self.noise_spin.value()} %)")
        for check, spin in ((self.rotate_check, self.rotate_spin), (self.zoom_check, self.zoom_spin),
                            (self.color_check, self.color_spin), (self.noise_check, self.noise_spin)):
            spin.setEnabled(check.isChecked())
        self.size_note.setText(self._size_words(prep, size, sizes, pretrained))
        self.fit_note.setText(self._fit_words(prep, sizes))
        self.summary.setText(f"<b>The network will see</b> {prep.describe(size)}. {prep.augmentation_words()}")
        self.next_label.setText("<b>Next:</b> when the preview looks right, go on to Split, where some pictures are "
                                "set aside to test the model.")
        self.another_button.setEnabled(self.project.images is not None)
        self.reshuffle_button.setEnabled(prep.augments)

    @staticmethod
    def _size_words(prep: ImagePrep, size: int, sizes: tuple[tuple[int, int], ...] | None,
                    pretrained: bool) -> str:
        if sizes is None:
            own = "Studio is still reading your pictures; the automatic size follows them once it is done."
        else:
            own = f"Your pictures are {size_summary(sizes)}."
        if prep.size is not None and size > prep.size:
            return f"{own} The chosen network needs at least {size} × {size}, so pictures are read at that size."
        if prep.size is None:
            return f"{own} Bigger sizes keep more detail but train slower."
        return own

    @staticmethod
    def _fit_words(prep: ImagePrep, sizes: tuple[tuple[int, int], ...] | None) -> str:
        how = FIT_WORDS[prep.fit]
        if sizes is None:
            return f"Pictures that are not square: {how}."
        uneven = sum(1 for width, height in sizes if width != height)
        if not uneven:
            return f"All your pictures are square, so this changes nothing (if one were not: {how})."
        return (f"{uneven:,} of {len(sizes):,} pictures are not square. Used for them: {how}.")

    # -- choices -------------------------------------------------------------------------------------------------
    def _on_size_chosen(self, _index: int) -> None:
        side = self.size_combo.currentData()
        self._set_prep(replace(self.project.image_prep, size=int(side) if side is not None else None))

    def _on_colour_chosen(self, _on: bool) -> None:
        self._set_prep(replace(self.project.image_prep, grayscale=self.gray_button.isChecked()))

    def _on_fit_chosen(self, _index: int) -> None:
        self._set_prep(replace(self.project.image_prep, fit=str(self.fit_combo.currentData())))

    def _on_augmentation_changed(self) -> None:
        self._set_prep(self._prep_from_widgets())

    def _on_strength_changed(self) -> None:
        self._strengths.update(rotate=float(self.rotate_spin.value()), zoom=self.zoom_spin.value() / 100,
                               color=self.color_spin.value() / 100, noise=self.noise_spin.value() / 100)
        self._set_prep(self._prep_from_widgets())
        self._show_prep()  # the checkboxes' texts say the strengths, even with the fold closed

    def _prep_from_widgets(self) -> ImagePrep:
        strengths = self._strengths
        return replace(self.project.image_prep, flip=self.flip_check.isChecked(),
                       rotate=round(strengths["rotate"]) if self.rotate_check.isChecked() else 0,
                       zoom=strengths["zoom"] if self.zoom_check.isChecked() else 0.0,
                       color=strengths["color"] if self.color_check.isChecked() else 0.0,
                       blur=self.blur_check.isChecked(),
                       noise=strengths["noise"] if self.noise_check.isChecked() else 0.0)

    def _on_advanced_toggled(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _on_usual_clicked(self) -> None:
        self._strengths = dict(DEFAULT_STRENGTHS)
        self._set_prep(ImagePrep())
        self._show_prep()

    def _on_reshuffle_clicked(self) -> None:
        self.seed += 1
        self._schedule_preview()

    # -- sample pictures -----------------------------------------------------------------------------------------
    def _frame(self) -> pd.DataFrame | None:
        images = self.project.images
        return images.usable_frame() if images is not None else None

    def _refill_samples(self) -> None:
        frame = self._frame()
        kept = self.sample_combo.currentData()
        with _quiet(self.sample_combo):
            self.sample_combo.clear()
            if frame is None or not len(frame):
                return
            for row in sample_rows(frame, SAMPLE_COUNT):
                self._add_sample(frame, row)
            index = self.sample_combo.findData(kept) if kept else -1
            self.sample_combo.setCurrentIndex(max(0, index))

    def _add_sample(self, frame: pd.DataFrame, row: int) -> None:
        path = str(frame[IMAGE_COLUMN].iloc[row])
        name = display_name(os.path.basename(path))
        self.sample_combo.addItem(f"{display_name(str(frame[CLASS_COLUMN].iloc[row]))}: {name}", path)

    def show_another_picture(self) -> None:
        """Add a picture the list does not hold yet, chosen at random, and show it."""
        frame = self._frame()
        if frame is None or not len(frame):
            return
        listed = {self.sample_combo.itemData(i) for i in range(self.sample_combo.count())}
        others = [row for row, path in enumerate(frame[IMAGE_COLUMN]) if path not in listed]
        if not others:  # every picture is listed already: step to the next one instead
            self.sample_combo.setCurrentIndex((self.sample_combo.currentIndex() + 1) % self.sample_combo.count())
            return
        row = int(np.random.default_rng().choice(others))
        self._add_sample(frame, row)
        self.sample_combo.setCurrentIndex(self.sample_combo.count() - 1)

    # -- the preview ---------------------------------------------------------------------------------------------
    def preview_key(self) -> PreviewKey | None:
        path = self.sample_combo.currentData()
        if self.project.images is None or not path:
            return None
        return str(path), self.input_size(), self.project.image_prep, self.seed

    def preview_is_current(self) -> bool:
        return self.preview is not None and self._shown == self.preview_key() == self.preview.key

    def _schedule_preview(self) -> None:
        key = self.preview_key()
        if key is None:
            self._clear_tiles()
            self.grid.set_note("Open a folder of pictures on the Data step to see a preview here.")
            return
        if self.isVisible() and key != self._shown:
            self._timer.start()  # restarting the timer is the debounce

    def _start_preview(self) -> None:
        key = self.preview_key()
        if key is None or key == self._shown or not self.isVisible():
            return
        if self.runner.is_running():
            return  # the job cannot be interrupted; when it finishes the newest choices get their own
        self._asked = key
        self.grid.set_note("Making the preview…")
        self.runner.start(lambda _stop: preview_job(key))

    def _on_preview_succeeded(self, result: PreviewTiles) -> None:
        if result.key != self.preview_key():
            return  # made from choices changed since it started: never shown
        self.preview, self._shown = result, result.key
        for index, tile in enumerate(self.tiles):
            tile.set_pixels(result.tiles[index] if index < len(result.tiles) else None)
            tile.setVisible(index == 0 or index < len(result.tiles))
        size = result.key[1]
        self.tiles[0].caption = f"As the network sees it ({size} × {size})"
        self.tiles[0].setToolTip(self.tiles[0].caption)
        self.tiles[0].update()
        self.grid.set_note(result.note or "First: the picture exactly as the network is given it. The others: "
                                  "random variations; each time training uses a picture it gets a new one.")
        self.preview_ready.emit()

    def _on_preview_failed(self, message: str, _details: str) -> None:
        if self._asked != self.preview_key():
            return
        self.preview, self._shown = None, self._asked  # not retried until something changes
        self._clear_tiles()
        self.grid.set_note(f"This picture cannot be shown: {message} Choose another one.")

    def _on_preview_finished(self) -> None:
        if self.preview_key() != self._shown:
            self._start_preview()

    def _clear_tiles(self) -> None:
        for tile in self.tiles:
            tile.set_pixels(None)
            tile.setVisible(True)
        self.tiles[0].caption = "As the network sees it"

    def shutdown(self) -> None:
        self._timer.stop()
        self.runner.stop()


class _quiet:  # noqa: N801 - used like a function: with _quiet(widgets): ...
    """Block the widgets' signals while the page shows the Project's values in them (no change echoes back)."""

    def __init__(self, *widgets: QWidget) -> None:
        self.widgets = widgets

    def __enter__(self) -> None:
        self.saved = [widget.blockSignals(True) for widget in self.widgets]

    def __exit__(self, *exc: Any) -> None:
        for widget, was in zip(self.widgets, self.saved, strict=True):
            widget.blockSignals(was)


def _set_items(combo: QComboBox, items: list[tuple[str, int | None]]) -> None:
    """Fill ``combo`` with (text, data) items, leaving it alone when it already holds them (refilling a combo the
    person is using would close its list)."""
    held = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    if held == items:
        return
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #555;")
    return label


def _spin(low: int, high: int, suffix: str, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSuffix(suffix)
    spin.setToolTip(tip)
    spin.setMaximumWidth(110)
    return spin


register_pages(DataKind.IMAGES, {Step.PREPARE: ImagePrepPanel})
