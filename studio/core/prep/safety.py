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

from typing import Any

import pandas as pd

from studio.core.data.profile import to_number
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
    notes: list[str] = []
    absent = [c for c in optional_columns(pipeline) if c not in frame.columns]
    if absent:
        notes.append(f"The new data has no column {_names(absent)}; the model treats every row as a gap there "
                     "and fills it as it did in training.")
    if extra:
        notes.append(f"{len(extra)} column(s) the model does not use are ignored: {_names(extra)}.")
    prep = getattr(pipeline, "named_steps", {}).get("prep")
    columns = getattr(prep, "named_steps", {}).get("columns")
    for name, part, selected in getattr(columns, "transformers_", ()):
        if name == "remainder" or name.endswith(MISSING_SUFFIX) or not hasattr(part, "named_steps"):
            continue
        column: str = selected[0] if isinstance(selected, list) else selected
        if column not in frame.columns:
            continue
        if "parse" in part.named_steps:
            notes += _text_in_numbers(column, frame[column])
        encoder = part.named_steps.get("encode")
        if encoder is not None and hasattr(encoder, "categories_"):
            notes += _unseen(column, frame[column], encoder)
    return notes


def _text_in_numbers(column: str, values: pd.Series) -> list[str]:
    bad = values.notna() & to_number(values).isna()
    if not bad.any():
        return []
    examples = ", ".join(repr(str(v)) for v in values[bad].unique()[:MAX_EXAMPLES])
    return [f"{int(bad.sum()):,} value(s) of '{column}' are not numbers ({examples}); they are treated as gaps "
            "and filled as in training."]


def _unseen(column: str, values: pd.Series, encoder: Any) -> list[str]:
    known = {str(c) for c in encoder.categories_[0]}
    text = pd.Series(frame_to_categories(values.to_frame())[:, 0])
    new = text.notna() & ~text.isin(known)
    if not new.any():
        return []
    examples = ", ".join(repr(v) for v in text[new].unique()[:MAX_EXAMPLES])
    return [f"{int(new.sum()):,} row(s) have a value of '{column}' the model never saw ({examples}); it is "
            "treated as an unknown category."]


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names[:8]) + (" …" if len(names) > 8 else "")
