"""A corpus of bad inputs, made by code, and what Studio does with each (issue 16: "nothing lost, nothing silently
wrong, never a traceback").

Each probe writes its input into a folder, runs it through the core and the command line (in this process, with
a time limit) and names the outcome with the issue's words: OK, clear message, unclear, traceback, hang, silent
wrong, data lost, temp left behind. ``tests/test_bad_input_corpus.py`` asserts every probe ends OK or with a clear
message; ``tests/perf/test_bad_input_census.py`` prints the tally.

A probe whose input a person can give the window also says how (``Probe.window``: a WindowInput, the files and what
kind of input they are); ``tests/ui/bad_input_window.py`` gives them to the real window.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from studio.core.common.errors import StudioError

OK = "OK"
CLEAR = "clear message"
UNCLEAR = "unclear"
TRACEBACK = "traceback"
HANG = "hang"
SILENT_WRONG = "silent wrong"
DATA_LOST = "data lost"
TEMP_LEFT = "temp left behind"
OUTCOMES = (OK, CLEAR, UNCLEAR, TRACEBACK, HANG, SILENT_WRONG, DATA_LOST, TEMP_LEFT)
GOOD = frozenset({OK, CLEAR})

# Words that are a library talking, not Studio: a message holding one is "unclear".
JARGON = ("Traceback", "Something went wrong", "did not expect", "ValueError", "KeyError", "TypeError",
          "dtype(", "Input X contains", "Estimator names", "sklearn", "numpy", "NoneType", "object has no attribute",
          "ndarray", "Errno")
PROBE_SECONDS = 60.0
MODEL = "logistic_regression"


@dataclass(frozen=True)
class Finding:
    outcome: str
    detail: str = ""


# The kinds of input a person gives the window, and where: a table on the Data page (DATA), a model file on the
# Predict page (MODEL_FILE), a model and a table to predict on it (PREDICT), a preparation file loaded on the Prepare
# page (PREP: the table, then the file), a file chosen for the run history on the Runs page (HISTORY), a formula
# typed on the Prepare page (FORMULA: the table, then the formula).
DATA, MODEL_FILE, PREDICT, PREP, HISTORY, FORMULA = "data", "model", "predict", "prep", "history", "formula"
WINDOW_KINDS = (DATA, MODEL_FILE, PREDICT, PREP, HISTORY, FORMULA)


@dataclass(frozen=True)
class WindowInput:
    kind: str
    files: tuple[Path, ...]  # in the order the person opens them (see the kinds above)
    refuse: bool  # whether the window must refuse it with a sentence (else take it, maybe with a note)
    words: tuple[str, ...] = ()  # what the sentence must say
    target: str = "label"  # the column to predict, chosen on the Data page
    formula: str = ""
    # PREDICT, taken: what is wrong in the predictions the person saves ("" when nothing).
    check: Callable[[pd.DataFrame], str] | None = None
    made: tuple[str, ...] = ()  # names of files the probe made beside the inputs (a model trained for it)


WindowMaker = Callable[[Path], "WindowInput | Finding"]


@dataclass(frozen=True)
class Probe:
    name: str
    item: str  # the heading it proves
    run: Callable[[Path], Finding]
    window: WindowMaker | None = None  # how a person gives the same input to the window (None: they cannot)
    # Probes of work another part of the issue owns; they may fail until it lands (pytest marks them xfail).
    pending: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


# -- running ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CliRun:
    code: int | None  # None: it did not end within the time limit
    out: str
    err: str


def cli(*argv: str | Path, seconds: float = PROBE_SECONDS) -> CliRun:
    """``studio ARGV`` run in this process (as ``python -m studio`` runs it), with a time limit."""
    from studio.cli import run_cli

    out, err = io.StringIO(), io.StringIO()
    result: list[int] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.append(run_cli([str(a) for a in argv]))
        except BaseException as exc:
            failure.append(exc)

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        thread.join(seconds)
    if thread.is_alive():
        return CliRun(None, out.getvalue(), err.getvalue())
    if failure:
        return CliRun(1, out.getvalue(), err.getvalue() + f"\nTraceback (most recent call last): {failure[0]!r}")
    return CliRun(result[0], out.getvalue(), err.getvalue())


def judged_refusal(run: CliRun, *words: str) -> Finding:
    """A command that should refuse the input: a clear ``error:`` sentence (holding ``words``), nothing else."""
    if run.code is None:
        return Finding(HANG, "no answer within the time limit")
    if "Traceback" in run.err or "Traceback" in run.out:
        return Finding(TRACEBACK, run.err[-300:])
    if run.code == 0:
        return Finding(SILENT_WRONG, "accepted what it should refuse: " + run.out[-200:])
    errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
    if not errors or any(j in errors[0] for j in JARGON) or not all(w in errors[0] for w in words):
        return Finding(UNCLEAR, run.err.strip()[-300:])
    return Finding(CLEAR, errors[0])


def judged_success(run: CliRun, check: Callable[[], str] = lambda: "") -> Finding:
    """A command that should work: exit 0, then ``check`` says what is wrong in its output ("" when nothing)."""
    if run.code is None:
        return Finding(HANG, "no answer within the time limit")
    if "Traceback" in run.err:
        return Finding(TRACEBACK, run.err[-300:])
    if run.code != 0:
        error = run.err.strip()[-300:]
        return Finding(UNCLEAR if any(j in error for j in JARGON) else SILENT_WRONG, "refused: " + error)
    problem = check()
    return Finding(SILENT_WRONG, problem) if problem else Finding(OK)


def judged_core(action: Callable[[], object], refuse: bool, *words: str) -> Finding:
    """The same, called in the core: a StudioError with ``words`` when it should refuse, nothing when not."""
    try:
        action()
    except StudioError as exc:
        text = str(exc)
        if not refuse:
            return Finding(SILENT_WRONG, "refused: " + text)
        if any(j in text for j in JARGON) or not all(w in text for w in words):
            return Finding(UNCLEAR, text)
        return Finding(CLEAR, text)
    except Exception as exc:
        return Finding(TRACEBACK, f"{type(exc).__name__}: {exc}"[:300])
    return Finding(SILENT_WRONG, "accepted what it should refuse") if refuse else Finding(OK)


def leftovers(folder: Path, expected: set[str]) -> list[str]:
    """Files in ``folder`` that nobody asked for (temporary files, renamed copies)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in expected)


