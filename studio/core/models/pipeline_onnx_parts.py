"""The preparation of a whole pipeline as plain ONNX operators, written from its fitted pieces (see pipeline_onnx).

Every piece Studio builds has a counterpart here: numbers (clipped, filled, scaled or cut into bins), categories
(one-hot, ordinal or target encoded), date parts, free text as TF-IDF word counts, and the columns computed by
formulas. The graph works in double throughout, so the features come out as Studio's own, bit for bit or within a
rounding; only the word counts of free text go through onnxruntime's own tokenizer and lower-casing, which the
check at export compares with Studio's on the held-out rows.

Two kinds of input need a word for whoever feeds the file, since ONNX has no date parsing and Studio's reading of
text as categories would change free text:

- a column used as a date is fed as its moment in seconds since 1970-01-01 00:00 UTC (tensor(double), NaN for a
  gap); the graph computes the year, month, weekday and so on from that number;
- a column used as free text is fed as the text itself (tensor(string), "" for a gap), not trimmed.
"""

from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from studio.core.common.errors import StudioError

OPSET = 19  # the first where Equal compares text
ML_OPSET = 3
MICROSOFT = "com.microsoft"  # onnxruntime's own operators: the word splitter (Tokenizer) lives there
MISSING_TEXT = ""
DOUBLE_TYPE = 11  # onnx.TensorProto.DOUBLE, without importing onnx at module level
FLOAT_TYPE = 1

# The kinds of raw input the file takes: the ONNX type and what a caller feeds.
NUMBER_INPUT = "double"
CATEGORY_INPUT = "string"
DATE_INPUT = "date"
TEXT_INPUT = "text"
TEXT_TYPED_INPUTS = frozenset({CATEGORY_INPUT, TEXT_INPUT})
INPUT_WORDS = {NUMBER_INPUT: "numbers", CATEGORY_INPUT: "categories", DATE_INPUT: "dates", TEXT_INPUT: "free text"}
_ONE_INPUT_WORDS = {NUMBER_INPUT: "a number", CATEGORY_INPUT: "a category", DATE_INPUT: "a date",
                    TEXT_INPUT: "free text"}
INPUT_CONTRACT = {
    NUMBER_INPUT: "tensor(double), NaN for a gap; text that Studio reads as a number must be turned into one first",
    CATEGORY_INPUT: "tensor(string), trimmed, an empty string for a gap",
    DATE_INPUT: "tensor(double): the moment in seconds since 1970-01-01 00:00 UTC, NaN for a gap",
    TEXT_INPUT: "tensor(string): the text as it is, an empty string for a gap",
}
EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
SECONDS_PER_DAY = 86_400.0
# Python's \w on text, as RE2 (onnxruntime's regular expressions) writes it: letters, digits and the underscore.
WORD_RUN = r"[\p{L}\p{N}_]+"
DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
# Locales tried for lower-casing text, the ONNX default first; which exist depends on the machine.
_LOCALES = ("en_US.UTF-8", "C.UTF-8", "C.utf8", "en-US")


class Graph:
    """A growing ONNX graph: nodes, constants and fresh names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.functions: list[Any] = []
        self.opsets: dict[str, int] = {"": OPSET, "ai.onnx.ml": ML_OPSET}
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"_{hint}_{self._count}"

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        from onnx import numpy_helper

        array = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
        if array.dtype.kind in "OUS":
            array = array.astype(object)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def number(self, value: float) -> str:
        return self.const(np.array([float(value)]), "n")

    def op(self, op_type: str, inputs: list[str], hint: str = "", outputs: int = 1, domain: str = "",
           **attributes: Any) -> str:
        names = self.op_many(op_type, inputs, hint, outputs, domain, **attributes)
        return names[0]

    def op_many(self, op_type: str, inputs: list[str], hint: str = "", outputs: int = 1, domain: str = "",
                **attributes: Any) -> list[str]:
        from onnx import helper

        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, domain=domain or None, **attributes))
        return names

    def double(self, name: str) -> str:
        return self.op("Cast", [name], "double", to=DOUBLE_TYPE)

    def axes(self, *axes: int) -> str:
        return self.const(np.array(axes, dtype=np.int64), "axes")

    def absorb(self, model: Any, prefix: str, input_name: str, feed: str) -> dict[str, str]:
        """Copies another model's graph in (its names prefixed), fed from ``feed``; its output names, renamed."""
        import onnx

        model = onnx.compose.add_prefix(model, prefix)
        for opset in model.opset_import:
            domain = opset.domain or ""
            if domain not in ("", "ai.onnx.ml") or self.opsets.get(domain, opset.version) != opset.version:
                self.opsets[domain] = max(self.opsets.get(domain, 0), opset.version)
        self.nodes.append(onnx.helper.make_node("Identity", [feed], [prefix + input_name]))
        self.nodes.extend(model.graph.node)
        self.initializers.extend(model.graph.initializer)
        self.functions.extend(model.functions)
        return {o.name.removeprefix(prefix): o.name for o in model.graph.output}


