"""What will be done with each column: the preparation config, its defaults and its JSON form.

A :class:`PrepConfig` is a frozen dataclass replaced on every change. It becomes one scikit-learn transformer in
:mod:`studio.core.prep.build` (fitted on the training rows only and saved inside the model file); the few steps that
remove rows (duplicates, outliers, gaps) are applied to the training rows by :mod:`studio.core.prep.rows`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.common.errors import DataError
from studio.core.data.profile import ColumnKind, ColumnProfile

if TYPE_CHECKING:
    pass

MAX_ONE_HOT_CATEGORIES = 50
PREP_FILE_VERSION = 1


class Treatment(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    DATE = "date"
    TEXT = "text"
    EXCLUDE = "exclude"

    @property
    def label(self) -> str:
        return _TREATMENT_LABELS[self]


_TREATMENT_LABELS = {
    Treatment.NUMERIC: "Use as number",
    Treatment.CATEGORICAL: "Use as category",
    Treatment.DATE: "Use as date",
    Treatment.TEXT: "Use as free text",
    Treatment.EXCLUDE: "Leave out",
}


class Missing(StrEnum):
    AUTO = "auto"
    MEAN = "mean"
    MEDIAN = "median"
    MOST_FREQUENT = "most_frequent"
    CONSTANT = "constant"
    DROP_ROWS = "drop_rows"


class Scaling(StrEnum):
    STANDARD = "standard"
    MINMAX = "minmax"
    ROBUST = "robust"
    NONE = "none"


class Encoding(StrEnum):
    ONE_HOT = "one_hot"
    ORDINAL = "ordinal"
    TARGET = "target"


class Outliers(StrEnum):
    NONE = "none"
    IQR_CLIP = "iqr_clip"
    IQR_REMOVE = "iqr_remove"
    Z_CLIP = "z_clip"
    Z_REMOVE = "z_remove"


class Infinite(StrEnum):
    """What becomes of infinite numbers ("inf", "1e400": too large for a computer's numbers)."""

    AUTO = "auto"  # as gaps, like text in a number column, until the person chooses
    GAP = "gap"
    CLIP = "clip"


class Binning(StrEnum):
    NONE = "none"
    UNIFORM = "uniform"
    QUANTILE = "quantile"


DATE_PARTS = ("year", "month", "weekday", "hour", "days")
# Keyed by type, then value: members of different choices share values ("none") and StrEnum members hash as
# their text, so one flat dict would mix them up.
_LABELS: dict[type[StrEnum], dict[str, str]] = {
    Missing: {"auto": "Studio's choice", "mean": "Fill with the average",
              "median": "Fill with the middle value (median)",
              "most_frequent": "Fill with the most common value", "constant": "Fill with a value you type",
              "drop_rows": "Drop training rows with a gap"},
    Scaling: {"standard": "Common scale (average 0, spread 1)", "minmax": "Between 0 and 1 (min–max)",
              "robust": "Common scale, robust to extremes", "none": "No scaling"},
    Encoding: {"one_hot": "A yes/no column per value", "ordinal": "One number per value",
               "target": "Average answer per value (target encoding)"},
    Outliers: {"none": "Keep as they are", "iqr_clip": "Clip to the IQR fences",
               "iqr_remove": "Remove training rows outside the IQR fences",
               "z_clip": "Clip at 3 standard deviations",
               "z_remove": "Remove training rows beyond 3 standard deviations"},
    Infinite: {"auto": "Studio's choice (treated as gaps)", "gap": "Treat as gaps",
               "clip": "Clip to the column's largest and smallest numbers"},
    Binning: {"none": "No binning", "uniform": "Equal-width bins", "quantile": "Equal-count (quantile) bins"},
}


def choice_label(option: StrEnum) -> str:
    return _LABELS[type(option)][option.value]


@dataclass(frozen=True)
class ColumnPrep:
    name: str
    kind: ColumnKind
    treatment: Treatment
    reason: str = ""
    missing: Missing = Missing.AUTO
    fill_value: str = ""
    missing_indicator: bool = False
    scaling: Scaling = Scaling.STANDARD
    outliers: Outliers = Outliers.NONE
    # Infinite numbers: gaps (filled like any other) or clipped to the finite range seen in training.
    infinite: Infinite = Infinite.AUTO
    encoding: Encoding = Encoding.ONE_HOT
    max_categories: int = MAX_ONE_HOT_CATEGORIES
    # Categories seen in fewer than this share of the training rows are grouped into one "rare" column.
    rare_share: float = 0.0
    date_parts: tuple[str, ...] = ("days",)
    date_format: str = ""
    # "Days since" counts from this date (YYYY-MM-DD); empty means 1970-01-01.
    date_reference: str = ""
    text_vocabulary: int = 200
    binning: Binning = Binning.NONE
    bins: int = 5
    # A derived column: computed from other columns by this formula (see studio.core.prep.formula).
    formula: str = ""

    @property
    def used(self) -> bool:
        return self.treatment is not Treatment.EXCLUDE

    def fill_strategy(self) -> Missing:
        """The strategy the imputer uses; rows dropped in training still need a fill for new data."""
        if self.missing in (Missing.AUTO, Missing.DROP_ROWS):
            return Missing.MEDIAN if self.treatment in (Treatment.NUMERIC, Treatment.DATE) else Missing.MOST_FREQUENT
        if self.treatment is Treatment.CATEGORICAL and self.missing in (Missing.MEAN, Missing.MEDIAN):
            return Missing.MOST_FREQUENT
        return self.missing

    def describe(self) -> str:
        """One plain line of what will be done with this column."""
        if self.treatment is Treatment.EXCLUDE:
            return f"Left out: {self.reason}" if self.reason else "Left out"
        steps = ([f"computed as {self.formula}"] if self.formula else []) + list(self.steps_in_words())
        text = "; ".join(steps)
        return text[:1].upper() + text[1:]

    def steps_in_words(self) -> tuple[str, ...]:
        """What is done to a used column, a phrase per step in words a newcomer knows ("put on a common scale",
        not "standard scaling"). Columns prepared alike get the same phrases, so a summary can group them."""
        if self.treatment is Treatment.EXCLUDE:
            return ()
        if self.treatment is Treatment.TEXT:
            return (f"its words counted (the {self.text_vocabulary} most telling)",)
        steps = [self._gap_text()]
        if self.treatment is Treatment.NUMERIC:
            if self.infinite is Infinite.CLIP:
                steps.append("infinite values clipped to the largest and smallest numbers")
            if self.outliers is not Outliers.NONE:
                steps.append(_OUTLIER_WORDS[self.outliers])
            if self.binning is not Binning.NONE:
                steps.append(f"cut into {self.bins} ranges of "
                             + ("equal width" if self.binning is Binning.UNIFORM else "equally many rows"))
        if self.treatment is Treatment.CATEGORICAL:
            steps.append(self._one_hot_text() if self.encoding is Encoding.ONE_HOT else _ENCODING_WORDS[self.encoding])
        if self.treatment is Treatment.DATE:
            words = [_PART_WORDS[p] + (f" {self.date_reference or 1970}" if p == "days" else "")
                     for p in self.date_parts]
            steps.append("turned into " + ", ".join(words))
        scaled = self.treatment is Treatment.DATE or (self.treatment is Treatment.NUMERIC
                                                      and self.binning is Binning.NONE)
        if scaled and self.scaling is not Scaling.NONE:
            steps.append(_SCALING_WORDS[self.scaling])
        if self.missing_indicator:
            steps.append("plus a 'was missing' column")
        return tuple(steps)

    def _gap_text(self) -> str:
        strategy = self.fill_strategy()
        text = {Missing.MEAN: "gaps filled with the average", Missing.MEDIAN: "gaps filled with the middle value",
                Missing.MOST_FREQUENT: "gaps filled with the most common value",
                Missing.CONSTANT: f"gaps filled with '{self.fill_value}'"}[strategy]
        return "training rows with gaps left out" if self.missing is Missing.DROP_ROWS else text

    def _one_hot_text(self) -> str:
        text = "each value becomes its own yes/no column"
        if self.max_categories != MAX_ONE_HOT_CATEGORIES:
            text += f" (at most {self.max_categories})"
        return text + (f", values in under {self.rare_share:.0%} of rows grouped" if self.rare_share > 0 else "")


_PART_WORDS = {"year": "year", "month": "month", "weekday": "day of week", "hour": "hour", "days": "days since"}
_SCALING_WORDS = {Scaling.STANDARD: "put on a common scale", Scaling.MINMAX: "squeezed between 0 and 1",
                  Scaling.ROBUST: "put on a common scale that extremes do not stretch"}
_ENCODING_WORDS = {Encoding.ORDINAL: "each value becomes a number",
                   Encoding.TARGET: "each value becomes the average answer it goes with"}
_OUTLIER_WORDS = {Outliers.IQR_CLIP: "extreme values pulled in to the usual range",
                  Outliers.IQR_REMOVE: "training rows with extreme values left out",
                  Outliers.Z_CLIP: "extreme values pulled in to 3 spreads from the average",
                  Outliers.Z_REMOVE: "training rows over 3 spreads from the average left out"}


@dataclass(frozen=True)
class PrepConfig:
    columns: tuple[ColumnPrep, ...] = ()
    drop_duplicates: bool = False

    def get(self, name: str) -> ColumnPrep | None:
        return next((c for c in self.columns if c.name == name), None)

    def with_column(self, name: str, **changes: Any) -> PrepConfig:
        return replace(self, columns=tuple(replace(c, **changes) if c.name == name else c for c in self.columns))

    def with_treatment(self, name: str, treatment: Treatment) -> PrepConfig:
        column = self.get(name)
        reason = "chosen by you" if treatment is Treatment.EXCLUDE else ("" if column is None else column.reason)
        return self.with_column(name, treatment=treatment, reason=reason)

    def with_derived(self, name: str, formula: str) -> PrepConfig:
        """Add (or change) a number column computed by ``formula``; check the formula first with formula.py."""
        if self.get(name) is not None:
            return self.with_column(name, formula=formula)
        column = ColumnPrep(name, ColumnKind.NUMERIC, Treatment.NUMERIC, formula=formula)
        return replace(self, columns=(*self.columns, column))

    def without(self, name: str) -> PrepConfig:
        return replace(self, columns=tuple(c for c in self.columns if c.name != name))

    def features(self, target: str | None) -> tuple[ColumnPrep, ...]:
        return tuple(c for c in self.columns if c.name != target and c.used)

    def raw_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.formula)

    def derived(self) -> tuple[ColumnPrep, ...]:
        return tuple(c for c in self.columns if c.formula)

    # -- JSON ---------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"version": PREP_FILE_VERSION, "drop_duplicates": self.drop_duplicates,
                "columns": [{**asdict(c), "date_parts": list(c.date_parts)} for c in self.columns]}

    @classmethod
    def from_dict(cls, raw: Any) -> PrepConfig:
        if not isinstance(raw, dict) or not isinstance(raw.get("columns"), list):
            raise DataError('A preparation file holds {"columns": [...]}; this one does not.')
        version = raw.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int | float) or not _finite(version):
            raise DataError(f"The preparation file's version should be a whole number like {PREP_FILE_VERSION}, "
                            f"not {_shown(version)}.")
        if version > PREP_FILE_VERSION:
            raise DataError("This preparation file was made by a newer Studio; update Studio to read it.")
        drop = raw.get("drop_duplicates", False)
        if not isinstance(drop, bool):
            raise DataError(f"'drop_duplicates' in the preparation file should be true or false, not {_shown(drop)}.")
        return cls(tuple(_column_from_dict(c) for c in raw["columns"]), drop)


