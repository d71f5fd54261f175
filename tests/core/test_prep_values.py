"""Category values become the same text whichever way a column stores them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studio.core.prep.values import _category_text, frame_to_categories


def _row_by_row(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([frame[c].astype(object).where(frame[c].notna(), np.nan).map(_category_text)
                            .to_numpy(dtype=object) for c in frame.columns])


def test_each_distinct_value_converted_once_reads_as_converting_every_row() -> None:
    rng = np.random.default_rng(0)
    rows = 2_000
    frame = pd.DataFrame({
        "words": pd.Series(rng.choice([" red", "red", "blue ", None], rows), dtype="str"),
        "objects": rng.choice(np.array(["a", "b", None], dtype=object), rows),
        "whole_floats": rng.choice([1.0, 2.0, -0.0, 0.0, np.nan], rows),
        "floats": rng.choice([0.5, 1.25, np.nan], rows),
        "ints": rng.integers(0, 5, rows),
        "flags": rng.random(rows) < 0.5,
        "mixed": rng.choice(np.array([True, 1, "1", 1.0, None, "x "], dtype=object), rows),
        "gaps": [None] * rows,
    })
    converted = frame_to_categories(frame)
    expected = _row_by_row(frame)
    assert converted.shape == expected.shape
    assert pd.DataFrame(converted).equals(pd.DataFrame(expected))
    # The mixed column keeps True and 1 apart, although they hash alike.
    mixed = set(converted[:, list(frame.columns).index("mixed")]) - {np.nan}
    assert {"True", "1", "x"} <= mixed