@dataclass
class Inputs:
    """The raw columns in the order the graph reads them, each with its kind of input (see INPUT_CONTRACT), and
    what the graph computed on the way: the formula columns' values, the date formats Studio reads text with."""

    kinds: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    text_locale: str = ""

    def claim(self, column: str, kind: str) -> str:
        held = self.kinds.setdefault(column, kind)
        if held != kind:
            raise refuse_column(column, f"read both as {INPUT_WORDS[held]} and as {INPUT_WORDS[kind]}")
        return column


def refuse_column(column: str, what: str) -> StudioError:
    return StudioError(f"The column '{column}' is {what}, which ONNX cannot do here; leave it out or export a model "
                       "trained without it.")


def prep_parts(prep: Any) -> tuple[Any, Any]:
    if not hasattr(prep, "named_steps") or "inputs" not in prep.named_steps or "columns" not in prep.named_steps:
        raise StudioError("This model's preparation is not one Studio builds, so it cannot be written as ONNX.")
    return prep.named_steps["inputs"], prep.named_steps["columns"]


def column_pieces(prep: Any) -> list[tuple[str, str, Any]]:
    """(transformer name, column, its fitted pipeline) for every piece of the preparation that makes features."""
    _raw, columns = prep_parts(prep)
    pieces: list[tuple[str, str, Any]] = []
    for name, pipe, selected in columns.transformers_:
        if name == "remainder" or pipe == "drop":
            continue
        column = selected[0] if isinstance(selected, list | tuple) else str(selected)
        pieces.append((str(name), str(column), pipe))
    return pieces


def write_preparation(graph: Graph, prep: Any, inputs: Inputs) -> str:
    """The prepared features as one (rows, features) double tensor, built from the fitted pieces."""
    raw, columns = prep_parts(prep)
    _write_formulas(graph, raw, inputs)
    parts: list[str] = []
    for _name, column, pipe in column_pieces(prep):
        parts.extend(write_column(graph, column, pipe, inputs))
    if not parts or len(columns.get_feature_names_out()) <= 0:
        raise StudioError("This model reads no columns, so there is nothing to write as ONNX.")
    return graph.op("Concat", parts, "features", axis=1)


def describe_piece(pipe: Any) -> str:
    """What a column's pipeline does with it, in the words of the refusals ("cut into bins", …)."""
    from studio.core.prep.values import column_to_text, frame_to_date_parts

    steps = [step for _name, step in pipe.steps] if hasattr(pipe, "steps") else [pipe]
    func = getattr(steps[0], "func", None)
    kinds = {type(step).__name__ for step in steps}
    if func is column_to_text:
        return "free text turned into word counts (TF-IDF)"
    if func is frame_to_date_parts:
        return "turned into date parts"
    if "KBinsDiscretizer" in kinds:
        return "cut into bins"
    if "TargetEncoder" in kinds:
        return "target encoded"
    if "OneHotEncoder" in kinds or "OrdinalEncoder" in kinds:
        return "encoded as categories"
    return "used as a number"


