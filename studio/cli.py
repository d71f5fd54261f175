"""The ``studio`` command line: train, predict, list models and render screenshots without opening a window.

Output contract: progress goes to stderr; ``train`` ends stdout with one JSON line of test metrics so scripts can
read it with ``tail -n 1``. User mistakes print one ``error: ...`` line and exit with code 2, never a traceback;
anything unexpected prints one ``error: ...`` line naming the log file that holds its traceback, and exits with 1.
Ctrl-C or SIGTERM print "Stopped." (exit 130 or 143), with no traceback from the search's worker processes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import studio
from studio.cli_database import add_database_arguments, names_database, read_database_table
from studio.core.common.errors import StudioError, first_line
from studio.core.common.words import local_time
from studio.core.train.splits import SplitConfig

if TYPE_CHECKING:
    from studio.core.data.images import ImageFolder
    from studio.core.data.kinds import DataKind
    from studio.core.data.profile import ColumnProfile
    from studio.core.data.read_options import ReadOptions
    from studio.core.data.tabular import LoadedTable
    from studio.core.data.target import Task
    from studio.core.models.params import ParamSpec, ParamValue
    from studio.core.models.spec import ModelSpec
    from studio.core.prep.config import PrepConfig
    from studio.core.project import Project
    from studio.core.search.requests import TuneRequest
    from studio.core.store.runs import RunStore
    from studio.core.train.splits import SplitIndices

EXIT_USER_ERROR = 2
LARGE_FILE_BYTES = 20_000_000
EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 1  # a fault of Studio's, not of the command line (2)
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it
UNREAD_SHOWN = 10  # unreadable pictures named one by one on stderr; the predictions file names them all
# The split's defaults are the window's (SplitConfig), so both train on the same rows.
SPLIT_DEFAULTS = SplitConfig()


def run_cli(argv: list[str]) -> int:
    """Run one command; returns the process exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has already printed usage or help; callers in-process get the code instead of an exit.
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    handler: Callable[[argparse.Namespace], int] = args.handler
    _clean_what_crashes_left()
    try:
        with _terminate_as_stop():
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
    except _Terminated:
        print("Stopped.", file=sys.stderr)
        return EXIT_TERMINATED
    except Exception as exc:  # the last resort (ARCHITECTURE rule 8): a sentence here, the traceback in the log
        return _fail_unexpected(exc, args.command)


class _Terminated(BaseException):
    """SIGTERM (a service manager, `kill`) arrived: unwound like Ctrl-C, so a search removes its temporary rows."""


