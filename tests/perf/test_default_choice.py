"""Studio's one-click default ("Let Studio choose", rare classes handled) against careful plain scikit-learn scripts,
on real tables and fixed splits.

Tables: scikit-learn's own (breast cancer, wine, diabetes; always installed) and, when the package is installed,
plotnine's (diamonds: 53,940 rows; its price, its cut, and its rare "Fair" cut as a 3% class; mpg's highway
miles and its rear-wheel drive as an 11% class; penguins' species). Every table is split once,
``train_test_split(test_size=0.25, random_state=0)`` (stratified for classes); Studio gets that split as the CLI's
``--train-rows`` gives it (no validation rows: its choice and threshold use folds of the training rows).

The plain scripts, each on the same rows, with one-hot categories, median-filled and scaled numbers:
scaled logistic regression (classes) or ridge regression (numbers), histogram gradient boosting, and a 100-tree
random forest, all at scikit-learn's defaults. Figures: macro F1 for classes (higher is better), RMSE for numbers
(lower is better), and Studio's seconds against the slowest plain model's.

    .venv/bin/python -m pytest -m perf tests/perf/test_default_choice.py -s
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.core.data.profile import profile_frame
from studio.core.data.target import Task
from studio.core.models.choice_spec import CHOICE_KEY
from studio.core.prep.config import default_prep
from studio.core.train.splits import SplitConfig, explicit_split
from studio.core.train.training import TrainRequest, train

from .bench import report
from .image_data import drain

pytestmark = pytest.mark.perf


def _sklearn(name: str, target: str) -> pd.DataFrame:
    from sklearn import datasets

    loaded = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = loaded.frame.rename(columns={"target": target})
    if name in ("breast_cancer", "wine"):
        frame[target] = np.asarray(loaded.target_names)[frame[target]]
    return frame


def _plotnine(name: str) -> pd.DataFrame | None:
    spec = importlib.util.find_spec("plotnine")
    if spec is None or spec.origin is None:
        return None
    return pd.read_csv(Path(spec.origin).parent / "data" / f"{name}.csv")


def _derived(name: str, column: str, value: str, target: str) -> pd.DataFrame | None:
    frame = _plotnine(name)
    if frame is None:
        return None
    frame[target] = np.where(frame.pop(column) == value, "yes", "no")
    return frame


TABLES: dict[str, tuple[Any, str, Task]] = {
    "breast_cancer": (lambda: _sklearn("breast_cancer", "diagnosis"), "diagnosis", Task.CLASSIFICATION),
    "wine": (lambda: _sklearn("wine", "cultivar"), "cultivar", Task.CLASSIFICATION),
    "diabetes": (lambda: _sklearn("diabetes", "progression"), "progression", Task.REGRESSION),
    "penguins": (lambda: _plotnine("penguins"), "species", Task.CLASSIFICATION),
    "mpg_highway": (lambda: _plotnine("mpg"), "hwy", Task.REGRESSION),
    "mpg_rear_drive": (lambda: _derived("mpg", "drv", "r", "rear"), "rear", Task.CLASSIFICATION),
    "diamonds_price": (lambda: _plotnine("diamonds"), "price", Task.REGRESSION),
    "diamonds_cut": (lambda: _plotnine("diamonds"), "cut", Task.CLASSIFICATION),
    "diamonds_fair_cut": (lambda: _derived("diamonds", "cut", "Fair", "fair"), "fair", Task.CLASSIFICATION),
}


def _split(frame: pd.DataFrame, target: str, task: Task) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(frame))
    stratify = frame[target].astype(str) if task is Task.CLASSIFICATION else None
    train_rows, test_rows = train_test_split(rows, test_size=0.25, random_state=0, stratify=stratify)
    return np.sort(train_rows), np.sort(test_rows)


def _studio(frame: pd.DataFrame, target: str, task: Task, train_rows: np.ndarray,
            test_rows: np.ndarray) -> tuple[float, float, str]:
    request = TrainRequest(frame, target, task, default_prep(profile_frame(frame)), SplitConfig(), CHOICE_KEY, {},
                           fixed_split=explicit_split(train_rows.tolist(), test_rows.tolist(), len(frame)))
    started = time.perf_counter()
    result = drain(train(request))
    seconds = time.perf_counter() - started
    metric = "f1_macro" if task is Task.CLASSIFICATION else "rmse"
    return float(result.test.get(metric)), seconds, result.model_label


def _plain(frame: pd.DataFrame, target: str, task: Task, train_rows: np.ndarray,
           test_rows: np.ndarray) -> dict[str, tuple[float, float]]:
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import f1_score, mean_squared_error
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x, y = frame.drop(columns=[target]), frame[target]
    if task is Task.CLASSIFICATION:
        y = y.astype(str)
    prep = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         make_column_selector(dtype_include="number")),
        ("categories", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                     OneHotEncoder(handle_unknown="ignore", max_categories=50,
                                                   sparse_output=False)),
         make_column_selector(dtype_exclude="number")),
    ])
    models = ({"scaled logistic regression": LogisticRegression(max_iter=2000),
               "histogram gradient boosting": HistGradientBoostingClassifier(random_state=0),
               "random forest (100 trees)": RandomForestClassifier(n_jobs=-1, random_state=0)}
              if task is Task.CLASSIFICATION else
              {"ridge regression": Ridge(),
               "histogram gradient boosting": HistGradientBoostingRegressor(random_state=0),
               "random forest (100 trees)": RandomForestRegressor(n_jobs=-1, random_state=0)})
    scores: dict[str, tuple[float, float]] = {}
    for name, model in models.items():
        started = time.perf_counter()
        pipeline = make_pipeline(prep, model).fit(x.iloc[train_rows], y.iloc[train_rows])
        predicted = pipeline.predict(x.iloc[test_rows])
        seconds = time.perf_counter() - started
        truth = y.iloc[test_rows]
        score = (f1_score(truth, predicted, average="macro") if task is Task.CLASSIFICATION
                 else float(np.sqrt(mean_squared_error(truth, predicted))))
        scores[name] = (float(score), seconds)
    return scores


@pytest.mark.parametrize("table", list(TABLES))
def test_default_against_careful_scripts(table: str) -> None:
    load, target, task = TABLES[table]
    frame = load()
    if frame is None:
        pytest.skip(f"{table}: its package is not installed")
    frame = frame.dropna(subset=[target]).reset_index(drop=True)
    train_rows, test_rows = _split(frame, target, task)
    studio_score, studio_s, chosen = _studio(frame, target, task, train_rows, test_rows)
    plain = _plain(frame, target, task, train_rows, test_rows)
    higher = task is Task.CLASSIFICATION
    best_name, (best_score, _) = (max if higher else min)(plain.items(), key=lambda item: item[1][0])
    measure = "macro F1" if higher else "RMSE"
    print(f"\n{table}: {len(frame):,} rows, {measure} on {len(test_rows):,} test rows")
    print(f"  {'Studio default (' + chosen + ')':<48} {studio_score:>10.4f} {studio_s:>7.1f} s")
    for name, (score, seconds) in plain.items():
        print(f"  {'plain ' + name:<48} {score:>10.4f} {seconds:>7.1f} s")
    ratio = studio_score / best_score if higher else best_score / studio_score
    report(f"default_choice[{table}]", "at least the best careful script (ratio >= 1, within noise)",
           studio=studio_score, best_plain=best_score, best_plain_model=best_name.replace(" ", "_"),
           chosen=chosen.replace(" ", "_"), ratio=ratio, studio_s=studio_s,
           slowest_plain_s=max(seconds for _, seconds in plain.values()))
    assert np.isfinite(studio_score)
