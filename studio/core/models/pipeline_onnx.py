"""Export a whole trained pipeline (the preparation and the model) to ONNX, checked against Studio before writing.

The file takes the raw columns, one input per column (named as the column, shape (rows, 1)): numbers as
tensor(double) with gaps as NaN, categories as tensor(string) with gaps as "". Numbers are double, not float,
because a tree asks "is this value at most t?" with t often one of the training values, and a value rounded to
float can land on the other side of it. Text that Studio would read as numbers ("1,5", "yes") must be turned into
numbers by the caller, as Studio's own reading does in Python.

The outputs are the predicted class (tensor(string), "label") and the class probabilities ("probabilities"), or
the predicted number ("value"). The preparation is written as plain ONNX operators from the fitted pieces; the
model by skl2onnx where its result matches Studio, by hand where it does not (k-nearest neighbours with distance
weights, histogram gradient boosting), and by torch.onnx for the neural network. Before anything is written, the
file is run with onnxruntime on the rows the caller passes and compared with the pipeline itself: any differing
label or a larger difference than the tolerance refuses the export, and nothing is left behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import warnings
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, StudioError, first_line
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop

OPSET = 19  # the first where Equal compares text
ML_OPSET = 3
PROBABILITY_TOLERANCE = 1e-4
RELATIVE_TOLERANCE = 1e-4
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
VALUE_OUTPUT = "value"
MISSING_TEXT = ""
MISSING_PACKAGES = ("Exporting to ONNX needs the 'onnx', 'skl2onnx' and 'onnxruntime' packages. Install Studio with "
                    "its torch extra: pip install 'studio[torch]'.")
_DOUBLE = 11  # onnx.TensorProto.DOUBLE, without importing onnx at module level
_FLOAT = 1


@dataclass(frozen=True)
class OnnxReport:
    """What the check at export found: the largest difference from Studio's own answers and how many labels differ."""

    path: Path
    rows_checked: int
    largest_difference: float
    labels_differing: int
    # "probability" (absolute) for classification, "relative" for a predicted number.
    difference_kind: str

    def describe(self) -> str:
        what = "in probability" if self.difference_kind == "probability" else "relative to the value"
        labels = f", {self.labels_differing} predicted classes differ" if self.difference_kind == "probability" \
            else ""
        return (f"Checked on {self.rows_checked} rows against Studio: largest difference {self.largest_difference:.2g}"
                f" {what}{labels}.")


class _Graph:
    """A growing ONNX graph: nodes, constants and fresh names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.functions: list[Any] = []
        self.opsets: dict[str, int] = {"": OPSET, "ai.onnx.ml": ML_OPSET}
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"_{hint}_{self._count}"

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        from onnx import numpy_helper

        array = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
        if array.dtype.kind in "OUS":
            array = array.astype(object)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str = "", outputs: int = 1, domain: str = "",
           **attributes: Any) -> str:
        names = self.op_many(op_type, inputs, hint, outputs, domain, **attributes)
        return names[0]

    def op_many(self, op_type: str, inputs: list[str], hint: str = "", outputs: int = 1, domain: str = "",
                **attributes: Any) -> list[str]:
        from onnx import helper

        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, domain=domain or None, **attributes))
        return names

    def double(self, name: str) -> str:
        return self.op("Cast", [name], "double", to=_DOUBLE)

    def absorb(self, model: Any, prefix: str, input_name: str, feed: str) -> dict[str, str]:
        """Copies another model's graph in (its names prefixed), fed from ``feed``; its output names, renamed."""
        import onnx

        model = onnx.compose.add_prefix(model, prefix)
        for opset in model.opset_import:
            domain = opset.domain or ""
            if domain not in ("", "ai.onnx.ml") or self.opsets.get(domain, opset.version) != opset.version:
                self.opsets[domain] = max(self.opsets.get(domain, 0), opset.version)
        self.nodes.append(onnx.helper.make_node("Identity", [feed], [prefix + input_name]))
        self.nodes.extend(model.graph.node)
        self.initializers.extend(model.graph.initializer)
        self.functions.extend(model.functions)
        return {o.name.removeprefix(prefix): o.name for o in model.graph.output}


# -- the preparation --------------------------------------------------------------------------------------------
@dataclass
class _Inputs:
    """The raw columns in the order of the file's inputs, each with its ONNX type ("double" or "string")."""

    kinds: dict[str, str] = field(default_factory=dict)


