"""What each column holds, so Studio can propose a sensible preparation and explain it."""

from __future__ import annotations

import re
import warnings
from collections.abc import Generator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, cast

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.read_options import NumberStyle, detect_number_style

SAMPLE_ROWS = 20_000
HISTOGRAM_BINS = 24
PARSE_CHUNK = 100_000
TOP_VALUES = 10
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
                "%Y/%m/%d", "%d-%m-%Y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M")
BOOLEAN_WORDS = {"true", "false", "yes", "no", "y", "n", "t", "f", "0", "1", "on", "off"}
# Words that stand in for "no value" in exports from other tools. Not "none" or "unknown": those are often a
# category chosen on purpose ("no discount", "reason unknown").
MISSING_MARKERS = {"n/a", "na", "n.a.", "nan", "null", "#n/a", "missing", "-nan", "<na>"}
# A placeholder is a stray only while it is rare (under this share of the rows, or once): a "-" in a third of the
# rows is a category of its own.
STRAY_SHARE = 0.01
STRAY_SHOWN = 5
EXAMPLE_DRAWS = 20_000


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATE = "date"
    TEXT = "text"
    ID = "id"
    CONSTANT = "constant"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    ColumnKind.NUMERIC: "Number",
    ColumnKind.CATEGORICAL: "Category",
    ColumnKind.BOOLEAN: "Yes / no",
    ColumnKind.DATE: "Date",
    ColumnKind.TEXT: "Free text",
    ColumnKind.ID: "Identifier",
    ColumnKind.CONSTANT: "Constant",
}


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    kind: ColumnKind
    missing: int
    rows: int
    distinct: int
    examples: tuple[str, ...]
    # Values that do not fit the kind, e.g. words in a mostly numeric column; they become missing.
    nonconforming: int = 0
    note: str = ""
    # For the small chart of the Prepare step: bin edges and counts of a number or date column (dates as days
    # since 1970), or the most common values with their counts.
    histogram: tuple[tuple[float, ...], tuple[int, ...]] = ((), ())
    top_values: tuple[tuple[str, int], ...] = ()
    # Numbers written as text ("1,234", " 42 "): read as numbers by the preparation.
    stored_as_text: bool = False
    # A strftime format that reads the sampled dates, when one does; empty lets pandas guess per value.
    date_format: str = ""
    # Stray values with their counts: the non-numbers of a number column, or rare placeholders for a gap ("*",
    # "?", "-", "n/a") among a column's categories. Counted over the whole column.
    stray_values: tuple[tuple[str, int], ...] = ()
    # Infinite numbers ("inf", "1e400") in a number column, with a few as written: the preparation treats them
    # as gaps unless told to clip them.
    infinite: int = 0
    infinite_examples: tuple[str, ...] = ()

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def is_numeric_like(self) -> bool:
        return self.kind in (ColumnKind.NUMERIC, ColumnKind.BOOLEAN)


def profile_frame(frame: pd.DataFrame) -> tuple[ColumnProfile, ...]:
    return tuple(profile_column(frame[name]) for name in frame.columns)


def profile_job(frame: pd.DataFrame, should_stop: StopCheck = never_stop
                ) -> Generator[Progress, None, tuple[ColumnProfile, ...]]:
    """Profiling as a job for a worker: a progress item per column, cancellable between columns."""
    profiles = []
    for index, name in enumerate(frame.columns):
        if should_stop():
            raise Cancelled()
        yield Progress("Looking at the columns", index / frame.shape[1], f"Column {name}")
        profiles.append(profile_column(frame[name]))
    return tuple(profiles)


def profile_column(series: pd.Series) -> ColumnProfile:
    """What a column holds, with the figures its chart needs."""
    # Numbers parsed from text while deciding the kind, reused for the chart (parsing is the costly part).
    cache: dict[str, pd.Series] = {}
    profile = _kind_profile(series, cache)
    return replace(profile, **_chart_fields(series, profile, cache), stray_values=_stray_values(profile, cache),
                   **_infinite_fields(profile, cache))


# Numbers beyond this size are "too large to compute with": squaring one (for an average spread, a scale) already
# overflows a computer's numbers. They are read like infinity (a gap unless clipped), and counted with it.
TOO_LARGE = 1e150


def too_large(values: np.ndarray) -> np.ndarray:
    """Which values are infinite or too large to compute with (NaN, a gap, is neither)."""
    with np.errstate(invalid="ignore"):
        return np.abs(values) > TOO_LARGE