# -- inputs -------------------------------------------------------------------------------------------------------
def small_table(rows: int = 60, seed: int = 0, **columns: object) -> pd.DataFrame:
    """Two useful number columns and a two-class answer ("label"), plus any ``columns`` given."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    frame = pd.DataFrame({"x": x.round(4), "z": rng.normal(size=rows).round(4)})
    for name, values in columns.items():
        frame[name] = values
    frame["label"] = np.where(x + rng.normal(scale=0.4, size=rows) > 0, "yes", "no")
    return frame


def write(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def train_and_predict(folder: Path, data: Path, check: Callable[[pd.DataFrame], str] = lambda _: "",
                      predict_data: Path | None = None, *extra: str) -> Finding:
    """``studio train`` then ``studio predict`` on a table; ``check`` reads the predictions written."""
    model = folder / "model.studio.joblib"
    trained = cli("train", data, "--target", "label", "--model", MODEL, "--out", model, *extra)
    found = judged_success(trained)
    if found.outcome != OK:
        return found
    out = folder / "predictions.csv"
    predicted = cli("predict", model, predict_data or data, "--out", out)
    return judged_success(predicted, lambda: check(pd.read_csv(out, dtype=str, keep_default_na=False)))


# -- the probes -----------------------------------------------------------------------------------------------------
AWKWARD_NAMES = ("remainder", "verbose", "n_jobs", "memory", "a__b", "a_b", "__x__", "名前 é", "two words",
                 " padded ", "42", "3.5", "transformers", "sparse_threshold", "(was missing)", "drop", "passthrough")


def _awkward_names(folder: Path) -> Finding:
    rng = np.random.default_rng(1)
    frame = small_table(**{name: rng.normal(size=60).round(3) for name in AWKWARD_NAMES})
    data = write(folder, "names.csv", frame)

    return train_and_predict(folder, data, _names_as_written(frame))


def _names_as_written(frame: pd.DataFrame) -> Callable[[pd.DataFrame], str]:
    """The predictions file ends with the user's columns under their names exactly as written (' padded ' with
    its spaces)."""

    def check(predictions: pd.DataFrame) -> str:
        written = list(predictions.columns)[-len(frame.columns):]
        return "" if written == list(frame.columns) else f"names written back as {written}"

    return check


def _duplicate_and_empty_names(folder: Path) -> Finding:
    path = folder / "dupes.csv"
    frame = small_table()
    lines = [",".join(["x", "x", "", "", "z", "label"])]
    lines += [f"{a},{a},{b},{b},{b},{c}" for a, b, c in zip(frame.x, frame.z, frame.label, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return train_and_predict(folder, path)


def _infinite_tables(folder: Path, texts: tuple[str, ...]) -> tuple[Path, Path, Callable[[pd.DataFrame], str]]:
    """A table with each way of writing infinity in a column of its own (to train on), new rows holding them in a
    number column (to predict), and the check that the predictions keep those cells as written."""
    frame = small_table()
    for index, text in enumerate(texts):
        spend = frame["z"].astype(object)
        spend[[2 + index, 9, 30]] = text
        frame[f"spend {index}"] = spend
    data = write(folder, "inf.csv", frame)
    new = frame.copy()
    new["x"] = new["x"].astype(object)
    new.loc[:len(texts) - 1, "x"] = list(texts)
    later = write(folder, "new.csv", new)

    def check(predictions: pd.DataFrame) -> str:
        if len(predictions) != len(new):
            return "rows lost"
        written = list(predictions.loc[:len(texts) - 1, "x"])
        return "" if written == list(texts) else f"the user's values became {written}"

    return data, later, check


def _infinite_values(texts: tuple[str, ...]) -> Callable[[Path], Finding]:
    """Each way of writing infinity in a column of its own for training, and in rows of new data."""

    def probe(folder: Path) -> Finding:
        data, later, check = _infinite_tables(folder, texts)
        return train_and_predict(folder, data, check, later)

    return probe


def _infinite_target_table(folder: Path) -> Path:
    """A number to predict ("label") with infinity written two ways in it."""
    frame = small_table()
    amount = (frame["x"] * 3).round(3).astype(object)
    amount[[4, 11]] = ["inf", "1e400"]
    frame["label"] = amount
    return write(folder, "amount.csv", frame)


def _infinite_target(folder: Path) -> Finding:
    """Infinity in a number to predict: those rows have no answer to learn from, and the output says so."""
    data = _infinite_target_table(folder)
    run = cli("train", data, "--target", "label", "--task", "regression", "--model", "linear_regression", "--out",
              folder / "m.studio.joblib")
    found = judged_success(run)
    if found.outcome == OK and "2 rows without a value for 'label'" not in run.out:
        return Finding(SILENT_WRONG, "rows were left out without a word: " + run.out[-200:])
    return found


def _infinite_in_the_core(folder: Path) -> Finding:
    """inf in training and prediction: one treatment, the column named in the Prepare step's warning."""
    from studio.core.data.profile import profile_frame
    from studio.core.data.target import Task
    from studio.core.prep.config import Infinite, default_prep
    from studio.core.prep.insights import TableInsights, findings
    from studio.core.serve.predict import predict_frame
    from studio.core.store.model_file import ModelBundle, metadata_for
    from studio.core.train.splits import SplitConfig
    from studio.core.train.training import TrainRequest, train
    from tests.core.helpers import drain

    frame = small_table()
    frame["spend"] = frame["z"] * 10
    frame.loc[[1, 5], "spend"] = [np.inf, -np.inf]
    profiles = profile_frame(frame)
    warned = [f for f in findings(profiles, TableInsights(len(frame), 0), "label") if f.code == "infinite"]
    if not warned or warned[0].column != "spend" or "spend" not in warned[0].message:
        return Finding(SILENT_WRONG, "no warning names the column with infinite values")
    for choice in (Infinite.AUTO, Infinite.CLIP):
        prep = default_prep(profiles).with_column("spend", infinite=choice)
        try:
            result = drain(train(TrainRequest(frame, "label", Task.CLASSIFICATION, prep, SplitConfig(), MODEL, {})))
            bundle = ModelBundle(result.pipeline, metadata_for(result))
            predicted = predict_frame(bundle, frame)
        except StudioError as exc:
            return Finding(UNCLEAR, str(exc))
        except Exception as exc:
            return Finding(TRACEBACK, f"{type(exc).__name__}: {exc}"[:300])
        if predicted[predicted.attrs["prediction_column"]].isna().any():
            return Finding(SILENT_WRONG, "a row got no prediction")
        if not any("spend" in note and "infinite" in note for note in predicted.attrs["notes"]):
            return Finding(SILENT_WRONG, "prediction took infinite values without a word")
    return Finding(OK)