def _refuse_column(column: str, what: str) -> StudioError:
    return StudioError(f"The column '{column}' is {what}, which ONNX cannot do here; leave it out or export a model "
                       "trained without it.")


def _prep_parts(prep: Any) -> tuple[Any, Any]:
    if not hasattr(prep, "named_steps") or "inputs" not in prep.named_steps or "columns" not in prep.named_steps:
        raise StudioError("This model's preparation is not one Studio builds, so it cannot be written as ONNX.")
    return prep.named_steps["inputs"], prep.named_steps["columns"]


def _write_preparation(graph: _Graph, prep: Any, inputs: _Inputs) -> str:
    """The prepared features as one (rows, features) double tensor, built from the fitted pieces."""
    raw, columns = _prep_parts(prep)
    for name, _formula in getattr(raw, "derived", ()):
        raise _refuse_column(name, "computed by a formula")
    parts: list[str] = []
    for name, pipe, selected in columns.transformers_:
        if name == "remainder" or pipe == "drop":
            continue
        column = selected[0] if isinstance(selected, list | tuple) else str(selected)
        parts.extend(_write_column(graph, str(column), pipe, inputs))
    expected = len(columns.get_feature_names_out())
    if not parts:
        raise StudioError("This model reads no columns, so there is nothing to write as ONNX.")
    features = graph.op("Concat", parts, "features", axis=1)
    if expected <= 0:
        raise StudioError("This model reads no columns, so there is nothing to write as ONNX.")
    return features


def _input(inputs: _Inputs, column: str, kind: str) -> str:
    if inputs.kinds.setdefault(column, kind) != kind:
        raise _refuse_column(column, "read both as numbers and as categories")
    return column


def _write_column(graph: _Graph, column: str, pipe: Any, inputs: _Inputs) -> list[str]:
    from studio.core.prep.values import (
        column_to_text,
        frame_to_categories,
        frame_to_date_parts,
        frame_to_numbers,
    )

    steps = list(pipe.steps) if hasattr(pipe, "steps") else [("step", pipe)]
    first = steps[0][1]
    func = getattr(first, "func", None)
    if func is frame_to_date_parts:
        raise _refuse_column(column, "turned into date parts")
    if func is column_to_text:
        raise _refuse_column(column, "free text turned into word counts (TF-IDF)")
    if func is frame_to_numbers:
        value = _input(inputs, column, "double")
        missing = graph.op("IsNaN", [value], "gap")
    elif func is frame_to_categories:
        value = _input(inputs, column, "string")
        missing = graph.op("Equal", [value, graph.const(np.array([MISSING_TEXT], dtype=object), "empty")], "gap")
    else:
        raise _refuse_column(column, f"prepared by a step Studio cannot write as ONNX ({type(first).__name__})")
    outputs: list[str] = []
    for _step_name, step in steps[1:]:
        kind = type(step).__name__
        if kind == "OutlierClipper":
            clipped = graph.op("Min", [graph.op("Max", [value, graph.const(np.asarray(step.lower_, float))]),
                                       graph.const(np.asarray(step.upper_, float))])
            value = graph.op("Where", [missing, value, clipped], "clipped")
        elif kind == "SimpleImputer":
            value, indicator = _impute(graph, column, step, value, missing)
            outputs.extend(indicator)
        elif kind == "MissingIndicator":
            return [graph.double(missing)]
        elif kind == "StandardScaler":
            mean = step.mean_ if step.mean_ is not None else np.zeros(1)
            scale = step.scale_ if step.scale_ is not None else np.ones(1)
            value = graph.op("Div", [graph.op("Sub", [value, graph.const(mean.astype(float))]),
                                     graph.const(scale.astype(float))], "scaled")
        elif kind == "MinMaxScaler":
            if step.clip:
                raise _refuse_column(column, "scaled to 0-1 with clipping")
            value = graph.op("Add", [graph.op("Mul", [value, graph.const(step.scale_.astype(float))]),
                                     graph.const(step.min_.astype(float))], "scaled")
        elif kind == "RobustScaler":
            if step.center_ is not None:
                value = graph.op("Sub", [value, graph.const(step.center_.astype(float))])
            if step.scale_ is not None:
                value = graph.op("Div", [value, graph.const(step.scale_.astype(float))], "scaled")
        elif kind == "OneHotEncoder":
            value = _one_hot(graph, column, step, value)
        elif kind == "OrdinalEncoder":
            value = _ordinal(graph, column, step, value)
        elif kind == "TargetEncoder":
            raise _refuse_column(column, "target encoded")
        elif kind == "KBinsDiscretizer":
            raise _refuse_column(column, "cut into bins")
        else:
            raise _refuse_column(column, f"prepared by a step Studio cannot write as ONNX ({kind})")
    return [value, *outputs]