def _infinite_fields(profile: ColumnProfile, cache: dict[str, pd.Series]) -> dict:
    present = cache.get("present")
    if profile.kind is not ColumnKind.NUMERIC or present is None or pd.api.types.is_integer_dtype(present.dtype) \
            or pd.api.types.is_bool_dtype(present.dtype):
        return {}
    numbers = cache["numbers"] if "numbers" in cache else to_number(present)
    infinite = too_large(numbers.to_numpy(dtype=float))
    if not infinite.any():
        return {}
    examples = tuple(_short(v) for v in pd.unique(present[infinite].astype(str).str.strip())[:3])
    return {"infinite": int(infinite.sum()), "infinite_examples": examples}


def _kind_profile(series: pd.Series, cache: dict[str, pd.Series]) -> ColumnProfile:
    name = str(series.name)
    rows = len(series)
    present = cache["present"] = series.dropna()
    missing = rows - len(present)
    distinct = int(present.nunique())
    examples = tuple(_example_values(present, cache))

    def make(kind: ColumnKind, note: str = "", nonconforming: int = 0) -> ColumnProfile:
        return ColumnProfile(name, kind, missing, rows, distinct, examples, nonconforming, note)

    if len(present) == 0:
        return make(ColumnKind.CONSTANT, "every value is missing")
    if distinct == 1:
        return make(ColumnKind.CONSTANT, f"every value is {examples[0]!r}")
    if pd.api.types.is_bool_dtype(series.dtype):
        return make(ColumnKind.BOOLEAN)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return make(ColumnKind.DATE)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _numeric_profile(name, present, distinct, make)
    return _text_profile(name, present, distinct, make, cache)


def _numeric_profile(name, present: pd.Series, distinct: int, make) -> ColumnProfile:
    if distinct == 2 and set(np.unique(present.to_numpy())) <= {0, 1}:
        return make(ColumnKind.BOOLEAN)
    with np.errstate(invalid="ignore"):  # inf mod 1 is no number, and inf no whole number: rightly
        is_integer = pd.api.types.is_integer_dtype(present.dtype) or bool(
            np.all(np.mod(present.to_numpy(dtype=float), 1) == 0)
        )
    if is_integer and _looks_like_id(name, present, distinct):
        return make(ColumnKind.ID, "every row has a different whole number, like a row number or code")
    return make(ColumnKind.NUMERIC)


def _looks_like_id(name: str, present: pd.Series, distinct: int) -> bool:
    if distinct != len(present) or len(present) < 20:
        return False
    lowered = name.lower()
    named_like_id = lowered in {"id", "index", "key", "row", "rownum"} or lowered.endswith(("_id", " id", "id"))
    values = present.to_numpy(dtype=float)
    consecutive = float(values.max() - values.min()) == len(values) - 1
    return named_like_id or consecutive


def _text_profile(name: str, present: pd.Series, distinct: int, make, cache: dict[str, pd.Series]
                  ) -> ColumnProfile:
    sample = present.sample(SAMPLE_ROWS, random_state=0) if len(present) > SAMPLE_ROWS else present
    strings = sample.astype(str).str.strip()
    lowered = set(strings.str.lower().unique()[:20])
    if distinct == 2 and lowered <= BOOLEAN_WORDS:
        return make(ColumnKind.BOOLEAN)
    numbers = to_number(strings)
    parsed = int(numbers.notna().sum())
    if parsed / len(strings) >= 0.9:
        cache["numbers"] = to_number(present)
        bad = int(cache["numbers"].isna().sum())
        note = _not_numbers_note(bad)
        return make(ColumnKind.NUMERIC, note, bad)
    if _looks_like_dates(strings):
        return make(ColumnKind.DATE)
    mean_length = float(strings.str.len().mean())
    # Nearly unique rather than unique: a few duplicated rows must not hide an identifier.
    if distinct >= 0.98 * len(present) and len(present) >= 20:
        if mean_length > 30:
            return make(ColumnKind.TEXT, "long, different text in every row")
        return make(ColumnKind.ID, "every row has a different value, like a name or code")
    if mean_length > 40 and distinct > 0.5 * len(present):
        return make(ColumnKind.TEXT, "long, mostly different text in each row")
    if parsed:
        return make(ColumnKind.CATEGORICAL, f"a mix of numbers and words ({parsed:,} of {len(strings):,} "
                    "sampled values are numbers), so it is treated as categories")
    return make(ColumnKind.CATEGORICAL)


def _not_numbers_note(bad: int) -> str:
    if not bad:
        return ""
    if bad == 1:
        return "1 value is not a number and will be treated as missing"
    return f"{bad:,} values are not numbers and will be treated as missing"