def _prep_file(content: str, *words: str) -> Callable[[Path], Finding]:
    def probe(folder: Path) -> Finding:
        data = write(folder, "data.csv", small_table())
        prep = folder / "prep.json"
        prep.write_text(content, encoding="utf-8")
        run = cli("train", data, "--target", "label", "--model", MODEL, "--prep", prep, "--out",
                  folder / "m.studio.joblib")
        found = judged_refusal(run, *words)
        if found.outcome in GOOD and (folder / "m.studio.joblib").exists():
            return Finding(SILENT_WRONG, "a model was written from a refused preparation")
        return found

    return probe


def _formula(formula: str, refuse: bool, *words: str, columns: dict[str, object] | None = None,
             expect: Callable[[pd.DataFrame], np.ndarray] | None = None) -> Callable[[Path], Finding]:
    """A derived column through the core checker, and (one that is refused) through a preparation file on the
    command line, which must refuse it before any training."""

    def probe(folder: Path) -> Finding:
        from studio.core.prep.formula import parse_formula

        frame = small_table(**(columns or {}))
        names = list(frame.columns)
        core = judged_core(lambda: parse_formula(formula, names), refuse, *words)
        if core.outcome not in GOOD:
            return core
        if not refuse:
            got = parse_formula(formula, names).evaluate(frame).to_numpy()
            if expect is not None and not np.allclose(got, expect(frame), equal_nan=True):
                return Finding(SILENT_WRONG, f"{formula} computed other numbers than it says")
            return core
        data = write(folder, "data.csv", frame)
        prep = folder / "prep.json"
        prep.write_text(json.dumps({"columns": [{"name": "new", "kind": "numeric", "treatment": "numeric",
                                                 "formula": formula}]}), encoding="utf-8")
        run = cli("train", data, "--target", "label", "--model", MODEL, "--prep", prep, "--out",
                  folder / "m.studio.joblib")
        return judged_refusal(run, *words)

    return probe


