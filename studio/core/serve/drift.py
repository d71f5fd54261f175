"""Drift warnings: new rows compared with the profile of the rows a model was trained on, in words.

A model file keeps a compact profile of its training rows (``studio.core.data.drift``). ``check_drift`` compares a
table of new rows with it, column by column:

- numbers: the population stability index (PSI) over the profile's ten quantile bins, and the two-sample
  Kolmogorov-Smirnov statistic approximated from the quantiles (see ``_ks_from_quantiles``);
- categories: the share of new rows holding values training never showed, values that vanished, and the PSI over
  the value shares;
- every column: the share of gaps before and now.

A column has drifted when its PSI is above 0.2, its KS statistic is large (above 0.15, and above what chance gives
for this many rows), values never seen cover more than 5% of the new rows, or the gaps rose by more than 10
percentage points. Small tables move by chance, so the PSI limit grows by twice its chance level at these row
counts (a few hundredths from a few hundred rows on), and the gaps must also rise by more than three standard
deviations of chance (which exceeds 10 points only below a couple of hundred new rows, for a column with many
gaps). Each drifted column gets a sentence a person can act on. A table of more than 100,000 new rows is compared
on a random sample of that many, the same on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from studio.core.data.drift import (
    CATEGORY,
    NUMERIC,
    bin_counts,
    bin_cuts,
    category_texts,
    gaps,
    numeric_values,
)

PSI_LIMIT = 0.2
KS_LIMIT = 0.15
# The two-sample KS statistic chance exceeds in one check out of a thousand is about 1.95 * sqrt((n + m) / (n m)).
KS_CHANCE = 1.95
NEW_VALUES_LIMIT = 0.05
GAPS_LIMIT = 0.10
ROUGH_ROWS = 20
# New rows compared at most: a random sample this large measures shares to within half a percentage point (and a
# median as closely), where comparing a million rows held the predicting window's thread for a second.
COMPARED_ROWS = 100_000
# Half a row added to every bin, so a bin empty by chance in a small table does not count as a huge change.
SMOOTHING = 0.5
SHOWN_VALUES = 3


@dataclass(frozen=True)
class ColumnDrift:
    name: str
    type: str  # "numeric", "category" or "gaps" (see data.drift)
    psi: float  # NaN where it does not apply
    ks: float
    new_share: float  # share of the new rows holding values training never showed
    missing_before: float
    missing_now: float  # NaN when the column is absent
    drifted: bool
    absent: bool = False
    sentence: str = ""  # why it drifted, in words; empty when it did not

    def to_plain(self) -> dict[str, Any]:
        return {"psi": _plain(self.psi), "ks": _plain(self.ks), "new_share": _plain(self.new_share),
                "missing_before": _plain(self.missing_before), "missing_now": _plain(self.missing_now),
                "drifted": self.drifted, "absent": self.absent}


@dataclass(frozen=True)
class DriftReport:
    columns: tuple[ColumnDrift, ...]
    rows: int  # new rows compared
    checked: bool  # False when the model file has no training profile
    notes: tuple[str, ...] = ()  # what limits the comparison, in words

    @property
    def drifted(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.drifted)

    @property
    def alike(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.drifted)

    def sentences(self) -> list[str]:
        return [c.sentence for c in self.columns if c.drifted]

    def alike_line(self) -> str:
        if not self.checked:
            return ""
        alike = self.alike
        if not alike:
            return "No column looks alike in training and in the new rows."
        shown = _listing(alike)
        if len(alike) == len(self.columns):
            return f"All {len(alike)} columns look alike in training and in the new rows: {shown}."
        return f"These columns look alike in training and in the new rows: {shown}."

    def lines(self) -> list[str]:
        """Everything to show a person: the notes, one sentence per drifted column, then the columns alike."""
        return [*self.notes, *self.sentences(), *([self.alike_line()] if self.checked else [])]

    def to_plain(self) -> dict[str, Any]:
        return {"drifted": list(self.drifted), "columns": {c.name: c.to_plain() for c in self.columns},
                "rows": self.rows, "checked": self.checked}


def check_drift(metadata: dict[str, Any], frame: pd.DataFrame) -> DriftReport:
    """Compare ``frame`` (new rows, as loaded) with the training profile in a model file's ``metadata``."""
    profile = metadata.get("training_profile")
    if not isinstance(profile, dict) or not isinstance(profile.get("columns"), dict):
        return DriftReport((), len(frame), False, (
            "This model file holds no description of its training rows (it was saved by an older Studio), so "
            "drift cannot be checked. Train and save the model again to check new rows against it.",))
    rows = len(frame)
    notes: list[str] = []
    if rows == 0:
        notes.append("The new table has no rows, so there is nothing to compare.")
    elif rows < ROUGH_ROWS:
        notes.append(f"The new table has only {rows} row{'s' if rows != 1 else ''}, so the comparison is rough: "
                     "a column can look different by chance.")
    trained_rows = int(profile.get("rows") or 0)
    if rows > COMPARED_ROWS:  # the same rows on every run, in their order
        frame = frame.iloc[np.sort(np.random.default_rng(0).choice(rows, COMPARED_ROWS, replace=False))]
    columns = tuple(_check_column(str(name), described, frame, trained_rows)
                    for name, described in profile["columns"].items() if isinstance(described, dict))
    return DriftReport(columns, rows, True, tuple(notes))


