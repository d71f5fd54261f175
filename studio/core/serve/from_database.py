"""Predicting rows read from a database (a table or a query), as a job for a worker: the Predict page's
"Predict from a database…"."""

from __future__ import annotations

from collections.abc import Generator

import pandas as pd

from studio.core.common.errors import Cancelled
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.common.words import plural
from studio.core.data.database import DatabaseLogin, DatabaseSource, read_job
from studio.core.serve.predict import add_drift_notes, keep_source_format, predict_frame
from studio.core.store.model_file import ModelBundle


def predict_database_job(bundle: ModelBundle, login: DatabaseLogin, source: DatabaseSource,
                         should_stop: StopCheck = never_stop) -> Generator[Progress, None, pd.DataFrame]:
    """Read the rows of ``source`` (in chunks, cancellable) and predict them, with the drift notes of a file's."""
    table = None
    reading = read_job(login, source, should_stop)
    while table is None:
        try:
            item = next(reading)
        except StopIteration as finished:
            table = finished.value
            break
        if isinstance(item, Progress):  # the first rows are for the Data page's preview, not needed here
            yield Progress("Reading", 0.5 * item.fraction if item.fraction is not None else None, item.message)
    if should_stop():
        raise Cancelled()
    yield Progress("Predicting", 0.5, f"Predicting {plural(len(table.frame), 'row')}")
    predictions = keep_source_format(predict_frame(bundle, table.frame), table)
    predictions.attrs["notes"] = [*table.notes, *predictions.attrs.get("notes", [])]
    yield Progress("Comparing", 0.9, "Comparing the rows with the training rows")
    return add_drift_notes(bundle, table.frame, predictions)
