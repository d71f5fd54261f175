"""``studio train`` and ``studio predict`` on pictures: a class-per-folder tree or a table of paths in, the test
metrics as the last JSON line, a fixed split by path, predictions to CSV; and bad pictures, each said in a plain
sentence while the rest goes on.

Pictures are 16 pixels across and few per class, so every training here takes a second or two.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.serve.images import is_image_model
from studio.core.store.model_file import load_model
from tests.cli_helpers import assert_one_error_line, last_json
from tests.core.test_images_data import (
    SHAPES,
    animated_gif,
    cmyk_jpeg,
    draw,
    draw_folder,
    near_copy,
    png_claiming,
    tiff_16_bit,
    truncated_jpeg,
)

pytest.importorskip("torch")

PIXELS = ["--model", "image_pixels"]
SMALL_NETWORK = ["--model", "image_cnn", "--param", "epochs=2", "width=8", "depth=2", "batch_size=16", "device=cpu"]
CLASSES = set(SHAPES)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return draw_folder(tmp_path_factory.mktemp("cli-images") / "shapes", SHAPES, per_class=10, size=16)


@pytest.fixture(scope="module")
def pixel_model(shapes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-model") / "shapes.studio"
    assert run_cli(["train", str(shapes), *PIXELS, "--out", str(out)]) == 0
    return out


def train(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_cli(["train", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def last_error(err: str) -> str:
    """The one ``error:`` line a failed command ends with (plain warnings may come before it)."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), err
    assert sum(line.startswith("error: ") for line in lines) == 1 and "Traceback" not in err, err
    return lines[-1]