_FIELD_TYPES = {f.name: f.type for f in fields(ColumnPrep)}
# The whole numbers a preparation file may set, with the range the window offers: a billion bins would take the
# machine's memory before saying anything.
_COUNT_RANGES = {"bins": (2, 100), "max_categories": (2, 10_000), "text_vocabulary": (2, 20_000)}


def _shown(value: Any, limit: int = 40) -> str:
    """A value from a file, quoted short: a nested list of a thousand levels is named, not printed."""
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "a group of settings"
    text = repr(value) if isinstance(value, str) else json.dumps(value) if isinstance(value, int | float | bool) \
        or value is None else str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _count(name: str, key: str, value: Any) -> int:
    low, high = _COUNT_RANGES[key]
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value) or int(value) != value:
        raise DataError(f"Column '{name}' in the preparation file sets {key} to {_shown(value)}; it should be a whole "
                        f"number from {low} to {high}.")
    if not low <= value <= high:
        raise DataError(f"Column '{name}' in the preparation file sets {key} to {int(value):,}; Studio uses "
                        f"{low} to {high}.")
    return int(value)


def _finite(value: int | float) -> bool:
    return isinstance(value, int) or math.isfinite(value)  # isfinite refuses ints too large for a float


_ENUMS: dict[str, type[StrEnum]] = {"kind": ColumnKind, "treatment": Treatment, "missing": Missing,
                                    "scaling": Scaling, "encoding": Encoding, "outliers": Outliers,
                                    "binning": Binning, "infinite": Infinite}


