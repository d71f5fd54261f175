"""Composition root: the QApplication, the settings folder, one Project and the MainWindow."""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sqlite3
import sys
from pathlib import Path

import PySide6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

import studio
from studio.core.common.errors import StudioError
from studio.core.common.logs import log_file_path, start_logging
from studio.core.common.temp_files import clean_stale_search_folders
from studio.core.project import Project, Step
from studio.core.store.model_file import MODEL_SUFFIX, OLD_SUFFIX
from studio.core.store.runs import RunStore, runs_path_for
from studio.core.store.settings import default_settings_dir, load_settings, save_settings
from studio.platform_check import tell_without_qt, window_problem
from studio.ui.app_icon import app_icon
from studio.ui.last_resort import LastResortHandler
from studio.ui.main_window import MainWindow
from studio.ui.style import apply_style
from studio.ui.widgets.about_dialog import HelpMenu, StudioPlaces
from studio.workers import torch_libraries
from studio.workers.gc_guard import GuiThreadGarbageCollector


def create_window(settings_dir: Path | None = None, runs_path: Path | None = None) -> MainWindow:
    folder = settings_dir or default_settings_dir()
    settings = load_settings(folder)
    project = Project()
    # Opened on the history's own thread (below), not while the window starts: a history on a slow drive, or
    # locked by another program, never holds the window up.
    project.run_store = RunStore(runs_path_for(str(runs_path) if runs_path else settings.runs_path), open_now=False)
    window = MainWindow(project, settings, lambda: save_settings(folder, settings))
    # Preparation choices are remembered per dataset next to the settings file.
    window.prep_panel.settings_dir = folder
    window.help_menu = HelpMenu(window, lambda: StudioPlaces(  # type: ignore[attr-defined]
        folder / "settings.json",
        project.run_store.path if project.run_store else runs_path_for(settings.runs_path), log_file_path()))
    open_run_store_in_background(project)
    return window


def open_run_store_in_background(project: Project) -> None:
    """Open the run history on the history's thread; a history that cannot be used is said, in words, and runs
    trained meanwhile are kept beside it rather than lost (RunStore.add_many)."""
    store = project.run_store
    if store is None:
        return

    def work() -> str:
        try:
            store.ensure_open()
        except (StudioError, sqlite3.Error, OSError) as exc:
            return str(exc)
        return store.damage_note

    def done(problem: object) -> None:
        if problem:
            project.report_store_problem(str(problem))
        project.note_runs_added(0)  # the Runs page reads the history now that it is open

    project.store_writer(work, done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="studio", description="Studio: train a model on a table, no code.")
    parser.add_argument("file", nargs="?", help="a CSV, Excel or Parquet file, a folder of pictures, or a model file "
                        f"({MODEL_SUFFIX}) to open on the Predict page")
    parser.add_argument("--sample", action="store_true", help="open the bundled sample dataset")
    parser.add_argument("--settings-dir", type=Path, help="where settings are kept")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    problem = None if QApplication.instance() else window_problem()
    if problem:  # say what to install, rather than let Qt abort with a message about plugins
        tell_without_qt(problem)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Studio")
    log_path = start_logging()
    logging.getLogger("studio").info("Studio %s started: Python %s, Qt %s, %s; log %s", studio.__version__,
                                     platform.python_version(), PySide6.__version__, platform.platform(), log_path)
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("studio")  # matches packaging/linux/studio.desktop, so docks show its icon
    apply_style(app)
    collector = GuiThreadGarbageCollector(app)  # noqa: F841 - lives as long as the app, parented to it
    clean_stale_search_folders()  # the prepared rows of searches whose Studio was killed outright
    torch_libraries.install()
    window = create_window(args.settings_dir)
    app.installEventFilter(FileOpenHandler(app, window))
    LastResortHandler(window.show_unexpected, app).install()
    window.show()
    window.make_kind_pages_when_idle()
    if args.file and args.file.lower().endswith((MODEL_SUFFIX, OLD_SUFFIX)):
        open_model_file(window, args.file)
    elif args.file:
        window.data_panel.open_path(args.file)
    elif args.sample:
        window.data_panel.open_sample()
    quit_after_ms = os.environ.get(QUIT_AFTER_ENV, "")
    if quit_after_ms.isdigit():
        QTimer.singleShot(int(quit_after_ms), lambda: _report_and_quit(app, window, QUIT_WAIT_S * 1000))
    return app.exec()


# Smoke tests of an installed or packaged Studio (packaging/smoke_test.py): quit after this many milliseconds (and
# once the file given has been read, waiting up to QUIT_WAIT_S more) and print what the window shows, so a script
# can check the real app without a person.
QUIT_AFTER_ENV = "STUDIO_QUIT_AFTER_MS"
QUIT_WAIT_S = 120


def open_model_file(window: MainWindow, path: str) -> None:
    """A model file given on the command line (or by the file manager): the Predict page, with the model."""
    window.go_to(Step.PREDICT)
    window.predict_panel.open_model(path)


class FileOpenHandler(QObject):
    """macOS hands a file double-clicked in the Finder to Studio as a FileOpen event, not as an argument."""

    def __init__(self, app: QApplication, window: MainWindow) -> None:
        super().__init__(app)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
            if event.file().lower().endswith((MODEL_SUFFIX, OLD_SUFFIX)):
                open_model_file(self._window, event.file())
            else:
                self._window.data_panel.open_path(event.file())
            return True
        return super().eventFilter(watched, event)


def _report_and_quit(app: QApplication, window: MainWindow, wait_ms: int) -> None:
    reading = (window.predict_panel.runner, window.data_panel.loader)
    if wait_ms > 0 and any(runner.is_running() for runner in reading):
        QTimer.singleShot(200, lambda: _report_and_quit(app, window, wait_ms - 200))
        return
    bundle = window.predict_panel.bundle
    print(f"Studio window shown: {window.isVisible()}; page: {window.current_step.label}; "
          f"model: {Path(bundle.path).name if bundle else 'none'}; "
          f"data: {window.project.dataset.name if window.project.dataset else 'none'}", flush=True)
    window.close()
    app.quit()


if __name__ == "__main__":
    sys.exit(main())