def _impute(graph: _Graph, column: str, imputer: Any, value: str, missing: str) -> tuple[str, list[str]]:
    fill = imputer.statistics_[0]
    if isinstance(fill, str):
        filled = graph.op("Where", [missing, graph.const(np.array([fill], dtype=object), "fill"), value], "filled")
    else:
        fill = float(fill)
        if np.isnan(fill):
            raise _refuse_column(column, "filled with a value learnt from no rows")
        filled = graph.op("Where", [missing, graph.const(np.array([fill]), "fill"), value], "filled")
    indicator: list[str] = []
    if imputer.add_indicator and imputer.indicator_ is not None and len(imputer.indicator_.features_):
        indicator.append(graph.double(missing))
    return filled, indicator


def _one_hot(graph: _Graph, column: str, encoder: Any, value: str) -> str:
    if encoder.drop is not None:
        raise _refuse_column(column, "one-hot encoded with a dropped category")
    categories = list(encoder.categories_[0])
    infrequent = getattr(encoder, "infrequent_categories_", [None])[0] if encoder._infrequent_enabled else None
    rare = set(infrequent) if infrequent is not None else set()
    frequent = [c for c in categories if c not in rare]
    if any(not isinstance(c, str) for c in frequent):
        raise _refuse_column(column, "encoded from values that are not text")
    matches = graph.double(graph.op("Equal", [value, graph.const(np.array([frequent], dtype=object), "cats")]))
    if infrequent is None:
        return matches  # an unknown category: all zeros, as handle_unknown="ignore" or "infrequent_if_exist" does
    # The grouped column takes known rare categories and, with "infrequent_if_exist", unknown ones.
    seen = graph.op("ReduceSum", [matches, graph.const(np.array([1], dtype=np.int64))], keepdims=1)
    other = graph.op("Sub", [graph.const(np.array([1.0])), seen], "rare")
    return graph.op("Concat", [matches, other], "onehot", axis=1)


def _ordinal(graph: _Graph, column: str, encoder: Any, value: str) -> str:
    categories = list(encoder.categories_[0])
    if any(not isinstance(c, str) for c in categories) or encoder.handle_unknown != "use_encoded_value":
        raise _refuse_column(column, "encoded as numbers in a way ONNX cannot repeat")
    matches = graph.double(graph.op("Equal", [value, graph.const(np.array([categories], dtype=object), "cats")]))
    codes = graph.const(np.arange(len(categories), dtype=float).reshape(-1, 1) + 1.0, "codes")
    coded = graph.op("MatMul", [matches, codes])  # code + 1 for a known category, 0 for an unknown one
    known = graph.op("ReduceSum", [matches, graph.const(np.array([1], dtype=np.int64))], keepdims=1)
    unknown = float(encoder.unknown_value)
    return graph.op("Add", [graph.op("Sub", [coded, graph.const(np.array([1.0]))]),
                            graph.op("Mul", [graph.op("Sub", [graph.const(np.array([1.0])), known]),
                                             graph.const(np.array([unknown + 1.0]))])], "ordinal")


# -- the model --------------------------------------------------------------------------------------------------
def _write_model(graph: _Graph, model: Any, features: str, n_features: int, prefix: str = "m_") -> str:
    """The model's answer from the prepared features: probabilities (rows, classes) or values (rows,), double."""
    kind = type(model).__name__
    if kind in ("VotingClassifier", "VotingRegressor"):
        return _write_voting(graph, model, features, n_features, prefix)
    if kind in ("NetworkClassifier", "NetworkRegressor"):
        return _write_network(graph, model, features, prefix)
    if kind in ("KNeighborsClassifier", "KNeighborsRegressor"):
        return _write_knn(graph, model, features)
    if kind in ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor"):
        return _write_hist_boosting(graph, model, features)
    if kind == "TransformedTargetRegressor":
        scaler = model.transformer_
        if type(scaler).__name__ != "StandardScaler" or getattr(model, "func", None) is not None:
            raise StudioError("This model changes the target in a way ONNX cannot undo here.")
        inner = _write_model(graph, model.regressor_, features, n_features, prefix + "t_")
        mean = scaler.mean_ if scaler.mean_ is not None else np.zeros(1)
        scale = scaler.scale_ if scaler.scale_ is not None else np.ones(1)
        return graph.op("Add", [graph.op("Mul", [inner, graph.const(scale.astype(float))]),
                                graph.const(mean.astype(float))], "unscaled")
    return _write_skl2onnx(graph, model, features, n_features, prefix)