_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def to_number(values: pd.Series, style: NumberStyle | None = None) -> pd.Series:
    """Parse numbers written as text, tolerating spaces and the column's decimal mark and thousands separators
    (``1,234.5``, ``0,125``, ``1.234.567,89``, ``1 234,5``).

    How the column writes its numbers is read off the whole column once (``column_number_style``), so every
    chunk and every row reads the same way; ``style`` gives it instead (a file's, read by the table reader).
    Vectorised with pyarrow (a million values in a fraction of a second): plain numbers are cast in one go and
    only the rest goes through pandas' slower, more lenient parser.
    """
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype(float)
    style = style or column_number_style(values)
    if len(values) > PARSE_CHUNK:
        # Slices, so no single call holds the GIL for long: a worker parsing a million values must not freeze
        # the window's thread.
        return pd.concat([_text_to_number(values.iloc[start:start + PARSE_CHUNK], style)
                          for start in range(0, len(values), PARSE_CHUNK)])
    return _text_to_number(values, style)


# Values looked at to tell how a column writes its numbers: enough to find the unambiguous ones, cheap to vote.
STYLE_SAMPLE = 2_000


def column_number_style(values: pd.Series) -> NumberStyle:
    """The decimal mark and thousands separator of a text column, from its values with a comma, point or group
    space (a seeded draw of them in a long column)."""
    import pyarrow.compute as pc

    text = _text_array(values)
    marked = pc.filter(text, pc.fill_null(pc.match_substring_regex(text, "\\d[,.' \u00a0\u202f]\\d"), False))
    if len(marked) == 0:
        return NumberStyle()
    if len(marked) > STYLE_SAMPLE:
        rows = np.random.default_rng(0).choice(len(marked), STYLE_SAMPLE, replace=False)
        marked = marked.take(np.sort(rows))
    return detect_number_style(marked.to_pylist())


def _text_array(values: pd.Series) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a mix of strings and other objects
        return pa.array(values.astype(object).where(values.notna(), None).map(_as_text), type=pa.string())


def normalize_numbers(text: Any, style: NumberStyle) -> Any:
    """Numbers written in ``style`` rewritten with a decimal point and no separators (a pyarrow string array)."""
    import pyarrow.compute as pc

    mark = "[ \u00a0\u202f]" if style.thousands == " " else re.escape(style.thousands or "")
    if style.thousands is not None and pc.any(pc.match_substring_regex(text, mark)).as_py():
        for _ in range(2):  # "1,234,567": each pass joins every other group
            text = pc.replace_substring_regex(text, rf"(\d){mark}(\d\d\d)\b", r"\1\2")
    if style.decimal != "." and pc.any(pc.match_substring(text, style.decimal)).as_py():
        text = pc.replace_substring_regex(text, rf"^([+-]?\d*){re.escape(style.decimal)}(\d)", r"\1.\2")
    return text


def _text_to_number(values: pd.Series, style: NumberStyle) -> pd.Series:
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(_text_array(values))
    text = normalize_numbers(text, style)
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_NUMBER), False)
    numbers = pc.cast(pc.if_else(plain, text, pa.scalar(None, pa.string())), pa.float64())
    result = numbers.to_numpy(zero_copy_only=False)
    odd = pc.and_(pc.invert(plain), pc.is_valid(text))
    if pc.any(odd).as_py():
        lenient = pd.to_numeric(pd.Series(pc.filter(text, odd).to_pylist(), dtype=object), errors="coerce")
        # Into the array, not the Series: a Series indexed by a boolean array first looks the array up as a
        # label, and its error message prints the whole mask (6 ms for 500 values).
        result = np.array(result, dtype=float)
        result[odd.to_numpy(zero_copy_only=False)] = lenient.to_numpy(dtype=float)
    return pd.Series(result, index=values.index, dtype=float)


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _looks_like_dates(strings: pd.Series) -> bool:
    head = strings.head(200)
    if not head.str.contains(r"\d", regex=True).all() or not head.str.contains(r"[-/.:]", regex=True).all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(head, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


def _example_values(present: pd.Series, cache: dict[str, pd.Series], count: int = 3) -> list[str]:
    """The most common values of the whole column, not of its first rows. A long column's are counted among rows
    drawn (seeded) from all of it, unless its values are counted anyway: counting a million different numbers
    would cost more than the rest of the profile."""
    if "counts" in cache or len(present) <= EXAMPLE_DRAWS:
        counts = _counts(present, cache)
    else:
        rows = np.random.default_rng(0).integers(0, len(present), EXAMPLE_DRAWS)
        counts = present.iloc[rows].value_counts(sort=False)
    return [_short(value) for value in counts.nlargest(count, keep="first").index]


def _counts(present: pd.Series, cache: dict[str, pd.Series]) -> pd.Series:
    """How often each value occurs, counted once and shared by the examples, the chart's bars and the strays.

    Unsorted: ``nlargest`` picks the few values wanted in one pass, where sorting a million counts would not."""
    if "counts" not in cache:
        cache["counts"] = present.value_counts(sort=False)
    return cache["counts"]


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _stray_values(profile: ColumnProfile, cache: dict[str, pd.Series]) -> tuple[tuple[str, int], ...]:
    if profile.kind is ColumnKind.NUMERIC and profile.nonconforming and "numbers" in cache:
        words = cache["present"][cache["numbers"].isna().to_numpy()]
        return tuple((str(k), int(v)) for k, v in words.value_counts().head(STRAY_SHOWN).items())
    if profile.kind not in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) or "present" not in cache:
        return ()
    counts = _counts(cache["present"], cache)
    rare = counts[(counts < STRAY_SHARE * profile.rows) | (counts == 1)]
    strays = [(str(k), int(v)) for k, v in rare.items() if is_placeholder(str(k))]
    return tuple(sorted(strays, key=lambda pair: -pair[1])[:STRAY_SHOWN])