def _column_from_dict(raw: Any) -> ColumnPrep:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise DataError("Each column of a preparation file needs a 'name'.")
    name = raw["name"]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _FIELD_TYPES:
            continue  # written by a later Studio; ignored rather than refused
        try:
            if key in _ENUMS:
                values[key] = _ENUMS[key](value)
            elif key == "date_parts":
                values[key] = tuple(p for p in value if p in DATE_PARTS) or ("days",)
            elif key in _COUNT_RANGES:
                values[key] = _count(name, key, value)
            elif key == "rare_share":
                share = float(value)
                if not math.isfinite(share):
                    raise ValueError(share)
                values[key] = min(0.5, max(0.0, share))
            elif key == "missing_indicator":
                if not isinstance(value, bool):
                    raise TypeError(value)
                values[key] = value
            elif isinstance(value, list | dict):
                raise TypeError(value)
            else:
                values[key] = str(value)
        except (TypeError, ValueError, OverflowError):
            raise DataError(f"Column '{name}' in the preparation file has an unknown {key}: {_shown(value)}.") \
                from None
    for required in ("kind", "treatment"):
        if required not in values:
            raise DataError(f"Column '{name}' in the preparation file lacks its {required}.")
    return ColumnPrep(**values)


def save_prep(path: str | Path, prep: PrepConfig) -> Path:
    from studio.core.common.files import atomic_write

    path = Path(path)
    text = json.dumps(prep.to_dict(), indent=2)
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
    return path


