"""The neural network: a real scikit-learn estimator, trained by Studio's generator, saved and exported."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from studio.core.common.curves import BatchPoint, EpochPoint
from studio.core.common.errors import Cancelled, StudioError
from studio.core.data.target import Task
from studio.core.models.params import ParamKind, ParamSpec
from studio.core.models.registry import get_model
from studio.core.models.spec import Growth
from studio.core.models.torch.devices import DeviceError, describe_hardware
from studio.core.models.torch.estimators import NetworkClassifier, NetworkRegressor
from studio.core.models.torch.loop import DivergedError
from studio.core.serve.predict import PREDICTION_COLUMN, predict_frame
from studio.core.store.model_file import load_model, metadata_for, save_model

from .helpers import make_request, run_training

torch = pytest.importorskip("torch")

# Small and quick, yet enough for scikit-learn's own learning checks (accuracy > 0.83, R² > 0.5).
QUICK = {"hidden_layers": "32", "epochs": 40, "learning_rate": 0.01, "batch_size": 32}


def _two_blobs(rows: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype(np.float32)
    y = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")
    return x, y


@parametrize_with_checks([NetworkClassifier(**QUICK), NetworkRegressor(**QUICK)])
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    # Every check scikit-learn runs passes; none is listed as an expected failure. Two are skipped by scikit-learn
    # itself (check_array_api_input, unless SCIPY_ARRAY_API=1): they test array-API inputs (CuPy, torch tensors
    # as X), which these estimators do not claim to accept; they take NumPy-like tables as the Pipeline gives them.
    check(estimator)


def test_fits_inside_a_pipeline_and_cross_validates() -> None:
    x, y = _two_blobs()
    pipeline = make_pipeline(StandardScaler(), NetworkClassifier(**QUICK))
    scores = cross_val_score(pipeline, x, y, cv=3)
    assert scores.mean() > 0.85


def test_same_seed_same_weights_and_metrics(penguins: pd.DataFrame) -> None:
    request = make_request(penguins, "species", Task.CLASSIFICATION, "neural_network",
                           {"epochs": 8, "device": "cpu", "dropout": 0.2})
    _, first = run_training(request)
    _, second = run_training(request)
    weights = [p.detach().numpy() for p in first.pipeline[-1].network_.parameters()]
    again = [p.detach().numpy() for p in second.pipeline[-1].network_.parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(weights, again, strict=True))
    assert first.test.metrics == second.test.metrics
    assert [p.val_loss for p in first.history] == [p.val_loss for p in second.history]
    _, other_seed = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "neural_network",
                                              {"epochs": 8, "device": "cpu", "dropout": 0.2, "seed": 7}))
    assert [p.val_loss for p in other_seed.history] != [p.val_loss for p in first.history]


def test_learns_penguins_better_than_guessing(penguins: pd.DataFrame) -> None:
    items, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "neural_network",
                                              {"epochs": 40}))
    accuracy, baseline = result.test.get("accuracy"), result.test.baseline_of("accuracy")
    assert accuracy is not None and baseline is not None
    assert accuracy > baseline + 0.3 and accuracy > 0.9
    epochs = [i.curve for i in items if isinstance(i.curve, EpochPoint)]
    assert epochs and all(p.val_loss is not None and p.metric_label == "Accuracy" for p in epochs)
    assert list(result.history) == epochs
    elapsed = [p.elapsed_s for p in epochs]
    assert all(e is not None for e in elapsed) and elapsed == sorted(elapsed)
    assert epochs[0].eta_s is not None and epochs[0].eta_s > epochs[-1].eta_s >= 0
    assert any("Epoch 1 of 40" in i.message for i in items)


def test_regression_beats_the_average(penguins: pd.DataFrame) -> None:
    _, result = run_training(make_request(penguins, "body_mass_g", Task.REGRESSION, "neural_network",
                                          {"epochs": 40}))
    mae, baseline = result.test.get("mae"), result.test.baseline_of("mae")
    assert mae is not None and baseline is not None and mae < 0.7 * baseline
    assert result.history[-1].metric_label == "R²"


def test_batch_points_come_between_epochs(monkeypatch: pytest.MonkeyPatch, penguins: pd.DataFrame) -> None:
    from studio.core.models.torch import loop as torch_loop

    monkeypatch.setattr(torch_loop, "REPORT_SECONDS", 0.0)  # a point after every batch
    items, _ = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "neural_network",
                                         {"epochs": 2, "batch_size": 16}))
    batches = [i.curve for i in items if isinstance(i.curve, BatchPoint)]
    positions = [p.position for p in batches]
    assert len(batches) >= 2 * 10 and positions == sorted(positions) and 0 < positions[0] < 1
    assert all(np.isfinite(p.train_loss) for p in batches)


def test_early_stopping_stops_and_keeps_the_best_epoch() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 20)).astype(np.float32)
    y = rng.choice(["a", "b"], size=200)  # pure noise: a wide network memorises it and validation gets worse
    x_val, y_val = x[150:], y[150:]
    settings = {"hidden_layers": "256, 256", "learning_rate": 0.01, "epochs": 200, "patience": 3}
    stopped = NetworkClassifier(**settings)
    reports = list(stopped.fit_iter(x[:150], y[:150], x_val, y_val))
    assert stopped.n_epochs_ < 200 and stopped.n_epochs_ == stopped.best_epoch_ + 3
    assert "stopped early" in stopped.stop_reason_
    assert reports[-1].best_epoch == stopped.best_epoch_
    # The weights kept are exactly those after the best epoch: a run told to stop there predicts the same.
    exact = NetworkClassifier(**{**settings, "epochs": stopped.best_epoch_, "early_stopping": False})
    list(exact.fit_iter(x[:150], y[:150], x_val, y_val))
    np.testing.assert_array_equal(stopped.predict_proba(x_val), exact.predict_proba(x_val))


def test_cancel_takes_effect_within_one_batch(penguins: pd.DataFrame) -> None:
    x, y = _two_blobs(rows=640)
    calls = []

    def stop_on_fifth() -> bool:
        calls.append(1)
        return len(calls) >= 5

    network = NetworkClassifier(batch_size=32, epochs=50)
    with pytest.raises(Cancelled):
        list(network.fit_iter(x, y, should_stop=stop_on_fifth))
    assert len(calls) == 5  # asked before every batch, and stopped at the first yes
    with pytest.raises(Cancelled):
        run_training(make_request(penguins, "species", Task.CLASSIFICATION, "neural_network"), lambda: True)


def test_a_diverging_loss_keeps_the_last_good_epoch() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    y = x @ rng.normal(size=5)
    network = NetworkRegressor(optimizer="sgd", learning_rate=0.5, epochs=30, early_stopping=False,
                               hidden_layers="64, 64")
    network.fit(x, y)
    assert network.n_epochs_ == 1 and network.best_epoch_ == 1
    assert "too large to compute" in network.stop_reason_ and "lower learning rate" in network.stop_reason_
    assert np.isfinite(network.predict(x)).all()


def test_a_loss_that_diverges_at_once_says_to_lower_the_learning_rate() -> None:
    x, y = _two_blobs()
    with pytest.raises(DivergedError, match="learning rate"):
        NetworkClassifier(learning_rate=1.0, optimizer="sgd", hidden_layers="64").fit(x * 1e18, y)


def test_nan_in_inputs_is_refused_in_words() -> None:
    x, y = _two_blobs()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NetworkClassifier(**QUICK).fit(x, y)


def test_partial_fit_trains_on_in_steps() -> None:
    x, y = _two_blobs()
    network = NetworkClassifier(hidden_layers="16", learning_rate=0.01)
    network.partial_fit(x[:100], y[:100], classes=["no", "yes"])
    first = network.score(x, y)
    for _ in range(15):
        network.partial_fit(x, y)
    assert network.score(x, y) > max(first, 0.9)
    assert len(network.loss_curve_) == 16
    pickle.loads(pickle.dumps(network)).predict(x)
    with pytest.raises(ValueError, match="classes"):
        network.partial_fit(x, np.full(len(x), "maybe"))

    # After a full fit, partial_fit goes on from the fitted weights rather than starting over.
    fitted = NetworkClassifier(hidden_layers="16", learning_rate=0.01, epochs=20, early_stopping=False).fit(x, y)
    weights = [p.detach().clone() for p in fitted.network_.parameters()]
    fitted.partial_fit(x, y)
    moved = [float((p.detach() - w).abs().max()) for p, w in zip(fitted.network_.parameters(), weights,
                                                                   strict=True)]
    assert 0 < max(moved) < 0.1 and fitted.score(x, y) > 0.9


def test_missing_graphics_card_is_a_device_error_that_names_the_cpu() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    x, y = _two_blobs()
    with pytest.raises(DeviceError, match="CPU"):
        NetworkClassifier(device="cuda").fit(x, y)
    assert describe_hardware() == "CPU only" or torch.backends.mps.is_available()


def test_saved_model_loads_and_predicts_with_weights_on_the_cpu(tmp_path: Path, penguins: pd.DataFrame) -> None:
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "neural_network",
                                          {"epochs": 5}))
    path = save_model(tmp_path / "net.studio.joblib", result.pipeline, metadata_for(result))
    bundle = load_model(path)
    assert bundle.metadata["versions"]["torch"] == torch.__version__
    network = bundle.pipeline[-1]
    assert all(p.device.type == "cpu" for p in network.network_.parameters())
    predictions = predict_frame(bundle, penguins.drop(columns=["species"]))
    np.testing.assert_array_equal(predictions[PREDICTION_COLUMN].astype(str).to_numpy(),
                                  result.pipeline.predict(penguins).astype(str))
    assert len(predictions.attrs["probability_columns"]) == 3
    assert np.allclose(predictions[list(predictions.attrs["probability_columns"])].sum(axis=1), 1.0, atol=1e-5)
    clone(network)  # the saved estimator still follows scikit-learn's conventions


@pytest.mark.parametrize(("target", "task"), [("species", Task.CLASSIFICATION), ("body_mass_g", Task.REGRESSION)])
def test_onnx_export_predicts_like_the_model(tmp_path: Path, penguins: pd.DataFrame, target: str,
                                             task: Task) -> None:
    ort = pytest.importorskip("onnxruntime")
    from studio.core.models.torch.export import export_onnx

    _, result = run_training(make_request(penguins, target, task, "neural_network", {"epochs": 5}))
    path = export_onnx(result.pipeline, tmp_path / "net.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    features = result.pipeline[0].transform(penguins).astype(np.float32)
    exported = session.run(None, {"features": features})[0]
    model = result.pipeline[-1]
    expected = model.predict_proba(features) if task is Task.CLASSIFICATION else model.predict(features)
    np.testing.assert_allclose(exported, expected, rtol=1e-5, atol=1e-5)
    meta = session.get_modelmeta().custom_metadata_map
    assert len(json.loads(meta["feature_names"])) == features.shape[1]


def test_only_networks_export_to_onnx(tmp_path: Path, penguins: pd.DataFrame) -> None:
    from studio.core.models.torch.export import export_onnx

    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "logistic_regression"))
    with pytest.raises(StudioError, match="Only neural networks"):
        export_onnx(result.pipeline, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_network_settings_are_grouped_and_layers_are_checked() -> None:
    spec = get_model("neural_network")
    assert spec.growth is Growth.EPOCHS
    groups = [p.group for p in spec.params]
    assert {"Architecture", "Optimizer", "Regularisation", "Stopping"} <= set(groups)
    assert all(groups), "every network setting sits in a group"
    layers = spec.param("hidden_layers")
    assert layers.kind is ParamKind.INT_LIST
    assert layers.parse(" 128 ,64;32 ") == "128, 64, 32"
    for bad, words in (("", "at least one"), ("64, x", "'x' is not one"), ("64,,32", "empty entry"),
                       ("0", "between 1 and 4096"), ("-3", "'-3' is not one")):
        with pytest.raises(StudioError, match=words):
            layers.parse(bad)
    assert spec.param("device").live_note is not None
    assert "Found on this computer" in spec.param("device").live_note()


def test_int_list_param_is_generic() -> None:
    spec = ParamSpec("sizes", "Sizes", "help", ParamKind.INT_LIST, "1, 2", low=1, high=9)
    assert spec.check("3,4") == "3, 4"
    assert "separated by commas" in spec.describe_range()
    with pytest.raises(StudioError, match="between 1 and 9"):
        spec.check("10")


# -- saving as plain data (pickle and skops' safe format) ---------------------------------------------------------
TINY = {"hidden_layers": "8, 4", "epochs": 3, "dropout": 0.1, "batch_size": 16}
PLAIN_LEAVES = (str, int, float, bool, type(None), np.ndarray)


def _assert_plain(value: object, where: str = "state") -> None:
    """Only str/int/float/bool/None, lists, dicts and NumPy arrays of numbers or text, all the way down."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{where}: key {key!r}"
            _assert_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _assert_plain(item, f"{where}[{index}]")
    else:
        assert isinstance(value, PLAIN_LEAVES) and not isinstance(value, torch.Tensor), f"{where}: {type(value)!r}"
        assert not isinstance(value, np.ndarray) or value.dtype.kind in "fiubU", f"{where}: {value.dtype}"