# -- one column -------------------------------------------------------------------------------------------------
def write_column(graph: Graph, column: str, pipe: Any, inputs: Inputs) -> list[str]:
    from studio.core.prep.values import column_to_text, frame_to_categories, frame_to_date_parts, frame_to_numbers

    steps = list(pipe.steps) if hasattr(pipe, "steps") else [("step", pipe)]
    first = steps[0][1]
    func = getattr(first, "func", None)
    if func is column_to_text:
        if column in inputs.derived:
            raise refuse_column(column, _read_formula_as(TEXT_INPUT))
        return [_write_text(graph, column, [step for _name, step in steps[1:]], inputs)]
    missing: str | None
    if func is frame_to_numbers:
        value = inputs.derived.get(column) or inputs.claim(column, NUMBER_INPUT)
        missing = graph.op("IsNaN", [value], "gap")
    elif func is frame_to_categories:
        if column in inputs.derived:
            raise refuse_column(column, _read_formula_as(CATEGORY_INPUT))
        value = inputs.claim(column, CATEGORY_INPUT)
        missing = graph.op("Equal", [value, graph.const(np.array([MISSING_TEXT], dtype=object), "empty")], "gap")
    elif func is frame_to_date_parts:
        if column in inputs.derived:
            raise refuse_column(column, _read_formula_as(DATE_INPUT))
        value = _write_date_parts(graph, column, first, inputs)
        missing = graph.op("IsNaN", [value], "gap")
    else:
        raise refuse_column(column, f"prepared by a step Studio cannot write as ONNX ({type(first).__name__})")
    for _step_name, step in steps[1:]:
        kind = type(step).__name__
        if kind == "OutlierClipper" and getattr(step, "method", "") == "finite":
            # The file's inputs read an infinite number as a gap (onnx_feeds), so it cannot be clipped there.
            raise refuse_column(column, "read with its infinite numbers clipped")
        if kind == "OutlierClipper":
            gap = missing or graph.op("IsNaN", [value], "gap")
            clipped = graph.op("Min", [graph.op("Max", [value, graph.const(np.asarray(step.lower_, float))]),
                                       graph.const(np.asarray(step.upper_, float))])
            value = graph.op("Where", [gap, value, clipped], "clipped")
        elif kind == "SimpleImputer":
            value = _impute(graph, column, step, value, missing or graph.op("IsNaN", [value], "gap"))
            missing = None  # no gaps are left, and the flags (if any) are columns of the value now
        elif kind == "MissingIndicator":
            value = _flags(graph, missing or graph.op("IsNaN", [value], "gap"), step.features_, step.n_features_in_)
            missing = None
        elif kind == "StandardScaler":
            mean = step.mean_ if step.mean_ is not None else np.zeros(1)
            scale = step.scale_ if step.scale_ is not None else np.ones(1)
            value = graph.op("Div", [graph.op("Sub", [value, graph.const(mean.astype(float))]),
                                     graph.const(scale.astype(float))], "scaled")
        elif kind == "MinMaxScaler":
            if step.clip:
                raise refuse_column(column, "scaled to 0-1 with clipping")
            value = graph.op("Add", [graph.op("Mul", [value, graph.const(step.scale_.astype(float))]),
                                     graph.const(step.min_.astype(float))], "scaled")
        elif kind == "RobustScaler":
            if step.center_ is not None:
                value = graph.op("Sub", [value, graph.const(step.center_.astype(float))])
            if step.scale_ is not None:
                value = graph.op("Div", [value, graph.const(step.scale_.astype(float))], "scaled")
        elif kind == "OneHotEncoder":
            value = _one_hot(graph, column, step, value)
        elif kind == "OrdinalEncoder":
            value = _ordinal(graph, column, step, value)
        elif kind == "TargetEncoder":
            value = _target_encoding(graph, column, step, value)
        elif kind == "KBinsDiscretizer":
            value = _bins(graph, column, step, value)
        else:
            raise refuse_column(column, f"prepared by a step Studio cannot write as ONNX ({kind})")
    return [value]


def _read_formula_as(kind: str) -> str:
    # A formula's result is a number; Studio would read its text ("3.0") as a category, a date or words.
    return f"computed by a formula and read as {_ONE_INPUT_WORDS[kind]}"


def _impute(graph: Graph, column: str, imputer: Any, value: str, missing: str) -> str:
    fills = list(imputer.statistics_)
    if all(isinstance(f, str) for f in fills):
        fill = graph.const(np.array([fills], dtype=object), "fill")
    else:
        numbers = np.asarray(fills, dtype=float)
        if np.isnan(numbers).any():
            raise refuse_column(column, "filled with a value learnt from no rows")
        fill = graph.const(numbers.reshape(1, -1), "fill")
    filled = graph.op("Where", [missing, fill, value], "filled")
    indicator = imputer.indicator_ if imputer.add_indicator else None
    if indicator is None or not len(indicator.features_):
        return filled
    # SimpleImputer puts its flags after the filled values, and the steps after it see them as columns.
    flags = _flags(graph, missing, indicator.features_, len(fills))
    return graph.op("Concat", [filled, flags], "with_flags", axis=1)


def _flags(graph: Graph, missing: str, features: Any, width: int) -> str:
    """The gaps of the columns ``features`` (indexes into ``width`` columns) as 0/1 doubles."""
    wanted = np.asarray(features, dtype=np.int64).reshape(-1)
    if list(wanted) != list(range(width)):
        missing = graph.op("Gather", [missing, graph.const(wanted, "flagged")], axis=1)
    return graph.double(missing)


def _one_hot(graph: Graph, column: str, encoder: Any, value: str) -> str:
    if encoder.drop is not None:
        raise refuse_column(column, "one-hot encoded with a dropped category")
    categories = list(encoder.categories_[0])
    infrequent = getattr(encoder, "infrequent_categories_", [None])[0] if encoder._infrequent_enabled else None
    rare = set(infrequent) if infrequent is not None else set()
    frequent = [c for c in categories if c not in rare]
    if any(not isinstance(c, str) for c in frequent):
        raise refuse_column(column, "encoded from values that are not text")
    matches = graph.double(graph.op("Equal", [value, graph.const(np.array([frequent], dtype=object), "cats")]))
    if infrequent is None:
        return matches  # an unknown category: all zeros, as handle_unknown="ignore" or "infrequent_if_exist" does
    # The grouped column takes known rare categories and, with "infrequent_if_exist", unknown ones.
    seen = graph.op("ReduceSum", [matches, graph.axes(1)], keepdims=1)
    other = graph.op("Sub", [graph.number(1.0), seen], "rare")
    return graph.op("Concat", [matches, other], "onehot", axis=1)


