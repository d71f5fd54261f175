"""Composition root: the QApplication, the settings folder, one Project and the MainWindow."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from studio.core.common.errors import StudioError
from studio.core.project import Project
from studio.core.store.runs import RunStore, runs_path_for
from studio.core.store.settings import default_settings_dir, load_settings, save_settings
from studio.ui.main_window import MainWindow
from studio.ui.style import apply_style
from studio.workers import torch_libraries
from studio.workers.gc_guard import GuiThreadGarbageCollector


def create_window(settings_dir: Path | None = None, runs_path: Path | None = None) -> MainWindow:
    folder = settings_dir or default_settings_dir()
    settings = load_settings(folder)
    project = Project()
    project.run_store = open_run_store(str(runs_path) if runs_path else settings.runs_path)
    window = MainWindow(project, settings, lambda: save_settings(folder, settings))
    # Preparation choices are remembered per dataset next to the settings file.
    window.prep_panel.settings_dir = folder
    return window


def open_run_store(runs_path: str) -> RunStore | None:
    """The run history; a folder that cannot be created leaves runs unrecorded (the Runs page says so)."""
    try:
        return RunStore(runs_path_for(runs_path))
    except (StudioError, sqlite3.Error, OSError) as exc:
        print(f"Studio: runs are not recorded: {exc}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="studio", description="Studio: train a model on a table, no code.")
    parser.add_argument("file", nargs="?", help="a CSV, Excel or Parquet file to open")
    parser.add_argument("--sample", action="store_true", help="open the bundled sample dataset")
    parser.add_argument("--settings-dir", type=Path, help="where settings are kept")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Studio")
    apply_style(app)
    collector = GuiThreadGarbageCollector(app)  # noqa: F841 - lives as long as the app, parented to it
    torch_libraries.install()
    window = create_window(args.settings_dir)
    window.show()
    window.make_kind_pages_when_idle()
    if args.file:
        window.data_panel.open_path(args.file)
    elif args.sample:
        window.data_panel.open_sample()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
