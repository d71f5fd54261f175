"""The ``studio`` command line: train, predict, list models and render screenshots without opening a window.

Output contract: progress goes to stderr; ``train`` ends stdout with one JSON line of test metrics so scripts can
read it with ``tail -n 1``. User mistakes print one ``error: ...`` line and exit with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import studio
from studio.core.errors import StudioError

if TYPE_CHECKING:
    from studio.core.models.params import ParamSpec, ParamValue
    from studio.core.models.registry import ModelSpec
    from studio.core.splits import SplitIndices
    from studio.core.target import Task

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
DEFAULT_VALIDATION = 0.15
DEFAULT_TEST = 0.15
DEFAULT_SEED = 42


def run_cli(argv: list[str]) -> int:
    """Run one command; returns the process exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has already printed usage or help; callers in-process get the code instead of an exit.
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except StudioError as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        # The reader went away (`studio models | head`): stop quietly, and point stdout at devnull so Python's
        # flush at exit does not raise again (the recipe in the signal module's docs, exit code 1 included).
        with contextlib.suppress(OSError, ValueError):  # ValueError: a captured stdout without a file descriptor
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        return 1
    except OSError as exc:
        return _fail(_os_message(exc))
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _fail(message: str) -> int:
    one_line = " ".join(message.split()) or "something went wrong"
    print(f"error: {one_line}", file=sys.stderr)
    return EXIT_USER_ERROR


def _os_message(exc: OSError) -> str:
    # str(OSError) reads "[Errno 13] Permission denied: 'x'"; the errno number means nothing to a person.
    if exc.strerror and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    return exc.strerror or str(exc) or type(exc).__name__


# -- parser -----------------------------------------------------------------------------------------------------
def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio", description="Train and use models on tables. Run `studio` without a command for the window.")
    parser.add_argument("--version", action="version", version=f"studio {studio.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model on a table and save it",
                                description="Train a model on a CSV, Excel or Parquet table and save it. "
                                "Progress goes to stderr; the last line of stdout is the test metrics as JSON.")
    train.add_argument("data", metavar="DATA", help="the table to learn from")
    train.add_argument("--target", required=True, metavar="COLUMN", help="the column to predict")
    train.add_argument("--model", metavar="KEY", help="model key (see `studio models`); default: random_forest")
    train.add_argument("--param", action="extend", nargs="+", default=[], metavar="NAME=VALUE",
                       help="a model setting, e.g. n_estimators=100; repeatable")
    train.add_argument("--task", choices=["classification", "regression"],
                       help="what kind of prediction; guessed from the target column when left out")
    train.add_argument("--val-size", type=_fraction, metavar="F",
                       help=f"share of rows for validation (default {DEFAULT_VALIDATION})")
    train.add_argument("--test-size", type=_fraction, metavar="F",
                       help=f"share of rows for the final test (default {DEFAULT_TEST})")
    train.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed for the split")
    train.add_argument("--train-rows", metavar="FILE.json",
                       help='exact split: a JSON file {"train": [row numbers], "test": [row numbers]}, '
                       "0-based data rows of DATA; no validation rows are used then")
    train.add_argument("--prep", metavar="FILE.json",
                       help="preparation settings saved from the Prepare step ('Save settings…'); columns it does "
                       "not mention get Studio's defaults")
    train.add_argument("--out", required=True, metavar="MODEL", help="where to save the model file")
    train.add_argument("--onnx", metavar="FILE.onnx",
                       help="neural networks only: also export the network to ONNX (it takes the prepared features)")
    train.set_defaults(handler=_cmd_train)

    predict = commands.add_parser("predict", help="predict new rows with a saved model",
                                  description="Add predictions (and class probabilities) to a table.")
    predict.add_argument("model", metavar="MODEL", help="a model file saved by Studio")
    predict.add_argument("data", metavar="DATA", help="the table with rows to predict")
    predict.add_argument("--out", required=True, metavar="PREDICTIONS.csv", help="where to write the CSV")
    predict.set_defaults(handler=_cmd_predict)

    models = commands.add_parser("models", help="list the models and their settings")
    models.set_defaults(handler=_cmd_models)

    report = commands.add_parser("report", help="write a self-contained HTML report of a recorded run",
                                 description="Write one HTML file (data, preparation, model, scores, plots, "
                                 "versions) for a run from the run history; `studio runs` lists the runs.")
    report.add_argument("run_id", metavar="RUN_ID", type=int, help="the run's number")
    report.add_argument("--out", required=True, metavar="FILE.html", help="where to write the report")
    report.set_defaults(handler=_cmd_report)

    runs = commands.add_parser("runs", help="list the recorded training runs")
    runs.set_defaults(handler=_cmd_runs)

    shots = commands.add_parser("screenshots", help="render the window's pages to PNG files")
    shots.add_argument("--out", required=True, metavar="DIR", help="folder for the images")
    shots.set_defaults(handler=_cmd_screenshots)
    return parser


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} must be a share between 0 and 1, e.g. 0.2")
    return value


