"""Render every wizard page to PNG with the sample data loaded (``studio screenshots --out DIR``).

The README's screenshots come from here, so they always show the current window.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

SAMPLE_TARGET = "species"
PICTURE_CLASSES = ("circle", "square", "triangle")
WINDOW_SIZE = (1180, 780)
SEARCH_SECONDS = 10.0


def render_all(out_dir: Path, create_window: Callable[[Path, Path], MainWindow],
               timeout_s: float = 120.0, size: tuple[int, int] = WINDOW_SIZE) -> list[Path]:
    """Render every page of a window made by ``create_window(settings_dir, runs_path)`` (the composition root's,
    handed down by the entry point) into ``out_dir``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from studio.core.project import Step
    from studio.core.search.modes import TuneMode
    from studio.resources import sample_dataset
    from studio.ui.style import apply_style
    from studio.workers.gc_guard import GuiThreadGarbageCollector

    app = QApplication.instance() or QApplication([])
    apply_style(app)  # type: ignore[arg-type]
    GuiThreadGarbageCollector(app)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as scratch:
        # A scratch run history: screenshots never touch the user's own.
        window = create_window(Path(scratch) / "settings", Path(scratch) / "runs.sqlite3")
        window.resize(*size)
        window.show()

        def wait_for(condition: Callable[[], bool], what: str) -> None:
            deadline = time.monotonic() + timeout_s
            while not condition():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Timed out waiting for {what}.")
                app.processEvents()
                time.sleep(0.01)

        def settle() -> None:
            for _ in range(8):  # let the plot timer and layouts catch up before grabbing
                app.processEvents()
                time.sleep(0.03)

        def shoot(number: int, step: Step) -> None:
            settle()
            path = out_dir / f"{number:02d}-{step.value}.png"
            window.grab().save(str(path))
            written.append(path)

        def shoot_named(name: str) -> None:
            settle()
            path = out_dir / f"{name}.png"
            window.grab().save(str(path))
            written.append(path)

        try:
            window.data_panel.open_sample()
            wait_for(lambda: bool(window.project.profiles), "the sample dataset")
            window.data_panel.target_combo.setCurrentText(SAMPLE_TARGET)
            shoot(1, Step.DATA)
            for number, step in enumerate((Step.PREPARE, Step.SPLIT, Step.MODEL), start=2):
                window.go_to(step)
                if step is Step.PREPARE:  # relations to the target and the preview come from workers
                    wait_for(lambda: window.prep_panel.insights is not None
                             and window.prep_panel.preview is not None, "the Prepare page")
                shoot(number, step)
                if step is Step.PREPARE:  # the summary above; and the workbench that "Customise…" opens
                    window.prep_panel.customise_button.click()
                    shoot_named("02-prepare-customise")
            window.go_to(Step.TRAIN)
            window.train_panel.start()
            wait_for(lambda: window.project.result is not None and not window.train_panel.is_training(),
                     "training")
            shoot(5, Step.TRAIN)
            window.go_to(Step.RESULTS)
            shoot(6, Step.RESULTS)
            view = window.results_panel.view
            for title in ("Right and wrong", "Curves", "Diagnosis", "Which columns matter"):
                view.tabs.setCurrentIndex(view.tab_index(title))
                if title == "Which columns matter":
                    view.explain.compute_importance()
                    wait_for(lambda: view.explain.importance is not None, "column importance")
                    wait_for(lambda: not view.explain.runner.is_running(), "column importance to end")
                shoot_named(f"06-results-{title.lower().replace(' ', '-')}")
            view.explain.views.setCurrentIndex(2)
            view.explain.column_combo.setCurrentText("bill_length_mm")
            view.explain.compute_dependence()
            wait_for(lambda: view.explain.dependence is not None, "partial dependence")
            shoot_named("06-results-effect-of-one-column")
            view.tabs.setCurrentIndex(0)
            window.go_to(Step.EXPORT)
            model_path = Path(scratch) / "penguins-species.studio"
            window.export_panel.save_to(model_path)
            wait_for(lambda: window.project.exported_path is not None, "saving the model")
            shoot(7, Step.EXPORT)
            window.go_to(Step.PREDICT)
            window.predict_panel.open_model(model_path)
            wait_for(lambda: window.predict_panel.bundle is not None, "opening the model")
            settle()
            window.predict_panel.predict_file(sample_dataset())
            wait_for(lambda: window.predict_panel.predictions is not None, "predicting")
            shoot(8, Step.PREDICT)
            # A second run with another model, so the Runs page has something to compare.
            window.go_to(Step.MODEL)
            first_run = window.project.run_id
            window.model_panel.select_model("logistic_regression")
            window.go_to(Step.TRAIN)
            window.train_panel.start()
            wait_for(lambda: not window.train_panel.is_training()
                     and window.project.run_id not in (None, first_run), "the second training")
            window.go_to(Step.RUNS)
            runs = window.runs_panel
            wait_for(lambda: not runs.is_reading(), "the Runs page to read the history")  # read on a worker
            shoot(9, Step.RUNS)
            runs.select_ids([r for r in runs.records][:2])
            runs.compare_selected()
            wait_for(lambda: not runs.is_reading(), "the runs to compare")
            shoot_named("09-runs-compare")
            # Finding the best model: the Model step's automatic mode, then a short search on the Train page.
            window.go_to(Step.MODEL)
            window.model_panel.mode_choice.buttons[TuneMode.AUTO].click()
            shoot_named("04-model-find-the-best")
            window.project.set_tuning(replace(window.project.tuning, budget_s=SEARCH_SECONDS))
            window.go_to(Step.TRAIN)
            window.train_panel.start()
            wait_for(lambda: not window.train_panel.is_training(), "the search for the best model")
            shoot_named("05-train-search")
            _shoot_pictures(window, Path(scratch), wait_for, shoot_named)
        finally:
            window.shutdown()
            window.close()
    return written


