"""Export a whole trained pipeline (the preparation and the model) to ONNX, checked against Studio before writing.

The file takes the raw columns, one input per column (named as the column, shape (rows, 1)), of four kinds, listed
in its metadata ("inputs", with what each kind means in "input_kinds"):

- numbers: tensor(double), gaps as NaN. Double, not float, because a tree asks "is this value at most t?" with t
  often one of the training values, and a value rounded to float can land on the other side of it. Text that
  Studio would read as numbers ("1,5", "yes") must be turned into numbers by the caller, as Studio's own reading
  does in Python;
- categories: tensor(string), trimmed, gaps as "";
- dates: tensor(double), the moment in seconds since 1970-01-01 00:00 UTC, gaps as NaN. ONNX cannot read dates
  from text, so the caller does ("date_formats" says how Studio reads each such column); the graph computes the
  year, month, weekday, … from that number;
- free text: tensor(string), the text as it is, gaps as "".
``onnx_feeds`` turns a table into these inputs as Studio reads it.

The outputs are the predicted class (tensor(string), "label") and the class probabilities ("probabilities"), or
the predicted number ("value"). The preparation is written as plain ONNX operators from the fitted pieces
(pipeline_onnx_parts); the model by skl2onnx where its result matches Studio, by hand where it does not
(k-nearest neighbours with distance weights, histogram gradient boosting), and by torch.onnx for the neural
network. Before anything is written, the file is run with onnxruntime on the rows the caller passes and compared
with the pipeline itself: any differing label or a larger difference than the tolerance refuses the export, names
the column whose preparation differs when one does, and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import warnings
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, StudioError, first_line
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.models.imbalance import class_index, decision_threshold, inner_model
from studio.core.models.pipeline_onnx_parts import (
    DATE_INPUT,
    FLOAT_TYPE,
    INPUT_CONTRACT,
    MISSING_TEXT,
    ML_OPSET,
    NUMBER_INPUT,
    OPSET,
    TEXT_INPUT,
    TEXT_TYPED_INPUTS,
    Graph,
    Inputs,
    column_pieces,
    date_seconds,
    describe_piece,
    prep_parts,
    settings_refusal,
    write_preparation,
)

PROBABILITY_TOLERANCE = 1e-4
RELATIVE_TOLERANCE = 1e-4
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
VALUE_OUTPUT = "value"
MISSING_PACKAGES = ("Exporting to ONNX needs the 'onnx', 'skl2onnx' and 'onnxruntime' packages. Install Studio with "
                    "its torch extra: pip install 'studio[torch]'.")


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


# -- the model --------------------------------------------------------------------------------------------------
def _write_model(graph: Graph, model: Any, features: str, n_features: int, prefix: str = "m_") -> str:
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


def _write_skl2onnx(graph: Graph, model: Any, features: str, n_features: int, prefix: str) -> str:
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
    floats = graph.op("Cast", [features], "float", to=FLOAT_TYPE)
    outputs = graph.absorb(proto, prefix, "features", floats)
    if classification:
        return graph.double(outputs["probabilities"])
    return graph.double(graph.op("Reshape", [outputs["variable"], graph.const(np.array([-1], dtype=np.int64))]))


def _write_knn(graph: Graph, model: Any, features: str) -> str:
    """Neighbours by hand, in double: skl2onnx's distance weights differ from scikit-learn's by up to 0.4."""
    if model.effective_metric_ != "euclidean" or callable(model.weights):
        raise StudioError("This k-nearest-neighbours model measures distance in a way ONNX cannot repeat here.")
    train = np.asarray(model._fit_X, dtype=float)
    k = int(model.n_neighbors)
    difference = graph.op("Sub", [graph.op("Unsqueeze", [features, graph.axes(1)]),
                                  graph.const(train[np.newaxis], "train")])
    squared = graph.op("ReduceSum", [graph.op("Mul", [difference, difference]), graph.axes(2)], keepdims=0)
    distance = graph.op("Sqrt", [squared], "distance")
    nearest, index = graph.op_many("TopK", [distance, graph.const(np.array([k], dtype=np.int64))], "nearest", 2,
                                   largest=0, sorted=1)
    if model.weights == "distance":
        # As scikit-learn: a row that matches training rows exactly goes with those rows alone.
        zero = graph.op("Equal", [nearest, graph.const(np.array([0.0]))])
        exact = graph.op("ReduceMax", [graph.double(zero), graph.axes(1)], keepdims=1)
        inverse = graph.op("Div", [graph.const(np.array([1.0])), nearest])
        weights = graph.op("Where", [graph.op("Greater", [exact, graph.const(np.array([0.0]))]),
                                     graph.double(zero), inverse], "weights")
    else:
        weights = graph.op("Add", [graph.op("Mul", [nearest, graph.const(np.array([0.0]))]),
                                   graph.const(np.array([1.0]))], "weights")
    total = graph.op("ReduceSum", [weights, graph.axes(1)], keepdims=1)
    if hasattr(model, "classes_"):
        codes = np.asarray(model._y, dtype=np.int64).reshape(-1)
        labels = graph.op("Gather", [graph.const(codes, "codes"), index])
        classes = graph.const(np.arange(len(model.classes_), dtype=np.int64).reshape(1, 1, -1), "classes")
        votes = graph.double(graph.op("Equal", [graph.op("Unsqueeze", [labels, graph.axes(2)]), classes]))
        weighted = graph.op("Mul", [votes, graph.op("Unsqueeze", [weights, graph.axes(2)])])
        scores = graph.op("ReduceSum", [weighted, graph.axes(1)], keepdims=0)
        return graph.op("Div", [scores, graph.op("ReduceSum", [scores, graph.axes(1)], keepdims=1)], "proba")
    targets = np.asarray(model._y, dtype=float)
    if targets.ndim != 1:
        raise StudioError("A k-nearest-neighbours model predicting several numbers cannot be written as ONNX here.")
    values = graph.op("Gather", [graph.const(targets, "targets"), index])
    summed = graph.op("ReduceSum", [graph.op("Mul", [values, weights]), graph.axes(1)], keepdims=1)
    return graph.op("Reshape", [graph.op("Div", [summed, total]), graph.const(np.array([-1], dtype=np.int64))])


def _write_hist_boosting(graph: Graph, model: Any, features: str) -> str:
    """Boosted trees by hand, in double: skl2onnx's converter fails on this scikit-learn version, and in float a
    value equal to a threshold can fall on the other side of it. A split on categories ("is the code one of
    these?") becomes a chain of "is it equal to c?" questions, which ONNX trees can ask."""
    from onnx import numpy_helper

    known = _known_categories(model)
    # With categorical features, scikit-learn re-encodes their values and puts them first before its trees see
    # them: the trees' features and categories are mapped back to the ones the preparation gives.
    original, raw_values = _category_mapping(model)
    attrs: dict[str, list[Any]] = {key: [] for key in (
        "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_truenodeids",
        "nodes_falsenodeids", "nodes_missing_value_tracks_true", "target_treeids", "target_nodeids", "target_ids")}
    thresholds: list[float] = []
    weights: list[float] = []

    def add(tree: int, node_id: int, feature: int, mode: str, true_id: int, false_id: int, missing_true: int,
            threshold: float) -> None:
        for key, value in (("nodes_treeids", tree), ("nodes_nodeids", node_id), ("nodes_featureids", feature),
                           ("nodes_modes", mode), ("nodes_truenodeids", true_id), ("nodes_falsenodeids", false_id),
                           ("nodes_missing_value_tracks_true", missing_true)):
            attrs[key].append(value)
        thresholds.append(threshold)

    tree_id = 0
    for iteration in model._predictors:
        for target, predictor in enumerate(iteration):
            next_id = len(predictor.nodes)  # the chains' extra questions are numbered after the tree's own
            for node_id, node in enumerate(predictor.nodes):
                if node["is_leaf"]:
                    add(tree_id, node_id, 0, "LEAF", 0, 0, 0, 0.0)
                    attrs["target_treeids"].append(tree_id)
                    attrs["target_nodeids"].append(node_id)
                    attrs["target_ids"].append(target)
                    weights.append(float(node["value"]))
                    continue
                inner, left, right = int(node["feature_idx"]), int(node["left"]), int(node["right"])
                feature = int(original[inner])
                if not node["is_categorical"]:
                    add(tree_id, node_id, feature, "BRANCH_LEQ", left, right, int(node["missing_go_to_left"]),
                        float(node["num_threshold"]))
                    continue
                # As scikit-learn: a gap, and a category unknown to the model, go where training gaps went. So
                # the chain asks about the categories of the other side and ends on the gaps' side.
                goes_left = _bitset_members(predictor.raw_left_cat_bitsets[int(node["bitset_idx"])])
                if node["missing_go_to_left"]:
                    asked, found, otherwise = sorted(known[inner] - goes_left), right, left
                else:
                    asked, found, otherwise = sorted(goes_left), left, right
                if not asked:  # every known category goes the gaps' way: one question everything answers yes
                    add(tree_id, node_id, feature, "BRANCH_LEQ", otherwise, otherwise, 1, 0.0)
                    continue
                ids = [node_id, *range(next_id, next_id + len(asked) - 1)]
                next_id += len(asked) - 1
                for index, (chain_id, category) in enumerate(zip(ids, asked, strict=True)):
                    after = ids[index + 1] if index + 1 < len(ids) else otherwise
                    add(tree_id, chain_id, feature, "BRANCH_EQ", found, after, 0,
                        float(raw_values[inner][category]) if inner in raw_values else float(category))
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


def _known_categories(model: Any) -> dict[int, set[int]]:
    """The categories each categorical feature of a fitted histogram boosting saw in training, by the feature as
    its trees number them."""
    is_categorical = getattr(model, "_is_categorical_remapped", None)
    if is_categorical is None:
        is_categorical = getattr(model, "is_categorical_", None)
    if is_categorical is None or not np.any(is_categorical):
        return {}
    bitsets, index_of = model._bin_mapper.make_known_categories_bitsets()
    return {int(feature): _bitset_members(bitsets[int(index_of[feature])])
            for feature in np.flatnonzero(is_categorical)}


def _category_mapping(model: Any) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """(the preparation's feature behind each feature the trees see, and for each categorical one the value
    behind each of the trees' category numbers)."""
    preprocessor = getattr(model, "_preprocessor", None)
    count = int(model.n_features_in_)
    if preprocessor is None:
        return np.arange(count), {}
    is_categorical = np.asarray(model.is_categorical_, dtype=bool)
    original = np.concatenate([np.flatnonzero(is_categorical), np.flatnonzero(~is_categorical)])
    encoder = preprocessor.named_transformers_["encoder"]
    raw_values = {inner: np.asarray(values, dtype=float) for inner, values in enumerate(encoder.categories_)}
    return original, raw_values


def _bitset_members(bitset: np.ndarray) -> set[int]:
    """The numbers 0-255 a scikit-learn bitset (8 words of 32 bits) holds."""
    words = np.asarray(bitset, dtype=np.uint64)
    return {value for value in range(32 * len(words)) if (int(words[value // 32]) >> (value % 32)) & 1}


def _write_voting(graph: Graph, model: Any, features: str, n_features: int, prefix: str) -> str:
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


def _write_network(graph: Graph, model: Any, features: str, prefix: str) -> str:
    from studio.core.models.torch.export import INPUT_NAME, OUTPUT_NAME, network_program

    program = network_program(model, OPSET)
    floats = graph.op("Cast", [features], "float", to=FLOAT_TYPE)
    outputs = graph.absorb(program.model_proto, prefix, INPUT_NAME, floats)
    return graph.double(outputs[OUTPUT_NAME])


# -- the file ---------------------------------------------------------------------------------------------------
def _require_packages() -> None:
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("skl2onnx") is None \
            or importlib.util.find_spec("onnxruntime") is None:
        raise StudioError(MISSING_PACKAGES)


def _finish(graph: Graph, inputs: Inputs, raw: Any, outputs: list[Any]) -> tuple[Any, dict[str, str]]:
    """The checked ONNX model of ``graph``, its raw inputs in the table's order, and their kinds."""
    import onnx
    from onnx import TensorProto, helper

    order = [c for c in raw.columns if c in inputs.kinds]
    kinds = {c: inputs.kinds[c] for c in order}
    graph_inputs = [helper.make_tensor_value_info(
        c, TensorProto.STRING if kinds[c] in TEXT_TYPED_INPUTS else TensorProto.DOUBLE, ["rows", 1]) for c in order]
    body = helper.make_graph(graph.nodes, "studio_pipeline", graph_inputs, outputs, graph.initializers)
    proto = helper.make_model(body, opset_imports=[helper.make_opsetid(d, v) for d, v in graph.opsets.items()],
                              functions=graph.functions, producer_name="Studio")
    proto.ir_version = 10  # what onnxruntime 1.20 and later read
    onnx.checker.check_model(proto)
    helper.set_model_props(proto, _input_props(inputs, kinds))
    return proto, kinds


def _input_props(inputs: Inputs, kinds: dict[str, str]) -> dict[str, str]:
    """What a caller needs to feed the file, kept in it: each input's kind and what that kind means."""
    props = {"inputs": json.dumps(kinds),
             "input_kinds": json.dumps({kind: INPUT_CONTRACT[kind] for kind in dict.fromkeys(kinds.values())}),
             "gaps": "numbers and dates: NaN; categories and free text: an empty string"}
    formats = {c: inputs.date_formats.get(c, "") for c, kind in kinds.items() if kind == DATE_INPUT}
    if formats:
        # How Studio reads these columns when they hold text ("" lets pandas guess), for callers that parse alike.
        props["date_formats"] = json.dumps(formats)
    if inputs.text_locale:
        props["text_locale"] = inputs.text_locale
    return props


def build_pipeline_onnx(pipeline: Any) -> tuple[Any, dict[str, str], bool]:
    """The ONNX model of the whole pipeline, the kind of each raw input (see INPUT_CONTRACT), and whether it
    classifies."""
    _require_packages()
    from onnx import TensorProto, helper

    if not hasattr(pipeline, "steps") or len(pipeline.steps) != 2:
        raise StudioError("Only a model trained in Studio, with its preparation, can be written as ONNX this way.")
    prep, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    threshold = decision_threshold(model)
    model = inner_model(model)
    graph = Graph()
    inputs = Inputs()
    features = write_preparation(graph, prep, inputs)
    n_features = len(prep.named_steps["columns"].get_feature_names_out())
    answer = _write_model(graph, model, features, n_features)
    classification = hasattr(model, "classes_")
    raw, _columns = prep_parts(prep)
    if classification:
        classes = np.array([str(c) for c in model.classes_], dtype=object)
        best = (graph.op("ArgMax", [answer], "best", axis=1, keepdims=0) if threshold is None
                else _thresholded_choice(graph, answer, classes, *threshold))
        graph.nodes.append(helper.make_node("Gather", [graph.const(classes, "class_names"), best], [LABEL_OUTPUT]))
        graph.nodes.append(helper.make_node("Cast", [answer], [PROBABILITIES_OUTPUT], to=TensorProto.FLOAT))
        outputs = [helper.make_tensor_value_info(LABEL_OUTPUT, TensorProto.STRING, ["rows"]),
                   helper.make_tensor_value_info(PROBABILITIES_OUTPUT, TensorProto.FLOAT, ["rows", len(classes)])]
    else:
        graph.nodes.append(helper.make_node("Cast", [answer], [VALUE_OUTPUT], to=TensorProto.FLOAT))
        outputs = [helper.make_tensor_value_info(VALUE_OUTPUT, TensorProto.FLOAT, ["rows"])]
    proto, kinds = _finish(graph, inputs, raw, outputs)
    return proto, kinds, classification


def _thresholded_choice(graph: Graph, answer: str, classes: np.ndarray, positive: str, threshold: float) -> str:
    """The index of the predicted class under a two-class model's decision threshold, as the model's own
    FixedThresholdClassifier decides it: the positive class from ``threshold`` of its probability on."""
    index = class_index(classes, positive)
    probability = graph.double(graph.op("Gather", [answer, graph.const(np.array(index, dtype=np.int64),
                                                                         "positive_index")], axis=1))
    called = graph.op("GreaterOrEqual", [probability, graph.const(np.array(threshold, dtype=np.float64),
                                                                  "threshold")])
    return graph.op("Where", [called, graph.const(np.array(index, dtype=np.int64), "positive_class"),
                              graph.const(np.array(1 - index, dtype=np.int64), "other_class")])


def build_preparation_onnx(prep: Any) -> tuple[Any, dict[str, str]]:
    """The preparation alone as ONNX: raw inputs to the prepared features ("features", (rows, features), double),
    for finding which column a file that disagrees with Studio got wrong."""
    _require_packages()
    from onnx import TensorProto, helper

    graph = Graph()
    inputs = Inputs()
    features = write_preparation(graph, prep, inputs)
    graph.nodes.append(helper.make_node("Identity", [features], ["features"]))
    raw, _columns = prep_parts(prep)
    return _finish(graph, inputs, raw, [helper.make_tensor_value_info("features", TensorProto.DOUBLE,
                                                                      ["rows", None])])


def onnx_refusal(pipeline: Any) -> str:
    """Why this pipeline cannot be written as ONNX, in a sentence ("" when it can): the graph is built, as the
    export builds it, but not run or checked against Studio."""
    try:
        build_pipeline_onnx(pipeline)
    except StudioError as exc:
        return str(exc)
    except Exception as exc:  # the onnx checker's or a converter's own failures
        return f"The ONNX file could not be built: {first_line(exc)}"
    return ""


def onnx_refusal_of_model(pipeline: Any) -> str:
    """Why the fitted model part of ``pipeline`` cannot be written as ONNX, in a sentence ("" when it can), from
    what it is made of, without building the graph: building it imports onnx (0.7 s holding the interpreter) and
    converts every tree, which held the window up for most of a second when a model card was written. The
    preparation's part is told by ``onnx_refusal_of_settings``; the export itself still checks the written file."""
    from studio.core.models.ensemble_export import NETWORK_REASON, _is_network, _member_label

    model = inner_model(pipeline.steps[-1][1]) if hasattr(pipeline, "steps") else pipeline
    if type(model).__name__ in ("VotingClassifier", "VotingRegressor"):
        networks = [_member_label(name) for (name, _unfitted), member in
                    zip(model.estimators, model.estimators_, strict=True) if _is_network(member)]
        if networks:
            return (f"This ensemble cannot be written as ONNX: {', '.join(networks)} ({NETWORK_REASON}). The Studio "
                    "model file predicts with it as usual.")
        if hasattr(model, "classes_") and getattr(model, "voting", "soft") != "soft":
            return "An ensemble that votes by majority has no probabilities to write as ONNX."
    return ""


def onnx_refusal_of_settings(prep: Any, target: str | None) -> str:
    """From the preparation's settings alone (a PrepConfig), the first column ONNX could not write, in a sentence
    ("" for none): for a saved model whose fitted pipeline is not at hand."""
    return settings_refusal(prep, target)


def onnx_feeds(rows: pd.DataFrame, kinds: dict[str, str],
               date_formats: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Raw rows as the file's inputs, read as Studio reads them: numbers from text, categories as trimmed text,
    dates as seconds since 1970-01-01 UTC (read with ``date_formats``' format for their column, if any), free text
    as it is."""
    from studio.core.prep.values import column_to_text, frame_to_categories, frame_to_numbers

    feeds: dict[str, np.ndarray] = {}
    for column, kind in kinds.items():
        values = rows[[column]] if column in rows.columns else pd.DataFrame({column: [np.nan] * len(rows)})
        if kind == NUMBER_INPUT:
            feeds[column] = frame_to_numbers(values).astype(np.float64).reshape(-1, 1)
        elif kind == DATE_INPUT:
            feeds[column] = date_seconds(values[column], (date_formats or {}).get(column, "")).reshape(-1, 1)
        elif kind == TEXT_INPUT:
            feeds[column] = np.array(column_to_text(values), dtype=object).reshape(-1, 1)
        else:
            texts = frame_to_categories(values).reshape(-1)
            feeds[column] = np.array([MISSING_TEXT if isinstance(t, float) else str(t) for t in texts],
                                     dtype=object).reshape(-1, 1)
    return feeds


def _date_formats(proto: Any) -> dict[str, str]:
    props = {p.key: p.value for p in proto.metadata_props}
    formats = json.loads(props.get("date_formats", "{}"))
    return {str(k): str(v) for k, v in formats.items()} if isinstance(formats, dict) else {}


def check_against_pipeline(proto: Any, pipeline: Any, kinds: dict[str, str], classification: bool,
                           rows: pd.DataFrame) -> tuple[float, int]:
    """(largest difference, labels differing) between the ONNX model and the pipeline on ``rows``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    answers = session.run(None, onnx_feeds(rows, kinds, _date_formats(proto)))
    if classification:
        expected = np.asarray(pipeline.predict_proba(rows), dtype=float)
        labels = np.asarray([str(v) for v in pipeline.predict(rows)], dtype=object)
        largest = float(np.max(np.abs(answers[1] - expected))) if len(rows) else 0.0
        return largest, int(np.sum(np.asarray(answers[0], dtype=object).reshape(-1) != labels))
    expected = np.asarray(pipeline.predict(rows), dtype=float).reshape(-1)
    got = np.asarray(answers[0], dtype=float).reshape(-1)
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-9)
    return (float(np.max(relative)) if len(rows) else 0.0), 0


# A prepared feature further than this from Studio's (relative, or absolute below 1) is a column written wrong:
# the preparation runs in double, so an agreeing column is off by rounding only.
FEATURE_TOLERANCE = 1e-7


def preparation_differences(pipeline: Any, rows: pd.DataFrame) -> list[tuple[str, str, float]]:
    """For each column, what is done with it and how far its prepared features in ONNX are from Studio's on
    ``rows`` (relative, or absolute below 1; inf where one side has a gap), largest first."""
    import onnxruntime

    prep = pipeline.steps[0][1]
    proto, kinds = build_preparation_onnx(prep)
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = np.asarray(session.run(None, onnx_feeds(rows, kinds, _date_formats(proto)))[0], dtype=float)
    expected = np.asarray(prep.transform(rows), dtype=float)
    raw, columns = prep_parts(prep)
    formulas = dict(getattr(raw, "derived", ()))
    pieces = {name: (column, pipe) for name, column, pipe in column_pieces(prep)}
    found: list[tuple[str, str, float]] = []
    for name, part in columns.output_indices_.items():
        if name not in pieces or part.stop == part.start:
            continue
        ours, theirs = got[:, part], expected[:, part]
        with np.errstate(invalid="ignore"):
            gap = np.isnan(ours) != np.isnan(theirs)
            distance = np.abs(ours - theirs) / np.maximum(1.0, np.abs(theirs))
        largest = float("inf") if gap.any() else float(np.nanmax(distance, initial=0.0))
        column, pipe = pieces[name]
        what = f"computed by the formula {formulas[column]}" if column in formulas else describe_piece(pipe)
        found.append((column, what, largest))
    return sorted(found, key=lambda item: -item[2])


def _explain_difference(pipeline: Any, rows: pd.DataFrame) -> str:
    """A sentence naming the column whose preparation in ONNX differs from Studio's, or "" when none does (the
    model itself then differs) or it cannot be told."""
    try:
        found = preparation_differences(pipeline, rows)
    except Exception:  # only an explanation: the export is refused either way
        return ""
    if not found or not found[0][2] > FEATURE_TOLERANCE:
        return ""
    column, what, largest = found[0]
    by = "gaps where Studio has values, or the other way round" if largest == float("inf") \
        else f"differences up to {largest:.2g}"
    return f" The column '{column}' ({what}) comes out of ONNX unlike Studio on these rows ({by})."


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
                          f"{largest:.2g} {what}, {differing} predicted classes differing), so it was not written."
                          + _explain_difference(pipeline, check_rows))
    meta = {**{p.key: p.value for p in proto.metadata_props}, "made_by": "Studio",
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
