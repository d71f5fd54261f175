"""Reading the other formats through ``load_table`` against pandas' own reader of the same file, in the same run:
JSON Lines (pyarrow's reader, falling back to one line at a time) against ``pandas.read_json(lines=True)``, a JSON
list of records against ``pandas.read_json``, and an .xlsx sheet (python-calamine) against
``pandas.read_excel(engine="openpyxl")``, pandas' reader for .xlsx before calamine."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from studio.core.data.tabular import load_table

from .bench import classification_frame, median, report

pytestmark = pytest.mark.perf

JSON_ROWS = 200_000
XLSX_ROWS = 20_000
ROUNDS = 3


def timed(work: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return median(times)


@pytest.mark.parametrize("kind", ["jsonl", "json", "xlsx"])
def test_other_formats_against_pandas(tmp_path: Path, kind: str) -> None:
    rows = XLSX_ROWS if kind == "xlsx" else JSON_ROWS
    frame = classification_frame(rows)
    path = tmp_path / f"table.{kind}"
    if kind == "xlsx":
        frame.to_excel(path, index=False)
        plain: Callable[[], object] = lambda: pd.read_excel(path, engine="openpyxl")  # noqa: E731
    else:
        frame.to_json(path, orient="records", lines=kind == "jsonl")
        plain = lambda: pd.read_json(path, lines=kind == "jsonl")  # noqa: E731
    studio_s = timed(lambda: load_table(path))
    plain_s = timed(plain)
    assert load_table(path).frame.shape == frame.shape
    report(f"formats_{kind}", "at most pandas' own reader (ratio <= 1.0)", rows=str(rows), studio_s=studio_s,
           pandas_s=plain_s, ratio=studio_s / plain_s)