def draw_pictures(root: Path, per_class: int, seed: int = 0) -> Path:
    """A class-per-folder tree of drawn shapes on noisy ground, for the pictures' screenshots (no download)."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for shape in PICTURE_CLASSES:
        (root / shape).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            image = Image.fromarray(rng.integers(0, 90, (48, 48, 3), dtype=np.uint8), "RGB")
            draw = ImageDraw.Draw(image)
            x, y, side = (int(v) for v in (rng.integers(2, 18), rng.integers(2, 18), rng.integers(18, 28)))
            colour = tuple(int(v) for v in rng.integers(140, 256, 3))
            if shape == "circle":
                draw.ellipse((x, y, x + side, y + side), fill=colour)
            elif shape == "square":
                draw.rectangle((x, y, x + side, y + side), fill=colour)
            else:
                draw.polygon([(x, y + side), (x + side, y + side), (x + side // 2, y)], fill=colour)
            image.save(root / shape / f"{shape}_{index:03d}.png")
    return root


def _shoot_pictures(window: MainWindow, scratch: Path, wait_for: Callable[[Callable[[], bool], str], None],
                    shoot_named: Callable[[str], None]) -> None:
    """The pictures' pages: a drawn folder opened, prepared, a small network trained, its mistakes, predictions."""
    from studio.core.project import ModelConfig, Step

    folder = draw_pictures(scratch / "shapes", per_class=30)
    window.go_to(Step.DATA)
    window.data_panel.open_path(folder)
    wait_for(lambda: window.project.images is not None and window.project.images.check is not None,
             "the pictures to be read")
    page = window.page(Step.DATA)
    wait_for(lambda: window.stack.currentWidget() is page, "the pictures' Data page")
    shoot_named("10-pictures-data")
    window.go_to(Step.PREPARE)
    prep = window.page(Step.PREPARE)
    wait_for(lambda: all(getattr(tile, "image", None) is not None for tile in getattr(prep, "tiles", [])),
             "the augmentation preview")
    shoot_named("11-pictures-prepare")
    from studio.core.search.modes import TuneMode

    window.project.set_tuning(replace(window.project.tuning, mode=TuneMode.MANUAL))  # the table's search was last
    window.project.set_model(ModelConfig("image_cnn").with_param("epochs", 30))
    window.go_to(Step.TRAIN)
    window.train_panel.start()
    wait_for(lambda: not window.train_panel.is_training() and window.project.result is not None
             and bool(window.project.result.image_cases), "training on the pictures")
    shoot_named("12-pictures-train")
    window.go_to(Step.RESULTS)
    tabs = window.results_panel.view.tabs
    cases = window.project.result.image_cases if window.project.result is not None else ()
    shown = "Mistakes" if any(case.true != case.predicted for case in cases) else "Least sure"
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == shown))
    shoot_named("13-pictures-results")
    model_path = scratch / "shapes.studio"
    window.export_panel.save_to(model_path)
    wait_for(lambda: window.project.exported_path == str(model_path), "saving the picture model")
    window.go_to(Step.PREDICT)
    window.predict_panel.open_model(model_path)
    wait_for(lambda: window.predict_panel.is_picture_model() and not window.predict_panel.runner.is_running(),
             "opening the picture model")
    window.predict_panel.predict_pictures([str(draw_pictures(scratch / "new", per_class=4, seed=3))])
    wait_for(lambda: window.predict_panel.predictions is not None
             and not window.predict_panel.runner.is_running(), "predicting pictures")
    shoot_named("14-pictures-predict")