def _fitted_pair() -> tuple[np.ndarray, NetworkClassifier, NetworkRegressor]:
    x, y = _two_blobs(rows=80)
    classifier = NetworkClassifier(**TINY, activation="gelu").fit(x, y)
    regressor = NetworkRegressor(**TINY, activation="tanh").fit(x, x[:, 0] * 3.0 + 1.0)
    return x, classifier, regressor


def _same_predictions(model: object, again: object, x: np.ndarray) -> None:
    np.testing.assert_array_equal(again.predict(x), model.predict(x))  # type: ignore[attr-defined]
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))  # type: ignore[attr-defined]


def test_fitted_network_state_is_plain_data() -> None:
    _, classifier, regressor = _fitted_pair()
    for model in (classifier, regressor):
        state = model.__getstate__()
        network = state["network_"]
        _assert_plain(state)
        assert [layer["kind"] for layer in network["layers"]][:3] == ["linear", model.activation, "dropout"]
        assert all(w.dtype == np.float32 for w in network["weights"].values())
        assert isinstance(model.network_, torch.nn.Sequential)  # describing leaves the live module alone


def test_fitted_networks_round_trip_through_pickle_and_skops_exactly() -> None:
    sio = pytest.importorskip("skops.io")
    x, classifier, regressor = _fitted_pair()
    for model in (classifier, regressor):
        _same_predictions(model, pickle.loads(pickle.dumps(model)), x)
        data = sio.dumps(model)
        untrusted = sio.get_untrusted_types(data=data)
        assert not [name for name in untrusted if name.startswith("torch")]
        again = sio.loads(data, trusted=untrusted)
        _same_predictions(model, again, x)
        assert isinstance(again.network_, torch.nn.Sequential) and not again.network_.training
        assert all(p.requires_grad and p.device.type == "cpu" for p in again.network_.parameters())
        # A loaded network trains on from its weights like the original.
        again.partial_fit(x, model.predict(x))