def _check_column(name: str, described: dict[str, Any], frame: pd.DataFrame, trained_rows: int) -> ColumnDrift:
    kind = str(described.get("type", ""))
    missing_before = float(described.get("missing", 0.0))
    nan = math.nan
    if name not in frame.columns:
        return ColumnDrift(name, kind, nan, nan, nan, missing_before, nan, True, True,
                           f"`{name}` is not in the new rows at all, so it cannot be compared; the model reads it, "
                           "so predictions will fail or take it as empty.")
    series = frame[name]
    if len(series) == 0:
        return ColumnDrift(name, kind, nan, nan, nan, missing_before, nan, False)
    # Rows training had values in: the sample size for the chance limits.
    trained = max(1, round(trained_rows * (1.0 - missing_before)))
    psi, ks, new_share, why = nan, nan, nan, ""
    if kind == NUMERIC:
        values = numeric_values(series)
        present = values[~np.isnan(values)]
        missing_now = 1.0 - len(present) / len(series)  # words in a number column are gaps to the model too
        psi, ks, why = _numeric_drift(name, described, present, trained)
    elif kind == CATEGORY:
        texts = category_texts(series).dropna()
        missing_now = 1.0 - len(texts) / len(series)
        psi, new_share, why = _category_drift(name, described, texts, trained)
    else:
        missing_now = float(gaps(series).mean())
    more_gaps = missing_now - missing_before > _gaps_limit(missing_before, len(series))
    sentences = [why] if why else []
    if more_gaps:
        start = "It is also" if sentences else f"`{name}` is"
        sentences.append(f"{start} empty in {_percent(missing_now)} of the new rows, against "
                         f"{_percent(missing_before)} in training.")
    return ColumnDrift(name, kind, psi, ks, new_share, missing_before, missing_now, bool(sentences), False,
                       " ".join(sentences))


# -- numbers ----------------------------------------------------------------------------------------------------
def _numeric_drift(name: str, described: dict[str, Any], present: np.ndarray,
                   trained: int) -> tuple[float, float, str]:
    """PSI, KS and, when either is past its limit, the sentence saying how the values moved."""
    edges = [float(e) for e in described.get("edges", [])]
    shares = np.asarray(described.get("shares", []), dtype=float)
    cuts = bin_cuts(edges)
    if len(present) == 0 or len(edges) < 2 or len(shares) != len(cuts) + 1:
        return math.nan, math.nan, ""
    counts = bin_counts(present, cuts)
    psi = _psi(shares, counts, trained)
    ks = _ks_from_quantiles(edges, cuts, shares, present)
    n = len(present)
    drifted = psi > _psi_limit(len(shares), n, trained) or ks > _ks_limit(n, trained)
    return psi, ks, _numeric_sentence(name, described, edges, present) if drifted else ""