@contextlib.contextmanager
def _terminate_as_stop() -> Iterator[None]:
    """While a command runs, SIGTERM stops it the way Ctrl-C does, instead of ending Python on the spot (which
    would leave a search's prepared rows in the temporary folder). Only the main thread may set a handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(_signal: int, _frame: object) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _clean_what_crashes_left() -> None:
    """Remove the search folders of Studio processes that were killed outright (their prepared rows)."""
    from studio.core.common.temp_files import clean_stale_search_folders

    with contextlib.suppress(OSError):
        clean_stale_search_folders()


def _fail_unexpected(exc: Exception, command: str) -> int:
    from studio.core.common.logs import log_exception

    log = log_exception(exc, f"studio {command}")
    print(f"error: Studio ran into a problem it did not expect ({type(exc).__name__}: {first_line(exc)}); the "
          f"details for a bug report are in {log}", file=sys.stderr)
    return EXIT_UNEXPECTED


def command_names() -> frozenset[str]:
    """The commands the parser knows, so ``studio COMMAND`` is routed here rather than to the window."""
    parser = _build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return frozenset(subparsers.choices)


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
        prog="studio", description="Train and use models on tables and pictures. Run `studio` without a command for "
        "the window.")
    parser.add_argument("--version", action="version", version=f"studio {studio.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model on a table or on pictures and save it",
                                description="Train a model on a table (CSV, Excel, OpenDocument, Parquet, Feather, "
                                "JSON, JSON Lines or ARFF; a file or an http(s) address), or on pictures (a folder "
                                "with one sub-folder per class, or a table with a column of picture paths), and save "
                                "it. Progress goes to stderr; the last line of stdout is the test metrics as JSON.")
    train.add_argument("data", metavar="DATA", help="the table, or the folder of pictures, to learn from")
    train.add_argument("--target", metavar="COLUMN",
                       help="the column to predict (a folder of pictures needs none: each sub-folder is a class)")
    train.add_argument("--images", metavar="COLUMN",
                       help="a table's column of picture paths, relative to the table (found by itself when left "
                       "out)")
    train.add_argument("--model", metavar="KEY", help="model key (see `studio models`); default: random_forest, or "
                       "for pictures image_transfer when its weights are here, else image_cnn")
    train.add_argument("--param", action="extend", nargs="+", default=[], metavar="NAME=VALUE",
                       help="a model setting, e.g. n_estimators=100; repeatable")
    train.add_argument("--task", choices=["classification", "regression"],
                       help="what kind of prediction; guessed from the target column when left out")
    train.add_argument("--val-size", type=_fraction, metavar="F",
                       help=f"share of rows for validation (default {SPLIT_DEFAULTS.validation})")
    train.add_argument("--test-size", type=_fraction, metavar="F",
                       help=f"share of rows for the final test (default {SPLIT_DEFAULTS.test})")
    train.add_argument("--seed", type=int, default=SPLIT_DEFAULTS.seed, help="random seed for the split")
    train.add_argument("--cv-folds", type=int, default=0, metavar="K",
                       help="also cross-validate with K folds on the training and validation rows (0: off); "
                       "the per-fold scores are printed and kept with the run")
    train.add_argument("--train-rows", metavar="FILE.json",
                       help='exact split: a JSON file {"train": [row numbers], "test": [row numbers]}, '
                       "0-based data rows of DATA; no validation rows are used then. For pictures: their paths "
                       'relative to the folder, e.g. {"train": ["cat/001.jpg", ...], "test": [...]}; a network '
                       "then holds its early-stopping pictures out of the training ones")
    train.add_argument("--prep", metavar="FILE.json",
                       help="preparation settings saved from the Prepare step ('Save settings…'); columns it does "
                       "not mention get Studio's defaults")
    _add_columns_argument(train)
    train.add_argument("--out", required=True, metavar="MODEL", help="where to save the model file")
    train.add_argument("--onnx", metavar="FILE.onnx",
                       help="also export the whole model, preparation included, to ONNX (it takes the raw "
                            "columns; checked against Studio on the held-out rows before it is written)")
    train.add_argument("--auto", action="store_true",
                       help="find the best model and settings by cross-validation on the training rows "
                       "(instead of --model)")
    train.add_argument("--budget", type=_seconds, default=60.0, metavar="SECONDS",
                       help="with --auto: wall time for the search and the final fit (default 60)")
    train.add_argument("--metric", metavar="NAME", help="with --auto: what 'best' means, e.g. accuracy, "
                       "balanced_accuracy, f1_macro, roc_auc, rmse, mae, r2 (default: chosen for the task)")
    _add_read_arguments(train)
    add_database_arguments(train)
    train.set_defaults(handler=_cmd_train)

    tune = commands.add_parser("tune", help="tune one model's settings and save the best",
                               description="Search one model's settings by cross-validation on the training "
                               "rows (Optuna), then train the best on all training rows and score it once on the "
                               "test rows. Trials go to stderr; the last line of stdout is JSON with the best "
                               "settings and the test metrics.")
    tune.add_argument("data", metavar="DATA", help="the table to learn from")
    tune.add_argument("--target", required=True, metavar="COLUMN", help="the column to predict")
    _add_columns_argument(tune)
    tune.add_argument("--model", required=True, metavar="KEY", help="model key (see `studio models`)")
    tune.add_argument("--trials", type=_positive_int, metavar="N", help="how many settings to try (default 30)")
    tune.add_argument("--budget", type=_seconds, metavar="SECONDS", help="wall-time limit, the final fit included")
    tune.add_argument("--method", choices=["bayes", "random", "grid"], default="bayes",
                      help="bayes (Optuna's TPE, the default), random or grid")
    tune.add_argument("--metric", metavar="NAME", help="what 'best' means (default: chosen for the task)")
    tune.add_argument("--range", action="extend", nargs="+", default=[], metavar="NAME=LOW:HIGH",
                      help="search a setting only between LOW and HIGH (or NAME=a,b for options); when given, "
                      "only the named settings are searched")
    tune.add_argument("--param", action="extend", nargs="+", default=[], metavar="NAME=VALUE",
                      help="a setting kept fixed at VALUE while others are searched")
    tune.add_argument("--task", choices=["classification", "regression"],
                      help="what kind of prediction; guessed from the target column when left out")
    tune.add_argument("--test-size", type=_fraction, metavar="F",
                      help=f"share of rows for the final test (default {SPLIT_DEFAULTS.test})")
    tune.add_argument("--seed", type=int, default=SPLIT_DEFAULTS.seed, help="random seed for the split and the search")
    tune.add_argument("--out", metavar="MODEL", help="where to save the best model (optional)")
    _add_read_arguments(tune)
    add_database_arguments(tune)
    tune.set_defaults(handler=_cmd_tune)

    predict = commands.add_parser("predict", help="predict new rows (or pictures) with a saved model",
                                  description="Add predictions (and class probabilities) to a table. A model "
                                  "trained on pictures takes picture files and folders (read with their "
                                  "sub-folders) and writes one row per picture.")
    predict.add_argument("model", metavar="MODEL", help="a model file saved by Studio")
    predict.add_argument("data", metavar="DATA", nargs="+",
                         help="the table with rows to predict; for a picture model, pictures and folders")
    predict.add_argument("--out", required=True, metavar="PREDICTIONS",
                         help="where to write the predictions: .csv, .tsv, .xlsx or .parquet")
    # The default repeats studio.core.serve.images.DEFAULT_CONFIDENCE: importing it here would load pandas and the
    # model files for every command.
    predict.add_argument("--confidence", type=_confidence, metavar="C",
                         help="for a picture model: below this probability a picture is called 'not sure' "
                         "(a percentage such as 60, or a share such as 0.6; default 60)")
    predict.add_argument("--no-bom", dest="bom", action="store_false",
                         help="write a .csv or .tsv without the byte-order mark that makes Excel read accents "
                         "right (for programs that show it as stray characters)")
    _add_trust_argument(predict)
    _add_read_arguments(predict, "; left out, the model file's own choices apply, and the rest is detected")
    add_database_arguments(predict)
    predict.set_defaults(handler=_cmd_predict)

    retrain = commands.add_parser("retrain", help="train a saved model again on new rows",
                                  description="Train a saved model again on new rows with the same preparation, "
                                  "split and model settings, save the new model, and compare the old and the new "
                                  "model on the same new test rows. Progress goes to stderr; the last line of "
                                  'stdout is JSON: {"old": {...scores}, "new": {...scores}}.')
    retrain.add_argument("model", metavar="MODEL", help="a model file saved by Studio")
    retrain.add_argument("data", metavar="NEW_DATA", help="the new rows, with the column the model predicts")
    retrain.add_argument("--out", required=True, metavar="NEW_MODEL", help="where to save the new model file")
    retrain.add_argument("--old-data", metavar="FILE",
                         help="the rows the model was trained on, to learn from them too (optional)")
    _add_trust_argument(retrain)
    _add_read_arguments(retrain, "; left out, the model file's own choices apply, and the rest is detected")
    add_database_arguments(retrain)
    retrain.set_defaults(handler=_cmd_retrain)

    check = commands.add_parser("check", help="check whether new rows look like the rows a model was trained on",
                                description="Compare a table of new rows with the rows the model was trained on "
                                "and say, column by column, what changed. The last line of stdout is JSON; the exit "
                                "code is 0 when nothing drifted and 1 when a column did.")
    check.add_argument("model", metavar="MODEL", help="a model file saved by Studio")
    check.add_argument("data", metavar="DATA", help="the table with the new rows")
    _add_trust_argument(check)
    _add_read_arguments(check, "; left out, the model file's own choices apply, and the rest is detected")
    add_database_arguments(check)
    check.set_defaults(handler=_cmd_check)

    serve = commands.add_parser("serve", help="answer predictions over HTTP (a small web service)",
                                description="Serve a model as a web service: POST rows as JSON to /predict, read "
                                "the columns it takes at /schema, and its documentation at /docs. Needs the 'serve' "
                                "extra (FastAPI and uvicorn). Stop it with Ctrl+C.")
    serve.add_argument("model", metavar="MODEL", help="a model file saved by Studio")
    # The defaults repeat studio.core.serve.http's: importing it here would load FastAPI for every command.
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 lets other "
                       "computers on the network in)")
    serve.add_argument("--port", type=int, default=8000, help="the port to listen on (default 8000)")
    _add_trust_argument(serve)
    serve.set_defaults(handler=_cmd_serve)

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
    shots.add_argument("--size", default="1180x780", metavar="WxH",
                       help="the window's size in pixels, e.g. 1024x600 (default 1180x780)")
    shots.set_defaults(handler=_cmd_screenshots)
    return parser


def _add_columns_argument(command: argparse.ArgumentParser) -> None:
    from studio.core.data.width import WIDE_COLUMNS

    command.add_argument("--columns", metavar="HOW",
                         help=f"for a table of over {WIDE_COLUMNS:,} columns: which to keep. useful:N keeps the N that "
                         "go most with the target (the default, N = " f"{WIDE_COLUMNS:,}), first:N the first N, "
                         "all every column (slow; the time it takes is said first)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value < 1e7:
        raise argparse.ArgumentTypeError(f"{text} must be a number of seconds above 0, e.g. 60")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def _confidence(text: str) -> float:
    raw = text.strip().removesuffix("%").strip()
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number; give a percentage such as 60") from None
    # Above 1 it can only be a percentage: 60 means 60 %, while 0.6 and 1 are shares.
    share = value / 100.0 if value > 1.0 or text.strip().endswith("%") else value
    if not 0.0 <= share <= 1.0 or not math.isfinite(share):
        raise argparse.ArgumentTypeError(f"{text} must be a percentage from 0 to 100, e.g. 60")
    return share


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} must be a share between 0 and 1, e.g. 0.2")
    return value


# -- reading options --------------------------------------------------------------------------------------------
def _add_read_arguments(command: argparse.ArgumentParser, left_out: str = "; detected when left out") -> None:
    """How a text table is read (the Data page's reading options); what is set is kept in the model file."""
    group = command.add_argument_group("reading a text table", "Set these when Studio guesses wrong" + left_out
                                       + ". What you set is kept with the model, so its new rows are read the same "
                                       "way.")
    group.add_argument("--delimiter", metavar="CHAR", help="the character between values: ',', ';', 'tab' or '|'")
    group.add_argument("--decimal", choices=[".", ","], help="the decimal mark of the numbers: '.' or ','")
    group.add_argument("--encoding", metavar="NAME", help="the text encoding, e.g. utf-8, cp1252, iso-8859-2, "
                       "cp1251, shift_jis, euc_kr, utf-16")
    group.add_argument("--no-header", dest="header", action="store_false",
                       help="the first row is data, not column names (the columns are named column_1, column_2...)")
    group.add_argument("--skip-rows", type=int, default=0, metavar="N",
                       help="lines to skip before the header (a title or notes above the table)")
    group.add_argument("--sheet", metavar="NAME", help="the sheet of a workbook (.xlsx, .xls, .ods) to read; by "
                       "default the first one that holds rows")


def _read_options(args: argparse.Namespace) -> ReadOptions:
    """The reading options given on the command line; the rest is left to detection (or to a model file's)."""
    from studio.core.data.read_options import ReadOptions

    delimiter = getattr(args, "delimiter", None)
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    delimiter = named.get(delimiter, delimiter) if delimiter else None
    return ReadOptions(delimiter=delimiter, decimal=getattr(args, "decimal", None),
                       encoding=getattr(args, "encoding", None), header=getattr(args, "header", True),
                       skip_rows=getattr(args, "skip_rows", 0) or 0, sheet=getattr(args, "sheet", None))


def _read_table(args: argparse.Namespace, name: str, options: ReadOptions) -> LoadedTable:
    """A table file, or the rows of a database's table or query (``--table``, ``--query``)."""
    from studio.core.data.tabular import load_table

    if names_database(args, name):
        return read_database_table(args, name)
    with contextlib.suppress(OSError):
        size = Path(name).stat().st_size
        if size > LARGE_FILE_BYTES:  # a large or very wide file takes a while: said before, not after
            _note(f"Reading {Path(name).name} ({size / 1e6:,.0f} MB)…")
    return load_table(name, options=options)


# -- train ------------------------------------------------------------------------------------------------------
def _table_and_task(args: argparse.Namespace,
                    table: LoadedTable | None = None) -> tuple[LoadedTable, tuple[ColumnProfile, ...], Task]:
    """The table, its column profiles and the task for ``--target`` (``--task`` or inferred), or a clear error."""
    from studio.core.data.profile import profile_frame, profile_job
    from studio.core.data.target import Task, allowed_tasks, infer_task

    table = table or _read_table(args, args.data, _read_options(args))
    for note in table.notes:  # columns left out, a guess between two readings of the numbers
        _note(f"note: {note}")
    frame = table.frame
    if args.target not in frame.columns:
        raise StudioError(f"{table.name} has no column called '{args.target}'. "
                          f"Its columns are: {_listing(frame.columns)}.")
    table = _narrowed_if_wide(args, table)
    frame = table.frame
    profiles = profile_frame(frame) if frame.shape[1] <= 200 else _drive_counted(profile_job(frame), "Looked at")
    profile = next(p for p in profiles if p.name == args.target)
    if not args.task:
        return table, profiles, infer_task(frame[args.target], profile)
    task = Task(args.task)
    if task not in allowed_tasks(profile):
        raise StudioError(f"'{args.target}' holds {profile.kind.label.lower()} values, not numbers, so it can "
                          "only be predicted as classification.")
    return table, profiles, task


def _narrowed_if_wide(args: argparse.Namespace, table: LoadedTable) -> LoadedTable:
    """A table of very many columns: what all of them would cost is said first, and (unless --columns all) only
    the columns chosen are kept."""
    from studio.core.data.width import (
        WidthChoice,
        is_wide,
        narrowed,
        narrowed_note,
        parse_width_choice,
        width_sentence,
    )

    frame = table.frame
    choice = parse_width_choice(args.columns) if getattr(args, "columns", None) else None
    if not is_wide(frame.shape[1] - 1):
        return table
    choice = choice or WidthChoice()
    _note(width_sentence(len(frame), frame.shape[1], choice.keep or frame.shape[1]))
    if choice.how == "all":
        _note("Using every column, as --columns all asks.")
        return table
    _note(f"Choosing {choice.words()}…")
    kept = narrowed(frame, args.target, choice)
    _note(narrowed_note(frame.shape[1] - 1, kept.shape[1] - 1, choice))
    return replace(table, frame=kept)


def _drive_counted(job: Any, done_words: str) -> Any:
    """Run a job whose items count through a long list, saying how far it got about every 10%, so a long wait
    is never silent."""
    shown = -1
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            return finished.value
        tenth = int((item.fraction or 0.0) * 10)
        if tenth != shown:
            shown = tenth
            _note(f"{item.stage}… {tenth * 10}%")


def _cmd_train(args: argparse.Namespace) -> int:
    from studio.core.common.progress import never_stop
    from studio.core.models.registry import default_model_key, get_model
    from studio.core.prep.config import default_prep
    from studio.core.prep.files import prep_from_file
    from studio.core.project import TuningConfig
    from studio.core.report.card import write_card
    from studio.core.search.modes import TuneMode
    from studio.core.store.model_file import metadata_for, save_model
    from studio.core.train.training import train

    table, images = _table_or_images(args)
    if images is not None:
        return _train_images(args, images)
    if not args.target:
        raise StudioError("Name the column to predict with --target COLUMN.")
    table, profiles, task = _table_and_task(args, table)
    frame = table.frame
    if args.auto and args.model:
        raise StudioError("--auto chooses the model itself; leave out --model (or use `studio tune --model "
                          f"{args.model}` to tune that model's settings).")
    if args.param and not args.model and get_model(default_model_key(task)).choices:
        raise StudioError("--param sets a model's settings: name that model with --model KEY (see `studio "
                          "models`). Without --model, Studio chooses the model itself, at its own settings.")
    spec, params = _model_and_params(args.model or default_model_key(task), task, args.param)
    _check_takes(spec, table.kind)
    if args.onnx and spec.onnx_export is None:
        raise StudioError(f"{spec.label} cannot be written as ONNX; leave --onnx out, or choose another model.")

    fixed = None
    if args.train_rows:
        fixed = _read_split_file(Path(args.train_rows), len(frame))
        if args.val_size is not None or args.test_size is not None:
            _note("--train-rows fixes the rows; --val-size and --test-size are ignored.")
    split = replace(
        SPLIT_DEFAULTS,
        validation=SPLIT_DEFAULTS.validation if args.val_size is None else args.val_size,
        test=SPLIT_DEFAULTS.test if args.test_size is None else args.test_size,
        seed=args.seed,
        cv_folds=getattr(args, "cv_folds", 0),
    )
    if split.cv_folds == 1 or split.cv_folds < 0:
        raise StudioError("--cv-folds needs at least 2 folds (or 0 for none).")
    prep = prep_from_file(Path(args.prep), profiles, args.target) if args.prep else default_prep(profiles)
    project = _project_for(table, profiles, args.target, task, prep, split, spec.key, params)
    request = project.training_request(fixed)
    try:
        if args.auto:
            project.set_tuning(TuningConfig(TuneMode.AUTO, budget_s=args.budget, seed=args.seed))
            result = _auto_train(project.search_request(fixed), args.metric, table.describe_format())
        else:
            what = "a model Studio chooses" if spec.choices else spec.label.lower()
            _note(f"Training {what} for {task.value} of '{args.target}' on {table.describe_format()}.")
            result = _drive(train(request), sys.stderr)
    except ValueError as exc:
        # scikit-learn refusing settings that pass the specs' ranges, e.g. more neighbours than training rows.
        raise StudioError(f"Training failed: {first_line(exc, 300)}") from exc
    metadata = metadata_for(result)
    out = save_model(args.out, result.pipeline, metadata)
    cards = write_card(out, metadata, result.details, pipeline=result.pipeline)
    _note("Wrote the model card: " + " and ".join(map(str, cards)))
    exporter = get_model(result.model_key).onnx_export if args.onnx else None
    if exporter is not None:
        check_rows = result.rows.x_held if result.rows is not None else None
        written = _drive(exporter(result.pipeline, args.onnx, never_stop, check_rows=check_rows), sys.stderr)
        _note(f"Exported {get_model(result.model_key).short_name} to {written}")
    _record_run(result, out)

    train_rows, val_rows, test_rows = result.split_sizes
    print(f"Trained {result.model_label.lower()} on {train_rows:,} rows ({val_rows:,} validation, "
          f"{test_rows:,} test) in {result.duration_s:.1f} s; saved to {out}")
    if result.dropped_rows:
        print(f"{result.dropped_rows:,} {'row' if result.dropped_rows == 1 else 'rows'} without a value for "
              f"'{args.target}' {'was' if result.dropped_rows == 1 else 'were'} left out.")
    if result.split_note:
        print(result.split_note)
    print(_summary_lines(result))
    # The last stdout line: strict JSON (NaN, e.g. R² on one test row, becomes null).
    print(json.dumps({k: v if math.isfinite(v) else None for k, v in result.test.as_dict().items()}))
    return 0


# -- pictures ---------------------------------------------------------------------------------------------------
def _table_or_images(args: argparse.Namespace) -> tuple[LoadedTable | None, ImageFolder | None]:
    """What ``train`` learns from: a folder of pictures, a table naming pictures, or a plain table (loaded once)."""
    from studio.core.data.images import find_paths_column, images_from_table, is_image_folder, list_image_folder
    from studio.core.data.kinds import DataKind
    from studio.core.models.registry import get_model

    if is_image_folder(args.data):
        if args.images:
            _note("--images names a table's column of picture paths; a folder's pictures are found by themselves, "
                  "so it is ignored.")
        if args.target:
            _note("--target is not needed for a folder of pictures: each sub-folder is a class. It is ignored.")
        return None, list_image_folder(args.data)
    table = _read_table(args, args.data, _read_options(args))
    if args.images is None:
        # A table whose column holds picture file names is pictures, unless a model for tables was asked for.
        wants_table = args.model is not None and not get_model(args.model).takes(DataKind.IMAGES)
        if wants_table or find_paths_column(table.frame) is None:
            return table, None
    elif args.images not in table.frame.columns:
        raise StudioError(f"{table.name} has no column called '{args.images}'. "
                          f"Its columns are: {_listing(table.frame.columns)}.")
    if args.target is not None and args.target not in table.frame.columns:
        raise StudioError(f"{table.name} has no column called '{args.target}'. "
                          f"Its columns are: {_listing(table.frame.columns)}.")
    return None, images_from_table(table.frame, args.data, args.target, args.images)


def _check_takes(spec: ModelSpec, kind: DataKind) -> None:
    from studio.core.data.kinds import DataKind
    from studio.core.models.registry import models_for

    if not spec.takes(kind):
        other = "pictures" if kind is DataKind.TABLE else "tables"
        task = spec.tasks[0]
        raise StudioError(f"{spec.label} ({spec.key}) learns from {other}, not from {kind.label}. Models for "
                          f"{kind.label}: {_listing(m.key for m in models_for(task, kind))}.")


def _train_images(args: argparse.Namespace, folder: ImageFolder) -> int:
    """``train`` on pictures: check every file first (what it finds is said in plain lines), then train the way
    the window does, through a Project."""
    from studio.core.data.images import check_images, display_name
    from studio.core.data.kinds import DataKind
    from studio.core.data.target import Task
    from studio.core.models.torch.devices import DeviceError
    from studio.core.project import ModelConfig, Project, Step, TuningConfig
    from studio.core.report.card import write_card
    from studio.core.search.modes import TuneMode
    from studio.core.store.model_file import metadata_for, save_model
    from studio.core.train.training import train

    task = Task.CLASSIFICATION
    if args.task == "regression":
        raise StudioError("Pictures are sorted into classes (classification); leave out --task regression.")
    if args.auto and args.model:
        raise StudioError("--auto chooses the model itself; leave out --model (or use `studio tune --model "
                          f"{args.model}` to tune that model's settings).")
    if args.prep:
        raise StudioError("--prep holds preparation settings for a table; pictures are prepared by Studio. Leave "
                          "--prep out.")
    spec, params = _model_and_params(args.model or _default_picture_model(task), task, args.param)
    _check_takes(spec, DataKind.IMAGES)
    if args.onnx and spec.onnx_export is None:
        raise StudioError(f"{spec.label} cannot be written as ONNX; leave --onnx out, or choose another model.")
    if args.cv_folds:
        _note("--cv-folds is ignored for pictures: cross-validating a picture model trains it once per fold, so it "
              "is scored on its test pictures only.")
    split = replace(SPLIT_DEFAULTS,
                    validation=SPLIT_DEFAULTS.validation if args.val_size is None else args.val_size,
                    test=SPLIT_DEFAULTS.test if args.test_size is None else args.test_size,
                    seed=args.seed, cv_folds=0)

    _note(f"Reading {folder.describe_format()} in {display_name(folder.path)}.")
    check = _drive(check_images(folder), sys.stderr)
    folder = folder.with_check(check)
    inside = display_name(os.path.join(folder.root, ""))
    for line in folder.warnings():
        # Files are named from the folder down: the full path of each would bury the reason.
        _note(f"warning: {line.replace(inside, '')}")
    project = Project()
    with project.batch():
        project.set_dataset(folder)
        project.set_image_check(check)
        project.set_split(split)
        project.set_model(ModelConfig(spec.key, tuple(sorted(params.items()))))
    fixed = None
    if args.train_rows:
        if args.val_size is not None or args.test_size is not None:
            _note("--train-rows fixes the pictures; --val-size and --test-size are ignored.")
        found = project.problems(Step.PREPARE)
        if found:
            raise StudioError(found[0])
        fixed = _read_picture_split(Path(args.train_rows), folder)
    else:
        found = project.problems(Step.SPLIT)
        if found:
            raise StudioError(found[0])
    request = project.training_request(fixed)
    if fixed is not None:
        _warn_split_near_copies(fixed, getattr(request.prep, "near_groups", ()), Path(args.train_rows).name)
    usable = len(request.frame) if fixed is None else len(fixed.train) + len(fixed.test)
    classes = len(folder.class_counts)
    size = project.image_input_size()
    try:
        if args.auto:
            project.set_tuning(TuningConfig(TuneMode.AUTO, budget_s=args.budget, seed=args.seed))
            result = _auto_train(project.search_request(fixed), args.metric, f"{usable:,} pictures")
        else:
            _note(f"Training {spec.label.lower()} to tell {classes} classes apart on {usable:,} pictures, read at "
                  f"{size} × {size} pixels.")
            result = _drive(train(request), sys.stderr)
    except DeviceError as exc:
        batch = int(spec.resolve(task, params).get("batch_size") or 2)
        raise StudioError(f"{exc} On the command line: --param device=cpu, or --param batch_size={max(1, batch // 2)}."
                          ) from exc
    except ValueError as exc:
        raise StudioError(f"Training failed: {first_line(exc, 300)}") from exc
    metadata = metadata_for(result)
    out = save_model(args.out, result.pipeline, metadata)
    cards = write_card(out, metadata, result.details, pipeline=result.pipeline)
    _note("Wrote the model card: " + " and ".join(map(str, cards)))
    _record_run(result, out)

    train_rows, val_rows, test_rows = result.split_sizes
    print(f"Trained {result.model_label.lower()} on {train_rows:,} pictures ({val_rows:,} validation, "
          f"{test_rows:,} test) in {result.duration_s:.1f} s; saved to {out}")
    if result.split_note:
        print(result.split_note)
    print(_summary_lines(result))
    print(json.dumps({k: v if math.isfinite(v) else None for k, v in result.test.as_dict().items()}))
    return 0


def _default_picture_model(task: Task) -> str:
    """The window's first choice for pictures; without PyTorch, the first picture model that needs none, so
    `studio train FOLDER` still trains something (and says why it is not the network)."""
    from studio.core.data.kinds import DataKind
    from studio.core.models.registry import default_model_key, get_model, models_for

    key = default_model_key(task, DataKind.IMAGES)
    missing = get_model(key).missing_requirement()
    usable = [m for m in models_for(task, DataKind.IMAGES) if m.missing_requirement() is None]
    if missing is None or not usable:
        return key
    _note(f"{missing} Training the {usable[0].label.lower()} ({usable[0].key}) instead.")
    return usable[0].key


def _read_picture_split(path: Path, folder: ImageFolder) -> SplitIndices:
    """``--train-rows`` for pictures: paths relative to the folder (or the table), as positions of the pictures
    training uses. A listed picture the check left out is said and skipped; one that is not there at all is a
    mistake in the file."""
    from studio.core.data.images import IMAGE_COLUMN, display_name
    from studio.core.train.splits import explicit_split

    raw = _read_json(path)
    shape = f'{path.name} must hold {{"train": [picture paths], "test": [picture paths]}}'
    if not isinstance(raw, dict) or not {"train", "test"} <= set(raw):
        raise StudioError(f"{shape}.")

    def key(name: str) -> str:
        return os.path.normcase(os.path.normpath(os.path.join(folder.root, name)))

    usable = {key(p): row for row, p in enumerate(folder.usable_frame()[IMAGE_COLUMN])}
    everything = {key(p) for p in folder.frame[IMAGE_COLUMN]}
    parts: list[list[int]] = []
    skipped = 0
    for part in ("train", "test"):
        values = raw[part]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise StudioError(f'{shape}; \'{part}\' must be a list of paths relative to the folder, e.g. '
                              '"cat/001.jpg".')
        rows: list[int] = []
        for value in dict.fromkeys(values):  # a path listed twice counts once
            where = key(value)
            if where in usable:
                rows.append(usable[where])
            elif where in everything:
                skipped += 1
            else:
                raise StudioError(f"{display_name(value)}, listed under '{part}' in {path.name}, is not a picture "
                                  f"in {display_name(folder.path)}.")
        parts.append(rows)
    if skipped:
        _note(f"warning: {skipped:,} listed picture{'s' if skipped != 1 else ''} could not be used (see above) and "
              f"{'are' if skipped != 1 else 'is'} left out of the split.")
    unlisted = len(usable) - len(set(parts[0]) | set(parts[1]))
    if unlisted > 0:
        _note(f"{unlisted:,} picture{'s' if unlisted != 1 else ''} in neither list {'are' if unlisted != 1 else 'is'} "
              "not used.")
    return explicit_split(parts[0], parts[1], len(usable))


def _warn_split_near_copies(parts: SplitIndices, groups: tuple[tuple[int, ...], ...], source: str) -> None:
    """A split given by hand is kept as it is; near copies on both of its sides are only pointed out."""
    tested = set(parts.test.tolist())
    learned = set(parts.train.tolist())
    split = sum(1 for group in groups if tested.intersection(group) and learned.intersection(group))
    if split:
        groups_are = f"{split:,} group{'s' if split != 1 else ''} of near-copy pictures {'are' if split != 1 else 'is'}"
        _note(f"warning: {groups_are} split between training and test in {source}; the test score may look better "
              "than it is.")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise StudioError(f"{path.name} is not a JSON text file.") from None
    except json.JSONDecodeError as exc:
        raise StudioError(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None


def _summary_lines(result: Any) -> str:
    """The result in words: a model that ignores a rare class is called out; cross-validation folds if asked."""
    from studio.core.evaluate.details import result_summary
    from studio.core.evaluate.metrics import METRIC_LABELS, format_metric

    details = result.details
    text = result_summary(result.task, result.test, result.target,
                          details.classification if details is not None else None)
    cv = details.cross_validation if details is not None else None
    if cv is not None and cv.folds:
        folds = ", ".join(format_metric(cv.metric, v) for v in cv.scores())
        text += (f"\nCross-validation ({len(cv.folds)} folds), {METRIC_LABELS.get(cv.metric, cv.metric).lower()}: "
                 f"mean {format_metric(cv.metric, cv.mean())}, spread {cv.spread():.3f} (folds: {folds}).")
    return text


def _model_and_params(key: str, task: Task, items: list[str]) -> tuple[ModelSpec, dict[str, ParamValue]]:
    """The model a command names, checked (installed, able to do the task), and its ``--param`` values."""
    from studio.core.models.registry import get_model, models_for

    spec = get_model(key)
    missing = spec.missing_requirement()
    if missing:
        raise StudioError(missing)
    if task not in spec.tasks:
        raise StudioError(f"{spec.label} cannot do {task.value}. Models for {task.value}: "
                          f"{_listing(m.key for m in models_for(task))}.")
    return spec, _parse_params(spec, task, items)


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
    from studio.core.train.splits import explicit_split

    raw = _read_json(path)
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


def _drive(job: Any, stream: TextIO, own_line: Callable[[Any], str | None] | None = None) -> Any:
    """Run a core generator to its result, printing a line per stage change and per curve point; ``own_line``
    may give an item a line of its own (a search's trials)."""
    from studio.core.common.curves import BatchPoint

    stage = None
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            return finished.value
        line = own_line(item) if own_line is not None else None
        if line is not None:
            print(line, file=stream)
        elif isinstance(item.curve, BatchPoint):
            continue  # a network's loss every few batches: the per-epoch lines say enough on a terminal
        elif item.curve is not None:
            point = item.curve
            losses = [f"{name} loss {value:.4g}" for name, value in
                      (("train", point.train_loss), ("validation", point.val_loss)) if value is not None]
            print(f"  {item.message}: {', '.join(losses)}" if losses else f"  {item.message}", file=stream)
        elif item.stage != stage:
            print(f"{item.stage}: {item.message}" if item.message else item.stage, file=stream)
        stage = item.stage


# -- tuning ---------------------------------------------------------------------------------------------------------
def _project_for(table: LoadedTable, profiles: tuple[ColumnProfile, ...], target: str, task: Task,
                 prep: PrepConfig, split: SplitConfig, model_key: str, params: dict[str, ParamValue]) -> Project:
    """The command line's choices held in a Project, which builds the requests for the CLI as for the window."""
    from studio.core.project import ModelConfig, Project

    project = Project()
    with project.batch():
        project.set_table(table)
        project.set_profiles(profiles)
        project.set_target(target)
        project.set_task(task)
        project.set_prep(prep)
        project.set_split(split)
        project.set_model(ModelConfig(model_key, tuple(sorted(params.items()))))
    return project


def _auto_train(search: TuneRequest, metric: str | None, source: str) -> Any:
    """``train --auto``: search the model families within the budget; returns the winner's TrainResult."""
    request = search.base
    if metric:  # the person's own measure, checked by the search (the window only offers valid ones)
        search = replace(search, metric=metric)
    _note(f"Searching for the best model for {request.task.value} of '{request.target}' on {source}, "
          f"for up to {search.budget_s:g} s.")
    outcome = _run_search(search)
    _note(f"The winner: {_trained_words(outcome)}")
    return outcome.train_result


def _trained_words(outcome: Any) -> str:
    """What a search trained at the end, in words: the best trial's model and settings, or the ensemble."""
    from studio.core.models.ensemble_spec import describe_members
    from studio.core.models.registry import get_model

    spec = get_model(outcome.final_key)
    settings = spec.describe(outcome.final_params, limit=3 if spec.combines_models else None)
    if spec.members is not None:
        return f"{describe_members(spec.members(outcome.final_params))} from the best trials ({settings})"
    return f"{spec.label} ({settings})"


def _cmd_tune(args: argparse.Namespace) -> int:
    from studio.core.evaluate.metrics import plain_summary
    from studio.core.models.registry import describe_params
    from studio.core.prep.config import default_prep
    from studio.core.project import TuningConfig
    from studio.core.report.card import write_card
    from studio.core.search.modes import TuneMode
    from studio.core.search.spaces import build_space
    from studio.core.search.words import format_score
    from studio.core.store.model_file import metadata_for, save_model

    table, profiles, task = _table_and_task(args)
    spec, params = _model_and_params(args.model, task, args.param)
    if spec.choices:
        raise StudioError(f"{spec.label} has no settings to tune: name one model with --model (see `studio "
                          "models`), or use `studio train --auto` to search every model.")
    split = replace(SPLIT_DEFAULTS, validation=0.0,
                    test=SPLIT_DEFAULTS.test if args.test_size is None else args.test_size, seed=args.seed)
    project = _project_for(table, profiles, args.target, task, default_prep(profiles), split, spec.key, params)
    space = build_space(spec, task, params)
    ranges = None
    if args.range:
        ranges = tuple(_parse_range(spec, space, item) for item in args.range)
    elif params:
        ranges = tuple(r for r in space.ranges if r.name not in params)  # --param values stay fixed
    trials = args.trials if args.trials is not None or args.budget is not None else 30
    _note(f"Tuning {spec.label.lower()} for {task.value} of '{args.target}' on {table.describe_format()}"
          + (f", {trials} trials" if trials else "") + (f", up to {args.budget:g} s" if args.budget else "") + ".")
    project.set_tuning(TuningConfig(TuneMode.TUNE, budget_s=args.budget, method=args.method, ranges=ranges or (),
                                    ranges_model=spec.key, seed=args.seed, max_trials=trials))
    search = project.search_request()
    if args.metric:  # the person's own measure, checked by the search
        search = replace(search, metric=args.metric)
    outcome = _run_search(search)
    result = outcome.train_result
    best = outcome.best
    print(f"Best of {len(outcome.trials)} trials: trial {best.number}, cross-validated {outcome.metric} "
          f"{format_score(outcome.metric, best.score)}; settings: {describe_params(best.params, best.model_key)}")
    if outcome.final_key != best.model_key or outcome.final_params != best.params_dict():
        print(f"Trained instead: {_trained_words(outcome)}, which scored better in cross-validation.")
    if args.out:
        metadata = metadata_for(result)
        out = save_model(args.out, result.pipeline, metadata)
        cards = write_card(out, metadata, result.details, pipeline=result.pipeline)
        _note("Wrote the model card: " + " and ".join(map(str, cards)))
        _record_run(result, out)
        print(f"Trained on all {result.split_sizes[0]:,} training rows and saved to {out}")
    else:
        _record_search(result)
    print(plain_summary(task, result.test, args.target))
    # "model" and "params" are what was trained; "best_trial" the single best trial's.
    print(json.dumps({"model": outcome.final_key, "params": outcome.final_params, "metric": outcome.metric,
                      "cv_score": best.score,
                      "best_trial": {"number": best.number, "model": best.model_key, "params": best.params_dict()},
                      "test": {k: v if math.isfinite(v) else None for k, v in result.test.as_dict().items()}}))
    return 0


def _parse_range(spec: ModelSpec, space: Any, item: str) -> Any:
    name, sep, bounds = item.partition("=")
    name = name.strip()
    param = spec.param(name)
    generated = space.get(name)
    if not sep or generated is None:
        searchable = ", ".join(r.name for r in space.ranges)
        raise StudioError(f"--range expects NAME=LOW:HIGH for one of: {searchable}; got '{item}'.")
    if not generated.is_numeric:
        return generated.narrowed(param, choices=tuple(param.parse(v) for v in bounds.split(",")))
    low, colon, high = bounds.partition(":")
    if not colon:
        raise StudioError(f"--range {name} needs LOW:HIGH, e.g. {name}=1:10; got '{bounds}'.")
    return generated.narrowed(param, param.parse(low), param.parse(high))


def _run_search(search: Any) -> Any:
    """Run a search, one stderr line per trial. The caller records the search as one run (the winner's, whose
    result carries the trials)."""
    from dataclasses import replace

    from studio.core.models.registry import describe_params
    from studio.core.search.policy import resolve_metric
    from studio.core.search.requests import TrialState
    from studio.core.search.scheduler import tune
    from studio.core.search.words import format_score

    search = replace(search, metric=resolve_metric(search))

    def trial_line(item: Any) -> str | None:
        trial = item.trial
        if trial is None:
            return None
        score = format_score(search.metric, trial.score) if trial.score is not None else "–"
        mark = "  best so far" if trial.is_best else ""
        state = "" if trial.state is TrialState.DONE else f"  ({trial.state.value}: {trial.note})"
        return (f"  trial {trial.number:>3}  {trial.model_label:<24} {score:>10}  {trial.duration_s:6.1f} s  "
                f"{describe_params(trial.params, trial.model_key, limit=4)}{state}{mark}")

    return _drive(tune(search), sys.stderr, trial_line)


def _record_search(result: Any) -> None:
    """A search whose model was not saved is recorded all the same: one run, its trials inside."""
    import sqlite3

    from studio.core.store.runs import run_from_result

    try:
        store = _open_store(for_writing=True)
        run_id = store.add(run_from_result(result))
    except (sqlite3.Error, OSError, StudioError) as exc:
        _note(f"warning: the search could not be recorded in the run history ({exc}).")
        return
    _note(f"Recorded as run {run_id} in {store.path} (`studio report {run_id} --out report.html`).")


def _note(text: str) -> None:
    print(text, file=sys.stderr)


def _listing(names: Any, limit: int = 20) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# -- model files --------------------------------------------------------------------------------------------
def _add_trust_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument("--trust", action="store_true",
                         help="open a model file in the older (pickle) format, which can run programs when opened: "
                         "only for a file you trust")


def _open_model(args: argparse.Namespace) -> Any:
    """The model file named on the command line; one in the older format only with --trust."""
    from studio.core.store.model_file import UntrustedModelFileError, load_model

    try:
        return load_model(args.model, trust=args.trust)
    except UntrustedModelFileError as exc:
        raise StudioError(f"{exc} If you trust it, add --trust.") from None


# -- predict ----------------------------------------------------------------------------------------------------
def _cmd_predict(args: argparse.Namespace) -> int:
    from studio.core.serve.images import is_image_model
    from studio.core.serve.predict import (
        add_drift_notes,
        keep_source_format,
        predict_frame,
        prediction_format,
        read_as_text,
        write_predictions,
    )

    out = Path(args.out)
    prediction_format(out)  # a file type Studio cannot write is said before any work is done
    bundle = _open_model(args)
    if bundle.warning:
        print(f"warning: {bundle.warning}", file=sys.stderr)
    if is_image_model(bundle):
        return _predict_images(args, bundle, out)
    if len(args.data) > 1:
        raise StudioError(f"This model predicts the rows of one table at a time; {len(args.data)} files were given.")
    if args.confidence is not None:
        _note("--confidence applies to picture models only; it is ignored.")
    table = _read_table(args, args.data[0], bundle.read_options.merged(_read_options(args)))
    # The user's columns are written back as the text they hold, never as the numbers the model read.
    predicted = keep_source_format(predict_frame(bundle, table.frame, read_as_text(table)), table)
    predictions = add_drift_notes(bundle, table.frame, predicted)
    for note in predictions.attrs.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    write_predictions(out, predictions, args.bom)
    label = bundle.metadata.get("model_label", bundle.metadata.get("model", "model"))
    print(f"Predicted '{bundle.target}' for {len(predictions):,} rows of {table.name} with {label}; "
          f"wrote {out}")
    return 0


def _predict_images(args: argparse.Namespace, bundle: Any, out: Path) -> int:
    from studio.core.data.images import display_name, is_image_name
    from studio.core.data.tabular import EXCEL_SUFFIXES, PARQUET_SUFFIXES
    from studio.core.serve.images import DEFAULT_CONFIDENCE, predict_images, summary
    from studio.core.serve.predict import write_predictions

    inputs = []
    for name in args.data:
        if not os.path.exists(name):
            _note(f"warning: {display_name(name)} is not there; it is left out.")
        elif (os.path.isfile(name) and not is_image_name(name)
              and Path(name).suffix.lower() in (".csv", ".tsv", *EXCEL_SUFFIXES, *PARQUET_SUFFIXES)):
            # A table among the inputs would only come back as "not a picture": say what is expected instead.
            raise StudioError(f"{display_name(Path(name).name)} is a table, and this model was trained on pictures: "
                              "give it the pictures, or the folder that holds them.")
        else:
            inputs.append(name)
    if not inputs:
        raise StudioError("None of the pictures or folders named is there.")
    confidence = DEFAULT_CONFIDENCE if args.confidence is None else args.confidence
    predictions = _drive(predict_images(bundle, inputs, confidence), sys.stderr)
    for note in predictions.attrs.get("notes", []):
        _note(f"note: {note}")
    unread = list(predictions.loc[predictions["note"] != "", "note"])
    for why in unread[:UNREAD_SHOWN]:
        _note(f"warning: {why}")
    if len(unread) > UNREAD_SHOWN:
        _note(f"warning: {len(unread) - UNREAD_SHOWN:,} more pictures could not be read; their rows say why.")
    write_predictions(out, predictions, args.bom)
    label = bundle.metadata.get("model_label", bundle.metadata.get("model", "model"))
    print(f"Predicted the class of {len(predictions):,} pictures with {label} (below {confidence:.0%} sure: "
          f"'not sure'); wrote {out}")
    print(summary(predictions))
    return 0


def _table_model_only(bundle: Any, command: str) -> None:
    """Commands that read tables of rows refuse a picture model in words, before reading any data."""
    from studio.core.serve.images import is_image_model

    if is_image_model(bundle):
        raise StudioError(f"This model was trained on pictures; `studio {command}` works with models trained on "
                          "tables. Predict pictures with `studio predict MODEL FOLDER --out predictions.csv`.")


# -- retrain ----------------------------------------------------------------------------------------------------
def _cmd_retrain(args: argparse.Namespace) -> int:
    import sqlite3

    from studio.core.data.tabular import load_table
    from studio.core.serve.retrain import check_rows, retrain_job
    from studio.core.store.model_file import metadata_for, save_model

    if Path(args.out).resolve() == Path(args.model).resolve():
        # The old model is what the new one is compared with and linked to: it must still be there afterwards.
        raise StudioError("--out names the model being trained again; give the new model another name so the old "
                          "one is kept.")
    bundle = _open_model(args)
    if bundle.warning:
        _note(f"warning: {bundle.warning}")
    _table_model_only(bundle, "retrain")
    options = bundle.read_options.merged(_read_options(args))
    new = _read_table(args, args.data, options)
    old = load_table(args.old_data, options=options) if args.old_data else None
    check_rows(bundle, new.frame, old.frame if old is not None else None)  # bad rows: one error line, nothing else
    label = bundle.metadata.get("model_label", bundle.metadata.get("model", "model"))
    _note(f"Training {label} again on {new.describe_format()}"
          + (f", with the {len(old.frame):,} old rows of {old.name}." if old is not None else "."))
    retrained = _drive(retrain_job(bundle, new.frame, old.frame if old is not None else None,
                                   source_path=new.path), sys.stderr)
    for note in retrained.notes:
        _note(f"note: {note}")
    result = retrained.result
    out = save_model(args.out, result.pipeline, metadata_for(result))
    try:
        store = _open_store(for_writing=True)
        run_id = store.add(retrained.run(str(out.resolve())))
        _note(f"Recorded as run {run_id} in {store.path}, linked to {Path(args.model).name}.")
    except (sqlite3.Error, OSError, StudioError) as exc:
        _note(f"warning: the run could not be recorded in the run history ({exc}).")
    train_rows, val_rows, test_rows = result.split_sizes
    print(f"Trained {result.model_label.lower()} again on {train_rows:,} rows ({val_rows:,} validation, "
          f"{test_rows:,} test) in {result.duration_s:.1f} s; saved to {out}")
    print(retrained.sentence)
    print(json.dumps(retrained.scores_plain()))
    return 0


# -- check ------------------------------------------------------------------------------------------------------
def _cmd_check(args: argparse.Namespace) -> int:
    from studio.core.serve.drift import check_drift

    bundle = _open_model(args)
    if bundle.warning:
        print(f"warning: {bundle.warning}", file=sys.stderr)
    _table_model_only(bundle, "check")
    table = _read_table(args, args.data, bundle.read_options.merged(_read_options(args)))
    report = check_drift(bundle.metadata, table.frame)
    for line in report.lines():
        print(line)
    # The exit code says whether anything drifted, so a script can stop before predicting.
    print(json.dumps(report.to_plain(), ensure_ascii=False))
    return 1 if report.drifted else 0


# -- serve ------------------------------------------------------------------------------------------------------
def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from studio.core.serve.http import PortInUseError, bind_socket, create_app, make_server, model_label
    except ImportError:
        raise StudioError('Serving a model needs FastAPI and uvicorn, which are not installed: run pip install '
                          '"fastapi>=0.110" "uvicorn>=0.29" (or install Studio with its "serve" extra).') from None

    if not 0 <= args.port <= 65535:
        raise StudioError(f"--port {args.port} is not a port: give a number from 1 to 65535 (0: any free port).")
    # The port is taken before the model is read: a busy port is said at once, and nobody can take it meanwhile.
    try:
        sock = bind_socket(args.host, args.port)
    except PortInUseError as exc:
        raise StudioError(f"{exc} Choose another one with --port.") from None
    with sock:
        bundle = _open_model(args)
        if bundle.warning:
            print(f"warning: {bundle.warning}", file=sys.stderr)
        server = make_server(create_app(bundle))
        host, port = sock.getsockname()[:2]
        address = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        _note(f"Serving {model_label(bundle)} (predicts '{bundle.target}') from {Path(args.model).name} at {address}: "
              f"POST rows to {address}/predict; documentation at {address}/docs. Press Ctrl+C to stop.")
        server.run(sockets=[sock])
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
        from studio.app import create_window
        from studio.ui.screenshots import render_all
    except ModuleNotFoundError as exc:
        raise StudioError(f"Screenshots need the window code, which cannot be imported here ({exc}).") from exc
    try:
        width, height = (int(part) for part in str(args.size).lower().split("x"))
    except ValueError:
        raise StudioError(f"--size takes the width and height in pixels, like 1024x600; got {args.size!r}.") \
            from None
    if not (640 <= width <= 7680 and 480 <= height <= 4320):
        raise StudioError("--size must lie between 640x480 and 7680x4320.")
    for path in render_all(Path(args.out), create_window, size=(width, height)):
        print(path)
    return 0


# -- runs and reports -------------------------------------------------------------------------------------------
def _record_run(result: Any, model_path: Path) -> None:
    import sqlite3

    from studio.core.store.runs import run_from_result

    try:
        store = _open_store(for_writing=True)
        run_id = store.add(run_from_result(result, str(Path(model_path).resolve())))
    except (sqlite3.Error, OSError, StudioError) as exc:
        _note(f"warning: the run could not be recorded in the run history ({exc}).")
        return
    _note(f"Recorded as run {run_id} in {store.path} (`studio report {run_id} --out report.html`).")


def _open_store(for_writing: bool = False) -> RunStore:
    """The run history the settings point at; a read-only one (damaged, or from a newer Studio) is said as a
    warning. ``for_writing``: opened by the write itself, so that a history that cannot take the run keeps it
    aside (RunsKeptAsideError says where) instead of losing it."""
    from studio.core.store.runs import open_user_store

    if for_writing:
        return open_user_store(open_now=False)
    store = open_user_store()
    if store.damage_note:
        _note(f"warning: {store.damage_note}")
    return store


def _cmd_report(args: argparse.Namespace) -> int:
    from studio.core.report.html import save_report

    record = _open_store().get(args.run_id)
    out = save_report(record, args.out)
    print(f"Wrote the report of run {record.id} ({record.model_label} predicting '{record.target}') to {out}")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from studio.core.data.target import Task
    from studio.core.evaluate.metrics import METRIC_LABELS, format_metric, headline_metric

    store = _open_store()
    records = store.summaries()
    for left_out in store.skipped:  # one odd row never hides the others
        _note(f"warning: {left_out.split(':')[0]} of the run history could not be read and is left out "
              f"({left_out.split(': ', 1)[-1]}).")
    for record in records:
        metric = headline_metric(Task(record.task))
        line = (f"{record.id:>5}  {local_time(record.created)}  {record.model_label} -> {record.target} on "
                f"{record.dataset_name}: test {METRIC_LABELS[metric].lower()} "
                f"{format_metric(metric, record.metric('test', metric))}")
        if record.is_search:
            # A search is one run: the winner's, with its tries inside (`studio report` shows the run).
            tries, cv_metric = record.search_tries, str(record.search.get("metric", ""))
            line += (f"  (search of {tries} {'try' if tries == 1 else 'tries'}; cross-validated "
                     f"{METRIC_LABELS.get(cv_metric, cv_metric).lower()} "
                     f"{format_metric(cv_metric, record.search.get('cv_score'))})")
        elif "test" not in record.metrics and "cross_validation" in record.metrics:
            # A history from before a search was one run holds a run per try, with no test score.
            cv = record.metrics["cross_validation"]
            line += f"  (one try of a search; cross-validated {format_metric(cv.get('metric', ''), cv.get('mean'))})"
        print(line)
    return 0

