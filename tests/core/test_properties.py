"""Property-based tests (Hypothesis) of the parts bad input reaches first: the CSV reader, type inference, the
formula checker and the prediction writer.

Random tables with random column names (Unicode, spaces, duplicates, names scikit-learn uses itself), blanks, huge
and tiny numbers and mixed types. Whatever they hold, Studio raises nothing but its own errors (a sentence), and
the round trip "load -> train -> save -> load -> predict -> write" gives back every value of the user's columns
as it was written. Few examples each, so the file stays a few seconds.
"""

from __future__ import annotations

import contextlib
import string
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from studio.core.common.errors import DataError, StudioError
from studio.core.data.profile import ColumnKind, profile_frame, to_number, too_large
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.prep.config import default_prep
from studio.core.prep.formula import FUNCTIONS, parse_formula

from .helpers import drain

QUICK = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
# Names a spreadsheet allows that have tripped libraries: scikit-learn's own parameter names, its "__"
# separator, Python keywords and function names of the formula language.
LIBRARY_WORDS = ["remainder", "verbose", "n_jobs", "memory", "transformers", "a__b", "a_b", "__", "class", "if",
                 "None", "log", "sqrt", "_col0", "index", "prediction", "0", "1.5", "-", " "]
names = st.one_of(st.sampled_from(LIBRARY_WORDS),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12))
# Values as a person types them: numbers of every size, words, blanks, infinity, numbers with separators.
cells = st.one_of(
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.sampled_from(["", " ", "inf", "-inf", "1e400", "NaN", "n/a", "1,234", " 42 ", "1e-320", "0", "yes", "é"]),
    st.text(alphabet=string.ascii_letters + " ,;\"'\n", max_size=8),
)


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    frame = pd.DataFrame(rows, columns=range(len(header)))
    frame.columns = header
    return frame.to_csv(index=False)


@st.composite
def tables(draw: st.DrawFn, min_rows: int = 1) -> tuple[list[str], list[list[str]]]:
    width = draw(st.integers(1, 5))
    header = draw(st.lists(names, min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), min_size=min_rows, max_size=12))
    return header, rows


# -- the CSV reader and type inference ------------------------------------------------------------------------------
@QUICK
@given(table=tables())
# A repeated name with a thousands separator: the reader once took frame[name] (then a table) for a column.
@example(table=(["remainder", "remainder"], [["0", "1,234"]]))
def test_any_csv_reads_into_unique_named_columns_or_a_sentence(tmp_path: Path, table: tuple) -> None:
    header, rows = table
    path = tmp_path / "data.csv"
    path.write_text(_csv_text(header, rows), encoding="utf-8")
    try:
        frame = load_table(path).frame
    except StudioError:
        return
    assert frame.shape[1] == len(header)
    assert frame.columns.is_unique and all(isinstance(c, str) and c.strip() for c in frame.columns)
    profiles = profile_frame(frame)
    for profile, name in zip(profiles, frame.columns, strict=True):
        assert profile.name == name and isinstance(profile.kind, ColumnKind)
        assert profile.missing == int(frame[name].isna().sum())
        assert 0 <= profile.infinite <= profile.rows
    default_prep(profiles)  # a preparation for any profile


@QUICK
@given(values=st.lists(cells, min_size=1, max_size=30))
def test_type_inference_takes_any_column(values: list[str]) -> None:
    series = pd.Series([v if v.strip() else None for v in values], name="column", dtype=object)
    profile = profile_frame(series.to_frame())[0]
    assert profile.rows == len(values) and profile.missing == int(series.isna().sum())
    if profile.kind is ColumnKind.NUMERIC:  # every infinite number counted, however it was written
        assert profile.infinite == int(too_large(to_number(series.dropna()).to_numpy()).sum())


# -- formulas ---------------------------------------------------------------------------------------------------------
COLUMNS = ["a", "b", "log", "_col0", "two words", "é"]
tokens = st.sampled_from(["a", "b", "log", "_col0", "`two words`", "`é`", "`_col0`", "`nope`", "sqrt", "1", "2.5",
                          "9" * 400, "1e400", "0", "+", "-", "*", "/", "**", "//", "%", "(", ")", ",", " ",
                          *(f"{f}(" for f in FUNCTIONS), "open(", "'x'", "a.real", "<", "lambda", "[", "]"])


