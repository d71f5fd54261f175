"""Understanding a table before preparing it: how each column relates to the target, where values are missing,
outliers, duplicated rows, and warnings that come with a one-click fix.

Runs as a job in a worker; large tables are sampled for the relations (the counts use every row).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.profile import ColumnKind, ColumnProfile, parse_dates, to_number, too_large
from studio.core.data.target import Task, target_values
from studio.core.prep.config import Infinite, Missing, PrepConfig, Treatment
from studio.core.prep.values import outlier_fences

SAMPLE_ROWS = 50_000
HASH_CHUNK = 50_000
MAP_BANDS = 120
LEAK_LEVEL = 0.98
HIGH_CARDINALITY = 50
STRONG_LINK = 0.5
MODERATE_LINK = 0.2
NONE_WORDS = {"none", "no", "0", "nil", "n", "false", "other"}


@dataclass(frozen=True)
class Relation:
    strength: float  # 0 (none) to 1 (it decides the target); NaN when it cannot be measured
    summary: str

    @property
    def word(self) -> str:
        """How strong, in a word: "strong", "moderate", "weak", or "unknown" when it could not be measured."""
        strength = self.strength
        if strength != strength:
            return "unknown"
        return "strong" if strength >= STRONG_LINK else "moderate" if strength >= MODERATE_LINK else "weak"

    def linked_to(self, target: str) -> str:
        """The strength as a phrase a newcomer reads: "strongly linked to survived"."""
        word = self.word
        return f"link to {target} unknown" if word == "unknown" else f"{word}ly linked to {target}"


@dataclass(frozen=True)
class Finding:
    code: str
    column: str  # "" for the whole table
    message: str
    fix_label: str  # "" when there is nothing to click: Studio always handles it


@dataclass(frozen=True)
class TableInsights:
    rows: int
    duplicates: int
    relations: dict[str, Relation] = field(default_factory=dict)
    outliers: dict[str, tuple[int, int]] = field(default_factory=dict)  # (outside IQR fences, beyond 3 sd)
    missing_columns: tuple[str, ...] = ()
    # Share of missing values per band of rows (bands x columns), top to bottom as in the file.
    missing_map: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    findings: tuple[Finding, ...] = ()


def insights_job(frame: pd.DataFrame, profiles: tuple[ColumnProfile, ...], target: str | None, task: Task | None,
                 should_stop: StopCheck = never_stop) -> Generator[Progress, None, TableInsights]:
    # Row hashes in chunks, with a progress item between them: one duplicated() call over a million rows of text
    # holds the GIL for over a second and the window would stutter.
    hashes, missing_parts = [], []
    for start in range(0, len(frame), HASH_CHUNK):
        if should_stop():
            raise Cancelled()
        yield Progress("Looking at the data", 0.0, "Counting duplicated rows")
        chunk = frame.iloc[start:start + HASH_CHUNK]
        hashes.append(pd.util.hash_pandas_object(chunk, index=False).to_numpy())
        missing_parts.append(chunk.isna().to_numpy())
    duplicates = int(pd.Series(np.concatenate(hashes) if hashes else []).duplicated().sum())
    missing = np.concatenate(missing_parts) if missing_parts else np.zeros((0, frame.shape[1]), dtype=bool)
    sample = frame.sample(SAMPLE_ROWS, random_state=0) if len(frame) > SAMPLE_ROWS else frame
    y = target_values(sample[target], task) if target and task and target in sample.columns else None
    relations: dict[str, Relation] = {}
    outliers: dict[str, tuple[int, int]] = {}
    for index, profile in enumerate(profiles):
        if should_stop():
            raise Cancelled()
        yield Progress("Looking at the data", index / max(1, len(profiles)), f"Column {profile.name}")
        if profile.name == target:
            continue
        # An identifier's or free text's "relation" would only measure how unique it is.
        values = None if profile.kind in (ColumnKind.ID, ColumnKind.TEXT, ColumnKind.CONSTANT) else \
            _as_values(sample[profile.name], profile)
        if y is not None and values is not None:
            relations[profile.name] = relation(values, y, task, dates=profile.kind is ColumnKind.DATE)
        if profile.kind is ColumnKind.NUMERIC:
            outliers[profile.name] = outlier_counts(_finite(to_number(frame[profile.name])).to_numpy(dtype=float))
    insights = TableInsights(len(frame), duplicates, relations, outliers, tuple(map(str, frame.columns)),
                             missing_bands(missing))
    return replace(insights, findings=tuple(findings(profiles, insights, target)))


def _as_values(series: pd.Series, profile: ColumnProfile) -> pd.Series | None:
    if profile.kind in (ColumnKind.NUMERIC, ColumnKind.ID) and pd.api.types.is_numeric_dtype(series.dtype):
        return _finite(series.astype(float))
    if profile.kind is ColumnKind.NUMERIC:
        return _finite(to_number(series))
    if profile.kind is ColumnKind.DATE:
        return (parse_dates(series, profile.date_format) - pd.Timestamp("1970-01-01", tz="UTC")).dt.days.astype(float)
    if profile.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.ID):
        # A blank is a value of its own here: a column filled in only for one class gives the answer away.
        return series.astype(object).where(series.notna(), "(blank)").map(str)
    return None


def _finite(numbers: pd.Series) -> pd.Series:
    """Infinite numbers as gaps, as the preparation reads them by default: an average of infinity says nothing."""
    return numbers.where(~too_large(numbers.to_numpy(dtype=float)))


def relation(values: pd.Series, y: pd.Series, task: Task | None, dates: bool = False) -> Relation:
    """How strongly one column goes with the target, with a short summary a person can read."""
    both = values.notna().to_numpy() & y.notna().to_numpy()
    x, t = values[both], y[both]
    if len(x) < 3:
        return Relation(float("nan"), "too few rows")
    numeric = pd.api.types.is_float_dtype(x.dtype)
    if task is Task.REGRESSION:
        t = t.astype(float)
        if numeric:
            r = float(np.corrcoef(x, t)[0, 1]) if x.std() > 0 and t.std() > 0 else 0.0
            return Relation(abs(r), f"correlation {r:+.2f}")
        groups = _top_groups(x)
        means = t.groupby(groups).mean().sort_values(ascending=False)
        shown = ", ".join(f"{k} {_number(v)}" for k, v in means.head(3).items())
        return Relation(_eta(t.to_numpy(float), groups), f"average target: {shown}")
    t = t.astype(str)
    if numeric:
        means = x.groupby(t).mean()
        shown = ", ".join(f"{k} {_day(v) if dates else _number(v)}" for k, v in means.head(4).items())
        edges = np.unique(np.quantile(x.to_numpy(float), np.linspace(0, 1, 21)))
        purity = _purity(np.searchsorted(edges[1:-1], x.to_numpy(float), side="right"), t)
        return Relation(max(_eta(x.to_numpy(float), t), purity if purity >= LEAK_LEVEL else 0.0),
                        f"average per class: {shown}")
    groups = _top_groups(x)
    table = pd.crosstab(groups, t)
    top = table.idxmax(axis=1)
    shown = ", ".join(f"{k} → {v}" for k, v in list(top.items())[:3])
    return Relation(_cramers_v(table.to_numpy(float)), f"most common class: {shown}")


def _day(days: float) -> str:
    return (pd.Timestamp("1970-01-01") + pd.Timedelta(days=float(days))).strftime("%Y-%m-%d")


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _top_groups(x: pd.Series, limit: int = 50) -> pd.Series:
    counts = x.value_counts()
    if len(counts) <= limit:
        return x
    keep = set(counts.index[:limit])
    return x.where(x.isin(keep), "(other)")


def _eta(values: np.ndarray, groups: pd.Series) -> float:
    """The correlation ratio: 0 when the groups share one average, 1 when the groups explain all variation."""
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    codes = pd.factorize(np.asarray(groups))[0]
    counts = np.bincount(codes)
    means = np.bincount(codes, weights=values) / np.maximum(counts, 1)
    between = float((counts * (means - values.mean()) ** 2).sum())
    return float(np.sqrt(min(1.0, between / total)))


def _cramers_v(table: np.ndarray) -> float:
    n = table.sum()
    if n == 0 or min(table.shape) < 2:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / np.where(expected == 0, 1, expected)).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def _purity(groups: np.ndarray, t: pd.Series) -> float:
    """Share of rows whose class is the most common one of their group: 1.0 means the column gives the answer."""
    classes = pd.factorize(np.asarray(t))[0]
    width = int(classes.max()) + 1 if len(classes) else 1
    table = np.bincount(groups * width + classes, minlength=(int(groups.max()) + 1) * width).reshape(-1, width)
    return float(table.max(axis=1).sum() / max(1, len(classes)))


def outlier_counts(values: np.ndarray) -> tuple[int, int]:
    counts = []
    for method in ("iqr", "z"):
        lower, upper = outlier_fences(values, method)
        counts.append(int(((values < lower[0]) | (values > upper[0])).sum()))
    return counts[0], counts[1]


def missing_bands(missing: np.ndarray, bands: int = MAP_BANDS) -> np.ndarray:
    """Share missing in each of ``bands`` consecutive row ranges, per column."""
    rows = missing.shape[0]
    if rows == 0:
        return np.zeros((0, missing.shape[1]))
    edges = np.linspace(0, rows, min(bands, rows) + 1).astype(int)
    sums = np.add.reduceat(missing.astype(np.int32), edges[:-1], axis=0)
    return sums / np.diff(edges)[:, None]


# -- warnings -----------------------------------------------------------------------------------------------------
def findings(profiles: tuple[ColumnProfile, ...], insights: TableInsights, target: str | None) -> list[Finding]:
    found: list[Finding] = []
    if insights.duplicates:
        copies = f"{insights.duplicates:,} rows are exact copies" if insights.duplicates > 1 else \
            "1 row is an exact copy"
        found.append(Finding("duplicates", "", f"{copies} of another row.", "Remove duplicated training rows"))
    for profile in profiles:
        if profile.name == target:
            continue
        found += _column_findings(profile, insights.relations.get(profile.name))
    return found


def _column_findings(profile: ColumnProfile, related: Relation | None) -> list[Finding]:
    name, kind = profile.name, profile.kind
    out: list[Finding] = []
    if kind is ColumnKind.ID:
        why = profile.note or "a different value in every row"
        out.append(Finding("id", name, f"'{name}' looks like an identifier: {why}.", "Leave it out"))
    if kind is ColumnKind.CONSTANT:
        out.append(Finding("constant", name, f"'{name}' has the same value in every row, so it cannot help.",
                           "Leave it out"))
    if related is not None and kind is not ColumnKind.ID and related.strength >= LEAK_LEVEL:
        out.append(Finding("leak", name, f"'{name}' predicts the target almost perfectly ({related.summary}). It may "
                           "hold the answer itself, which new rows will not have.", "Leave it out"))
    blanks_mean_none = 0.05 <= profile.missing_share < 0.95 and _blanks_may_mean_none(profile)
    if kind is not ColumnKind.CONSTANT and profile.missing_share >= 0.5 and not blanks_mean_none:
        out.append(Finding("mostly_missing", name, f"{profile.missing_share:.0%} of '{name}' is missing.",
                           "Leave it out"))
    if kind is ColumnKind.CATEGORICAL and profile.distinct > HIGH_CARDINALITY:
        out.append(Finding("high_cardinality", name, f"'{name}' has {profile.distinct:,} different values; one "
                           "column each would be too many.", "Group rare values"))
    # A number column that is text only because of a few stray words gets the stray-value warning instead.
    numbers_as_text = profile.stored_as_text and not (kind is ColumnKind.NUMERIC and profile.stray_values)
    if numbers_as_text or (kind is ColumnKind.CATEGORICAL and "mix of numbers" in profile.note):
        example = next((v for v, _ in profile.top_values if not v.replace(".", "").isdigit()), "")
        out.append(Finding("text_numbers", name, f"'{name}' holds numbers written as text"
                           + (f" (e.g. '{example}')" if example else "") + "; they can be read as numbers.",
                           "Read as numbers"))
    if profile.stray_values:
        out.append(_stray_finding(profile))
    if kind is ColumnKind.NUMERIC and profile.infinite:
        out.append(_infinite_finding(profile))
    if blanks_mean_none:
        words = "'none'" if kind is ColumnKind.CATEGORICAL else "0"
        out.append(Finding("blank_none", name, f"{profile.missing_share:.0%} of '{name}' is blank; blanks may mean "
                           f"{words} rather than unknown.", f"Treat blanks as {words}"))
    return out


def _stray_finding(profile: ColumnProfile) -> Finding:
    name = profile.name
    count = sum(n for _, n in profile.stray_values)
    shown = ", ".join(f"'{value}'" for value, _ in profile.stray_values)
    rows = _rows(count)
    if profile.kind is ColumnKind.NUMERIC:
        which = "a value that is not a number" if count == 1 else f"{count:,} values that are not numbers"
        return Finding("stray_value", name, f"'{name}' holds numbers, and {which} ({shown}).", "Read as numbers")
    share = count / profile.rows if profile.rows else 0.0
    strays = {value for value, _ in profile.stray_values}
    usual = ", ".join([f"'{value}'" for value, _ in profile.top_values if value not in strays][:3])
    return Finding("stray_value", name, f"'{name}' has a stray value: {shown} in {rows} "
                   f"({'under 1%' if share < 0.01 else f'{share:.0%}'} of the rows)"
                   + (f", next to {usual}" if usual else "") + ". It looks like a stand-in for a missing value.", "")


def _infinite_finding(profile: ColumnProfile) -> Finding:
    shown = ", ".join(f"'{value}'" for value in profile.infinite_examples)
    which = "an infinite number" if profile.infinite == 1 else f"{profile.infinite:,} infinite numbers"
    return Finding("infinite", profile.name, f"'{profile.name}' holds {which} ({shown}): too large to compute "
                   "with. Until you choose, they are treated as gaps and filled like the others, in training and "
                   "when predicting.", INFINITE_FIX)


INFINITE_FIX = "Clip to the column's range"


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def _blanks_may_mean_none(profile: ColumnProfile) -> bool:
    if profile.kind is ColumnKind.CATEGORICAL:
        return not any(v.strip().lower() in NONE_WORDS for v, _ in profile.top_values)
    # Counts such as "children" or "cars" with no zero at all: a blank is likely the zero.
    if profile.kind is ColumnKind.NUMERIC and profile.top_values:
        numbers = [to_number(pd.Series([v])).iloc[0] for v, _ in profile.top_values]
        return all(number == number and number > 0 and float(number).is_integer() for number in numbers)
    return False


def apply_fix(prep: PrepConfig, finding: Finding) -> PrepConfig:
    """The config after the finding's one-click fix."""
    code, name = finding.code, finding.column
    if code == "duplicates":
        return PrepConfig(prep.columns, drop_duplicates=True)
    if code in ("id", "constant", "leak", "mostly_missing"):
        reasons = {"id": "it looks like an identifier", "constant": "it has the same value in every row",
                   "leak": "it predicts the target almost perfectly, so it probably leaks the answer",
                   "mostly_missing": "most of its values are missing"}
        return prep.with_treatment(name, Treatment.EXCLUDE).with_column(name, reason=reasons[code])
    if code == "high_cardinality":
        return prep.with_column(name, rare_share=0.01, max_categories=20)
    if code == "infinite":
        return prep.with_column(name, infinite=Infinite.CLIP)
    if code in ("text_numbers", "stray_value"):
        return prep.with_treatment(name, Treatment.NUMERIC).with_column(name, kind=ColumnKind.NUMERIC)
    column = prep.get(name)
    is_category = column is not None and column.treatment is Treatment.CATEGORICAL
    return prep.with_column(name, missing=Missing.CONSTANT, fill_value="none" if is_category else "0")


