"""The model file and predicting with it: round trips, plain joblib, bad files, atomic writes, messy new data."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.pipeline import Pipeline

import studio
from studio.core.common.errors import DataError, ModelFileError, StudioError
from studio.core.data.kinds import DataKind
from studio.core.data.target import Task
from studio.core.models.registry import all_models
from studio.core.serve.predict import (
    PREDICTION_COLUMN,
    extra_columns,
    predict_frame,
    schema_problems,
    write_predictions,
)
from studio.core.store.model_file import (
    UntrustedModelFileError,
    load_model,
    metadata_for,
    required_columns,
    save_model,
)
from studio.core.train.training import TrainResult

from .helpers import make_request, run_training


@pytest.fixture(scope="module")
def trained(penguins_table) -> TrainResult:
    frame = penguins_table.frame.copy()
    return run_training(make_request(frame, "species", Task.CLASSIFICATION, "random_forest",
                                     {"n_estimators": 10}, source_path=penguins_table.path))[1]


@pytest.fixture(scope="module")
def model_path(trained: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(tmp_path_factory.mktemp("model") / "species.studio.joblib", trained.pipeline,
                      metadata_for(trained))


@pytest.fixture
def new_rows(penguins: pd.DataFrame) -> pd.DataFrame:
    # Rows "from the field": no target column.
    return penguins.drop(columns=["species"]).iloc[::7].reset_index(drop=True)


def test_round_trip_gives_identical_predictions(trained: TrainResult, model_path: Path,
                                                new_rows: pd.DataFrame) -> None:
    bundle = load_model(model_path)
    assert bundle.task is Task.CLASSIFICATION
    assert bundle.target == "species"
    assert bundle.warning == ""
    np.testing.assert_array_equal(bundle.pipeline.predict(new_rows), trained.pipeline.predict(new_rows))
    np.testing.assert_allclose(bundle.pipeline.predict_proba(new_rows), trained.pipeline.predict_proba(new_rows))


def test_file_holds_the_whole_pipeline(model_path: Path, new_rows: pd.DataFrame) -> None:
    bundle = load_model(model_path)
    assert isinstance(bundle.pipeline, Pipeline)
    assert [name for name, _ in bundle.pipeline.steps] == ["prep", "model"]
    assert set(bundle.pipeline.predict(new_rows)) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_metadata_describes_the_model(model_path: Path, trained: TrainResult) -> None:
    metadata = load_model(model_path).metadata
    assert metadata["versions"]["studio"] == studio.__version__
    assert metadata["versions"]["scikit-learn"] == sklearn.__version__
    assert {"pandas", "numpy", "joblib", "python"} <= set(metadata["versions"])
    names = [c["name"] for c in metadata["input_columns"]]
    assert names == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex",
                     "year"]
    assert metadata["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert metadata["metrics"]["test"]["accuracy"] == trained.test.get("accuracy")
    assert "accuracy" in metadata["metrics"]["validation"]
    assert "accuracy" in metadata["metrics"]["test_baseline"]
    assert metadata["params"]["n_estimators"] == 10
    assert metadata["model"] == "random_forest" and metadata["task"] == "classification"
    assert metadata["source"] == "penguins.csv"
    assert metadata["split_sizes"] == [240, 52, 52]
    created = dt.datetime.fromisoformat(metadata["created"])
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(hours=1)


def test_regression_model_round_trip(penguins: pd.DataFrame, tmp_path: Path) -> None:
    _, result = run_training(make_request(penguins, "body_mass_g", Task.REGRESSION, "svm"))
    path = save_model(tmp_path / "mass.joblib", result.pipeline, metadata_for(result))
    bundle = load_model(path)
    out = predict_frame(bundle, penguins.drop(columns=["body_mass_g"]))
    assert list(out.columns[:1]) == [PREDICTION_COLUMN]
    assert not any(c.startswith("probability") for c in out.columns)
    np.testing.assert_allclose(out[PREDICTION_COLUMN], result.pipeline.predict(penguins))
    assert out[PREDICTION_COLUMN].between(2500, 6500).all()


# -- not a model ------------------------------------------------------------------------------------------------
def test_csv_renamed_to_model(tmp_path: Path, penguins_path: Path) -> None:
    fake = tmp_path / "fake.studio.joblib"
    shutil.copy(penguins_path, fake)
    with pytest.raises(ModelFileError, match=r"fake\.studio\.joblib is not a Studio model file"):
        load_model(fake)


@pytest.mark.parametrize("payload", [{"weights": [1, 2, 3]}, [1, 2, 3],
                                     {"studio_model": "one", "pipeline": None, "metadata": {}}])
def test_joblib_of_something_else(tmp_path: Path, payload: object) -> None:
    """An old-format file is opened only when trusted; trusted, a pickle of something else is said so."""
    path = tmp_path / "other.joblib"
    joblib.dump(payload, path)
    with pytest.raises(UntrustedModelFileError):
        load_model(path)
    with pytest.raises(ModelFileError, match="not a Studio model file"):
        load_model(path, trust=True)


def test_old_model_file_from_a_newer_studio(tmp_path: Path) -> None:
    path = tmp_path / "future.joblib"
    joblib.dump({"studio_model": 2, "metadata": {}, "pipeline": None}, path)
    with pytest.raises(ModelFileError, match="newer Studio"):
        load_model(path, trust=True)


def test_model_file_without_description(trained: TrainResult, tmp_path: Path) -> None:
    path = save_model(tmp_path / "damaged.studio", trained.pipeline, {"model": "random_forest"})
    with pytest.raises(ModelFileError, match="damaged: its description lacks input_columns, target, task"):
        load_model(path)
    old = tmp_path / "damaged.joblib"
    joblib.dump({"studio_model": 1, "metadata": None, "pipeline": None}, old)
    with pytest.raises(ModelFileError, match="damaged: its description lacks input_columns, target, task"):
        load_model(old, trust=True)


def test_missing_and_empty_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="There is no model file"):
        load_model(tmp_path / "nowhere.joblib")
    (tmp_path / "empty.joblib").write_bytes(b"")
    with pytest.raises(ModelFileError, match="not a Studio model file"):
        load_model(tmp_path / "empty.joblib")


def test_model_from_other_library_versions_warns(trained: TrainResult, tmp_path: Path) -> None:
    metadata = metadata_for(trained)
    metadata["versions"]["scikit-learn"] = "0.0.1"
    bundle = load_model(save_model(tmp_path / "old.joblib", trained.pipeline, metadata))
    assert "scikit-learn 0.0.1" in bundle.warning


# -- atomic writes ----------------------------------------------------------------------------------------------
def test_failed_save_leaves_the_previous_file_and_no_temp_file(trained: TrainResult, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.joblib"
    save_model(path, trained.pipeline, metadata_for(trained))
    before = path.read_bytes()

    import zipfile

    def write_half_then_fail(self: zipfile.ZipFile, name: str, data: bytes, **kwargs: object) -> None:
        self.fp.write(b"half a model")  # type: ignore[union-attr]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save_model(path, trained.pipeline, metadata_for(trained))

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]
    monkeypatch.undo()
    assert load_model(path).target == "species"


def test_save_creates_the_folder(trained: TrainResult, tmp_path: Path) -> None:
    path = save_model(tmp_path / "new" / "folder" / "m.joblib", trained.pipeline, metadata_for(trained))
    assert path.is_file()


# -- predicting -------------------------------------------------------------------------------------------------
def test_predict_adds_prediction_and_probabilities(model_path: Path, new_rows: pd.DataFrame) -> None:
    bundle = load_model(model_path)
    out = predict_frame(bundle, new_rows)
    assert len(out) == len(new_rows)
    assert list(out.columns[:4]) == [PREDICTION_COLUMN, "probability of Adelie (Studio)",
                                     "probability of Chinstrap (Studio)", "probability of Gentoo (Studio)"]
    np.testing.assert_allclose(out.filter(like="probability of").sum(axis=1), 1.0, atol=1e-5)
    pd.testing.assert_frame_equal(out[list(new_rows.columns)], new_rows)


def test_missing_column_is_named(model_path: Path, new_rows: pd.DataFrame) -> None:
    bundle = load_model(model_path)
    # 'island' had no gaps in training, so the model cannot do without it.
    lacking = new_rows.drop(columns=["island"])
    assert schema_problems(bundle, lacking) == [
        "The new data lacks 1 column the model needs: 'island'."]
    with pytest.raises(DataError, match="'island'"):
        predict_frame(bundle, lacking)


def test_missing_optional_column_is_filled_with_a_note(model_path: Path, new_rows: pd.DataFrame) -> None:
    bundle = load_model(model_path)
    # 'flipper_length_mm' had gaps in training: without it, every row is a gap, filled as in training.
    lacking = new_rows.drop(columns=["flipper_length_mm"])
    assert schema_problems(bundle, lacking) == []
    out = predict_frame(bundle, lacking)
    assert out[PREDICTION_COLUMN].notna().all()
    assert any("no column 'flipper_length_mm'" in note for note in out.attrs["notes"])


def test_extra_columns_are_ignored(model_path: Path, new_rows: pd.DataFrame) -> None:
    bundle = load_model(model_path)
    plain = predict_frame(bundle, new_rows)
    extra = new_rows.assign(notes="seen at dawn", tag_id=range(len(new_rows)))
    with_extra = predict_frame(bundle, extra)
    pd.testing.assert_series_equal(with_extra[PREDICTION_COLUMN], plain[PREDICTION_COLUMN])
    assert extra_columns(bundle, extra) == ["notes", "tag_id"]
    assert "species" not in required_columns(bundle)


def test_unseen_category_and_text_in_numbers_still_predict(model_path: Path, new_rows: pd.DataFrame) -> None:
    bundle = load_model(model_path)
    messy = new_rows.head(6).copy()
    messy["island"] = ["Atlantis", None, "Biscoe", "Dream", "Torgersen", "biscoe "]
    messy["sex"] = ["unknown"] * 6
    messy["bill_length_mm"] = ["broken", None, "1,234", "45.1", "n/a", "?"]
    messy["year"] = messy["year"].astype(str)
    out = predict_frame(bundle, messy)
    assert out[PREDICTION_COLUMN].notna().all()
    assert set(out[PREDICTION_COLUMN]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert np.isfinite(out.filter(like="probability of").to_numpy()).all()


def test_predict_from_a_csv_file(model_path: Path, new_rows: pd.DataFrame, tmp_path: Path) -> None:
    from studio.core.data.tabular import load_table

    path = tmp_path / "new.csv"
    new_rows.to_csv(path, index=False, sep=";")
    out = predict_frame(load_model(model_path), load_table(path).frame)
    assert len(out) == len(new_rows)


def test_no_rows_to_predict(model_path: Path, new_rows: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="no rows"):
        predict_frame(load_model(model_path), new_rows.head(0))


# -- saving predictions -----------------------------------------------------------------------------------------
BOM = b"\xef\xbb\xbf"


def read_back(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return pd.read_excel(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="," if suffix == ".csv" else "\t", encoding="utf-8-sig")


@pytest.fixture
def predictions(model_path: Path, new_rows: pd.DataFrame) -> pd.DataFrame:
    out = predict_frame(load_model(model_path), new_rows)
    # Accents and a text that looks like a formula: both must come back exactly as they are.
    out["observer"] = ["Zoë Müller", "=1+2", "Ángel", "+33 1 23", "-", "niño"] * (len(out) // 6) + [
        "Chloé"] * (len(out) % 6)
    return out


@pytest.mark.parametrize("name", ["p.csv", "p.tsv", "p.txt", "p.xlsx", "p.parquet", "P.XLSX"])
def test_predictions_round_trip_in_each_format(predictions: pd.DataFrame, tmp_path: Path, name: str) -> None:
    before = predictions.copy()
    path = write_predictions(tmp_path / name, predictions)
    assert path == tmp_path / name
    back = read_back(path)
    assert list(back.columns) == list(predictions.columns)
    pd.testing.assert_frame_equal(back, predictions, check_dtype=False)
    pd.testing.assert_frame_equal(predictions, before)  # the page's table is left as it was
    assert [p.name for p in tmp_path.iterdir()] == [name], "no temp file left behind"


@pytest.mark.parametrize(("name", "separator"), [("p.csv", b","), ("p.tsv", b"\t"), ("p.txt", b"\t")])
def test_text_predictions_start_with_a_bom_for_excel(predictions: pd.DataFrame, tmp_path: Path, name: str,
                                                     separator: bytes) -> None:
    raw = write_predictions(tmp_path / name, predictions).read_bytes()
    assert raw.startswith(BOM + b"prediction (Studio)" + separator + b"probability of Adelie (Studio)")
    assert "Zoë Müller".encode() in raw
    assert pd.read_csv(tmp_path / name, sep=separator.decode(), encoding="utf-8-sig").columns[0] == PREDICTION_COLUMN


def test_excel_and_parquet_files_are_what_they_say(predictions: pd.DataFrame, tmp_path: Path) -> None:
    assert write_predictions(tmp_path / "p.xlsx", predictions).read_bytes()[:2] == b"PK"  # a zip, as .xlsx is
    assert write_predictions(tmp_path / "p.parquet", predictions).read_bytes()[:4] == b"PAR1"


def test_text_that_looks_like_a_formula_stays_text_in_excel(predictions: pd.DataFrame, tmp_path: Path) -> None:
    import openpyxl

    sheet = openpyxl.load_workbook(write_predictions(tmp_path / "p.xlsx", predictions)).active
    assert sheet is not None
    formulas = [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert formulas == []


@pytest.mark.parametrize("name", ["p.json", "p.xls", "predictions", "p.csv.bak"])
def test_unknown_extension_is_refused_before_anything_is_written(predictions: pd.DataFrame, tmp_path: Path,
                                                                  name: str) -> None:
    with pytest.raises(StudioError, match=r"Studio cannot save predictions as .*\.csv, \.tsv or \.txt "
                                          r"\(tab-separated\), \.xlsx \(Excel\) or \.parquet\.$"):
        write_predictions(tmp_path / "new folder" / name, predictions)
    assert list(tmp_path.iterdir()) == []  # not even the folder


def test_unknown_extension_message_names_the_file(predictions: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(StudioError) as raised:
        write_predictions(tmp_path / "out.json", predictions)
    assert str(raised.value) == ("Studio cannot save predictions as out.json (its extension .json is not a format "
                                 "Studio writes): give the file a name ending in .csv, .tsv or .txt (tab-separated), "
                                 ".xlsx (Excel) or .parquet.")
    with pytest.raises(StudioError, match=r"as predictions \(it has no extension\)"):
        write_predictions(tmp_path / "predictions", predictions)


def test_parquet_gets_text_column_names_and_mixed_columns_as_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({0: ["a", "b", "c"], 2024: [1.5, None, 3.0], "mixed": [1, "two", None]})
    before = frame.copy()
    back = pd.read_parquet(write_predictions(tmp_path / "p.parquet", frame))
    assert list(back.columns) == ["0", "2024", "mixed"]
    assert back["2024"].tolist()[::2] == [1.5, 3.0] and pd.isna(back["2024"][1])
    assert back["mixed"].tolist()[:2] == ["1", "two"] and pd.isna(back["mixed"][2])
    pd.testing.assert_frame_equal(frame, before)


def test_parquet_refuses_names_that_would_collide(tmp_path: Path) -> None:
    frame = pd.DataFrame([[1, 2]], columns=pd.Index([1, "1"], dtype=object))
    with pytest.raises(StudioError, match="several columns called '1'"):
        write_predictions(tmp_path / "p.parquet", frame)
    assert list(tmp_path.iterdir()) == []


def test_excel_refuses_control_characters_and_keeps_the_old_file(predictions: pd.DataFrame,
                                                                 tmp_path: Path) -> None:
    path = write_predictions(tmp_path / "p.xlsx", predictions)
    before = path.read_bytes()
    broken = predictions.assign(observer="bell\x07")
    with pytest.raises(StudioError, match=r"control characters.*save it as \.csv or \.parquet"):
        write_predictions(path, broken)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.xlsx"]


def test_excel_keeps_time_zones_as_text(tmp_path: Path) -> None:
    when = pd.Series(pd.to_datetime(["2024-05-01 10:00", None]), dtype="datetime64[ns]").dt.tz_localize("Europe/Paris")
    frame = pd.DataFrame({"prediction": ["a", "b"], "seen": when})
    back = pd.read_excel(write_predictions(tmp_path / "p.xlsx", frame))
    assert back["seen"][0] == "2024-05-01 10:00:00+02:00" and pd.isna(back["seen"][1])


@pytest.mark.parametrize("key", [spec.key for spec in all_models()
                                 if Task.CLASSIFICATION in spec.tasks and spec.takes(DataKind.TABLE)])
def test_predicted_classes_are_the_models_own(key: str, penguins: pd.DataFrame, tmp_path: Path) -> None:
    """predict_frame reads the classes from the probabilities it also returns: they must be predict's answer."""
    if key == "neural_network":
        pytest.importorskip("torch")
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, key))
    bundle = load_model(save_model(tmp_path / f"{key}.studio", result.pipeline, metadata_for(result)))
    rows = penguins.drop(columns=["species"])
    out = predict_frame(bundle, rows)
    np.testing.assert_array_equal(out[PREDICTION_COLUMN].to_numpy(), result.pipeline.predict(rows))
