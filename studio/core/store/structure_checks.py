"""Checks on the index arrays inside a reopened model, before it is ever asked to predict.

Decision trees, boosting trees and neighbour-search trees follow node and row numbers stored in the file without
checking them (in compiled code, for speed). A file changed by hand could point them outside their arrays and crash
the program, or read memory it should not. Every number they follow is checked here against the arrays it indexes;
a model that fails is refused in words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.core.common.errors import ModelFileError

# How deep the walk through nested estimators goes (a pipeline of a voting ensemble of calibrated models of trees
# is about 8 deep); deeper structures are not something Studio writes.
MAX_DEPTH = 40


def check_structures(model: Any, name: str) -> None:
    """Raise ModelFileError when a tree or neighbour index inside ``model`` points outside its arrays."""
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.neighbors import BallTree, KDTree
    from sklearn.tree._tree import Tree

    for found in _walk(model):
        if isinstance(found, Tree):
            problem = _tree_problem(found)
        elif isinstance(found, TreePredictor):
            problem = _predictor_problem(found)
        elif isinstance(found, KDTree | BallTree):
            problem = _neighbours_problem(found)
        else:
            continue
        if problem:
            raise ModelFileError(f"{name} is damaged or was changed by hand: {problem}. It was not opened.")


def _walk(root: Any) -> list[Any]:
    """Every object reachable from ``root`` through attributes, lists, tuples and dicts (each once)."""
    seen: set[int] = set()
    found: list[Any] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        value, depth = stack.pop()
        if id(value) in seen or depth > MAX_DEPTH or isinstance(value, str | bytes | int | float | np.ndarray):
            continue
        seen.add(id(value))
        found.append(value)
        if isinstance(value, dict):
            children: list[Any] = list(value.values())
        elif isinstance(value, list | tuple):
            children = list(value)
        else:
            children = list(getattr(value, "__dict__", {}).values())
        stack.extend((child, depth + 1) for child in children)
    return found


def _tree_problem(tree: Any) -> str:
    count = int(tree.node_count)
    left, right, feature = (np.asarray(a) for a in (tree.children_left, tree.children_right, tree.feature))
    if not (len(left) == len(right) == len(feature) == count) or np.asarray(tree.value).shape[0] != count:
        return "a decision tree's parts do not agree in size"
    nodes = np.arange(count)
    leaf = left == -1
    if np.any(leaf != (right == -1)):
        return "a decision tree has a node with one branch"
    inner = ~leaf
    # sklearn numbers nodes depth first: a child always comes after its parent, so no path can loop.
    if np.any((left[inner] <= nodes[inner]) | (left[inner] >= count) | (right[inner] <= nodes[inner])
              | (right[inner] >= count)):
        return "a decision tree points outside its own nodes"
    if np.any((feature[inner] < 0) | (feature[inner] >= int(tree.n_features))):
        return "a decision tree asks about a column it does not have"
    return ""


def _predictor_problem(predictor: Any) -> str:
    nodes = np.asarray(predictor.nodes)
    count = len(nodes)
    if count == 0:
        return "a boosting tree has no nodes"
    indices = np.arange(count)
    inner = ~nodes["is_leaf"].astype(bool)
    left, right = nodes["left"].astype(np.int64), nodes["right"].astype(np.int64)
    if np.any((left[inner] <= indices[inner]) | (left[inner] >= count) | (right[inner] <= indices[inner])
              | (right[inner] >= count)):
        return "a boosting tree points outside its own nodes"
    if np.any(nodes["feature_idx"][inner] < 0):
        return "a boosting tree asks about a column it does not have"
    categorical = inner & nodes["is_categorical"].astype(bool)
    if np.any(categorical):
        bitsets = min(len(predictor.binned_left_cat_bitsets), len(predictor.raw_left_cat_bitsets))
        if np.any(nodes["bitset_idx"][categorical] >= bitsets):
            return "a boosting tree points outside its category lists"
    return ""


def _neighbours_problem(tree: Any) -> str:
    data, order, node_data, _bounds = tree.get_arrays()
    rows = len(np.asarray(data))
    order, node_data = np.asarray(order), np.asarray(node_data)
    if len(order) != rows or (rows and (order.min() < 0 or order.max() >= rows)):
        return "a neighbour search points outside its rows"
    if len(node_data) and (np.any(node_data["idx_start"] < 0) or np.any(node_data["idx_end"] > rows)
                           or np.any(node_data["idx_start"] > node_data["idx_end"])):
        return "a neighbour search points outside its rows"
    return ""