# -- train ------------------------------------------------------------------------------------------------------
def _cmd_train(args: argparse.Namespace) -> int:
    from studio.core.bundle import metadata_for, save_model
    from studio.core.data.profile import profile_frame
    from studio.core.data.tabular import load_table
    from studio.core.evaluation import plain_summary
    from studio.core.models.registry import default_model_key, get_model, models_for
    from studio.core.prep import default_prep
    from studio.core.prep_files import prep_from_file
    from studio.core.splits import SplitConfig
    from studio.core.target import Task, allowed_tasks, infer_task
    from studio.core.training import TrainRequest, train

    table = load_table(args.data)
    frame = table.frame
    if args.target not in frame.columns:
        raise StudioError(f"{table.name} has no column called '{args.target}'. "
                          f"Its columns are: {_listing(frame.columns)}.")
    profiles = profile_frame(frame)
    profile = next(p for p in profiles if p.name == args.target)
    if args.task:
        task = Task(args.task)
        if task not in allowed_tasks(profile):
            raise StudioError(f"'{args.target}' holds {profile.kind.label.lower()} values, not numbers, so it can "
                              "only be predicted as classification.")
    else:
        task = infer_task(frame[args.target], profile)
    spec = get_model(args.model or default_model_key(task))
    if task not in spec.tasks:
        raise StudioError(f"{spec.label} cannot do {task.value}. Models for {task.value}: "
                          f"{_listing(m.key for m in models_for(task))}.")
    params = _parse_params(spec, task, args.param)
    if args.onnx and spec.training_style != "epochs":
        raise StudioError(f"--onnx exports neural networks only; {spec.label.lower()} is another kind. Use "
                          "--model neural_network, or leave --onnx out.")

    fixed = None
    if args.train_rows:
        fixed = _read_split_file(Path(args.train_rows), len(frame))
        if args.val_size is not None or args.test_size is not None:
            _note("--train-rows fixes the rows; --val-size and --test-size are ignored.")
    split = SplitConfig(
        validation=DEFAULT_VALIDATION if args.val_size is None else args.val_size,
        test=DEFAULT_TEST if args.test_size is None else args.test_size,
        seed=args.seed,
    )
    prep = prep_from_file(Path(args.prep), profiles, args.target) if args.prep else default_prep(profiles)
    request = TrainRequest(frame, args.target, task, prep, split, spec.key, params,
                           fixed_split=fixed, source_path=str(table.path))
    _note(f"Training {spec.label.lower()} for {task.value} of '{args.target}' on {table.describe_format()}.")
    try:
        result = _drive(train(request), sys.stderr)
    except ValueError as exc:
        # scikit-learn refusing settings that pass the specs' ranges, e.g. more neighbours than training rows.
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise StudioError(f"Training failed: {detail}") from exc
    out = save_model(args.out, result.pipeline, metadata_for(result))
    if args.onnx:
        from studio.core.network_export import export_onnx

        _note(f"Exported the network to {export_onnx(result.pipeline, args.onnx)}")
    _record_run(result, out)

    train_rows, val_rows, test_rows = result.split_sizes
    print(f"Trained {result.model_label.lower()} on {train_rows:,} rows ({val_rows:,} validation, "
          f"{test_rows:,} test) in {result.duration_s:.1f} s; saved to {out}")
    if result.dropped_rows:
        print(f"{result.dropped_rows:,} row(s) without a value for '{args.target}' were left out.")
    if result.split_note:
        print(result.split_note)
    print(plain_summary(task, result.test, args.target))
    # The last stdout line: strict JSON (NaN, e.g. R² on one test row, becomes null).
    print(json.dumps({k: v if math.isfinite(v) else None for k, v in result.test.as_dict().items()}))
    return 0


def _parse_params(spec: ModelSpec, task: Task, items: list[str]) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise StudioError(f"--param expects NAME=VALUE, e.g. n_estimators=100; got '{item}'.")
        param = spec.param(name.strip())
        if not param.applies_to(task.value):
            _note(f"{param.name} only applies to {param.only_for}; ignored.")
            continue
        params[param.name] = param.parse(value)
    return params