def _write_skl2onnx(graph: _Graph, model: Any, features: str, n_features: int, prefix: str) -> str:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    classification = hasattr(model, "classes_")
    options = {id(model): {"zipmap": False}} if classification else None
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proto = convert_sklearn(model, initial_types=[("features", FloatTensorType([None, n_features]))],
                                    options=options, target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})
    except Exception as exc:  # the converter's own words are about its internals
        raise StudioError(f"The ONNX converter (skl2onnx) cannot convert this kind of model ({type(model).__name__}):"
                          f" {first_line(exc)}") from exc
    floats = graph.op("Cast", [features], "float", to=_FLOAT)
    outputs = graph.absorb(proto, prefix, "features", floats)
    if classification:
        return graph.double(outputs["probabilities"])
    return graph.double(graph.op("Reshape", [outputs["variable"], graph.const(np.array([-1], dtype=np.int64))]))


def _axes(graph: _Graph, *axes: int) -> str:
    return graph.const(np.array(axes, dtype=np.int64), "axes")


def _write_knn(graph: _Graph, model: Any, features: str) -> str:
    """Neighbours by hand, in double: skl2onnx's distance weights differ from scikit-learn's by up to 0.4."""
    if model.effective_metric_ != "euclidean" or callable(model.weights):
        raise StudioError("This k-nearest-neighbours model measures distance in a way ONNX cannot repeat here.")
    train = np.asarray(model._fit_X, dtype=float)
    k = int(model.n_neighbors)
    difference = graph.op("Sub", [graph.op("Unsqueeze", [features, _axes(graph, 1)]),
                                  graph.const(train[np.newaxis], "train")])
    squared = graph.op("ReduceSum", [graph.op("Mul", [difference, difference]), _axes(graph, 2)], keepdims=0)
    distance = graph.op("Sqrt", [squared], "distance")
    nearest, index = graph.op_many("TopK", [distance, graph.const(np.array([k], dtype=np.int64))], "nearest", 2,
                                   largest=0, sorted=1)
    if model.weights == "distance":
        # As scikit-learn: a row that matches training rows exactly goes with those rows alone.
        zero = graph.op("Equal", [nearest, graph.const(np.array([0.0]))])
        exact = graph.op("ReduceMax", [graph.double(zero), _axes(graph, 1)], keepdims=1)
        inverse = graph.op("Div", [graph.const(np.array([1.0])), nearest])
        weights = graph.op("Where", [graph.op("Greater", [exact, graph.const(np.array([0.0]))]),
                                     graph.double(zero), inverse], "weights")
    else:
        weights = graph.op("Add", [graph.op("Mul", [nearest, graph.const(np.array([0.0]))]),
                                   graph.const(np.array([1.0]))], "weights")
    total = graph.op("ReduceSum", [weights, _axes(graph, 1)], keepdims=1)
    if hasattr(model, "classes_"):
        codes = np.asarray(model._y, dtype=np.int64).reshape(-1)
        labels = graph.op("Gather", [graph.const(codes, "codes"), index])
        classes = graph.const(np.arange(len(model.classes_), dtype=np.int64).reshape(1, 1, -1), "classes")
        votes = graph.double(graph.op("Equal", [graph.op("Unsqueeze", [labels, _axes(graph, 2)]), classes]))
        weighted = graph.op("Mul", [votes, graph.op("Unsqueeze", [weights, _axes(graph, 2)])])
        scores = graph.op("ReduceSum", [weighted, _axes(graph, 1)], keepdims=0)
        return graph.op("Div", [scores, graph.op("ReduceSum", [scores, _axes(graph, 1)], keepdims=1)], "proba")
    targets = np.asarray(model._y, dtype=float)
    if targets.ndim != 1:
        raise StudioError("A k-nearest-neighbours model predicting several numbers cannot be written as ONNX here.")
    values = graph.op("Gather", [graph.const(targets, "targets"), index])
    summed = graph.op("ReduceSum", [graph.op("Mul", [values, weights]), _axes(graph, 1)], keepdims=1)
    return graph.op("Reshape", [graph.op("Div", [summed, total]), graph.const(np.array([-1], dtype=np.int64))])


