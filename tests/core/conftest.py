"""Fixtures for the core tests: the penguins sample as a path, a loaded table and a fresh frame."""

from __future__ import annotations

import os

# Before scikit-learn loads its OpenMP runtime, which reads this once. The tables here are tiny: OpenMP's
# spin-waits (HistGradientBoosting) cost far more than they save, and on a busy 2-core machine they made single
# tests take many seconds. Fits run on helper threads (run_interruptibly), so threadpoolctl's per-thread limit
# would not reach them. setdefault: a developer can still ask for more threads.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path

import pandas as pd
import pytest

from studio.core.data.tabular import LoadedTable, load_table
from studio.resources import sample_dataset


@pytest.fixture(scope="session")
def penguins_path() -> Path:
    path = sample_dataset()
    assert path.is_file(), path
    return path


@pytest.fixture(scope="session")
def penguins_table(penguins_path: Path) -> LoadedTable:
    return load_table(penguins_path)


@pytest.fixture
def penguins(penguins_table: LoadedTable) -> pd.DataFrame:
    # A copy per test, so a test that edits the frame cannot leak into another.
    return penguins_table.frame.copy()
