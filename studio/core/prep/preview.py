"""Before and after: the preparation fitted on a sample of rows and applied to the first few, with where each
feature the model will see comes from."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, StudioError
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.target import Task, target_values
from studio.core.prep.config import PrepConfig
from studio.core.prep.rows import RowRemoval, removes_rows, rows_to_keep
from studio.core.prep.values import feature_sources, input_columns

PREVIEW_ROWS = 8
FIT_ROWS = 5_000


@dataclass(frozen=True)
class PrepPreview:
    before: pd.DataFrame = field(default_factory=pd.DataFrame)
    after: pd.DataFrame = field(default_factory=pd.DataFrame)
    sources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    removal: RowRemoval = field(default_factory=RowRemoval)
    fitted_rows: int = 0
    error: str = ""

    @property
    def feature_count(self) -> int:
        return sum(len(features) for _, features in self.sources)


def preview_job(frame: pd.DataFrame, prep: PrepConfig, target: str, task: Task,
                should_stop: StopCheck = never_stop) -> Generator[Progress, None, PrepPreview]:
    yield Progress("Preview", None, "Trying the preparation on sample rows")
    return make_preview(frame, prep, target, task, should_stop)


def make_preview(frame: pd.DataFrame, prep: PrepConfig, target: str, task: Task,
                 should_stop: StopCheck = never_stop) -> PrepPreview:
    if removes_rows(prep, target):
        # Counted on the whole table, so the page can say how many training rows the choices would drop.
        usable = frame.loc[target_values(frame[target], task).notna().to_numpy()]
        keep, removal = rows_to_keep(prep, target, usable)
        usable_kept = usable.loc[keep]
    else:
        # Only a sample is needed: converting a million targets would hold the GIL and stall the window.
        sample = frame.sample(FIT_ROWS * 2, random_state=0).sort_index() if len(frame) > FIT_ROWS * 2 else frame
        usable_kept = sample.loc[target_values(sample[target], task).notna().to_numpy()]
        removal = RowRemoval()
    head = frame.head(PREVIEW_ROWS * 20)
    shown = head.loc[target_values(head[target], task).notna().to_numpy()].head(PREVIEW_ROWS)
    if should_stop():
        raise Cancelled()
    if not prep.features(target):
        return PrepPreview(removal=removal, error="Every column is left out, so the model would see nothing.")
    fit_rows = usable_kept.sample(FIT_ROWS, random_state=0) if len(usable_kept) > FIT_ROWS else usable_kept
    y = target_values(fit_rows[target], task).to_numpy()
    y = y.astype(float) if task is Task.REGRESSION else y.astype(object)
    from studio.core.prep.build import build_transformer  # scikit-learn, only once a preview is made

    try:
        transformer = build_transformer(prep, target)
        transformer.fit(fit_rows, y)
        after = transformer.transform(shown)
        names = [str(n) for n in transformer.get_feature_names_out()]
    except StudioError as exc:
        return PrepPreview(removal=removal, error=str(exc))
    except (ValueError, TypeError) as exc:  # scikit-learn refusing these settings on this data
        return PrepPreview(removal=removal, error=f"These settings do not work on this data: "
                           f"{str(exc).splitlines()[0][:200]}")
    before = shown[[c for c in input_columns(prep, target) if c in shown.columns]].reset_index(drop=True)
    after_frame = pd.DataFrame(np.round(np.asarray(after, dtype=float), 3), columns=names)
    sources = tuple((column, tuple(features)) for column, features in feature_sources(transformer))
    return PrepPreview(before, after_frame, sources, removal, len(fit_rows))