def _write_hist_boosting(graph: _Graph, model: Any, features: str) -> str:
    """Boosted trees by hand, in double: skl2onnx's converter fails on this scikit-learn version, and in float a
    value equal to a threshold can fall on the other side of it."""
    from onnx import numpy_helper

    if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
        raise StudioError("Gradient boosting with categorical splits cannot be written as ONNX here.")
    attrs: dict[str, list[Any]] = {key: [] for key in (
        "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_truenodeids",
        "nodes_falsenodeids", "nodes_missing_value_tracks_true", "target_treeids", "target_nodeids", "target_ids")}
    thresholds: list[float] = []
    weights: list[float] = []
    tree_id = 0
    for iteration in model._predictors:
        for target, predictor in enumerate(iteration):
            for node_id, node in enumerate(predictor.nodes):
                attrs["nodes_treeids"].append(tree_id)
                attrs["nodes_nodeids"].append(node_id)
                leaf = bool(node["is_leaf"])
                attrs["nodes_featureids"].append(0 if leaf else int(node["feature_idx"]))
                attrs["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
                attrs["nodes_truenodeids"].append(0 if leaf else int(node["left"]))
                attrs["nodes_falsenodeids"].append(0 if leaf else int(node["right"]))
                attrs["nodes_missing_value_tracks_true"].append(0 if leaf else int(node["missing_go_to_left"]))
                thresholds.append(0.0 if leaf else float(node["num_threshold"]))
                if leaf:
                    attrs["target_treeids"].append(tree_id)
                    attrs["target_nodeids"].append(node_id)
                    attrs["target_ids"].append(target)
                    weights.append(float(node["value"]))
            tree_id += 1
    baseline = np.asarray(model._baseline_prediction, dtype=float).reshape(-1)
    n_targets = len(model._predictors[0])
    settings: dict[str, Any] = {
        **attrs, "n_targets": n_targets, "aggregate_function": "SUM", "post_transform": "NONE",
        "nodes_values_as_tensor": numpy_helper.from_array(np.asarray(thresholds, dtype=float)),
        "target_weights_as_tensor": numpy_helper.from_array(np.asarray(weights, dtype=float)),
        "base_values_as_tensor": numpy_helper.from_array(baseline)}
    raw = graph.op("TreeEnsembleRegressor", [features], "raw", domain="ai.onnx.ml", **settings)
    raw = graph.double(raw)
    if not hasattr(model, "classes_"):
        if model._loss.__class__.__name__ not in ("HalfSquaredError", "AbsoluteError", "PinballLoss"):
            raise StudioError("Gradient boosting with this loss cannot be written as ONNX here.")
        return graph.op("Reshape", [raw, graph.const(np.array([-1], dtype=np.int64))], "value")
    if n_targets == 1:  # two classes: one score, the second class's log-odds
        second = graph.op("Sigmoid", [raw])
        first = graph.op("Sub", [graph.const(np.array([1.0])), second])
        return graph.op("Concat", [first, second], "proba", axis=1)
    return graph.op("Softmax", [raw], "proba", axis=1)


def _write_voting(graph: _Graph, model: Any, features: str, n_features: int, prefix: str) -> str:
    from studio.core.models.ensemble_export import NETWORK_REASON, _is_network, _member_label, _refuse

    members = [(_member_label(name), member)
               for (name, _unfitted), member in zip(model.estimators, model.estimators_, strict=True)]
    _refuse([(label, NETWORK_REASON) for label, member in members if _is_network(member)])
    if hasattr(model, "classes_") and getattr(model, "voting", "soft") != "soft":
        raise StudioError("An ensemble that votes by majority has no probabilities to write as ONNX.")
    weights = np.ones(len(members)) if model.weights is None else np.asarray(model.weights, dtype=float)
    total = float(weights.sum())
    summed = ""
    for index, ((label, member), weight) in enumerate(zip(members, weights, strict=True)):
        try:
            answer = _write_model(graph, member, features, n_features, f"{prefix}{index}_")
        except StudioError as exc:
            raise StudioError(f"This ensemble cannot be written as ONNX: {label} ({exc})") from exc
        share = graph.op("Mul", [answer, graph.const(np.array([weight / total]))])
        summed = share if not summed else graph.op("Add", [summed, share])
    return summed


def _write_network(graph: _Graph, model: Any, features: str, prefix: str) -> str:
    from studio.core.models.torch.export import INPUT_NAME, OUTPUT_NAME, network_program

    program = network_program(model, OPSET)
    floats = graph.op("Cast", [features], "float", to=_FLOAT)
    outputs = graph.absorb(program.model_proto, prefix, INPUT_NAME, floats)
    return graph.double(outputs[OUTPUT_NAME])


# -- the file ---------------------------------------------------------------------------------------------------
def build_pipeline_onnx(pipeline: Any) -> tuple[Any, dict[str, str], bool]:
    """The ONNX model of the whole pipeline, the ONNX type of each raw input, and whether it classifies."""
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("skl2onnx") is None \
            or importlib.util.find_spec("onnxruntime") is None:
        raise StudioError(MISSING_PACKAGES)
    import onnx
    from onnx import TensorProto, helper

    if not hasattr(pipeline, "steps") or len(pipeline.steps) != 2:
        raise StudioError("Only a model trained in Studio, with its preparation, can be written as ONNX this way.")
    prep, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    graph = _Graph()
    inputs = _Inputs()
    features = _write_preparation(graph, prep, inputs)
    n_features = len(prep.named_steps["columns"].get_feature_names_out())
    answer = _write_model(graph, model, features, n_features)
    classification = hasattr(model, "classes_")
    raw, _columns = _prep_parts(prep)
    order = [c for c in raw.columns if c in inputs.kinds]
    graph_inputs = [helper.make_tensor_value_info(
        c, TensorProto.STRING if inputs.kinds[c] == "string" else TensorProto.DOUBLE, ["rows", 1]) for c in order]
    if classification:
        classes = np.array([str(c) for c in model.classes_], dtype=object)
        best = graph.op("ArgMax", [answer], "best", axis=1, keepdims=0)
        graph.nodes.append(helper.make_node("Gather", [graph.const(classes, "class_names"), best], [LABEL_OUTPUT]))
        graph.nodes.append(helper.make_node("Cast", [answer], [PROBABILITIES_OUTPUT], to=TensorProto.FLOAT))
        outputs = [helper.make_tensor_value_info(LABEL_OUTPUT, TensorProto.STRING, ["rows"]),
                   helper.make_tensor_value_info(PROBABILITIES_OUTPUT, TensorProto.FLOAT, ["rows", len(classes)])]
    else:
        graph.nodes.append(helper.make_node("Cast", [answer], [VALUE_OUTPUT], to=TensorProto.FLOAT))
        outputs = [helper.make_tensor_value_info(VALUE_OUTPUT, TensorProto.FLOAT, ["rows"])]
    body = helper.make_graph(graph.nodes, "studio_pipeline", graph_inputs, outputs, graph.initializers)
    proto = helper.make_model(body, opset_imports=[helper.make_opsetid(d, v) for d, v in graph.opsets.items()],
                              functions=graph.functions, producer_name="Studio")
    proto.ir_version = 10  # what onnxruntime 1.20 and later read
    onnx.checker.check_model(proto)
    return proto, {c: inputs.kinds[c] for c in order}, classification


def onnx_feeds(rows: pd.DataFrame, kinds: dict[str, str]) -> dict[str, np.ndarray]:
    """Raw rows as the file's inputs, read as Studio reads them (numbers from text, categories as text)."""
    from studio.core.prep.values import frame_to_categories, frame_to_numbers

    feeds: dict[str, np.ndarray] = {}
    for column, kind in kinds.items():
        values = rows[[column]] if column in rows.columns else pd.DataFrame({column: [np.nan] * len(rows)})
        if kind == "double":
            feeds[column] = frame_to_numbers(values).astype(np.float64).reshape(-1, 1)
        else:
            texts = frame_to_categories(values).reshape(-1)
            feeds[column] = np.array([MISSING_TEXT if isinstance(t, float) else str(t) for t in texts],
                                     dtype=object).reshape(-1, 1)
    return feeds


def check_against_pipeline(proto: Any, pipeline: Any, kinds: dict[str, str], classification: bool,
                           rows: pd.DataFrame) -> tuple[float, int]:
    """(largest difference, labels differing) between the ONNX model and the pipeline on ``rows``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    answers = session.run(None, onnx_feeds(rows, kinds))
    if classification:
        expected = np.asarray(pipeline.predict_proba(rows), dtype=float)
        labels = np.asarray([str(v) for v in pipeline.predict(rows)], dtype=object)
        largest = float(np.max(np.abs(answers[1] - expected))) if len(rows) else 0.0
        return largest, int(np.sum(np.asarray(answers[0], dtype=object).reshape(-1) != labels))
    expected = np.asarray(pipeline.predict(rows), dtype=float).reshape(-1)
    got = np.asarray(answers[0], dtype=float).reshape(-1)
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-9)
    return (float(np.max(relative)) if len(rows) else 0.0), 0


def export_pipeline_onnx(pipeline: Any, metadata: dict[str, Any] | None, path: str | Path,
                         check_rows: pd.DataFrame) -> OnnxReport:
    """Write ``pipeline`` (preparation and model) as ONNX taking raw columns, once it answers like Studio on
    ``check_rows``; a StudioError in words, and no file, when it cannot be written or does not."""
    import onnx

    if check_rows is None or len(check_rows) == 0:
        raise StudioError("The ONNX export needs rows to check the file against Studio, and none were given.")
    proto, kinds, classification = build_pipeline_onnx(pipeline)
    if metadata is not None:
        # The model file's manifest lists the columns a person sees; the file must read exactly those it uses.
        listed = [c["name"] for c in metadata.get("input_columns", []) if c.get("treatment") != "exclude"]
        if listed and set(listed) != set(kinds):
            raise StudioError("The model's columns do not match its preparation, so it cannot be written as ONNX.")
    try:
        largest, differing = check_against_pipeline(proto, pipeline, kinds, classification, check_rows)
    except StudioError:
        raise
    except Exception as exc:  # onnxruntime's own failures
        raise StudioError(f"The ONNX file could not be checked against Studio, so it was not written: "
                          f"{first_line(exc)}") from exc
    tolerance = PROBABILITY_TOLERANCE if classification else RELATIVE_TOLERANCE
    report = OnnxReport(Path(path), len(check_rows), largest, differing,
                        "probability" if classification else "relative")
    if differing or not largest <= tolerance:
        what = "in probability" if classification else "relative to the value"
        raise StudioError(f"The ONNX file did not answer like Studio on {len(check_rows)} rows (largest difference "
                          f"{largest:.2g} {what}, {differing} predicted classes differing), so it was not written.")
    meta = {"made_by": "Studio", "inputs": json.dumps(kinds),
            "gaps": "numbers: NaN; categories: an empty string",
            "outputs": "label (predicted class) and probabilities" if classification else "value (predicted number)",
            "classes": json.dumps([str(c) for c in pipeline.steps[-1][1].classes_]) if classification else "[]",
            "check_rows": str(report.rows_checked), "check_largest_difference": repr(report.largest_difference),
            "check_difference_kind": report.difference_kind, "check_labels_differing": str(report.labels_differing)}
    onnx.helper.set_model_props(proto, meta)
    atomic_write(Path(path), lambda handle: handle.write(proto.SerializeToString()))
    return report


def pipeline_onnx_job(pipeline: Any, path: str | Path, should_stop: StopCheck = never_stop,
                      check_rows: pd.DataFrame | None = None) -> Generator[Progress, None, Path]:
    """The export as a job, for the window and the command line: (pipeline, path, should_stop, check_rows)."""
    yield Progress("Exporting", None, f"Writing {Path(path).name}")
    if should_stop():
        raise Cancelled()
    if check_rows is None:
        raise StudioError("The ONNX export needs rows to check the file against Studio, and none were given.")
    return export_pipeline_onnx(pipeline, None, path, check_rows).path



def describe_check(path: str | Path) -> str:
    """The check stored in a written file, in words ("" for a file without one)."""
    import onnx

    try:
        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        report = OnnxReport(Path(path), int(props["check_rows"]), float(props["check_largest_difference"]),
                            int(props["check_labels_differing"]), props["check_difference_kind"])
    except Exception:  # not a file Studio wrote (onnx raises protobuf's own errors for those)
        return ""
    return report.describe()