def _ordinal(graph: Graph, column: str, encoder: Any, value: str) -> str:
    categories = list(encoder.categories_[0])
    if any(not isinstance(c, str) for c in categories) or encoder.handle_unknown != "use_encoded_value":
        raise refuse_column(column, "encoded as numbers in a way ONNX cannot repeat")
    # Each category's code as the encoder gives it (rare categories grouped under one code share it).
    table = np.asarray(encoder.transform(np.array(categories, dtype=object).reshape(-1, 1)), dtype=float)
    matches = graph.double(graph.op("Equal", [value, graph.const(np.array([categories], dtype=object), "cats")]))
    codes = graph.const(table.reshape(-1, 1) + 1.0, "codes")
    coded = graph.op("MatMul", [matches, codes])  # code + 1 for a known category, 0 for an unknown one
    known = graph.op("ReduceSum", [matches, graph.axes(1)], keepdims=1)
    unknown = float(encoder.unknown_value)
    if math.isnan(unknown):  # an unknown category becomes a gap (the codes a boosting model splits on)
        return graph.op("Where", [graph.op("Greater", [known, graph.number(0.0)]),
                                  graph.op("Sub", [coded, graph.number(1.0)]), graph.number(math.nan)], "ordinal")
    return graph.op("Add", [graph.op("Sub", [coded, graph.number(1.0)]),
                            graph.op("Mul", [graph.op("Sub", [graph.number(1.0), known]),
                                             graph.number(unknown + 1.0)])], "ordinal")


def _target_encoding(graph: Graph, column: str, encoder: Any, value: str) -> str:
    """Each known category's learnt mean of the target (one per class with several classes), the overall mean for
    an unknown one: a one-hot match times the table, so exactly one entry is picked."""
    categories = list(encoder.categories_[0])
    if len(encoder.categories_) != 1 or any(not isinstance(c, str) for c in categories):
        raise refuse_column(column, "target encoded from values that are not text")
    if encoder.target_type_ == "multiclass":
        count = len(encoder.classes_)
        table = np.column_stack([np.asarray(encoder.encodings_[c], dtype=float) for c in range(count)])
        means = np.asarray(encoder.target_mean_, dtype=float).reshape(1, -1)
    else:
        table = np.asarray(encoder.encodings_[0], dtype=float).reshape(-1, 1)
        means = np.asarray(encoder.target_mean_, dtype=float).reshape(1, 1)
    if table.shape[0] != len(categories):
        raise refuse_column(column, "target encoded in a way ONNX cannot repeat")
    matches = graph.double(graph.op("Equal", [value, graph.const(np.array([categories], dtype=object), "cats")]))
    known = graph.op("ReduceSum", [matches, graph.axes(1)], keepdims=1)
    coded = graph.op("MatMul", [matches, graph.const(table, "encodings")])
    unseen = graph.op("Mul", [graph.op("Sub", [graph.number(1.0), known]), graph.const(means, "target_mean")])
    return graph.op("Add", [coded, unseen], "target_encoded")


def _bins(graph: Graph, column: str, binner: Any, value: str) -> str:
    """The bin of each value: how many inner edges are at or below it (numpy's searchsorted, side "right"), then
    one-hot over the bins as KBinsDiscretizer does, or the bin's number."""
    if binner.encode not in ("onehot", "onehot-dense", "ordinal"):
        raise refuse_column(column, "cut into bins encoded in a way ONNX cannot repeat")
    parts: list[str] = []
    edges_all = list(binner.bin_edges_)
    for index, edges in enumerate(edges_all):
        one = value if len(edges_all) == 1 else graph.op(
            "Gather", [value, graph.const(np.array([index], dtype=np.int64))], axis=1)
        inner = np.asarray(edges, dtype=float)[1:-1]
        if len(inner):
            at_or_above = graph.double(graph.op("GreaterOrEqual", [one, graph.const(inner.reshape(1, -1), "edges")]))
            code = graph.op("ReduceSum", [at_or_above, graph.axes(1)], "bin", keepdims=1)
        else:
            code = graph.op("Mul", [one, graph.number(0.0)], "bin")
        if binner.encode == "ordinal":
            parts.append(code)
            continue
        bins = np.arange(int(binner.n_bins_[index]), dtype=float).reshape(1, -1)
        parts.append(graph.double(graph.op("Equal", [code, graph.const(bins, "bins")])))
    return parts[0] if len(parts) == 1 else graph.op("Concat", parts, "binned", axis=1)