def _model_file(change: Callable[[dict], object], *words: str, refuse: bool = True) -> Callable[[Path], Finding]:
    """A real model file whose manifest was changed afterwards, opened by ``studio predict``."""

    def probe(folder: Path) -> Finding:
        data = write(folder, "data.csv", small_table())
        model = folder / "model.studio.joblib"
        made = trained_once()
        if isinstance(made, Finding):
            return made
        shutil.copyfile(made, model)
        rewrite_manifest(model, change)
        run = cli("predict", model, data, "--out", folder / "p.csv")
        if refuse:
            return judged_refusal(run, *words)
        found = judged_success(run)
        if found.outcome == OK and not all(w in run.err for w in words):
            return Finding(SILENT_WRONG, "opened without a word: " + run.err[-200:])
        return found

    return probe


_TRAINED: list[Path] = []


def trained_once() -> Path | Finding:
    """One model file on the small table, trained the first time it is asked for: the model-file probes change a
    copy each."""
    if _TRAINED and _TRAINED[0].exists():
        return _TRAINED[0]
    folder = Path(tempfile.mkdtemp(prefix="studio-corpus-"))
    data = write(folder, "data.csv", small_table())
    model = folder / "model.studio.joblib"
    made = judged_success(cli("train", data, "--target", "label", "--model", MODEL, "--out", model))
    if made.outcome != OK:
        return made
    _TRAINED[:] = [model]
    return model


