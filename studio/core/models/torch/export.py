"""Export the network part of a trained neural-network model to ONNX, for use outside Studio.

The ONNX file takes the *prepared* features (what the Pipeline's "prep" step outputs; their names are stored in
the file's metadata) and gives class probabilities or the predicted number in the target's units, so it runs with
any ONNX runtime and no Python. The Studio model file stays the way to predict from raw rows.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studio.core.common.errors import StudioError
from studio.core.common.files import atomic_write

ONNX_SUFFIX = ".onnx"
INPUT_NAME = "features"
OUTPUT_NAME = "outputs"


def is_network(pipeline: Any) -> bool:
    from studio.core.models.torch.estimators import _NetworkBase

    model = pipeline[-1] if hasattr(pipeline, "steps") else pipeline
    return isinstance(model, _NetworkBase)


def export_onnx(pipeline: Any, path: str | Path) -> Path:
    """Write the network of ``pipeline`` (a Studio Pipeline or a bare network estimator) as ONNX, atomically."""
    try:
        import onnx
    except ImportError as exc:
        raise StudioError(f"Exporting to ONNX needs the 'onnx' and 'onnxscript' packages ({exc.name} is missing). "
                          "Install Studio with its torch extra: pip install 'studio[torch]'.") from exc
    from studio.core.models.torch.estimators import NetworkClassifier

    if not is_network(pipeline):
        raise StudioError("Only neural networks can be exported to ONNX; this model is another kind.")
    model = pipeline[-1] if hasattr(pipeline, "steps") else pipeline
    prep = pipeline[0] if hasattr(pipeline, "steps") and len(pipeline.steps) > 1 else None
    classification = isinstance(model, NetworkClassifier)
    proto = network_program(model).model_proto
    names = [str(n) for n in prep.get_feature_names_out()] if prep is not None else \
        [f"x{i}" for i in range(model.n_features_in_)]
    meta = {"feature_names": json.dumps(names),
            "outputs": "class probabilities" if classification else "predicted value",
            "classes": json.dumps([str(c) for c in model.classes_]) if classification else "[]",
            "made_by": "Studio"}
    onnx.helper.set_model_props(proto, meta)
    path = Path(path)
    # The serialised protobuf is what onnx.save writes for a model without external data.
    atomic_write(path, lambda handle: handle.write(proto.SerializeToString()))
    return path


def network_program(model: Any, opset: int | None = None) -> Any:
    """The fitted network as an ONNX program from ``INPUT_NAME`` (prepared features, float) to ``OUTPUT_NAME``
    (class probabilities, or the value on the target's own scale)."""
    import torch

    from studio.core.models.torch.estimators import NetworkClassifier

    wrapped = _probabilities(model.network_) if isinstance(model, NetworkClassifier) else \
        _unscaled(model.network_, model.target_mean_, model.target_scale_)
    wrapped.eval()
    example = torch.zeros((2, model.n_features_in_), dtype=torch.float32)
    # The exporter prints its steps, logs that torchvision's operators are skipped and warns about its own
    # internals; none of it concerns the person exporting, and stdout is for results.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), _quiet("torch.onnx"):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(wrapped, (example,), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                    dynamic_shapes=({0: torch.export.Dim("rows")},), dynamo=True,
                                    verbose=False, opset_version=opset)
    assert program is not None  # only the legacy exporter (dynamo=False) returns None
    return program


def _module_classes() -> tuple[type, type]:
    """The wrappers are torch modules, so they are defined once torch is imported."""
    from torch import nn

    class Probabilities(nn.Module):
        def __init__(self, network: nn.Module) -> None:
            super().__init__()
            self.network = network

        def forward(self, features: Any) -> Any:
            return self.network(features).softmax(dim=1)

    class Unscaled(nn.Module):
        def __init__(self, network: nn.Module, mean: float, scale: float) -> None:
            super().__init__()
            self.network = network
            self.mean = float(mean)
            self.scale = float(scale)

        def forward(self, features: Any) -> Any:
            return self.network(features)[:, 0] * self.scale + self.mean

    return Probabilities, Unscaled


def _probabilities(network: Any) -> Any:
    return _module_classes()[0](network)


def _unscaled(network: Any, mean: float, scale: float) -> Any:
    return _module_classes()[1](network, mean, scale)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