def is_placeholder(value: str) -> bool:
    """True for text that stands for "no value" rather than being one: punctuation only ("*", "?", "-", "--",
    a blank) or a known missing marker ("n/a", "null")."""
    text = value.strip().lower()
    return text in MISSING_MARKERS or not any(ch.isalnum() for ch in text)


def _chart_fields(series: pd.Series, profile: ColumnProfile, cache: dict[str, pd.Series]) -> dict:
    fields: dict = {}
    kind = profile.kind
    present = series.dropna()
    if len(present) == 0:
        return fields
    numeric_dtype = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    if kind is ColumnKind.NUMERIC or (kind is ColumnKind.ID and numeric_dtype):
        values = (cache["numbers"] if "numbers" in cache else to_number(present)).to_numpy(dtype=float)
        fields["stored_as_text"] = not numeric_dtype
        if profile.distinct <= 12:
            fields["top_values"] = _top_values(_counts(present, cache)) if numeric_dtype else _top_numbers(values)
        else:
            fields["histogram"] = _histogram(values)
    elif kind is ColumnKind.DATE:
        sample = present.sample(SAMPLE_ROWS, random_state=0) if len(present) > SAMPLE_ROWS else present
        if not pd.api.types.is_datetime64_any_dtype(series.dtype):
            fields["date_format"] = detect_date_format(sample.astype(str).str.strip())
        parsed = parse_dates(sample, fields.get("date_format", ""))
        days = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(dtype=float) / 86_400.0
        fields["histogram"] = _histogram(days)
    elif kind is not ColumnKind.ID:  # every value differs: a chart of counts of 1 says nothing
        fields["top_values"] = _top_values(_counts(present, cache))
    return fields


def _top_numbers(values: np.ndarray) -> tuple[tuple[str, int], ...]:
    """The most common of numbers that were written as text, shown as numbers ("3", not "3.0"; "nan" for text
    that is no number). Counted first, so only the few values shown are turned into text, not every row."""
    counts = pd.Series(values).value_counts(dropna=False).head(TOP_VALUES)
    shown = []
    for key, count in counts.items():
        number = cast(float, key)  # the numbers counted, NaN included; pandas-stubs only knows a Hashable
        shown.append((str(int(number)) if float(number).is_integer() else str(number), int(count)))
    return tuple(shown)


def _top_values(counts: pd.Series) -> tuple[tuple[str, int], ...]:
    top = counts.nlargest(TOP_VALUES, keep="first")
    return tuple((str(k), int(v)) for k, v in top.items())


def _histogram(values: np.ndarray) -> tuple[tuple[float, ...], tuple[int, ...]]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ((), ())
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        high = low + 1.0
    counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS, range=(low, high))
    return tuple(float(e) for e in edges), tuple(int(c) for c in counts)


def detect_date_format(strings: pd.Series) -> str:
    """The first common format that reads at least 95% of the values, or "" to let pandas guess."""
    head = strings.head(500)
    if head.empty:
        return ""
    for date_format in DATE_FORMATS:
        parsed = pd.to_datetime(head, errors="coerce", format=date_format)
        if parsed.notna().mean() >= 0.95:
            return date_format
    return ""


def parse_dates(values: pd.Series, date_format: str = "") -> pd.Series:
    """Dates as UTC timestamps; text that is not a date becomes NaT."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.to_datetime(values, utc=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = values.astype(object).where(values.notna(), None)
        return pd.to_datetime(text, errors="coerce", format=date_format or "mixed", utc=True)