# -- dates ------------------------------------------------------------------------------------------------------
_DATE_PARTS = frozenset({"days", "year", "month", "day", "weekday", "day_of_week", "dayofweek", "hour", "minute",
                         "second", "quarter", "dayofyear", "day_of_year"})


def date_part_problem(parts: tuple[str, ...], reference: str) -> str:
    """Why these date parts cannot be computed in ONNX ("" when they can)."""
    unknown = [p for p in parts if p not in _DATE_PARTS]
    if unknown:
        return f"turned into the date part '{unknown[0]}'"
    try:
        pd.Timestamp(reference or "1970-01-01", tz="UTC")
    except ValueError:
        return f"counted in days from '{reference}', which is not a date"
    return ""


def date_seconds(values: pd.Series, date_format: str = "") -> np.ndarray:
    """Dates read as Studio reads them, as the file's date input: seconds since 1970-01-01 00:00 UTC, NaN for a gap."""
    from studio.core.data.profile import parse_dates

    parsed = parse_dates(values, date_format)
    return (parsed - EPOCH).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)


def _write_date_parts(graph: Graph, column: str, transformer: Any, inputs: Inputs) -> str:
    settings = transformer.kw_args or {}
    parts = tuple(settings.get("parts", ("days",)))
    reference = str(settings.get("reference") or "")
    problem = date_part_problem(parts, reference)
    if problem:
        raise refuse_column(column, problem)
    date_format = str(settings.get("date_format") or "")
    if inputs.date_formats.setdefault(column, date_format) != date_format:
        raise refuse_column(column, "read as dates written in two different ways")
    calendar = _Calendar(graph, inputs.claim(column, DATE_INPUT))
    start = (pd.Timestamp(reference or "1970-01-01", tz="UTC") - EPOCH).total_seconds()
    values = [calendar.part(p, start) for p in parts]
    return values[0] if len(values) == 1 else graph.op("Concat", values, "date_parts", axis=1)


class _Calendar:
    """Year, month, day, weekday and time of day from seconds since 1970 (UTC), with double arithmetic only.

    Whole days and the time within the day come from a floored division; the date from the days by Howard
    Hinnant's civil_from_days. Every quantity is a whole number well inside double's exact range, and a quotient of
    two whole numbers is a whole number exactly when the division is, so Floor never lands on the wrong side. A
    gap (NaN) stays NaN through all of it.
    """

    def __init__(self, graph: Graph, seconds: str) -> None:
        self.graph = graph
        self.seconds = seconds
        g = graph
        days = self._floor_div(seconds, SECONDS_PER_DAY)
        within = self._sub(seconds, self._mul(days, SECONDS_PER_DAY))
        # The division rounds, so a moment a hair before midnight can land on the next day: put it back.
        early = g.op("Less", [within, g.number(0.0)])
        late = g.op("GreaterOrEqual", [within, g.number(SECONDS_PER_DAY)])
        days = g.op("Where", [early, self._add(days, -1.0), g.op("Where", [late, self._add(days, 1.0), days])])
        within = g.op("Where", [early, self._add(within, SECONDS_PER_DAY),
                                g.op("Where", [late, self._add(within, -SECONDS_PER_DAY), within])], "within_day")
        self.days, self.within = days, within
        self._civil: tuple[str, str, str] | None = None

    def part(self, part: str, start_seconds: float) -> str:
        g = self.graph
        if part == "days":
            return g.op("Div", [self._add(self.seconds, -start_seconds), g.number(SECONDS_PER_DAY)], "days")
        if part == "hour":
            return self._floor_div(self.within, 3600.0)
        if part == "minute":
            return self._mod(self._floor_div(self.within, 60.0), 60.0)
        if part == "second":
            return self._mod(g.op("Floor", [self.within]), 60.0)
        if part in ("weekday", "day_of_week", "dayofweek"):
            return self._mod(self._add(self.days, 3.0), 7.0)  # 1970-01-01 was a Thursday; Monday is 0
        year, month, day = self.civil()
        if part == "year":
            return year
        if part == "month":
            return month
        if part == "day":
            return day
        if part == "quarter":
            return self._add(self._floor_div(self._add(month, -1.0), 3.0), 1.0)
        # The day of the year: days since the 1st of January of the same year, plus one.
        return self._add(self._sub(self.days, self._days_from_january_first(year)), 1.0)

    def civil(self) -> tuple[str, str, str]:
        if self._civil is not None:
            return self._civil
        g = self.graph
        z = self._add(self.days, 719_468.0)
        era = self._floor_div(z, 146_097.0)
        doe = self._sub(z, self._mul(era, 146_097.0))
        yoe = self._floor_div(self._add_all(doe, (self._floor_div(doe, 1460.0), -1.0),
                                            (self._floor_div(doe, 36_524.0), 1.0),
                                            (self._floor_div(doe, 146_096.0), -1.0)), 365.0)
        year = self._add_all(yoe, (self._mul(era, 400.0), 1.0))
        doy = self._add_all(doe, (self._mul(yoe, 365.0), -1.0), (self._floor_div(yoe, 4.0), -1.0),
                            (self._floor_div(yoe, 100.0), 1.0))
        mp = self._floor_div(self._add(self._mul(doy, 5.0), 2.0), 153.0)
        day = self._add(self._sub(doy, self._floor_div(self._add(self._mul(mp, 153.0), 2.0), 5.0)), 1.0)
        month = g.op("Where", [g.op("Less", [mp, g.number(10.0)]), self._add(mp, 3.0), self._add(mp, -9.0)], "month")
        year = g.op("Add", [year, g.double(g.op("LessOrEqual", [month, g.number(2.0)]))], "year")
        self._civil = (year, month, day)
        return self._civil

    def _days_from_january_first(self, year: str) -> str:
        # days_from_civil(year, 1, 1): January counts in the year before, from March.
        shifted = self._add(year, -1.0)
        era = self._floor_div(shifted, 400.0)
        yoe = self._sub(shifted, self._mul(era, 400.0))
        doe = self._add_all(self._mul(yoe, 365.0), (self._floor_div(yoe, 4.0), 1.0),
                            (self._floor_div(yoe, 100.0), -1.0))
        return self._add(self._add_all(self._mul(era, 146_097.0), (doe, 1.0)), 306.0 - 719_468.0)

    def _floor_div(self, value: str, by: float) -> str:
        return self.graph.op("Floor", [self.graph.op("Div", [value, self.graph.number(by)])])

    def _mod(self, value: str, by: float) -> str:
        return self._sub(value, self._mul(self._floor_div(value, by), by))

    def _mul(self, value: str, by: float) -> str:
        return self.graph.op("Mul", [value, self.graph.number(by)])

    def _add(self, value: str, amount: float) -> str:
        return self.graph.op("Add", [value, self.graph.number(amount)])

    def _sub(self, value: str, other: str) -> str:
        return self.graph.op("Sub", [value, other])

    def _add_all(self, value: str, *terms: tuple[str, float]) -> str:
        for term, sign in terms:
            value = self.graph.op("Add" if sign > 0 else "Sub", [value, term])
        return value