# -- train ---------------------------------------------------------------------------------------------------------
def test_train_a_folder_needs_no_target_and_ends_with_the_metrics(shapes: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pixels.studio"
    code, stdout, err = train([str(shapes), *PIXELS, "--out", str(out)], capsys)
    assert code == 0, err
    metrics = last_json(stdout)
    assert {"accuracy", "balanced_accuracy", "f1_macro"} <= set(metrics)
    assert "Trained pixel baseline on " in stdout and " pictures (" in stdout
    for line in ("Reading 30 pictures in 3 classes in ", "Checking pictures: Reading 30 pictures",
                 "Training pixel baseline to tell 3 classes apart on 30 pictures, read at 16 × 16 pixels.",
                 "Reading pictures: Reading 30 pictures at 16 × 16 pixels", "Done: Training finished"):
        assert line in err, (line, err)
    bundle = load_model(out)
    assert is_image_model(bundle) and bundle.metadata["classes"] == sorted(SHAPES)
    assert sum(bundle.metadata["split_sizes"]) == 30


@pytest.mark.usefixtures("without_torch")
def test_without_pytorch_a_folder_still_trains_the_pixel_baseline(shapes: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fallback.studio"
    code, stdout, err = train([str(shapes), "--out", str(out)], capsys)
    assert code == 0, err
    assert "Training the pixel baseline (image_pixels) instead." in err
    assert load_model(out).metadata["model"] == "image_pixels" and "accuracy" in last_json(stdout)
    code, _, err = train([str(shapes), "--model", "image_cnn", "--out", str(out)], capsys)
    assert code == 2 and "PyTorch" in last_error(err)


def test_train_the_small_network_on_listed_pictures(shapes: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """--train-rows by path: exactly the listed test pictures are scored, and the network holds its
    early-stopping pictures out of the listed training ones."""
    test = [f"{name}/{i:03d}.png" for name in SHAPES for i in (0, 1)]
    learn = [f"{name}/{i:03d}.png" for name in SHAPES for i in range(2, 10)]
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": learn[:-1], "test": test}), encoding="utf-8")
    out = tmp_path / "cnn.studio"

    code, stdout, err = train([str(shapes), *SMALL_NETWORK, "--train-rows", str(split), "--val-size", "0.3",
                               "--out", str(out)], capsys)
    assert code == 0, err
    assert "1 picture in neither list is not used." in err
    assert "--train-rows fixes the pictures; --val-size and --test-size are ignored." in err
    assert "Epoch 1 of 2: train loss" in err and "validation loss" in err
    bundle = load_model(out)
    assert bundle.metadata["split_sizes"] == [len(learn) - 1, 0, len(test)]
    network = bundle.pipeline.steps[-1][1]
    assert len(network.validation_loss_curve_) == network.n_epochs_ <= 2, "validation came out of training"
    predicted = bundle.pipeline.predict(pd.DataFrame({"image": [str(shapes / p) for p in test]}))
    truth = np.array([p.split("/")[0] for p in test])
    assert last_json(stdout)["accuracy"] == pytest.approx(float((predicted == truth).mean()))


def test_a_split_file_naming_a_picture_that_is_not_there_is_refused(shapes: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["circle/002.png"], "test": ["circle/999.png"]}), encoding="utf-8")
    code, _, err = train([str(shapes), *PIXELS, "--train-rows", str(split), "--out", str(tmp_path / "m")], capsys)
    assert code == 2
    assert last_error(err) == (f"error: circle/999.png, listed under 'test' in split.json, is not a picture in "
                               f"{shapes}.")
    split.write_text(json.dumps({"train": [1, 2], "test": [3]}), encoding="utf-8")
    code, _, err = train([str(shapes), *PIXELS, "--train-rows", str(split), "--out", str(tmp_path / "m")], capsys)
    assert code == 2 and "'train' must be a list of paths relative to the folder" in last_error(err)


def test_a_split_file_that_parts_near_copies_is_kept_but_pointed_out(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = draw_folder(tmp_path / "shapes", SHAPES[:2], per_class=8, size=16)
    near_copy(root / "circle" / "000.png", root / "circle" / "000-copy.png")
    learn = [f"{name}/{i:03d}.png" for name in SHAPES[:2] for i in range(1, 7)] + ["circle/000.png"]
    test = ["circle/000-copy.png", "circle/007.png", "square/007.png"]
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": learn, "test": test}), encoding="utf-8")
    out = tmp_path / "m.studio"
    code, _, err = train([str(root), *PIXELS, "--train-rows", str(split), "--out", str(out)], capsys)
    assert code == 0, err
    assert ("warning: 1 group of near-copy pictures is split between training and test in split.json; the test "
            "score may look better than it is.") in err
    assert load_model(out).metadata["split_sizes"] == [len(learn), 0, len(test)], "the split is kept as given"


def test_train_on_a_table_of_paths(shapes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pictures = sorted(shapes.glob("*/*.png"))
    table = shapes.parent / "labels.csv"
    pd.DataFrame({"id": range(len(pictures)),
                  "file": [str(p.relative_to(shapes.parent)) for p in pictures],
                  "shape": [p.parent.name.upper() for p in pictures]}).to_csv(table, index=False)

    out = tmp_path / "table.studio"
    code, stdout, err = train([str(table), "--target", "shape", "--images", "file", *PIXELS, "--out", str(out)],
                              capsys)
    assert code == 0, err
    assert "Reading 30 pictures in 3 classes in " in err and "labels.csv" in err
    assert load_model(out).metadata["classes"] == ["CIRCLE", "SQUARE", "TRIANGLE"]
    assert "accuracy" in last_json(stdout)

    # The paths column is found by what it holds; the label still needs naming, as two columns are left.
    code, stdout, err = train([str(table), "--target", "shape", *PIXELS, "--out", str(out)], capsys)
    assert code == 0, err
    code, _, err = train([str(table), *PIXELS, "--out", str(out)], capsys)
    assert code == 2
    assert_one_error_line(err, "Name the column that holds each picture's class (--target COLUMN).")
    code, _, err = train([str(table), "--target", "shape", "--images", "path", "--out", str(out)], capsys)
    assert code == 2
    assert_one_error_line(err, "labels.csv has no column called 'path'. Its columns are: id, file, shape.")


def test_a_table_model_on_pictures_and_a_picture_model_on_a_table_are_refused(
        shapes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = train([str(shapes), "--model", "random_forest", "--out", str(tmp_path / "m")], capsys)
    assert code == 2
    assert_one_error_line(err, "Random forest (random_forest) learns from tables, not from images. Models for "
                               "images: ")
    table = tmp_path / "plain.csv"
    pd.DataFrame({"x": range(20), "y": ["a", "b"] * 10}).to_csv(table, index=False)
    code, _, err = train([str(table), "--target", "y", "--model", "image_cnn", "--out", str(tmp_path / "m")], capsys)
    assert code == 2
    assert_one_error_line(err, "learns from pictures, not from a table.")
    code, _, err = train([str(table), "--out", str(tmp_path / "m")], capsys)
    assert code == 2
    assert_one_error_line(err, "Name the column to predict with --target COLUMN.")
    code, _, err = train([str(shapes), "--auto", "--model", "image_cnn", "--out", str(tmp_path / "m")], capsys)
    assert code == 2
    assert_one_error_line(err, "--auto chooses the model itself; leave out --model")


# -- predict -------------------------------------------------------------------------------------------------------
def test_predict_a_folder_writes_one_row_per_picture(pixel_model: Path, shapes: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "predictions.csv"
    assert run_cli(["predict", str(pixel_model), str(shapes), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    predictions = pd.read_csv(out, keep_default_na=False)
    assert len(predictions) == 30
    assert sorted(predictions["picture"]) == sorted(f"{p.parent.name}/{p.name}" for p in shapes.glob("*/*.png"))
    columns = [f"probability_{name}" for name in sorted(SHAPES)]
    np.testing.assert_allclose(predictions[columns].sum(axis=1), 1.0, atol=1e-5)
    assert set(predictions["prediction"]) <= CLASSES | {"not sure"}
    assert set(predictions["best_guess"]) <= CLASSES
    assert "Predicted the class of 30 pictures with Pixel baseline (below 60% sure: 'not sure')" in captured.out
    assert captured.out.strip().splitlines()[-1].startswith("30 pictures: ")


def test_predict_files_with_a_confidence(pixel_model: Path, shapes: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "predictions.csv"
    monkeypatch.chdir(shapes)
    files = ["circle/000.png", "square/000.png", "square/001.png"]
    assert run_cli(["predict", str(pixel_model), *files, "--confidence", "0", "--out", str(out)]) == 0
    predictions = pd.read_csv(out)
    # Files are shown by name, unless two share it: those keep the path as given.
    assert list(predictions["picture"]) == ["circle/000.png", "square/000.png", "001.png"]
    assert (predictions["prediction"] == predictions["best_guess"]).all(), "at 0 % nothing is 'not sure'"
    assert run_cli(["predict", str(pixel_model), files[0], "--confidence", "100%", "--out", str(out)]) == 0
    assert pd.read_csv(out)["prediction"].tolist() == ["not sure"]
    capsys.readouterr()
    assert run_cli(["predict", str(pixel_model), files[0], "--confidence", "150", "--out", str(out)]) == 2
    assert "must be a percentage from 0 to 100" in capsys.readouterr().err

    # A name that is not there is said and the rest is predicted; a table is not taken for a picture.
    assert run_cli(["predict", str(pixel_model), files[0], "gone.png", "--out", str(out)]) == 0
    assert "warning: gone.png is not there; it is left out." in capsys.readouterr().err
    assert len(pd.read_csv(out)) == 1
    (shapes.parent / "list.csv").write_text("file\ncircle/000.png\n", encoding="utf-8")
    assert run_cli(["predict", str(pixel_model), str(shapes.parent / "list.csv"), "--out", str(out)]) == 2
    assert_one_error_line(capsys.readouterr().err, "list.csv is a table, and this model was trained on pictures: "
                                                   "give it the pictures, or the folder that holds them.")


def test_commands_for_tables_refuse_a_picture_model(pixel_model: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "rows.csv"
    pd.DataFrame({"x": [1, 2]}).to_csv(rows, index=False)
    assert run_cli(["check", str(pixel_model), str(rows)]) == 2
    assert_one_error_line(capsys.readouterr().err, "This model was trained on pictures; `studio check` works")
    assert run_cli(["retrain", str(pixel_model), str(rows), "--out", str(tmp_path / "new.studio")]) == 2
    assert_one_error_line(capsys.readouterr().err, "`studio retrain` works with models trained on tables")


# -- bad input -----------------------------------------------------------------------------------------------------
def _empty(root: Path) -> None:
    root.mkdir()


def _one_class(root: Path) -> None:
    draw_folder(root, ("cat",), per_class=4)


def _one_picture(root: Path) -> None:
    draw_folder(root, ("cat",), per_class=4)
    draw_folder(root, ("dog",), per_class=1, seed=1)


def _no_pictures(root: Path) -> None:
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        (root / name / "notes.txt").write_text("no pictures here")


@pytest.mark.parametrize(("make", "sentence"), [
    (_empty, "error: The folder holds no pictures. Put the pictures of each class in a sub-folder named after it."),
    (_one_class, "error: Only one class was found (cat). Add a sub-folder of pictures for each other class, so "
                 "there is something to tell apart."),
    (_one_picture, "error: Class 'dog' has only one picture; each class needs at least two (one to learn from, "
                   "one to test on)."),
    (_no_pictures, "error: The folder holds no pictures."),
])
def test_folders_that_cannot_be_trained_on_are_said_in_one_sentence(make: Any, sentence: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "data"
    make(root)
    out = tmp_path / "m.studio"
    code, stdout, err = train([str(root), *PIXELS, "--out", str(out)], capsys)
    assert code == 2 and stdout == "" and not out.exists()
    assert last_error(err).startswith(sentence)
    if make is _no_pictures:
        assert "warning: 2 files are not pictures; they are left out." in err


def _messy_folder(root: Path) -> dict[str, str]:
    """Good pictures among everything that goes wrong in real folders; returns {file: what must be said}."""
    draw_folder(root, SHAPES[:2], per_class=10, size=16)
    said = {}
    truncated_jpeg(root / "circle" / "cut.jpg")
    said["cut.jpg"] = "cut.jpg is cut short (a damaged or incomplete file)"
    (root / "square" / "empty.png").write_bytes(b"")
    said["empty.png"] = "empty.png is empty (0 bytes)"
    png_claiming(root / "square" / "bomb.png", 100_000, 100_000)
    said["bomb.png"] = "bomb.png would take too much memory to open (a decompression bomb)"
    tiff_16_bit(root / "circle" / "scan.tif")
    cmyk_jpeg(root / "square" / "print.jpg")
    animated_gif(root / "circle" / "moving.gif")
    (root / "circle" / "readme.txt").write_text("not a picture")
    os.symlink("..", root / "circle" / "loop", target_is_directory=True)
    buffer = io.BytesIO()
    draw("square", 99, 16).save(buffer, format="PNG")
    try:
        with open(os.path.join(os.fsencode(root / "square"), b"caf\xe9.png"), "wb") as handle:
            handle.write(buffer.getvalue())
    except (OSError, UnicodeError):
        pass  # a file system that refuses names that are not UTF-8: the rest is still worth testing
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        locked = root / "circle" / "locked.png"
        draw("circle", 98, 16).save(locked)
        locked.chmod(0)
        said["locked.png"] = "locked.png cannot be opened: Permission denied"
    return said


def test_bad_files_are_left_out_with_a_reason_and_the_rest_trains_and_predicts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "messy"
    said = _messy_folder(root)
    out = tmp_path / "messy.studio"
    code, stdout, err = train([str(root), *PIXELS, "--out", str(out)], capsys)
    assert code == 0, err
    assert "accuracy" in last_json(stdout)
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert any(f"{len(said)} files could not be read and are left out: " in w for w in warnings), warnings
    assert "warning: 1 file is not a picture; it is left out." in warnings
    assert "warning: 1 linked folder is not followed (a link can lead in a circle)." in warnings
    # The first three reasons are named in the warning, each a sentence about one file named from the folder down.
    assert sum(any(reason in w for w in warnings) for reason in said.values()) >= 3
    assert any("; circle/cut.jpg is cut short" in w or ": circle/cut.jpg is cut short" in w for w in warnings)
    assert not any(str(root) in w for w in warnings)

    predictions_file = tmp_path / "messy.csv"
    assert run_cli(["predict", str(out), str(root), "--out", str(predictions_file)]) == 0
    captured = capsys.readouterr()
    predictions = pd.read_csv(predictions_file, keep_default_na=False).set_index("picture")
    for name, reason in said.items():
        row = next(r for r in predictions.index if r.endswith(name))
        assert reason in predictions.loc[row, "note"] and predictions.loc[row, "prediction"] == ""
        assert any(reason in line for line in captured.err.splitlines() if line.startswith("warning: "))
    readable = predictions[predictions["note"] == ""]
    assert {"circle/scan.tif", "square/print.jpg", "circle/moving.gif"} <= set(readable.index)
    assert set(readable["best_guess"]) <= {"circle", "square"}
    odd = [name for name in predictions.index if name.startswith("square/caf")]
    assert odd in ([], ["square/caf\ufffd.png"]), "a name that is not UTF-8 is shown readably"
    assert f"{len(said)} could not be read." in captured.out


def test_a_loss_that_blows_up_is_said_in_a_sentence(shapes: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from studio.core.models.torch.image_estimator import ImageClassifier

    # The settings cap the learning rate at 1, where this network still trains: a loss that turns NaN in the
    # first epoch stands in for a rate of 1e6.
    code, _, err = train([str(shapes), *SMALL_NETWORK, "--param", "learning_rate=1e6", "--out",
                          str(tmp_path / "m")], capsys)
    assert code == 2
    assert_one_error_line(err, "Learning rate must lie between")
    monkeypatch.setattr(ImageClassifier, "_loss_function",
                        lambda self: lambda outputs, targets: torch.nn.functional.cross_entropy(outputs, targets)
                        * float("nan"))
    code, stdout, err = train([str(shapes), *SMALL_NETWORK, "--out", str(tmp_path / "m")], capsys)
    assert code == 2 and stdout == ""
    assert last_error(err) == ("error: The loss became too large to compute in epoch 1, so training stopped with "
                               "nothing to keep. Try a learning rate about ten times lower (now 0.002).")


def test_running_out_of_graphics_memory_offers_a_smaller_batch_or_the_cpu(
        shapes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from studio.core.models.torch.loop import Trainer

    def out_of_memory(self: Trainer, should_stop: Any) -> Any:
        # As on a graphics card: the device is CUDA when the first batch does not fit.
        self.device = torch.device("cuda")
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 8.00 GiB total)")
        yield  # a generator, as the epoch loop is

    monkeypatch.setattr(Trainer, "_epochs", out_of_memory)
    code, stdout, err = train([str(shapes), *SMALL_NETWORK, "--out", str(tmp_path / "m")], capsys)
    assert code == 2 and stdout == ""
    line = last_error(err)
    assert line.startswith("error: The graphics card (cuda) ran out of memory. Train on the CPU instead")
    assert "smaller batch size" in line
    assert line.endswith("On the command line: --param device=cpu, or --param batch_size=8.")