def test_a_pipeline_with_the_network_round_trips_through_skops() -> None:
    sio = pytest.importorskip("skops.io")
    x, y = _two_blobs(rows=80)
    pipeline = make_pipeline(StandardScaler(), NetworkClassifier(**TINY)).fit(x, y)
    data = sio.dumps(pipeline)
    untrusted = sio.get_untrusted_types(data=data)
    assert not [name for name in untrusted if name.startswith("torch")]
    _same_predictions(pipeline, sio.loads(data, trusted=untrusted), x)


def test_unfitted_networks_pickle_and_clone_as_before() -> None:
    model = NetworkRegressor(**TINY)
    again = pickle.loads(pickle.dumps(model))
    assert "network_" not in vars(again) and again.get_params() == model.get_params()
    assert clone(model).get_params() == model.get_params()


def test_a_saved_network_of_another_format_is_refused_in_words() -> None:
    _, classifier, _ = _fitted_pair()
    state = classifier.__getstate__()
    state["network_"] = {**state["network_"], "format": 99}
    with pytest.raises(ValueError, match="format 99"):
        NetworkClassifier().__setstate__(state)


def test_an_old_network_file_saves_again_as_plain_data() -> None:
    sio = pytest.importorskip("skops.io")
    # Files from earlier versions hold the torch module itself; they open as before and save in the new form.
    # Read with joblib itself: what is checked here is the estimator's state, not how Studio opens old files.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file was made with another scikit-learn version, as old files are
        network = joblib.load(Path(__file__).parent / "data" / "legacy_models" / "net.studio.joblib")["pipeline"][-1]
    assert isinstance(network.network_, torch.nn.Sequential)
    x = np.random.default_rng(0).normal(size=(20, network.n_features_in_)).astype(np.float32)
    _assert_plain(network.__getstate__())
    _same_predictions(network, pickle.loads(pickle.dumps(network)), x)
    data = sio.dumps(network)
    _same_predictions(network, sio.loads(data, trusted=sio.get_untrusted_types(data=data)), x)