# -- free text --------------------------------------------------------------------------------------------------
def tfidf_problem(vectorizer: Any) -> str:
    """Why this TfidfVectorizer's counting cannot be repeated in ONNX ("" when it can)."""
    settings = vectorizer.get_params()
    if settings.get("analyzer") != "word" or settings.get("tokenizer") is not None \
            or settings.get("preprocessor") is not None or settings.get("token_pattern") != DEFAULT_TOKEN_PATTERN:
        return "split into words in a way ONNX cannot repeat"
    if tuple(settings.get("ngram_range", (1, 1))) != (1, 1):
        return "counted in runs of several words"
    if settings.get("strip_accents") is not None:
        return "stripped of accents"
    if settings.get("sublinear_tf") or settings.get("norm") not in ("l1", "l2", None):
        return "weighed in a way ONNX cannot repeat"
    return ""


@functools.cache
def text_locale() -> str:
    """A locale this machine's onnxruntime can lower-case text in ("" when it has none)."""
    import onnxruntime
    from onnx import TensorProto, helper

    for locale in _LOCALES:
        node = helper.make_node("StringNormalizer", ["x"], ["y"], case_change_action="LOWER", is_case_sensitive=1,
                                locale=locale)
        body = helper.make_graph([node], "lower", [helper.make_tensor_value_info("x", TensorProto.STRING, [None])],
                                 [helper.make_tensor_value_info("y", TensorProto.STRING, [None])])
        model = helper.make_model(body, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 10
        try:
            session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            session.run(None, {"x": np.array(["A"], dtype=object)})
        except Exception:  # onnxruntime's own failure for a locale the machine lacks
            continue
        return locale
    return ""


def _write_text(graph: Graph, column: str, steps: list[Any], inputs: Inputs) -> str:
    """TF-IDF as scikit-learn computes it: lower-case, split into runs of word characters, count the vocabulary's
    words (onnxruntime's Tokenizer and ONNX's TfIdfVectorizer), then weigh and normalise in double."""
    what = "free text turned into word counts (TF-IDF)"
    if len(steps) != 1 or type(steps[0]).__name__ != "TfidfVectorizer":
        raise refuse_column(column, what + " in a way ONNX cannot repeat")
    vectorizer = steps[0]
    problem = tfidf_problem(vectorizer)
    if problem:
        raise refuse_column(column, f"free text {problem}")
    text = inputs.claim(column, TEXT_INPUT)
    flat = graph.op("Reshape", [text, graph.const(np.array([-1], dtype=np.int64))], "text")
    if vectorizer.lowercase:
        locale = inputs.text_locale or text_locale()
        if not locale:
            raise refuse_column(column, what + ", and this machine's onnxruntime has no locale to lower-case text in")
        inputs.text_locale = locale
        flat = graph.op("StringNormalizer", [flat], "lower", case_change_action="LOWER", is_case_sensitive=1,
                        locale=locale)
    graph.opsets[MICROSOFT] = 1
    # Runs of one character are never in the vocabulary (the pattern wants two or more), so counting them is harmless.
    tokens = graph.op("Tokenizer", [flat], "words", domain=MICROSOFT, mark=0, mincharnum=1, pad_value="#",
                      tokenexp=WORD_RUN)
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    if not vocabulary:
        raise refuse_column(column, what + " with no words")
    counts = graph.double(graph.op(
        "TfIdfVectorizer", [tokens], "counts", mode="TF", min_gram_length=1, max_gram_length=1, max_skip_count=0,
        ngram_counts=[0], ngram_indexes=list(range(len(vocabulary))), pool_strings=vocabulary))
    if vectorizer.binary:
        counts = graph.op("Min", [counts, graph.number(1.0)])
    if vectorizer.use_idf:
        counts = graph.op("Mul", [counts, graph.const(np.asarray(vectorizer.idf_, dtype=float).reshape(1, -1))])
    if vectorizer.norm is None:
        return counts
    if vectorizer.norm == "l2":
        size = graph.op("Sqrt", [graph.op("ReduceSum", [graph.op("Mul", [counts, counts]), graph.axes(1)],
                                          keepdims=1)])
    else:
        size = graph.op("ReduceSum", [graph.op("Abs", [counts]), graph.axes(1)], keepdims=1)
    # As scikit-learn's normalize: a row without any word stays all zeros.
    size = graph.op("Where", [graph.op("Equal", [size, graph.number(0.0)]), graph.number(1.0), size])
    return graph.op("Div", [counts, size], "tfidf")


# -- formulas ---------------------------------------------------------------------------------------------------
_ONE_VALUE = {"log": "Log", "exp": "Exp", "sqrt": "Sqrt", "abs": "Abs", "round": "Round", "floor": "Floor",
              "ceil": "Ceil"}
_BINARY = {ast.Add: "Add", ast.Sub: "Sub", ast.Mult: "Mul", ast.Div: "Div", ast.Pow: "Pow"}


def formula_problem(formula: Any) -> str:
    """Why a parsed formula cannot be computed in ONNX ("" when it can): which function, written how."""
    if not formula.names:
        return "reads no column"
    for node in ast.walk(formula.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name, count = node.func.id, len(node.args)
            if name in ("min", "max") and count != 2:
                return f"uses {name}(…) with {count} value, where it takes two"
            if name not in ("min", "max") and (name not in (*_ONE_VALUE, "log1p") or count != 1):
                return f"uses {name}(…) with {count} values, which ONNX cannot compute"
        elif isinstance(node, ast.BinOp) and type(node.op) not in (*_BINARY, ast.Mod, ast.FloorDiv):
            return "uses an operation ONNX cannot compute"
    return ""


def _write_formulas(graph: Graph, raw: Any, inputs: Inputs) -> None:
    """The formula columns, in order (a formula may read the ones before it), as RawInputs computes them."""
    from studio.core.prep.formula import parse_formula

    known = list(raw.columns)
    for name, text in getattr(raw, "derived", ()):
        formula = parse_formula(text, known)
        problem = formula_problem(formula)
        if problem:
            raise refuse_column(name, f"computed by the formula {text}, which {problem}")
        columns = {alias: inputs.derived.get(source) or inputs.claim(source, NUMBER_INPUT)
                   for alias, source in formula._aliases}
        value = _formula_value(graph, formula.tree.body, columns)
        # As Studio: log(0), x / 0 and the like are gaps, filled like any other.
        value = graph.op("Where", [graph.op("IsInf", [value]), graph.number(float("nan")), value], "formula")
        inputs.derived[name] = value
        known.append(name)


def _formula_value(graph: Graph, node: ast.AST, columns: dict[str, str]) -> str:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # parse_formula lets no other constant through
        return graph.number(float(node.value))
    if isinstance(node, ast.Name):
        return columns[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _formula_value(graph, node.operand, columns)
        return graph.op("Neg", [value]) if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left = _formula_value(graph, node.left, columns)
        right = _formula_value(graph, node.right, columns)
        if isinstance(node.op, ast.Mod | ast.FloorDiv):
            quotient, remainder = _divmod(graph, left, right)
            return remainder if isinstance(node.op, ast.Mod) else quotient
        return graph.op(_BINARY[type(node.op)], [left, right])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        values = [_formula_value(graph, a, columns) for a in node.args]
        name = node.func.id
        if name in ("min", "max"):
            # numpy's fmin and fmax: a gap on one side gives the other side.
            first, second = values
            both = graph.op("Min" if name == "min" else "Max", [first, second])
            return graph.op("Where", [graph.op("IsNaN", [first]), second,
                                      graph.op("Where", [graph.op("IsNaN", [second]), first, both])])
        if name == "log1p":
            return _log1p(graph, values[0])
        return graph.op(_ONE_VALUE[name], values)
    raise StudioError("The formula holds something Studio cannot write as ONNX.")


def _log1p(graph: Graph, value: str) -> str:
    """log(1 + x) without losing the digits of a small x: log(u) * x / (u - 1) with u = 1 + x (Goldberg)."""
    u = graph.op("Add", [value, graph.number(1.0)])
    ratio = graph.op("Div", [graph.op("Mul", [graph.op("Log", [u]), value]), graph.op("Sub", [u, graph.number(1.0)])])
    exact = graph.op("Or", [graph.op("Equal", [u, graph.number(1.0)]), graph.op("IsInf", [u])])
    return graph.op("Where", [exact, graph.op("Where", [graph.op("IsInf", [u]), u, value]), ratio], "log1p")


def _divmod(graph: Graph, a: str, b: str) -> tuple[str, str]:
    """numpy's floor division and remainder of doubles (npy_divmod), step by step: C's fmod, the remainder moved to
    the divisor's sign, the quotient snapped to a whole number. Plain floor(a / b) differs: 1 // 0.1 is 9."""
    g = graph
    zero, one = g.number(0.0), g.number(1.0)
    mod = g.op("Mod", [a, b], fmod=1)
    div = g.op("Div", [g.op("Sub", [a, mod]), b])
    # A remainder whose sign differs from the divisor's moves by one divisor, the quotient by one.
    move = g.op("And", [g.op("Not", [g.op("Equal", [mod, zero])]),
                        g.op("Xor", [g.op("Less", [b, zero]), g.op("Less", [mod, zero])])])
    mod = g.op("Where", [move, g.op("Add", [mod, b]), mod])
    div = g.op("Where", [move, g.op("Sub", [div, one]), div])
    floor = g.op("Floor", [div])
    snapped = g.op("Where", [g.op("Greater", [g.op("Sub", [div, floor]), g.number(0.5)]),
                             g.op("Add", [floor, one]), floor])
    by_zero = g.op("Equal", [b, zero])  # numpy: a / 0 for the quotient, fmod's NaN for the remainder
    quotient = g.op("Where", [by_zero, g.op("Div", [a, b]), snapped], "floordiv")
    return quotient, mod


# -- without the fitted pieces: the settings alone --------------------------------------------------------------
def settings_refusal(prep: Any, target: str | None) -> str:
    """From a PrepConfig alone, the first piece of the preparation ONNX could not write ("" for none), for a model
    whose fitted pipeline is not at hand (the model card of a saved file). Free text is written only when
    onnxruntime's word splitting agrees with Studio's on the rows checked at export, which the settings cannot
    tell; it counts as writable here."""
    from studio.core.prep.config import Treatment
    from studio.core.prep.formula import parse_formula
    from studio.core.prep.values import inputs_of

    try:
        raw, derived = inputs_of(prep, target)
        inputs = Inputs()
        known = list(raw)
        for name, text in derived:
            formula = parse_formula(text, known)
            problem = formula_problem(formula)
            if problem:
                raise refuse_column(name, f"computed by the formula {text}, which {problem}")
            for source in formula.names:
                if source not in inputs.derived:
                    inputs.claim(source, NUMBER_INPUT)
            inputs.derived[name] = name
            known.append(name)
        kinds = {Treatment.NUMERIC: NUMBER_INPUT, Treatment.CATEGORICAL: CATEGORY_INPUT, Treatment.DATE: DATE_INPUT,
                 Treatment.TEXT: TEXT_INPUT}
        for column in prep.features(target):
            kind = kinds.get(column.treatment)
            if kind is None:
                continue
            if column.name in inputs.derived:
                if kind != NUMBER_INPUT:
                    raise refuse_column(column.name, _read_formula_as(kind))
                continue
            inputs.claim(column.name, kind)
            if kind == DATE_INPUT:
                problem = date_part_problem(tuple(column.date_parts), column.date_reference)
                if problem:
                    raise refuse_column(column.name, problem)
    except StudioError as exc:
        return str(exc)
    return ""
