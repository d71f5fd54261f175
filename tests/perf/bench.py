"""Helpers shared by the benchmarks: one report format and synthetic tables."""

from __future__ import annotations

import os
import statistics

import numpy as np
import pandas as pd


def report(name: str, goal: str, **figures: float | str) -> None:
    """One greppable line per benchmark: ``PERF <name>: key=value ... (goal: ...)``.

    The 1-minute load average goes with it: on a shared machine it tells a slow figure from a busy neighbour.
    """
    parts = [f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}" for key, value in figures.items()]
    load = f"{os.getloadavg()[0]:.1f}/{os.cpu_count()} cores" if hasattr(os, "getloadavg") else "n/a"
    print(f"\nPERF {name}: {' '.join(parts)} load={load} (goal: {goal})", flush=True)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def classification_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """A churn-like table: numbers, categories, gaps, and a learnable two-class ``label``.

    The label depends on numbers, an interaction and a category, so the models grow realistic (not trivial)
    trees and the timings resemble a real table's.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(6)})
    frame["visits"] = rng.integers(0, 50, rows).astype(float)
    frame["plan"] = rng.choice(["basic", "plus", "pro", "team"], rows).astype(object)
    frame["region"] = rng.choice([f"region_{i}" for i in range(12)], rows).astype(object)
    score = (frame["x0"] + 0.5 * frame["x1"] * frame["x2"] + (frame["plan"] == "pro") - 0.02 * frame["visits"]
             + rng.normal(scale=0.8, size=rows))
    frame["label"] = np.where(score > 0.3, "churned", "stayed")
    # Gaps in inputs (never in the target), so the imputers do real work.
    for column in ("x3", "visits", "region"):
        frame.loc[rng.random(rows) < 0.03, column] = np.nan
    return frame
