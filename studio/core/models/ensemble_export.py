"""Export the voting part of a trained ensemble to ONNX (with skl2onnx), for use outside Studio.

Like the network's export (network_export.py), the ONNX file takes the *prepared* features (what the Pipeline's
"prep" step outputs; their names are stored in the file's metadata) and gives the predicted class with the class
probabilities, or the predicted number. Some members cannot be written as ONNX (a neural network inside an
ensemble, a kind of model the converter does not know); the export then names them in words and writes nothing.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import warnings
from pathlib import Path
from typing import Any

from studio.core.common.errors import StudioError, first_line
from studio.core.common.files import atomic_write

INPUT_NAME = "features"
# ONNX's main operator set and its machine-learning one that onnxruntime 1.20 and later run.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
NETWORK_REASON = "a neural network inside an ensemble cannot be written as ONNX; export a network on its own instead"
CONVERTER_REASON = "the ONNX converter (skl2onnx) cannot convert this kind of model"
SKL2ONNX_MISSING = ("Exporting an ensemble to ONNX needs the 'skl2onnx' and 'onnx' packages. Install Studio with "
                    "its torch extra: pip install 'studio[torch]'.")


def is_ensemble(pipeline: Any) -> bool:
    from sklearn.ensemble import VotingClassifier, VotingRegressor

    model = pipeline[-1] if hasattr(pipeline, "steps") else pipeline
    return isinstance(model, VotingClassifier | VotingRegressor)


def export_ensemble_onnx(pipeline: Any, path: str | Path) -> Path:
    """Write the ensemble of ``pipeline`` (a Studio Pipeline or a bare fitted voting estimator) as ONNX,
    atomically; a StudioError in words when a member cannot be converted."""
    if importlib.util.find_spec("skl2onnx") is None or importlib.util.find_spec("onnx") is None:
        raise StudioError(SKL2ONNX_MISSING)
    import onnx

    if not is_ensemble(pipeline):
        raise StudioError("Only an ensemble can be exported this way; this model is another kind.")
    model = pipeline[-1] if hasattr(pipeline, "steps") else pipeline
    prep = pipeline[0] if hasattr(pipeline, "steps") and len(pipeline.steps) > 1 else None
    features = int(model.n_features_in_)
    members = [(_member_label(name), member)
               for (name, _unfitted), member in zip(model.estimators, model.estimators_, strict=True)]
    _refuse([(label, NETWORK_REASON) for label, member in members if _is_network(member)])
    try:
        proto = _convert(model, features)
    except Exception as exc:  # the converter's own failures: name the members it cannot convert, if any
        _refuse([(label, CONVERTER_REASON) for label, member in members if not _converts(member, features)])
        raise StudioError(f"This ensemble cannot be written as ONNX: {first_line(exc)}") from exc
    classification = hasattr(model, "classes_")
    names = [str(n) for n in prep.get_feature_names_out()] if prep is not None else \
        [f"x{i}" for i in range(features)]
    meta = {"feature_names": json.dumps(names),
            "outputs": "predicted class (label) and class probabilities (probabilities)" if classification
            else "predicted value (variable)",
            "classes": json.dumps([str(c) for c in model.classes_]) if classification else "[]",
            "members": json.dumps([_member_label(name) for name, _ in model.estimators]),
            "made_by": "Studio"}
    onnx.helper.set_model_props(proto, meta)
    path = Path(path)
    atomic_write(path, lambda handle: handle.write(proto.SerializeToString()))
    return path


def _convert(estimator: Any, features: int) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    if is_ensemble(estimator):
        # The converter does arithmetic on the weights and refuses the flattened ``transform`` (which ONNX does not
        # use); a copy keeps the trained model as it is.
        import numpy as np

        estimator = copy.copy(estimator)
        estimator.weights = np.asarray(estimator.weights, dtype=float)
        if hasattr(estimator, "flatten_transform"):
            estimator.flatten_transform = False
    # Plain probability columns, not a list of {class: probability} maps: what most runtimes expect.
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "classes_") else None
    # The converter warns about its own internals; none of it concerns the person exporting.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert_sklearn(estimator, initial_types=[(INPUT_NAME, FloatTensorType([None, features]))],
                               options=options, target_opset=TARGET_OPSET)


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        listed = "; ".join(f"{label} ({reason})" for label, reason in problems)
        raise StudioError(f"This ensemble cannot be written as ONNX: {listed}. The Studio model file predicts with "
                          "it as usual.")


def _is_network(member: Any) -> bool:
    return type(member).__name__ in ("NetworkClassifier", "NetworkRegressor")


def _converts(member: Any, features: int) -> bool:
    try:
        _convert(member, features)
    except Exception:  # its message is about ONNX's internals (node attributes, shape calculators)
        return False
    return True


def _member_label(name: str) -> str:
    """"2_random_forest" (the member's name in the voting estimator) -> "Random forest"."""
    from studio.core.models.spec import registered

    key = name.partition("_")[2]
    try:
        return registered(key).label
    except StudioError:
        return name