def handled_words(prep: PrepConfig, finding: Finding) -> str:
    """What Studio does about a warning that needs nothing more, said as such; "" while it still needs a click."""
    if not is_fixed(prep, finding):
        return ""
    column = prep.get(finding.column)
    if finding.code == "duplicates":
        what = "duplicated rows are removed from training"
    elif column is None or not column.used:
        what = "the column is left out"
    elif finding.code == "high_cardinality":
        what = "rare values are grouped together" if column.rare_share > 0 else "each value becomes one number"
    elif finding.code == "text_numbers":
        what = "they are read as numbers"
    elif finding.code == "infinite":
        what = "they are clipped to the column's largest and smallest numbers" \
            if column.infinite is Infinite.CLIP else "they are treated as gaps and filled like the others"
    elif finding.code == "stray_value":
        what = "it is treated as a gap and filled like the others" if column.treatment is Treatment.NUMERIC else \
            "it stays a value of its own, too rare to sway the model"
    else:
        what = f"gaps are filled with '{column.fill_value}'"
    return f"Studio handles this: {what}; nothing to do."


def is_fixed(prep: PrepConfig, finding: Finding) -> bool:
    if finding.code == "duplicates":
        return prep.drop_duplicates
    column = prep.get(finding.column)
    if column is None:
        return True
    if finding.code in ("id", "constant", "leak", "mostly_missing"):
        return not column.used
    if finding.code == "high_cardinality":
        return not column.used or column.rare_share > 0 or column.encoding.value != "one_hot"
    if finding.code == "text_numbers":
        return column.treatment is Treatment.NUMERIC
    if finding.code == "infinite":
        return column.infinite is not Infinite.AUTO or column.treatment is not Treatment.NUMERIC
    if finding.code == "stray_value":
        # A stray among categories has no fix to click (see _stray_finding); among numbers it becomes a gap.
        return not finding.fix_label or column.treatment is Treatment.NUMERIC or not column.used
    return column.missing is Missing.CONSTANT or not column.used