@QUICK
@given(parts=st.lists(tokens, min_size=1, max_size=12))
def test_a_formula_is_refused_in_words_or_computes_for_any_numbers(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        formula = parse_formula(text, COLUMNS)
    except DataError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    frame = pd.DataFrame({name: [0.0, -1.0, 1e308, np.nan, "7", "x"] for name in COLUMNS})
    values = formula.evaluate(frame)
    assert len(values) == len(frame) and values.dtype == float
    assert not np.isinf(values.to_numpy()).any()  # gaps, never infinity
    assert set(formula.names) <= set(COLUMNS)


@QUICK
@given(text=st.text(max_size=60))
def test_any_typed_text_is_a_formula_or_a_sentence(text: str) -> None:
    with contextlib.suppress(DataError):  # a sentence is fine; anything else fails the test
        parse_formula(text, COLUMNS)


# -- the round trip ------------------------------------------------------------------------------------------------
@st.composite
def trainable_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], list[str]]:
    header, rows = draw(tables(min_rows=1))
    rows = rows * max(1, 24 // len(rows))  # enough rows to split, whatever they hold
    noise = draw(st.lists(st.integers(0, 1), min_size=len(rows), max_size=len(rows)))
    labels = ["yes" if (i + n) % 2 else "no" for i, n in enumerate(noise)]
    return header, rows, labels


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(table=trainable_tables())
def test_load_train_save_load_predict_write_keeps_every_value(tmp_path: Path, table: tuple) -> None:
    from studio.core.serve.predict import keep_source_format, predict_frame, read_as_text, write_predictions
    from studio.core.store.model_file import load_model, metadata_for, save_model
    from studio.core.train.splits import SplitConfig
    from studio.core.train.training import TrainRequest, train

    header, rows, labels = table
    path = tmp_path / "data.csv"
    text = _csv_text([*header, "answer"], [[*row, label] for row, label in zip(rows, labels, strict=True)])
    path.write_text(text, encoding="utf-8")
    try:
        loaded = load_table(path)
        profiles = profile_frame(loaded.frame)
        target = str(loaded.frame.columns[-1])
        request = TrainRequest(loaded.frame, target, Task.CLASSIFICATION, default_prep(profiles), SplitConfig(),
                               "logistic_regression", {})
        result = drain(train(request))
        model = save_model(tmp_path / "m.studio.joblib", result.pipeline, metadata_for(result))
        bundle = load_model(model)
        again = load_table(path)
        predicted = keep_source_format(predict_frame(bundle, again.frame, read_as_text(again)), again)
        written = write_predictions(tmp_path / "out.csv", predicted)
    except StudioError:
        return
    typed = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    back = pd.read_csv(written, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    user = back.iloc[:, back.shape[1] - typed.shape[1]:]
    assert user.shape == typed.shape
    for column in range(typed.shape[1]):
        assert list(user.iloc[:, column]) == list(typed.iloc[:, column]), typed.columns[column]


def test_every_awkward_name_is_a_column_of_the_model_file(tmp_path: Path) -> None:
    """The model file's schema keeps the user's names, whatever scikit-learn calls its steps inside, and every
    feature is traced back to its column."""
    from studio.core.prep.build import feature_sources
    from studio.core.store.model_file import load_model, metadata_for, save_model
    from studio.core.train.splits import SplitConfig
    from studio.core.train.training import TrainRequest, train

    rng = np.random.default_rng(0)
    wanted = [name for name in LIBRARY_WORDS if name.strip()]
    frame = pd.DataFrame({name: rng.normal(size=40) for name in wanted})
    frame["colour (was missing)"] = rng.choice(["red", "blue", None], size=40)
    frame["answer"] = ["yes", "no"] * 20
    prep = default_prep(profile_frame(frame)).with_column("colour (was missing)", missing_indicator=True)
    result = drain(train(TrainRequest(frame, "answer", Task.CLASSIFICATION, prep, SplitConfig(),
                                      "logistic_regression", {})))
    bundle = load_model(save_model(tmp_path / "m.studio.joblib", result.pipeline, metadata_for(result)))
    schema = [c["name"] for c in bundle.input_columns if c["name"] != "answer"]
    assert schema == [*wanted, "colour (was missing)"]
    sources = feature_sources(bundle.pipeline.named_steps["prep"])
    assert [source for source, _ in sources] == schema
    for source, features in sources:
        assert features and all(f.startswith(source) for f in features), (source, features)