def rewrite_manifest(model: Path, change: Callable[[dict], object]) -> None:
    with zipfile.ZipFile(model) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(parts["studio-model.json"])
    replaced = change(manifest)
    manifest = manifest if replaced is None else replaced
    parts["studio-model.json"] = json.dumps(manifest).encode("utf-8") if not isinstance(manifest, bytes) else manifest
    with zipfile.ZipFile(model, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


def _set(path: tuple[str, ...], value: object) -> Callable[[dict], None]:
    def change(manifest: dict) -> None:
        node = manifest
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _raw(content: bytes) -> Callable[[dict], bytes]:
    return lambda _manifest: content


def _unreadable(content: bytes, *words: str) -> Callable[[Path], Finding]:
    def probe(folder: Path) -> Finding:
        path = folder / "data.csv"
        path.write_bytes(content)
        return judged_refusal(cli("train", path, "--target", "label", "--out", folder / "m.studio.joblib"), *words)

    return probe


def _target(values: list[object], *words: str) -> Callable[[Path], Finding]:
    def probe(folder: Path) -> Finding:
        frame = small_table(rows=len(values))
        frame["label"] = values
        path = write(folder, "data.csv", frame)
        return judged_refusal(cli("train", path, "--target", "label", "--model", MODEL, "--out",
                                  folder / "m.studio.joblib"), *words)

    return probe


def _missing_column_at_prediction(folder: Path) -> Finding:
    frame = small_table(colour=np.random.default_rng(0).choice(["red", "blue"], size=60))
    data = write(folder, "data.csv", frame)
    model = folder / "model.studio.joblib"
    made = judged_success(cli("train", data, "--target", "label", "--model", MODEL, "--out", model))
    if made.outcome != OK:
        return made
    new = write(folder, "new.csv", frame.drop(columns=["colour", "label"]))
    found = judged_refusal(cli("predict", model, new, "--out", folder / "p.csv"), "colour")
    if (folder / "p.csv").exists():
        return Finding(SILENT_WRONG, "predictions were written without a column the model needs")
    return found


def _not_a_model(folder: Path) -> Finding:
    path = folder / "notes.studio.joblib"
    path.write_text("shopping list: eggs, milk", encoding="utf-8")
    return judged_refusal(cli("predict", path, write(folder, "d.csv", small_table()), "--out", folder / "p.csv"),
                          "not a Studio model file")


def _wide_table(folder: Path) -> Finding:
    rng = np.random.default_rng(0)
    columns = 2_050
    frame = pd.DataFrame(rng.normal(size=(30, columns)).round(1), columns=[f"c{i}" for i in range(columns)])
    frame["label"] = np.where(frame["c2040"] > 0, "yes", "no")
    data = write(folder, "wide.csv", frame)
    run = cli("train", data, "--target", "label", "--model", MODEL, "--columns", "useful:50", "--out",
              folder / "m.studio.joblib", seconds=120)
    found = judged_success(run)
    if found.outcome == OK and not ("2,051 columns" in run.err and "Kept" in run.err):
        return Finding(UNCLEAR, "a wide table was taken without saying what it costs: " + run.err[:200])
    return found


def _long_ids(folder: Path) -> Finding:
    """17-digit identifiers with one blank come back exactly as written (the other part of the issue)."""
    data, check = _long_ids_table(folder)
    return train_and_predict(folder, data, check)


def _long_ids_table(folder: Path) -> tuple[Path, Callable[[pd.DataFrame], str]]:
    """A table with 17-digit identifiers and one blank among them, and the check that they come back as written."""
    frame = small_table()
    ids = [str(10_000_000_000_000_000 + 7 * i) for i in range(len(frame))]
    ids[5] = ""
    frame.insert(0, "customer", ids)
    data = write(folder, "ids.csv", frame)

    def check(predictions: pd.DataFrame) -> str:
        changed = [(a, b) for a, b in zip(ids, predictions["customer"], strict=True) if a != b]
        return f"{len(changed)} identifiers changed, e.g. {changed[0]}" if changed else ""

    return data, check


def _studio_like_names(folder: Path) -> Finding:
    """Input columns called like Studio's own output keep their name and values (the other part of the issue)."""
    frame = small_table(prediction=["mine"] * 60, probability_yes=["0.5"] * 60)
    data = write(folder, "data.csv", frame)

    def check(predictions: pd.DataFrame) -> str:
        if list(predictions["prediction"]) != ["mine"] * 60 or list(predictions["probability_yes"]) != ["0.5"] * 60:
            return "the user's columns named like Studio's output were changed"
        return ""

    return train_and_predict(folder, data, check)


def _history_on_a_file(folder: Path) -> Finding:
    """Pointing the run history at a file that is not one leaves the file as it was (the other part)."""
    from studio.core.store.runs import RunStore

    path = folder / "notes.txt"
    path.write_text("my notes", encoding="utf-8")
    try:
        RunStore(path)
    except StudioError:
        pass
    except Exception as exc:
        return Finding(TRACEBACK, f"{type(exc).__name__}: {exc}"[:200])
    if not path.exists() or path.read_text(encoding="utf-8") != "my notes":
        return Finding(DATA_LOST, "the file was renamed or replaced")
    stray = leftovers(folder, {"notes.txt"})
    return Finding(DATA_LOST, f"new files beside it: {stray}") if stray else Finding(OK)


def _save_leaves_nothing(folder: Path) -> Finding:
    data = write(folder, "data.csv", small_table())
    found = judged_success(cli("train", data, "--target", "label", "--model", MODEL, "--out",
                               folder / "m.studio.joblib"))
    if found.outcome != OK:
        return found
    stray = [n for n in leftovers(folder, {"data.csv", "m.studio.joblib"}) if not n.startswith("m.card.")]
    return Finding(TEMP_LEFT, f"left beside the model: {stray}") if stray else Finding(OK)


def _huge_field(folder: Path) -> Finding:
    frame = small_table()
    frame["note"] = "short"
    frame.loc[3, "note"] = "x" * (200 * 1024)
    path = write(folder, "huge.csv", frame)
    run = cli("train", path, "--target", "label", "--model", MODEL, "--out", folder / "m.studio.joblib")
    return judged_success(run) if run.code == 0 else judged_refusal(run)


def _nested_parquet(folder: Path) -> Finding:
    frame = small_table()
    frame["tags"] = [[i, i + 1] for i in range(len(frame))]
    frame["point"] = [{"a": i, "b": "x"} for i in range(len(frame))]
    path = folder / "nested.parquet"
    frame.to_parquet(path)
    run = cli("train", path, "--target", "label", "--model", MODEL, "--out", folder / "m.studio.joblib")
    return judged_success(run) if run.code == 0 else judged_refusal(run)


# -- the same inputs, for the window ------------------------------------------------------------------------------
def _trained_for(folder: Path, data: Path, *extra: str) -> Path | Finding:
    """A model trained by the command line on ``data`` (inside the probe's folder), to predict on in the window."""
    model = folder / "model.studio.joblib"
    made = judged_success(cli("train", data, "--target", "label", "--model", MODEL, "--out", model, *extra))
    return model if made.outcome == OK else made


def _predict_window(folder: Path, data: Path, new: Path, check: Callable[[pd.DataFrame], str] | None = None,
                    refuse: bool = False, *words: str) -> WindowInput | Finding:
    model = _trained_for(folder, data)
    if isinstance(model, Finding):
        return model
    cards = tuple(p.name for p in folder.glob("model.card.*"))
    return WindowInput(PREDICT, (model, new), refuse, words, check=check, made=(model.name, *cards))


def _data_window(name: str, content: bytes | pd.DataFrame, refuse: bool, *words: str,
                 target: str = "label") -> WindowMaker:
    def make(folder: Path) -> WindowInput:
        path = folder / name
        if isinstance(content, pd.DataFrame):
            content.to_csv(path, index=False)
        else:
            path.write_bytes(content)
        return WindowInput(DATA, (path,), refuse, words, target=target)

    return make


def _infinite_values_window(texts: tuple[str, ...]) -> WindowMaker:
    """A model trained on a table with infinity in columns of its own, predicting rows holding it."""

    def make(folder: Path) -> WindowInput | Finding:
        data, later, check = _infinite_tables(folder, texts)
        return _predict_window(folder, data, later, check)

    return make


def _infinite_target_window(folder: Path) -> WindowInput:
    return WindowInput(DATA, (_infinite_target_table(folder),), False)


def _awkward_names_window(folder: Path) -> WindowInput | Finding:
    rng = np.random.default_rng(1)
    frame = small_table(**{name: rng.normal(size=60).round(3) for name in AWKWARD_NAMES})
    data = write(folder, "names.csv", frame)

    return _predict_window(folder, data, data, _names_as_written(frame))


def _duplicate_names_window(folder: Path) -> WindowInput:
    frame = small_table()
    lines = [",".join(["x", "x", "", "", "z", "label"])]
    lines += [f"{a},{a},{b},{b},{b},{c}" for a, b, c in zip(frame.x, frame.z, frame.label, strict=True)]
    path = folder / "dupes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return WindowInput(DATA, (path,), False)


def _formula_window(formula: str, refuse: bool, *words: str,
                    columns: dict[str, object] | None = None) -> WindowMaker:
    def make(folder: Path) -> WindowInput:
        data = write(folder, "data.csv", small_table(**(columns or {})))
        return WindowInput(FORMULA, (data,), refuse, words, formula=formula)

    return make


def _prep_window(content: str, *words: str) -> WindowMaker:
    def make(folder: Path) -> WindowInput:
        data = write(folder, "data.csv", small_table())
        prep = folder / "prep.json"
        prep.write_text(content, encoding="utf-8")
        return WindowInput(PREP, (data, prep), True, words)

    return make


def _model_window(change: Callable[[dict], object], *words: str, refuse: bool = True) -> WindowMaker:
    def make(folder: Path) -> WindowInput | Finding:
        made = trained_once()
        if isinstance(made, Finding):
            return made
        model = folder / "model.studio.joblib"
        shutil.copyfile(made, model)
        rewrite_manifest(model, change)
        return WindowInput(MODEL_FILE, (model,), refuse, words)

    return make


def _not_a_model_window(folder: Path) -> WindowInput:
    path = folder / "notes.studio.joblib"
    path.write_text("shopping list: eggs, milk", encoding="utf-8")
    return WindowInput(MODEL_FILE, (path,), True, ("not a Studio model file",))


def _missing_column_window(folder: Path) -> WindowInput | Finding:
    frame = small_table(colour=np.random.default_rng(0).choice(["red", "blue"], size=60))
    data = write(folder, "data.csv", frame)
    new = write(folder, "new.csv", frame.drop(columns=["colour", "label"]))
    return _predict_window(folder, data, new, None, True, "colour")


def _wide_table_window(folder: Path) -> WindowInput:
    rng = np.random.default_rng(0)
    columns = 2_050
    frame = pd.DataFrame(rng.normal(size=(30, columns)).round(1), columns=[f"c{i}" for i in range(columns)])
    frame["label"] = np.where(frame["c2040"] > 0, "yes", "no")
    return WindowInput(DATA, (write(folder, "wide.csv", frame),), False, ("2,051 columns",))


def _long_ids_window(folder: Path) -> WindowInput | Finding:
    data, check = _long_ids_table(folder)
    return _predict_window(folder, data, data, check)


def _studio_like_names_window(folder: Path) -> WindowInput | Finding:
    data = write(folder, "data.csv", small_table(prediction=["mine"] * 60, probability_yes=["0.5"] * 60))

    def check(predictions: pd.DataFrame) -> str:
        if list(predictions["prediction"]) != ["mine"] * 60 or list(predictions["probability_yes"]) != ["0.5"] * 60:
            return "the user's columns named like Studio's output were changed"
        return ""

    return _predict_window(folder, data, data, check)


def _history_window(folder: Path) -> WindowInput:
    path = folder / "notes.txt"
    path.write_text("my notes", encoding="utf-8")
    return WindowInput(HISTORY, (path,), True, ("notes.txt",))


def _huge_field_window(folder: Path) -> WindowInput:
    frame = small_table()
    frame["note"] = "short"
    frame.loc[3, "note"] = "x" * (200 * 1024)
    return WindowInput(DATA, (write(folder, "huge.csv", frame),), False)


def _nested_parquet_window(folder: Path) -> WindowInput:
    frame = small_table()
    frame["tags"] = [[i, i + 1] for i in range(len(frame))]
    frame["point"] = [{"a": i, "b": "x"} for i in range(len(frame))]
    path = folder / "nested.parquet"
    frame.to_parquet(path)
    return WindowInput(DATA, (path,), False)


def _target_window(values: list[object], *words: str) -> WindowMaker:
    def make(folder: Path) -> WindowInput:
        frame = small_table(rows=len(values))
        frame["label"] = values
        return WindowInput(DATA, (write(folder, "data.csv", frame),), True, words)

    return make


_INF_TEXTS = ("inf", "-inf", "1e400", "Infinity", "-1e999999")
_BINARY = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 40
_NESTED = "[" * 100_000 + "]" * 100_000
_PREP_NAMED_LIKE = json.dumps({"columns": [{"name": "x", "kind": "numeric", "treatment": "numeric",
                                            "formula": "z * 2"}]})
_PREP_READS_ITSELF = json.dumps({"columns": [{"name": "new", "kind": "numeric", "treatment": "numeric",
                                              "formula": "new + 1"}]})
_PREP_BILLION_BINS = json.dumps({"columns": [{"name": "x", "kind": "numeric", "treatment": "numeric",
                                              "binning": "uniform", "bins": 10**9}]})
_PREP_BINS_INFINITY = '{"columns": [{"name": "x", "kind": "numeric", "treatment": "numeric", "bins": Infinity}]}'


def _both_formula(formula: str, refuse: bool, *words: str, columns: dict[str, object] | None = None,
                  expect: Callable[[pd.DataFrame], np.ndarray] | None = None) -> dict[str, object]:
    return {"run": _formula(formula, refuse, *words, columns=columns, expect=expect),
            "window": _formula_window(formula, refuse, *words, columns=columns)}


def _both_prep(content: str, *words: str) -> dict[str, object]:
    return {"run": _prep_file(content, *words), "window": _prep_window(content, *words)}


def _both_model(change: Callable[[dict], object], *words: str, refuse: bool = True) -> dict[str, object]:
    return {"run": _model_file(change, *words, refuse=refuse), "window": _model_window(change, *words, refuse=refuse)}


def _both_unreadable(content: bytes, *words: str) -> dict[str, object]:
    return {"run": _unreadable(content, *words), "window": _data_window("data.csv", content, True, *words)}


def _both_target(values: list[object], *words: str) -> dict[str, object]:
    return {"run": _target(values, *words), "window": _target_window(values, *words)}


PROBES: tuple[Probe, ...] = (
    # Silently wrong: infinite values.
    Probe("inf, -inf, 1e400, Infinity, 1e999999", "infinite values", _infinite_values(_INF_TEXTS),
          _infinite_values_window(_INF_TEXTS)),
    Probe("inf in the core: warning, gap or clip", "infinite values", _infinite_in_the_core),
    Probe("inf in a number to predict", "infinite values", _infinite_target, _infinite_target_window),
    # Silently wrong: ordinary column names.
    Probe("library keywords and odd names", "column names", _awkward_names, _awkward_names_window),
    Probe("duplicated and empty names", "column names", _duplicate_and_empty_names, _duplicate_names_window),
    # Silently wrong: formulas.
    Probe("sqrt + 1", "formulas", **_both_formula("sqrt + 1", True, "sqrt")),  # type: ignore[arg-type]
    Probe("a column named log", "formulas", **_both_formula(  # type: ignore[arg-type]
        "log + 1", False, columns={"log": np.arange(60.0)}, expect=lambda f: f["log"].to_numpy() + 1)),
    Probe("log(a, 2)", "formulas", **_both_formula(  # type: ignore[arg-type]
        "log(x + 10, 2)", False, expect=lambda f: np.log2(f["x"].to_numpy() + 10))),
    Probe("min(a)", "formulas", **_both_formula("min(x)", True, "min")),  # type: ignore[arg-type]
    Probe("a 400-digit number", "formulas", **_both_formula(  # type: ignore[arg-type]
        "x + " + "9" * 400, True, "too large")),
    Probe("1e400 in a formula", "formulas", **_both_formula("x * 1e400", True, "too large")),  # type: ignore[arg-type]
    Probe("`_col0` beside a real _col0", "formulas", **_both_formula(  # type: ignore[arg-type]
        "`z` + _col0", False, columns={"_col0": np.full(60, 100.0)}, expect=lambda f: f["z"].to_numpy() + 100.0)),
    Probe("a function Studio does not know", "formulas", **_both_formula(  # type: ignore[arg-type]
        "open(x)", True, "not a function")),
    Probe("a new column named like the user's", "formulas", **_both_prep(  # type: ignore[arg-type]
        _PREP_NAMED_LIKE, "already")),
    Probe("a formula that reads itself", "formulas", **_both_prep(_PREP_READS_ITSELF, "new")),  # type: ignore[arg-type]
    # Tracebacks: preparation files.
    Probe("prep JSON nested 100,000 deep", "preparation files", **_both_prep(  # type: ignore[arg-type]
        _NESTED, "nested too deeply")),
    Probe("prep JSON version Infinity", "preparation files", **_both_prep(  # type: ignore[arg-type]
        '{"version": Infinity, "columns": []}', "version")),
    Probe("prep JSON version 'two'", "preparation files", **_both_prep(  # type: ignore[arg-type]
        '{"version": "two", "columns": []}', "version")),
    Probe("prep JSON a billion bins", "preparation files", **_both_prep(  # type: ignore[arg-type]
        _PREP_BILLION_BINS, "bins")),
    Probe("prep JSON bins Infinity", "preparation files", **_both_prep(  # type: ignore[arg-type]
        _PREP_BINS_INFINITY, "bins")),
    Probe("prep JSON not JSON", "preparation files", **_both_prep(  # type: ignore[arg-type]
        "{columns: oops", "not a valid JSON")),
    # Tracebacks: model files with malformed metadata.
    Probe("manifest not JSON", "model files", **_both_model(_raw(b"{oops"), "damaged")),  # type: ignore[arg-type]
    Probe("manifest a list", "model files", **_both_model(  # type: ignore[arg-type]
        _raw(b"[1, 2]"), "not a Studio model file")),
    Probe("format version a word", "model files", **_both_model(  # type: ignore[arg-type]
        _set(("studio_model",), "one"), "not a Studio model file")),
    Probe("task unknown", "model files", **_both_model(  # type: ignore[arg-type]
        _set(("metadata", "task"), "astrology"), "damaged")),
    Probe("input columns a number", "model files", **_both_model(  # type: ignore[arg-type]
        _set(("metadata", "input_columns"), 7), "damaged")),
    Probe("classes a number", "model files", **_both_model(  # type: ignore[arg-type]
        _set(("metadata", "classes"), 3), "damaged")),
    Probe("versions a list", "model files", **_both_model(  # type: ignore[arg-type]
        _set(("metadata", "versions"), [1]), "damaged")),
    Probe("metrics hold text", "model files", **_both_model(  # type: ignore[arg-type]
        _set(("metadata", "metrics"), {"test": {"accuracy": "x"}}), "damaged")),
    Probe("checksum changed", "model files", **_both_model(  # type: ignore[arg-type]
        _set(("pipeline", "sha256"), "0" * 64), "checksum")),
    # Silently wrong: models from another Studio.
    Probe("made by a newer Studio", "model versions", **_both_model(  # type: ignore[arg-type]
        _set(("metadata", "versions", "studio"), "99.1"), "Studio 99.1", "newer", refuse=False)),
    Probe("made by an older Studio", "model versions", **_both_model(  # type: ignore[arg-type]
        _set(("metadata", "versions", "studio"), "0.0.1"), "Studio 0.0.1", "older", refuse=False)),
    Probe("made by an unnamed Studio", "model versions", **_both_model(  # type: ignore[arg-type]
        _set(("metadata", "versions", "studio"), {"x": 1}), "does not say which Studio", refuse=False)),
    # Hangs: a wide table.
    Probe("2,050 columns", "wide tables", _wide_table, _wide_table_window),
    # What the window's bad-input tests cover, through the command line.
    Probe("empty file", "existing", **_both_unreadable(b"", "empty")),  # type: ignore[arg-type]
    Probe("blank lines", "existing", **_both_unreadable(b"\n\n  \n", "empty")),  # type: ignore[arg-type]
    Probe("header only", "existing", **_both_unreadable(b"x,z,label\n", "no data rows")),  # type: ignore[arg-type]
    Probe("binary", "existing", **_both_unreadable(_BINARY, "binary")),  # type: ignore[arg-type]
    Probe("ragged", "existing", **_both_unreadable(b"x,label\n1,2\n3,4,5\n6,7\n", "Line 3")),  # type: ignore[arg-type]
    Probe("one class", "existing", **_both_target(["yes"] * 40, "single class")),  # type: ignore[arg-type]
    Probe("target all missing", "existing", **_both_target([None] * 40, "missing")),  # type: ignore[arg-type]
    Probe("prediction table lacks a column", "existing", _missing_column_at_prediction, _missing_column_window),
    Probe("not a model file", "existing", _not_a_model, _not_a_model_window),
    # The other parts of the issue (data lost, readers).
    Probe("17-digit identifiers with a blank", "data lost", _long_ids, _long_ids_window),
    Probe("input columns named like Studio's output", "data lost", _studio_like_names, _studio_like_names_window),
    Probe("run history pointed at another file", "data lost", _history_on_a_file, _history_window),
    Probe("saving leaves no temporary file", "temp left behind", _save_leaves_nothing),
    Probe("a CSV field over 128 KiB", "tracebacks", _huge_field, _huge_field_window),
    Probe("Parquet list and struct columns", "tracebacks", _nested_parquet, _nested_parquet_window),
)


def run_probe(probe: Probe, folder: Path) -> Finding:
    """A probe's outcome; anything escaping it counts as a traceback."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return probe.run(folder)
    except Exception as exc:
        return Finding(TRACEBACK, f"{type(exc).__name__}: {exc}"[:300])


def tally(findings: dict[str, Finding]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for found in findings.values():
        counts[found.outcome] += 1
    return counts
