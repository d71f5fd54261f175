"""What happens to new rows that differ from the training data, said in words before predicting.

The fitted preparation already copes with each case; these notes tell the person how:

- an unseen category gets no one-hot column (or the "rare" column when rare categories were grouped), the
  "unknown" number of ordinal encoding, or the overall target average of target encoding;
- a column that had gaps in training may be absent: every row is then a gap, filled as in training;
  any other absent column is an error naming it;
- extra columns are ignored;
- text in a number column (``"cheap"``, ``"n/a"``) is a gap, filled as in training.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from studio.core.common.words import plural
from studio.core.data.profile import to_number, too_large
from studio.core.prep.values import MISSING_SUFFIX, frame_to_categories

MAX_EXAMPLES = 3


def prep_inputs(pipeline: Any) -> Any | None:
    """The RawInputs step of a model's preparation, or None for model files from before it existed."""
    prep = getattr(pipeline, "named_steps", {}).get("prep")
    return getattr(prep, "named_steps", {}).get("inputs")


def optional_columns(pipeline: Any) -> tuple[str, ...]:
    inputs = prep_inputs(pipeline)
    return tuple(getattr(inputs, "optional_", ())) if inputs is not None else ()


def input_notes(pipeline: Any, frame: pd.DataFrame, extra: list[str]) -> list[str]:
    """How rows unlike the training data are handled, in words; ``extra`` are the columns the model ignores."""
    return InputChecks(pipeline).notes(frame, extra)


class InputChecks:
    """The checks behind ``input_notes`` for one pipeline, read from it once: which columns may be absent, which
    are parsed as numbers and which categories each encoder knows. A web service keeps one per model, so a request
    pays only for looking at its own values."""

    def __init__(self, pipeline: Any) -> None:
        self.optional = optional_columns(pipeline)
        # In the preparation's order, so the notes come in the order they always did.
        self.columns: list[tuple[str, bool, frozenset[str] | None]] = []
        self.clipped: set[str] = set()  # number columns whose infinite values are clipped rather than gaps
        prep = getattr(pipeline, "named_steps", {}).get("prep")
        columns = getattr(prep, "named_steps", {}).get("columns")
        for name, part, selected in getattr(columns, "transformers_", ()):
            if name == "remainder" or name.endswith(MISSING_SUFFIX) or not hasattr(part, "named_steps"):
                continue
            column: str = selected[0] if isinstance(selected, list) else selected
            encoder = part.named_steps.get("encode")
            known = (frozenset(str(c) for c in encoder.categories_[0])
                     if encoder is not None and hasattr(encoder, "categories_") else None)
            self.columns.append((column, "parse" in part.named_steps, known))
            if "finite" in part.named_steps:
                self.clipped.add(column)

    def notes(self, frame: pd.DataFrame, extra: list[str]) -> list[str]:
        notes: list[str] = []
        present = frame.columns
        absent = [c for c in self.optional if c not in present]
        if absent:
            notes.append(f"The new data has no column {_names(absent)}; the model treats every row as a gap there "
                         "and fills it as it did in training.")
        if extra:
            notes.append(f"{plural(len(extra), 'column')} the model does not use "
                         f"{'is' if len(extra) == 1 else 'are'} ignored: {_names(extra)}.")
        for column, parsed, known in self.columns:
            if column not in present:
                continue
            values = frame[column]
            if parsed:
                notes += _text_in_numbers(column, values)
                notes += _infinite_numbers(column, values, column in self.clipped)
            if known is not None:
                notes += _unseen(column, values, known)
        return notes


def _text_in_numbers(column: str, values: pd.Series) -> list[str]:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return []  # numbers already: a gap is the only value that does not read as one
    bad = values.notna() & to_number(values).isna()
    if not bad.any():
        return []
    examples = ", ".join(repr(str(v)) for v in values[bad].unique()[:MAX_EXAMPLES])
    count = int(bad.sum())
    if count == 1:
        return [f"1 value of '{column}' is not a number ({examples}); it is treated as a gap and filled as in "
                "training."]
    return [f"{count:,} values of '{column}' are not numbers ({examples}); they are treated as gaps and filled as "
            "in training."]


def _infinite_numbers(column: str, values: pd.Series, clipped: bool) -> list[str]:
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return []
    infinite = too_large(to_number(values).to_numpy(dtype=float))
    if not infinite.any():
        return []
    examples = ", ".join(repr(str(v).strip()) for v in pd.unique(values[infinite].astype(str))[:MAX_EXAMPLES])
    count = int(infinite.sum())
    what = "clipped to the largest and smallest numbers seen in training" if clipped else \
        "treated as gaps and filled as in training"
    if count == 1:
        return [f"1 value of '{column}' is an infinite number ({examples}); it is {what}."]
    return [f"{count:,} values of '{column}' are infinite numbers ({examples}); they are {what}."]


def _unseen(column: str, values: pd.Series, known: frozenset[str]) -> list[str]:
    if _all_known(values, known):
        return []
    text = pd.Series(frame_to_categories(values.to_frame())[:, 0])
    new = text.notna() & ~text.isin(known)
    if not new.any():
        return []
    examples = ", ".join(repr(v) for v in text[new].unique()[:MAX_EXAMPLES])
    count = int(new.sum())
    return [f"{plural(count, 'row')} {'has' if count == 1 else 'have'} a value of '{column}' the model never saw "
            f"({examples}); it is treated as an unknown category."]


def _all_known(values: pd.Series, known: frozenset[str]) -> bool:
    """Whether every value is a gap or text the encoder knows as it is, which is what most rows hold: then none
    needs converting to the encoder's text. The encoder's categories are that text already (trimmed), so a value
    found among them reads as itself; anything else (a number, a stray space) is left to the full check."""
    try:
        # Values that are equal and hash alike (True and 1) become one here, which cannot hide text: no other
        # kind of value equals a string.
        distinct = values.unique()
    except TypeError:  # unhashable values (lists in a column of objects)
        return False
    for value in distinct:
        if isinstance(value, str):
            if value not in known:
                return False
        elif not (value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))):
            return False
    return True


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names[:8]) + (" …" if len(names) > 8 else "")
