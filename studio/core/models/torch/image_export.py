"""A picture network as ONNX: uint8 pixels in, the class and its probabilities out.

The file takes ``image``, uint8 of shape (pictures, height, width, channels), any height and width: it resizes
them to the network's size (bilinear, a square; pictures already that size pass unchanged), scales and
normalises them, and runs the network, so another program only decodes its pictures. Studio itself makes
pictures square by the Prepare step's rule (padding, by default) before shrinking them; a program that wants the
same answers pads its pictures to a square first. Before the file is written it is run with onnxruntime on the
check pictures as Studio reads them and compared with Studio's own probabilities; a larger difference than the
tolerance, or a differing class, refuses the export and writes nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.common.errors import Cancelled, StudioError, first_line
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop

INPUT_NAME = "image"
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
TOLERANCE = 1e-4
CHECK_PICTURES = 64


def _wrapper(network: Any, size: int) -> Any:
    import torch.nn.functional as functional
    from torch import nn

    class PixelsToProbabilities(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, image: Any) -> Any:
            pixels = image.permute(0, 3, 1, 2).float()
            pixels = functional.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
            return self.network(pixels).softmax(dim=1)

    return PixelsToProbabilities()


def build_image_onnx(pipeline: Any) -> Any:
    """The ONNX model of a fitted picture pipeline (ImageReader, ImageClassifier), not yet checked."""
    import onnx
    import torch
    from onnx import TensorProto, helper

    reader, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    size, channels = int(reader.size), int(model.image_shape_[2])
    wrapped = _wrapper(model.network_, size).eval()
    example = torch.zeros((2, size, size, channels), dtype=torch.uint8)
    dims = ({0: torch.export.Dim("pictures"), 1: torch.export.Dim("height", min=2),
             2: torch.export.Dim("width", min=2)},)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(wrapped, (example,), input_names=[INPUT_NAME],
                                    output_names=[PROBABILITIES_OUTPUT], dynamic_shapes=dims, dynamo=True,
                                    verbose=False, opset_version=19)
    assert program is not None
    proto = program.model_proto
    # The class names as a string output, so a program need not keep the class list beside the file.
    classes = onnx.numpy_helper.from_array(np.array([str(c) for c in model.classes_], dtype=object), "class_names")
    graph = proto.graph
    graph.initializer.append(classes)
    graph.node.extend([
        helper.make_node("ArgMax", [PROBABILITIES_OUTPUT], ["best_index"], axis=1, keepdims=0),
        helper.make_node("Gather", ["class_names", "best_index"], [LABEL_OUTPUT], axis=0),
    ])
    graph.output.insert(0, helper.make_value_info(LABEL_OUTPUT, helper.make_tensor_type_proto(TensorProto.STRING,
                                                                                                ["pictures"])))
    onnx.checker.check_model(proto)
    return proto


def export_image_onnx(pipeline: Any, path: str | Path, check_rows: Any) -> tuple[Path, int, float]:
    """Write the checked ONNX file; (path, pictures checked, largest probability difference)."""
    import onnx
    import onnxruntime

    from studio.core.prep.image_reader import image_paths

    paths = image_paths(check_rows)[:CHECK_PICTURES] if check_rows is not None else []
    reader, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    pixels, failures = reader.read(paths)
    pixels = pixels[[i for i in range(len(paths)) if i not in failures]]
    if not len(pixels):
        raise StudioError("The ONNX export needs pictures to check the file against Studio, and none could be read.")
    try:
        proto = build_image_onnx(pipeline)
        session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        labels, probabilities = session.run(None, {INPUT_NAME: pixels})
    except StudioError:
        raise
    except Exception as exc:  # the exporter's and onnxruntime's own failures
        raise StudioError(f"The network could not be written as ONNX: {first_line(exc)}") from exc
    expected = model.predict_proba(pixels)
    largest = float(np.max(np.abs(np.asarray(probabilities, dtype=float) - expected)))
    expected_labels = np.asarray([str(c) for c in model.classes_], dtype=object)[np.argmax(expected, axis=1)]
    differing = int(np.sum(np.asarray(labels, dtype=object).reshape(-1) != expected_labels))
    if differing or not largest <= TOLERANCE:
        raise StudioError(f"The ONNX file did not answer like Studio on {len(pixels)} pictures (largest difference "
                          f"{largest:.2g} in probability, {differing} classes differing), so it was not written.")
    onnx.helper.set_model_props(proto, {
        "made_by": "Studio", "inputs": json.dumps({INPUT_NAME: "uint8 (pictures, height, width, channels)"}),
        "size": str(reader.size), "channels": str(model.image_shape_[2]), "fit": str(reader.fit_mode),
        "outputs": "label (predicted class) and probabilities",
        "classes": json.dumps([str(c) for c in model.classes_]), "check_rows": str(len(pixels)),
        "check_largest_difference": repr(largest), "check_difference_kind": "probability",
        "check_labels_differing": "0"})
    atomic_write(Path(path), lambda handle: handle.write(proto.SerializeToString()))
    return Path(path), len(pixels), largest


def image_onnx_job(pipeline: Any, path: str | Path, should_stop: StopCheck = never_stop,
                   check_rows: Any = None) -> Generator[Progress, None, Path]:
    """The export as a job (the same form as the table models'): check_rows holds the check pictures' paths."""
    yield Progress("Exporting", None, f"Writing {Path(path).name}")
    if should_stop():
        raise Cancelled()
    written, _, _ = export_image_onnx(pipeline, path, check_rows)
    return written