def _read_split_file(path: Path, rows: int) -> SplitIndices:
    from studio.core.splits import explicit_split

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise StudioError(f"{path.name} is not a JSON text file.") from None
    except json.JSONDecodeError as exc:
        raise StudioError(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    shape = f'{path.name} must hold {{"train": [row numbers], "test": [row numbers]}}'
    if not isinstance(raw, dict) or not {"train", "test"} <= set(raw):
        raise StudioError(f"{shape}.")
    parts = []
    for key in ("train", "test"):
        values = raw[key]
        # bool is an int subclass; true/false in a list of row numbers is a mistake, not rows 1 and 0.
        if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise StudioError(f"{shape}; '{key}' must be a list of whole numbers.")
        parts.append(values)
    return explicit_split(parts[0], parts[1], rows)


def _drive(job: Any, stream: TextIO) -> Any:
    """Run a core generator to its result, printing a line per stage change and per curve point."""
    from studio.core.curves import BatchPoint

    stage = None
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            return finished.value
        if isinstance(item.curve, BatchPoint):
            continue  # a network's loss every few batches: the per-epoch lines say enough on a terminal
        if item.curve is not None:
            point = item.curve
            losses = [f"{name} loss {value:.4g}" for name, value in
                      (("train", point.train_loss), ("validation", point.val_loss)) if value is not None]
            print(f"  {item.message}: {', '.join(losses)}" if losses else f"  {item.message}", file=stream)
        elif item.stage != stage:
            print(f"{item.stage}: {item.message}" if item.message else item.stage, file=stream)
        stage = item.stage


def _note(text: str) -> None:
    print(text, file=sys.stderr)


def _listing(names: Any, limit: int = 20) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# -- predict ----------------------------------------------------------------------------------------------------
def _cmd_predict(args: argparse.Namespace) -> int:
    from studio.core.bundle import atomic_write, load_model
    from studio.core.data.tabular import load_table
    from studio.core.predict import predict_frame

    bundle = load_model(args.model)
    if bundle.warning:
        print(f"warning: {bundle.warning}", file=sys.stderr)
    table = load_table(args.data)
    predictions = predict_frame(bundle, table.frame)
    for note in predictions.attrs.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    out = Path(args.out)

    def write(handle: Any) -> None:
        predictions.to_csv(handle, index=False, encoding="utf-8")

    atomic_write(out, write)
    label = bundle.metadata.get("model_label", bundle.metadata.get("model", "model"))
    print(f"Predicted '{bundle.target}' for {len(predictions):,} rows of {table.name} with {label}; "
          f"wrote {out}")
    return 0


# -- models -----------------------------------------------------------------------------------------------------
def _cmd_models(args: argparse.Namespace) -> int:
    from studio.core.models.registry import all_models

    for spec in all_models():
        print(f"{spec.key}  {spec.label} ({', '.join(t.value for t in spec.tasks)})")
        for param in spec.params:
            print(f"    {param.name} = {_default_text(param)}  [{param.describe_range()}]"
                  + (f"  ({param.only_for} only)" if param.only_for else ""))
    return 0


def _default_text(param: ParamSpec) -> str:
    def text(value: ParamValue) -> str:
        if value is None:
            return (param.none_label or "none").lower()
        if isinstance(value, bool):
            return str(value).lower()
        return f"{value:g}" if isinstance(value, float) else str(value)

    shown = text(param.default)
    overrides = [f"{task}: {text(value)}" for task, value in param.task_defaults]
    return f"{shown} ({', '.join(overrides)})" if overrides else shown


# -- screenshots ------------------------------------------------------------------------------------------------
def _cmd_screenshots(args: argparse.Namespace) -> int:
    # Screenshots are for docs and CI: draw offscreen unless the caller chose a platform.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from studio.ui.screenshots import render_all
    except ModuleNotFoundError as exc:
        raise StudioError(f"Screenshots need the window code, which cannot be imported here ({exc}).") from exc
    for path in render_all(Path(args.out)):
        print(path)
    return 0


# -- runs and reports -------------------------------------------------------------------------------------------
def _record_run(result: Any, model_path: Path) -> None:
    import sqlite3

    from studio.core.runs import open_user_store, run_from_result

    try:
        store = open_user_store()
        if store.damage_note:
            _note(f"warning: {store.damage_note}")
        run_id = store.add(run_from_result(result, str(Path(model_path).resolve())))
    except (sqlite3.Error, OSError, StudioError) as exc:
        _note(f"warning: the run could not be recorded in the run history ({exc}).")
        return
    _note(f"Recorded as run {run_id} in {store.path} (`studio report {run_id} --out report.html`).")


def _cmd_report(args: argparse.Namespace) -> int:
    from studio.core.report import save_report
    from studio.core.runs import open_user_store

    store = open_user_store()
    if store.damage_note:
        _note(f"warning: {store.damage_note}")
    record = store.get(args.run_id)
    out = save_report(record, args.out)
    print(f"Wrote the report of run {record.id} ({record.model_label} predicting '{record.target}') to {out}")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from studio.core.evaluation import METRIC_LABELS, format_metric, headline_metric
    from studio.core.runs import open_user_store
    from studio.core.target import Task

    store = open_user_store()
    if store.damage_note:
        _note(f"warning: {store.damage_note}")
    for record in store.all():
        metric = headline_metric(Task(record.task))
        print(f"{record.id:>5}  {record.created}  {record.model_label} -> {record.target} on "
              f"{record.dataset_name}: test {METRIC_LABELS[metric].lower()} "
              f"{format_metric(metric, record.metric('test', metric))}")
    return 0