def load_prep(path: str | Path) -> PrepConfig:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"There is no preparation file at {path}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path.name} is not a valid JSON preparation file ({exc}).") from None
    except RecursionError:
        raise DataError(f"{path.name} is nested too deeply to be a preparation file.") from None
    except ValueError:  # a number of thousands of digits
        raise DataError(f"{path.name} holds a number too long to be a setting, so it is no preparation file.") \
            from None
    except OSError as exc:
        raise DataError(f"Studio cannot read {path.name}: {exc.strerror or exc}.") from None
    return PrepConfig.from_dict(raw)


def merge_prep(saved: PrepConfig, profiles: tuple[ColumnProfile, ...]) -> PrepConfig:
    """Saved choices applied to a table: its columns keep the saved settings, new columns get Studio's defaults,
    and saved derived columns come along."""
    defaults = default_prep(profiles)
    columns = [saved.get(c.name) or c for c in defaults.columns]
    known = {c.name for c in columns}
    columns += [c for c in saved.derived() if c.name not in known]
    return PrepConfig(tuple(columns), saved.drop_duplicates)


# -- defaults ---------------------------------------------------------------------------------------------------
def default_treatment(profile: ColumnProfile) -> tuple[Treatment, str]:
    """The preparation Studio proposes for a column, with the reason when it is left out."""
    kind = profile.kind
    if kind in (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) and profile.missing_share > 0.95:
        return Treatment.EXCLUDE, f"{profile.missing_share:.0%} of its values are missing"
    if kind is ColumnKind.NUMERIC:
        return Treatment.NUMERIC, ""
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        return Treatment.CATEGORICAL, ""
    if kind is ColumnKind.DATE:
        return Treatment.DATE, ""
    if kind is ColumnKind.ID:
        return Treatment.EXCLUDE, "it looks like an identifier (a different value in every row), which says " \
            "nothing about new rows"
    if kind is ColumnKind.CONSTANT:
        return Treatment.EXCLUDE, f"it has the same value in every row ({profile.note})" if profile.note else \
            "it has the same value in every row"
    return Treatment.EXCLUDE, "it is free text; choose 'Use as free text' to turn its words into features"


def default_prep(profiles: tuple[ColumnProfile, ...]) -> PrepConfig:
    columns = []
    for profile in profiles:
        treatment, reason = default_treatment(profile)
        columns.append(ColumnPrep(profile.name, profile.kind, treatment, reason, date_format=profile.date_format))
    return PrepConfig(tuple(columns))


# How a column can be used, as offered in the Prepare step's drop-down: (label, kind, treatment).
USE_CHOICES: tuple[tuple[str, ColumnKind, Treatment], ...] = (
    ("Use as number", ColumnKind.NUMERIC, Treatment.NUMERIC),
    ("Use as category", ColumnKind.CATEGORICAL, Treatment.CATEGORICAL),
    ("Use as yes / no", ColumnKind.BOOLEAN, Treatment.CATEGORICAL),
    ("Use as date", ColumnKind.DATE, Treatment.DATE),
    ("Use as free text", ColumnKind.TEXT, Treatment.TEXT),
    ("Identifier: leave out", ColumnKind.ID, Treatment.EXCLUDE),
    ("Leave out", ColumnKind.CONSTANT, Treatment.EXCLUDE),
)


def use_choice_index(column: ColumnPrep) -> int:
    if column.treatment is Treatment.EXCLUDE:
        return 5 if column.kind is ColumnKind.ID else 6
    if column.treatment is Treatment.CATEGORICAL and column.kind is ColumnKind.BOOLEAN:
        return 2
    return next(i for i, (_, _, t) in enumerate(USE_CHOICES) if t is column.treatment)


def with_use_choice(prep: PrepConfig, name: str, index: int) -> PrepConfig:
    """The config after choosing ``USE_CHOICES[index]`` for a column; the kind follows unless it is "Leave out"."""
    _, kind, treatment = USE_CHOICES[index]
    changed = prep.with_treatment(name, treatment)
    if index == 6:
        return changed
    if index == 5:
        return changed.with_column(name, kind=kind, reason="you marked it as an identifier")
    return changed.with_column(name, kind=kind)
