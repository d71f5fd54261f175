"""Predict page: open a saved model and a table of new rows, see the predictions, save them.

A picture model predicts pictures instead: dropped on the page or chosen as files or a folder, each shown as a
thumbnail captioned with its class and how sure the model is, with the same predictions as a table beside. The
confidence needed is applied again when it changes, without predicting again.
"""

from __future__ import annotations

import html
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.progress import Progress, StopCheck
from studio.core.common.words import local_time, plural
from studio.core.data.database import DatabaseTable
from studio.core.data.images import IMAGE_SUFFIXES
from studio.core.data.profile import BOOLEAN_WORDS, to_number
from studio.core.project import Project, Step
from studio.core.serve.from_database import predict_database_job
from studio.core.serve.images import (
    DEFAULT_CONFIDENCE,
    NOT_SURE,
    PICTURE_COLUMN,
    is_image_model,
    predict_images,
    summary,
    with_confidence,
)
from studio.core.serve.predict import PREDICTION_COLUMN, predict_job, save_predictions_job
from studio.core.store.model_file import (
    MODEL_SUFFIX,
    OLD_SUFFIX,
    ModelBundle,
    UntrustedModelFileError,
    describe_bundle,
    load_job,
)
from studio.ui.panels.base import Panel
from studio.ui.panels.data_panel import FILE_FILTER
from studio.ui.widgets.common import MessageBanner, as_written, dropped_local_paths, page_header, section_label
from studio.ui.widgets.database_dialog import DatabaseChoice, DatabaseDialog, database_data_path, default_location
from studio.ui.widgets.image_galleries import percent
from studio.ui.widgets.image_grid import ImageGridWidget, ThumbnailRow
from studio.ui.widgets.retrain_control import RetrainControl
from studio.ui.widgets.table_model import DataFrameTableModel, Index
from studio.workers.runner import JobRunner

# The save dialog's filters, the first being the default, and the extension each gives a name typed without one.
SAVE_FILTERS: dict[str, str] = {
    "CSV (*.csv)": ".csv",
    "Excel workbook (*.xlsx)": ".xlsx",
    "Parquet (*.parquet)": ".parquet",
    "Tab-separated text (*.tsv *.txt)": ".tsv",
}


def with_format_extension(path: str, chosen_filter: str) -> str:
    """``path`` as typed in the save dialog, with the chosen filter's extension when the name has none.

    Qt's dialog leaves the name as typed on some platforms: "results" under "Excel workbook" must become
    results.xlsx, not a file without extension. A name with an extension keeps it, so the file is in the format its
    name says; one Studio cannot write is refused in words when saving (see write_predictions).
    """
    if Path(path).suffix:
        return path
    return path + SAVE_FILTERS.get(chosen_filter, ".csv")


NO_MODEL_SUBTITLE = ("Use a saved model: open the model file, then a table of new rows with the same columns (the "
                     "target column may be missing), or new pictures for a picture model.")
TABLE_SUBTITLE = ("Use a saved model on new rows: open the model file, then a table with the same columns (the "
                  "target column may be missing).")
PICTURE_SUBTITLE = ("Use a saved picture model on new pictures: drop pictures or a folder anywhere on this page, or "
                    "choose them with the buttons.")
PICTURE_FILTER = "Pictures (" + " ".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES) + ");;All files (*)"
# Columns are sized to the rows on screen and this many more: sizing to every row of a styled table took about
# 0.2 s for 344 rows (Qt measures each cell through the style sheet), and grows with the table.
SIZE_TO_ROWS = 50
RELABEL_MS = 150  # the confidence needed is applied this long after it last changed
DROP_HINT = ("Drop pictures or a folder of pictures here, or use \"Choose pictures…\" or \"Choose a folder…\" "
             "above.")


@dataclass(frozen=True)
class NeedsTrust:
    """A model file the person must say they trust before it is opened, and why."""

    path: str
    reason: str