def _ks_from_quantiles(edges: list[float], cuts: np.ndarray, shares: np.ndarray, present: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic, approximated from the profile's quantiles: the largest gap
    between the training and the new cumulative shares, taken at each cut of the bins (where the profile knows the
    training share exactly), just below the training minimum (training: none) and at its maximum (training: all).
    The true statistic can be larger between two cuts, by less than a bin's share (about 0.1); no sample is
    regenerated from the quantiles, so the result is exact at those points and the same on every run."""
    trained_below = np.cumsum(shares)[:-1]
    new_below = np.searchsorted(np.sort(present), cuts, side="right") / len(present)
    gaps_at = [*np.abs(trained_below - new_below),
               float(np.mean(present < edges[0])),  # below anything seen in training
               float(np.mean(present > edges[-1]))]  # above anything seen in training
    return float(max(gaps_at))


def _numeric_sentence(name: str, described: dict[str, Any], edges: list[float], present: np.ndarray) -> str:
    before = float(described.get("median", edges[len(edges) // 2]))
    now = float(np.median(present))
    low, high = edges[1], edges[-2]  # the middle 80% of training rows
    spread = (high - low) or (edges[-1] - edges[0]) or abs(before) or 1.0
    medians = f"median {_number(now)} against {_number(before)}"
    if abs(now - before) > 0.1 * spread:
        direction = "higher" if now > before else "lower"
        change = abs(now - before) / abs(before) if before else math.inf
        if before * now > 0 and change >= 0.01 and math.isfinite(change):
            return f"`{name}` in the new rows is typically {change:.0%} {direction} than in training ({medians})."
        return f"`{name}` in the new rows is typically {direction} than in training ({medians})."
    new_low, new_high = (float(v) for v in np.quantile(present, [0.1, 0.9]))
    ratio = (new_high - new_low) / (high - low) if high > low else math.inf
    if ratio > 1.3 or ratio < 1 / 1.3:
        wider = "more spread out" if ratio > 1 else "more bunched together"
        return (f"`{name}` in the new rows is {wider} than in training (the middle 80% of rows lies between "
                f"{_number(new_low)} and {_number(new_high)}, against {_number(low)} and {_number(high)}).")
    outside = float(np.mean((present < edges[0]) | (present > edges[-1])))
    if outside > NEW_VALUES_LIMIT:
        return (f"`{name}` is outside the range seen in training ({_number(edges[0])} to {_number(edges[-1])}) in "
                f"{_percent(outside)} of the new rows.")
    return f"`{name}` in the new rows is spread differently than in training ({medians})."


# -- categories -------------------------------------------------------------------------------------------------
def _category_drift(name: str, described: dict[str, Any], texts: pd.Series,
                    trained: int) -> tuple[float, float, str]:
    """PSI, the share of new rows with values never seen, and the sentence when the column drifted."""
    known = {str(k): float(v) for k, v in (described.get("values") or {}).items()}
    other_before = float(described.get("other", 0.0))
    if len(texts) == 0:
        return math.nan, math.nan, ""
    counts = texts.value_counts()
    seen = counts.index.isin(list(known))
    unseen = counts[~seen]
    n = len(texts)
    unseen_share = float(unseen.sum()) / n
    # Values beyond the profile's most common ones were seen in training (as "other"): only what exceeds that share
    # counts as new.
    new_share = max(0.0, unseen_share - other_before)
    shares = np.array([*known.values(), other_before])
    now_counts = np.array([*(int(counts.get(v, 0)) for v in known), int(unseen.sum())])
    psi = _psi(shares, now_counts, trained)
    mix_changed = psi > _psi_limit(len(shares), n, trained)
    sentences = []
    if new_share > NEW_VALUES_LIMIT:
        shown = ", ".join(f"'{v}'" for v in unseen.index[:SHOWN_VALUES])
        more = f" and {len(unseen) - SHOWN_VALUES} more" if len(unseen) > SHOWN_VALUES else ""
        which = "never seen" if other_before == 0 else "rare or never seen"
        sentences.append(f"`{name}` has values {which} in training in {_percent(unseen_share)} of the new rows "
                         f"({shown}{more}).")
    if mix_changed:
        now_shares = {v: int(counts.get(v, 0)) / n for v in known}
        vanished = [v for v, s in known.items() if now_counts[list(known).index(v)] == 0 and s * n >= 5]
        if vanished:
            shown = ", ".join(f"'{v}' ({_percent(known[v])} in training)" for v in vanished[:SHOWN_VALUES])
            sentences.append(f"`{name}` never takes the value{'s' if len(vanished) > 1 else ''} {shown} in the "
                             "new rows." if not sentences else f"It never takes {shown} in the new rows.")
        elif not sentences:
            value = max(known, key=lambda v: abs(now_shares[v] - known[v]))
            sentences.append(f"`{name}` has a different mix of values than in training ('{value}' in "
                             f"{_percent(now_shares[value])} of the new rows, against {_percent(known[value])}).")
    return psi, new_share, " ".join(sentences)


# -- shared -----------------------------------------------------------------------------------------------------
def _psi(trained_shares: np.ndarray, now_counts: np.ndarray, trained: int) -> float:
    """The population stability index: sum over bins of (now - before) * ln(now / before), with half a row added
    to every bin on both sides so an empty bin stays finite."""
    bins = len(trained_shares)
    before = (trained_shares * trained + SMOOTHING) / (trained + SMOOTHING * bins)
    now = (now_counts + SMOOTHING) / (now_counts.sum() + SMOOTHING * bins)
    return float(np.sum((now - before) * np.log(now / before)))


def _psi_limit(bins: int, n: int, trained: int) -> float:
    # Between two samples of the same rows the PSI averages about (bins - 1) * (1/n + 1/m): allow twice that.
    return PSI_LIMIT + 2 * (bins - 1) * (1 / n + 1 / trained)


def _gaps_limit(before: float, n: int) -> float:
    # Three standard deviations of the share of gaps in n rows drawn like the training rows.
    return max(GAPS_LIMIT, 3 * math.sqrt(before * (1 - before) / n))


def _ks_limit(n: int, trained: int) -> float:
    return max(KS_LIMIT, KS_CHANCE * math.sqrt((n + trained) / (n * trained)))


def _plain(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def _percent(share: float) -> str:
    if 0 < share < 0.01:
        return "under 1%"
    return f"{share:.0%}"


def _number(value: float) -> str:
    """A number as a person writes it: 43,300; 2007; 39.1; 0.0345 (no separator below 10,000, so years read as
    years)."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    if abs(value) >= 1000:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _listing(names: tuple[str, ...], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