def picture_rows(predictions: pd.DataFrame, confidence: float) -> list[ThumbnailRow]:
    """A tile per predicted picture, captioned with its class and how sure the model is, or why there is none."""
    rows = []
    for path, said, guess, sure, note in zip(
            predictions.attrs.get("paths", []), predictions["prediction"], predictions["best_guess"],
            predictions["confidence"], predictions["note"], strict=True):
        # The tooltip explains the caption; the viewer shows it under the picture's path, so it leaves out the name.
        if pd.isna(sure):
            caption, words = "can't be read", note
        elif said == NOT_SURE:
            caption = f"{NOT_SURE} · {guess}? {percent(sure)}"
            words = (f"The model's best guess is {guess}, but it is only {percent(sure)} sure: under the "
                     f"{percent(confidence)} needed.")
        else:
            caption = f"{said} · {percent(sure)} sure"
            words = f"The model says {said}, {percent(sure)} sure (at least {percent(confidence)} is needed)."
        rows.append(ThumbnailRow(path, caption, words))
    return rows


def shown_picture_table(predictions: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The predictions as the page's table shows them (shares written as percentages, as in the captions), with a
    note for each column header. The file saved keeps the plain numbers."""
    probabilities = [c for c in predictions.columns if c.startswith("probability_")]
    shown = pd.DataFrame({
        "Picture": predictions[PICTURE_COLUMN],
        "Prediction": np.where(predictions["confidence"].isna(), "can't be read", predictions["prediction"]),
        "Best guess": [guess or " " for guess in predictions["best_guess"]],
        "Confidence": [percent(v) for v in predictions["confidence"]],
    })
    notes = {"Prediction": f"The class the model gives, or \"{NOT_SURE}\" when it is less sure than the confidence "
                           "needed.",
             "Best guess": "The class the model finds likeliest, however sure it is.",
             "Confidence": "How sure the model is of its best guess."}
    for column in probabilities:
        name = column.removeprefix("probability_")
        shown[f"{name} (chance)"] = [percent(v) for v in predictions[column]]
        notes[f"{name} (chance)"] = f"How likely the model finds it that the picture shows {name}."
    # Blank cells, not empty ones: the table calls an empty cell "missing", and a picture without a note is fine.
    shown["Note"] = [note or " " for note in predictions["note"]]
    notes["Note"] = "Why a file could not be read."
    return shown, notes


def probability_header(target: str, name: str) -> str:
    """A probability column's header as the page shows it: a class that is a number or yes / no says which column
    it is a value of ("probability of survived = 1"); a class that is a word says itself ("probability of
    Adelie")."""
    bare = name.strip().lower()
    if target and (bare in BOOLEAN_WORDS or bool(to_number(pd.Series([bare])).notna().all())):
        return f"probability of {target} = {name}"
    return f"probability of {name}"


def prediction_headers(predictions: pd.DataFrame, target: str) -> tuple[dict[str, str], dict[str, str], list[int]]:
    """How the page shows the predictions of a table: the new header of each of Studio's columns, a note for each
    header, and the positions of the probability columns (shares, shown as percentages)."""
    names: dict[str, str] = {}
    notes: dict[str, str] = {}
    shares: list[int] = []
    predicted = predictions.attrs.get("prediction_column", PREDICTION_COLUMN)
    if predicted in predictions.columns:
        header = f"predicted {target}" if target else "prediction"
        names[predicted] = header
        notes[header] = f"What the model predicts{f' for {target}' if target else ''}. Saved as '{predicted}'."
    for column, name in predictions.attrs.get("probability_columns", {}).items():
        if column not in predictions.columns:
            continue
        header = probability_header(target, str(name))
        names[column] = header
        notes[header] = f"How likely the model finds it, as a percentage. Saved as '{column}', a share from 0 to 1."
        shares.append(predictions.columns.get_loc(column))
    return names, notes, shares


def shown_prediction_table(predictions: pd.DataFrame, target: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The predictions of a table as the page shows them: headers that name the target and the classes,
    probabilities as percentages. The file saved keeps Studio's column names (``prediction (Studio)``,
    ``probability of <class> (Studio)``) and plain numbers, which scripts read; the user's columns as they are.
    (The page itself writes the percentages only for the cells on screen: see PredictionTableModel.)"""
    names, notes, shares = prediction_headers(predictions, target)
    shown = predictions.copy()
    for position in shares:
        shown.isetitem(position, [percent(v) for v in predictions.iloc[:, position]])
    return shown.rename(columns=names), notes


class PredictionTableModel(DataFrameTableModel):
    """The page's table of predictions. The probability columns hold shares and are written as percentages (as
    ``shown_prediction_table`` writes them) cell by cell, as the view asks for them: writing a million rows' up
    front held the window for seconds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self._shares: frozenset[int] = frozenset()

    def set_frame(self, frame: pd.DataFrame, header_notes: dict[str, str] | None = None,
                  shares: Iterable[int] = ()) -> None:
        """``shares``: the positions of the columns to show as percentages."""
        self._shares = frozenset(shares)
        super().set_frame(frame, header_notes)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() in self._shares:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                return percent(self.frame().iat[index.row(), index.column()])
            return None  # text, as the other columns of words: never "missing" grey, aligned left
        return super().data(index, role)


class PredictPanel(Panel):
    step = Step.PREDICT
    model_opened = Signal()
    predicted = Signal()
    predictions_saved = Signal(str)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.bundle: ModelBundle | None = None
        self.predictions: pd.DataFrame | None = None
        self._picture_predictions: pd.DataFrame | None = None  # as predicted, before the confidence needed
        self._data_path = ""
        self.runner = JobRunner(self)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.cancelled.connect(self._on_runner_cancelled)
        self.runner.progressed.connect(self._on_runner_progressed)
        self.runner.finished.connect(self._update_buttons)
        self.model_button = QPushButton("Open a model…")
        self.model_button.setObjectName("primary")
        self.model_button.clicked.connect(self._on_model_clicked)
        self.data_button = QPushButton("Predict a table…")
        self.data_button.clicked.connect(self._on_data_clicked)
        self.database_button = QPushButton("Predict from a database…")
        self.database_button.setToolTip("New rows from a database table or query (SQLite, PostgreSQL, MySQL, ...).")
        self.database_button.clicked.connect(self.open_database_dialog)
        self.database_dialog: DatabaseDialog | None = None
        self._reading_database = False
        self.save_button = QPushButton("Save predictions…")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.pictures_button = QPushButton("Choose pictures…")
        self.pictures_button.setToolTip("Predict one or more picture files.")
        self.pictures_button.clicked.connect(self._on_pictures_clicked)
        self.folder_button = QPushButton("Choose a folder…")
        self.folder_button.setToolTip("Predict every picture in a folder and the folders inside it.")
        self.folder_button.clicked.connect(self._on_folder_clicked)
        self.confidence_label = QLabel("Confidence needed:")
        self.confidence_spin = QSpinBox()
        self.confidence_spin.setRange(0, 100)
        self.confidence_spin.setSuffix("%")
        self.confidence_spin.setValue(round(DEFAULT_CONFIDENCE * 100))
        confidence_help = ("A picture the model is less sure about than this is called \"not sure\" instead of "
                           "given a class. Changing it labels the pictures again at once; nothing is predicted "
                           "again.")
        self.confidence_label.setToolTip(confidence_help)
        self.confidence_spin.setToolTip(confidence_help)
        self.confidence_spin.valueChanged.connect(self._on_confidence_changed)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)  # room for "1,234 of 5,678 pictures"
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.runner.cancel)
        self.model_label = QLabel("No model open.")
        self.model_label.setWordWrap(True)
        self.banner = MessageBanner()
        self.table_model = PredictionTableModel(parent=self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setResizeContentsPrecision(SIZE_TO_ROWS)
        self.grid = ImageGridWidget(empty_text=DROP_HINT)
        self.grid.empty_label.setStyleSheet("color: #555; border: 2px dashed #b8c2cc; border-radius: 6px; "
                                            "padding: 24px;")
        # Pictures beside their table: height is what a small screen lacks. The person may give either more room.
        self.results = QSplitter(Qt.Orientation.Horizontal)
        self.results.setChildrenCollapsible(False)
        self.results.addWidget(self.grid)
        self.results.addWidget(self.table)
        self.results.setStretchFactor(0, 1)
        self.results.setStretchFactor(1, 1)
        buttons = QHBoxLayout()
        for widget in (self.model_button, self.data_button, self.database_button, self.pictures_button,
                       self.folder_button, self.save_button, self.progress, self.stop_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        predictions_bar = QHBoxLayout()
        predictions_bar.addWidget(section_label("Predictions"))
        predictions_bar.addStretch(1)
        predictions_bar.addWidget(self.confidence_label)
        predictions_bar.addWidget(self.confidence_spin)
        self.header = page_header("Predict", NO_MODEL_SUBTITLE)
        self.subtitle = next(label for label in self.header.findChildren(QLabel)
                             if label.objectName() != "pageTitle")
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addLayout(buttons)
        self.retrain = RetrainControl(project, self.banner, FILE_FILTER, self)  # "Train again with new rows…"
        self.model_opened.connect(self._on_model_opened)
        layout.addWidget(self.retrain)
        layout.addWidget(self.banner)
        layout.addWidget(section_label("Model"))
        layout.addWidget(self.model_label)
        layout.addLayout(predictions_bar)
        layout.addWidget(self.results, 1)
        self.setAcceptDrops(True)
        # Qt hands a drop to the first widget under the pointer that accepts drops; the grid's list (which takes
        # drops in icon mode) would swallow the pictures dropped on it, so the page takes them instead.
        self.grid.view.setAcceptDrops(False)
        self._relabel_timer = QTimer(self)
        self._relabel_timer.setSingleShot(True)
        self._relabel_timer.setInterval(RELABEL_MS)
        self._relabel_timer.timeout.connect(self._on_relabel_timer_timeout)
        self._relabel_pending = False
        self._job = ""
        self._show_mode()
        self._update_buttons()

    def is_picture_model(self) -> bool:
        return self.bundle is not None and is_image_model(self.bundle)

    def open_model(self, path: str | Path, trust: bool = False) -> bool:
        """Open a model file in the background. A file in the older (pickle) format is opened only after the
        person says they trust it (``trust``); until then nothing in it runs."""

        def job(stop: StopCheck) -> Generator[Progress, None, ModelBundle | NeedsTrust]:
            try:
                return (yield from load_job(path, stop, trust))
            except UntrustedModelFileError as exc:
                return NeedsTrust(str(path), str(exc))

        return self._start("model", job)

    def predict_file(self, path: str | Path) -> bool:
        if self.bundle is None:
            return False
        bundle, self._data_path = self.bundle, str(path)
        return self._start("predict", lambda stop: predict_job(bundle, path, stop))

    def open_database_dialog(self) -> DatabaseDialog:
        """The database dialog, to predict the rows of a table or query (the training data's database first)."""
        table = self.project.table
        location = default_location(table.source.url) if isinstance(table, DatabaseTable) else ""
        self.database_dialog = DatabaseDialog(self, location, action="Predict")
        self.database_dialog.chosen.connect(self.predict_database)
        self.database_dialog.open()
        return self.database_dialog

    def predict_database(self, choice: DatabaseChoice) -> bool:
        if self.bundle is None:
            return False
        bundle, self._data_path = self.bundle, database_data_path(choice.source)
        self._reading_database = True  # read in chunks: the page shows the progress, with Stop
        return self._start("predict", lambda stop: predict_database_job(bundle, choice.login, choice.source, stop))

    def predict_pictures(self, paths: list[str]) -> bool:
        """Predict the pictures among ``paths`` (files, and folders read with the folders inside them)."""
        if not self.is_picture_model() or not paths:
            return False
        bundle, inputs, confidence = self.bundle, list(paths), self.confidence()
        assert bundle is not None
        self._data_path = inputs[0] if len(inputs) == 1 else str(Path(inputs[0]).parent / "pictures")
        self.progress.setRange(0, 0)  # busy until the first count of pictures arrives
        self.progress.setFormat("Reading the pictures")
        return self._start("pictures", lambda stop: predict_images(bundle, inputs, confidence, stop))

    def confidence(self) -> float:
        return self.confidence_spin.value() / 100

    def save_predictions(self, path: str | Path) -> bool:
        if self.predictions is None:
            return False
        predictions = self.predictions
        return self._start("save", lambda stop: save_predictions_job(path, predictions, stop))

    def _start(self, job: str, factory) -> bool:
        if self.runner.is_running():
            return False
        self._job = job
        self.banner.clear()
        started = self.runner.start(factory)
        self._update_buttons()
        return started

    def _on_model_clicked(self) -> None:
        folder = str(Path(self.project.exported_path).parent) if self.project.exported_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", folder,
                                              f"Studio models (*{MODEL_SUFFIX} *{OLD_SUFFIX});;All files (*)")
        if path:
            self.open_model(path)

    def _on_data_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Predict a table", "", FILE_FILTER)
        if path:
            self.predict_file(path)

    def _on_pictures_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Choose pictures to predict", "", PICTURE_FILTER)
        if paths:
            self.predict_pictures(list(paths))

    def _on_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of pictures to predict")
        if folder:
            self.predict_pictures([folder])

    # -- dropping pictures ---------------------------------------------------------------------------------------
    def _dropped_paths(self, event: QDragEnterEvent | QDropEvent) -> list[str]:
        """The files and folders being dropped, when a picture model is open and the page is free; a table model
        takes no drops, as before pictures came."""
        if not self.is_picture_model() or self.runner.is_running():
            return []
        return dropped_local_paths(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._dropped_paths(event)
        if paths:
            event.acceptProposedAction()
            self.predict_pictures(paths)
        else:
            event.ignore()

    def _on_save_clicked(self) -> None:
        suggested = str(Path(self._data_path).with_name(Path(self._data_path).stem + "-predictions.csv"))
        typed, chosen_filter = QFileDialog.getSaveFileName(self, "Save predictions", suggested,
                                                           ";;".join(SAVE_FILTERS))
        if not typed:
            return
        path = with_format_extension(typed, chosen_filter)
        # The dialog asked before replacing the name as typed; a file under the completed name was not asked about.
        if path != typed and Path(path).exists():
            answer = QMessageBox.question(self, "Save predictions",
                                          as_written(f"{Path(path).name} already exists. Replace it?"))
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.save_predictions(path)

    def _on_runner_succeeded(self, value: object) -> None:
        if self._job == "model" and isinstance(value, NeedsTrust):
            # Asked once the job has ended, so the page can open the file again at once when trusted.
            QTimer.singleShot(0, lambda: self._ask_trust(value))
        elif self._job == "model":
            assert isinstance(value, ModelBundle)
            self.bundle, self.predictions, self._picture_predictions = value, None, None
            self.table_model.set_frame(pd.DataFrame())
            self.grid.set_rows([])
            self._describe_model(value)
            if value.warning:
                self.banner.show_message(value.warning, "warning")
            self._show_mode()
            self.model_opened.emit()
        elif self._job == "pictures":
            assert isinstance(value, pd.DataFrame)
            self._picture_predictions = value
            self._show_mode()
            self._show_pictures()
            self.predicted.emit()
        elif self._job == "predict":
            assert isinstance(value, pd.DataFrame)
            self.predictions = value
            # The headers renamed (no copy of the rows) and the percentages written as the cells are shown.
            names, header_notes, shares = prediction_headers(value, self.bundle.target if self.bundle else "")
            self.table_model.set_frame(value.rename(columns=names), header_notes, shares)
            self.table.resizeColumnsToContents()
            # How rows unlike the training data were handled (unseen categories, words in numbers, ...).
            notes = "".join(f" {note}" for note in value.attrs.get("notes", []))
            self.banner.show_message(f"Predicted {plural(len(value), 'row')} of {Path(self._data_path).name}.{notes}",
                                     "success")
            self.predicted.emit()
        elif self._job == "save":
            self.banner.show_message(f"Saved the predictions to {value}.", "success")
            self.predictions_saved.emit(str(value))

    def _ask_trust(self, needs: NeedsTrust) -> None:
        name = Path(needs.path).name
        answer = QMessageBox.question(
            self, "Open a model in the older format?",
            as_written(f"{needs.reason}\n\nOpen {name} anyway? Choose Yes only if you made it yourself or trust who "
                       "sent it."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.open_model(needs.path, trust=True)
        else:
            self.banner.show_message(f"{name} was not opened: it is in the older model format, which can run "
                                     "programs when opened.", "warning")

    def _on_runner_failed(self, message: str, details: str) -> None:
        self.banner.show_message(message, "error", details)

    def _on_runner_cancelled(self) -> None:
        if self._job == "pictures":
            self.banner.show_message("Stopped: the pictures were not predicted.", "warning")
        elif self._reading_database:
            self.banner.show_message("Stopped: the rows were not read or predicted.", "warning")

    def _on_runner_progressed(self, item: object) -> None:
        if (self._job != "pictures" and not self._reading_database) or not isinstance(item, Progress):
            return
        if item.fraction is not None:
            self.progress.setRange(0, 100)
            self.progress.setValue(round(item.fraction * 100))
        self.progress.setFormat(item.message or item.stage)

    # -- picture models ------------------------------------------------------------------------------------------
    def _describe_model(self, bundle: ModelBundle) -> None:
        """What the model file holds, in words. A picture model's are run together into a short paragraph (the
        pictures need the room), its "columns" said as pictures, and when and how it was made left to the
        tooltip."""
        name = f"<b>{html.escape(Path(bundle.path).name, quote=False)}</b>"
        words = describe_bundle(bundle)
        created = str(bundle.metadata.get("created", ""))
        if created:  # the file keeps the moment as an ISO stamp; people read their own clock
            words = words.replace(f"Made {created}", f"Made {local_time(created)}")
        if not is_image_model(bundle):
            # Column and class names are the user's text: shown as written, never read as markup.
            self.model_label.setText(f"{name}<br>" + html.escape(words, quote=False).replace("\n", "<br>"))
            self.model_label.setToolTip("")
            return
        lines = words.split("\n")
        made = [line for line in lines if line.startswith("Made ")]
        lines = [line for line in lines if line not in made]
        self.model_label.setText(f"{name} · " + html.escape(" ".join(lines), quote=False))
        self.model_label.setToolTip(html.escape("\n".join(made), quote=False).replace("\n", "<br>"))

    def _on_model_opened(self) -> None:
        # Training again takes a table of new rows: a picture model is not offered it.
        self.retrain.set_bundle(None if self.is_picture_model() else self.bundle)

    def _show_mode(self) -> None:
        """The page for the kind of model open: a table's buttons and table, or a picture model's."""
        pictures = self.is_picture_model()
        self.subtitle.setText(PICTURE_SUBTITLE if pictures else TABLE_SUBTITLE if self.bundle else NO_MODEL_SUBTITLE)
        self.data_button.setVisible(not pictures)
        self.database_button.setVisible(not pictures)
        self.retrain.setVisible(not pictures)
        self.grid.setVisible(pictures)
        # Until pictures are predicted, their place is one large drop zone.
        self.table.setVisible(not pictures or self._picture_predictions is not None)
        for widget in (self.pictures_button, self.folder_button, self.confidence_label, self.confidence_spin):
            widget.setVisible(pictures)

    def _on_confidence_changed(self, _value: int) -> None:
        # Labelled again once the value rests: holding an arrow key must not relabel thousands of pictures per step.
        if self._picture_predictions is not None:
            self._relabel_timer.start()

    def _on_relabel_timer_timeout(self) -> None:
        if self.runner.is_running():
            self._relabel_pending = True  # the pictures being predicted now get the new value when they arrive
        else:
            self._show_pictures()

    def _show_pictures(self) -> None:
        """The pictures' predictions at the confidence needed now: captions, table and the sentence above."""
        raw = self._picture_predictions
        if raw is None:
            return
        confidence = self.confidence()
        predictions = with_confidence(raw, confidence)
        self.predictions = predictions
        self.grid.set_rows(picture_rows(predictions, confidence))
        shown, notes = shown_picture_table(predictions)
        self.table_model.set_frame(shown, notes)
        self.table.resizeColumnsToContents()
        extra = "".join(f" {note}" for note in predictions.attrs.get("notes", []))
        self.banner.show_message(f"{summary(predictions)}{extra} Next: double-click a picture to see it large, or "
                                 "save the predictions as a table.", "success")

    def _update_buttons(self) -> None:
        busy = self.runner.is_running()
        self.model_button.setEnabled(not busy)
        self.data_button.setEnabled(not busy and self.bundle is not None)
        self.database_button.setEnabled(not busy and self.bundle is not None)
        self.save_button.setEnabled(not busy and self.predictions is not None)
        pictures = self.is_picture_model()
        self.pictures_button.setEnabled(not busy and pictures)
        self.folder_button.setEnabled(not busy and pictures)
        predicting = busy and (self._job == "pictures" or self._reading_database)
        self._reading_database = self._reading_database and busy
        self.progress.setVisible(predicting)
        self.stop_button.setVisible(predicting)
        if not busy and self._relabel_pending:
            self._relabel_pending = False
            self._show_pictures()

    def shutdown(self) -> None:
        if self.database_dialog is not None:
            self.database_dialog.shutdown()
        self.runner.stop()
        self.retrain.shutdown()
        self.grid.shutdown()
