"""The scikit-learn model families, each described as a ModelSpec with plain-language settings.

Builders import scikit-learn lazily so that starting the app does not pay for it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from studio.core.data.target import Task
from studio.core.models.params import ParamKind, ParamSpec, ParamValue, float_param, int_param
from studio.core.models.pipeline_onnx import pipeline_onnx_job
from studio.core.models.spec import CATEGORY_SPLITS, Growth, ModelSpec, SearchPolicy, register

if TYPE_CHECKING:
    pass

BOTH = (Task.CLASSIFICATION, Task.REGRESSION)
SEED = 0
# Sizes above which the automatic search leaves a family out: kernel machines and neighbours grow slow with rows,
# and on wide tables kernel machines, neighbours and single trees rarely win.
SVM_MAX_ROWS = 10_000
KNN_MAX_ROWS = 50_000
WIDE_COLUMNS = 100
LINEAR_UNDERFIT = "Try a more flexible model, such as gradient boosting or a random forest."
TREE_UNDERFIT = "Allow more complexity: a larger 'Maximum depth', more 'Rounds' or a smaller 'Smallest group'."


def _p(name: str, label: str, help: str, kind: ParamKind, default: ParamValue, **extra: Any) -> ParamSpec:
    return ParamSpec(name, label, help, kind, default, **extra)


MAX_DEPTH = _p(
    "max_depth", "Maximum depth", "How many yes/no questions a tree may ask in a row. Deeper trees fit the "
    "training rows more closely but may memorise noise.", ParamKind.INT, None, low=1, high=100,
    none_label="No limit")
MIN_LEAF = _p(
    "min_samples_leaf", "Smallest group", "The fewest training rows a final answer may rest on. Larger values give "
    "smoother, more cautious models.", ParamKind.INT, 1, low=1, high=1000, log=True)


def _logistic(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=p["C"], max_iter=int_param(p, "max_iter"),
                              class_weight="balanced" if p["balanced"] else None)


register(ModelSpec(
    key="logistic_regression",
    label="Logistic regression",
    description="Weighs each input and adds them up to score every class. Fast, easy to explain, a good first "
    "try; it cannot capture interactions between columns on its own.",
    tasks=(Task.CLASSIFICATION,),
    params=(
        _p("C", "Flexibility", "Higher values let the model follow the training rows more closely; lower values "
           "keep the weights small and the model simple.", ParamKind.FLOAT, 1.0, low=1e-4, high=1e4, log=True,
           search_range=(1e-3, 1e2, True)),
        _p("max_iter", "Training steps", "The most improvement steps the solver may take.", ParamKind.INT, 1000,
           low=50, high=100_000, log=True, tunable=False),
        _p("balanced", "Balance classes", "Give rare classes as much weight as common ones.", ParamKind.BOOL, False),
    ),
    build=_logistic,
    onnx_export=pipeline_onnx_job,
    search=SearchPolicy(rank=0, quick=True),
    overfit_tip="Lower 'Flexibility' so the weights stay small.",
    underfit_tip=LINEAR_UNDERFIT,
))


def _linear(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.linear_model import LinearRegression, Ridge

    alpha = float_param(p, "alpha")
    return Ridge(alpha=alpha) if alpha > 0 else LinearRegression()


register(ModelSpec(
    key="linear_regression",
    label="Linear regression",
    description="Predicts a number as a weighted sum of the inputs. Fast and easy to explain; it draws straight "
    "lines, so curved relationships need engineered features.",
    tasks=(Task.REGRESSION,),
    params=(
        _p("alpha", "Shrinkage", "How strongly weights are pulled towards zero (ridge). 0 is plain least squares; "
           "more shrinkage helps with many or related columns.", ParamKind.FLOAT, 1.0, low=0.0, high=1e4,
           search_range=(1e-3, 1e3, True)),
    ),
    build=_linear,
    onnx_export=pipeline_onnx_job,
    search=SearchPolicy(rank=1, quick=True),
    underfit_tip=LINEAR_UNDERFIT,
))


def _tree(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeClassifier if task is Task.CLASSIFICATION else DecisionTreeRegressor
    kwargs: dict[str, Any] = {"class_weight": "balanced"} if p.get("balanced") else {}
    return cls(max_depth=p["max_depth"], min_samples_leaf=int_param(p, "min_samples_leaf"), random_state=SEED, **kwargs)


register(ModelSpec(
    key="decision_tree",
    label="Decision tree",
    description="A flowchart of yes/no questions about the columns. Easy to read, but a single tree is often less "
    "accurate than a forest.",
    tasks=BOTH,
    params=(
        _p("max_depth", MAX_DEPTH.label, MAX_DEPTH.help, ParamKind.INT, 6, low=1, high=100, none_label="No limit",
           search_range=(2, 30, False)),
        _p("min_samples_leaf", MIN_LEAF.label, MIN_LEAF.help, ParamKind.INT, 5, low=1, high=1000, log=True,
           search_range=(1, 50, True)),
        _p("balanced", "Balance classes", "Give rare classes as much weight as common ones.", ParamKind.BOOL,
           False, only_for="classification"),
    ),
    build=_tree,
    onnx_export=pipeline_onnx_job,
    search=SearchPolicy(rank=6, max_columns=WIDE_COLUMNS, newcomers_before=True),
    overfit_tip="Lower 'Maximum depth' or raise 'Smallest group' so the tree asks fewer, broader questions.",
    underfit_tip=TREE_UNDERFIT,
))


# A forest's file grows with its leaves: every training row can end in a leaf of its own in every tree, so a
# 200-tree forest on 38,000 rows made a 113 MB file that took seconds to save and open. About this many leaves in
# all keep a file near 15 MB; the automatic "Smallest group" is the share of the rows that gives that many.
FOREST_LEAVES = 750_000
BOOTSTRAP_SHARE = 0.632  # the distinct rows a tree sees in its bootstrap sample


def forest_leaf_share(trees: int) -> float:
    """The automatic smallest group, as a share of the training rows (scikit-learn's float min_samples_leaf): one
    row per leaf up to about 12,000 rows at 100 trees, more on larger tables so the file stays small."""
    return trees * BOOTSTRAP_SHARE / FOREST_LEAVES


def _forest(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    if p.get("splits") == "random":
        cls: type = ExtraTreesClassifier if task is Task.CLASSIFICATION else ExtraTreesRegressor
    else:
        cls = RandomForestClassifier if task is Task.CLASSIFICATION else RandomForestRegressor
    max_features = {"sqrt": "sqrt", "third": 0.33, "all": None}[str(p["max_features"])]
    kwargs: dict[str, Any] = {}
    if p.get("balanced"):
        kwargs["class_weight"] = "balanced"
    trees = int_param(p, "n_estimators")
    leaf = p.get("min_samples_leaf")
    return cls(n_estimators=trees, max_depth=p["max_depth"],
               min_samples_leaf=int(leaf) if leaf is not None else forest_leaf_share(trees),
               max_features=max_features,
               n_jobs=-1, random_state=SEED, **kwargs)


register(ModelSpec(
    key="random_forest",
    label="Random forest",
    description="Many decision trees, each trained on a random share of the rows, voting together. Accurate on "
    "most tables with little tuning; a strong default.",
    tasks=BOTH,
    params=(
        # 100, scikit-learn's own default: 200 trees gave the same errors (diamond prices: 545.2 against 545.0)
        # in a file twice the size.
        _p("n_estimators", "Number of trees", "More trees give steadier predictions and take longer to train.",
           ParamKind.INT, 100, low=1, high=5000, log=True, search_range=(50, 400, True)),
        replace(MAX_DEPTH, search_range=(4, 40, False)),
        replace(MIN_LEAF, default=None, none_label="Automatic (1 row; more on large tables, so the file stays "
                "small)", search_range=(1, 20, True)),
        _p("max_features", "Columns per question", "How many columns each question may choose from. Fewer makes "
           "the trees more different from each other.", ParamKind.CHOICE, "sqrt",
           choices=(("sqrt", "Square root of the column count"), ("third", "A third of the columns"),
                    ("all", "All columns")),
           task_defaults=(("regression", "third"),)),
        _p("splits", "Where questions split", "A random forest looks for the best dividing value of each column it "
           "considers; extremely randomised trees draw the dividing values at random and keep the best of those. "
           "Random splits train faster and give smoother answers, which can win on noisy tables.",
           ParamKind.CHOICE, "best", choices=(("best", "Best value (random forest)"),
                                              ("random", "Random values (extremely randomised trees)")),
           advanced=True),
        _p("balanced", "Balance classes", "Give rare classes as much weight as common ones.", ParamKind.BOOL,
           False, only_for="classification"),
    ),
    build=_forest,
    onnx_export=pipeline_onnx_job,
    growth=Growth.TREES,
    growth_param="n_estimators",
    search=SearchPolicy(rank=3),
    # A dozen trees tell whether a forest suits the table; the search adds trees where more of them pay.
    cost_params=(("n_estimators", 12),),
    parallel_fit=True,
    overfit_tip="Set a 'Maximum depth' (e.g. 8) or raise 'Smallest group' so each tree memorises less.",
    underfit_tip=TREE_UNDERFIT,
))


def _boosting(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if task is Task.CLASSIFICATION else HistGradientBoostingRegressor
    kwargs: dict[str, Any] = {}
    if p.get("balanced"):
        kwargs["class_weight"] = "balanced"
    return cls(learning_rate=p["learning_rate"], max_iter=int_param(p, "max_iter"),
               max_leaf_nodes=int_param(p, "max_leaf_nodes"), l2_regularization=p["l2_regularization"],
               min_samples_leaf=int_param(p, "min_samples_leaf"), early_stopping=False, random_state=SEED, **kwargs)


register(ModelSpec(
    key="gradient_boosting",
    label="Gradient boosting",
    description="Adds small trees one after another, each correcting the errors of those before. Often the most "
    "accurate choice for tables; watch the curve for when extra rounds stop helping.",
    tasks=BOTH,
    params=(
        _p("learning_rate", "Learning rate", "How big a step each new tree takes. Smaller steps need more rounds "
           "but usually generalise better.", ParamKind.FLOAT, 0.1, low=0.001, high=1.0, log=True,
           search_range=(0.01, 0.3, True)),
        _p("max_iter", "Rounds", "How many trees are added one after another.", ParamKind.INT, 200, low=1,
           high=5000, log=True, search_range=(50, 800, True)),
        _p("max_leaf_nodes", "Leaves per tree", "How many final answers each small tree may have.", ParamKind.INT,
           31, low=2, high=1024, log=True, search_range=(8, 128, True)),
        _p("min_samples_leaf", MIN_LEAF.label, MIN_LEAF.help, ParamKind.INT, 20, low=1, high=1000, log=True,
           search_range=(2, 100, True)),
        _p("l2_regularization", "Shrinkage", "Pulls each leaf's answer towards zero; helps against noisy rows.",
           ParamKind.FLOAT, 0.0, low=0.0, high=100.0, search_range=(0.0, 10.0, False)),
        _p("balanced", "Balance classes", "Give rare classes as much weight as common ones.", ParamKind.BOOL,
           False, only_for="classification"),
        _p(CATEGORY_SPLITS, "Category columns", "Whether the trees ask about a category column's values directly "
           "(one column of codes: quicker on columns with many values) or about one yes/no column per value.",
           ParamKind.CHOICE, "auto",
           choices=(("auto", "Automatic: directly when the categories would make many columns"),
                    ("codes", "Directly"), ("one_hot", "One yes/no column per value")),
           advanced=True, tunable=False),
    ),
    build=_boosting,
    onnx_export=pipeline_onnx_job,
    growth=Growth.ROUNDS,
    growth_param="max_iter",
    search=SearchPolicy(rank=2),
    # Few rounds of small trees first (FLAML starts its boosting at 4 trees of 4 leaves); the search grows both
    # where the score improves.
    cost_params=(("max_iter", 24), ("max_leaf_nodes", 8)),
    category_codes="categorical_features",
    overfit_tip="Use fewer 'Rounds' or a smaller 'Learning rate', or raise 'Shrinkage'.",
    underfit_tip=TREE_UNDERFIT,
    # Slower learning, smaller trees and more rows per leaf: on noisy tables of a few thousand rows (survey
    # answers, visits to a doctor) this scored 2 to 4% better in cross-validation than the defaults.
    search_starts=((("learning_rate", 0.05), ("max_leaf_nodes", 8), ("min_samples_leaf", 50),
                    ("l2_regularization", 1.0)),),
))


def _knn(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if task is Task.CLASSIFICATION else KNeighborsRegressor
    return cls(n_neighbors=int_param(p, "n_neighbors"), weights=str(p["weights"]))


register(ModelSpec(
    key="knn",
    label="k-nearest neighbours",
    description="Looks up the most similar training rows and goes with their answer. Simple and needs no real "
    "training, but predicting gets slow on large tables.",
    tasks=BOTH,
    params=(
        _p("n_neighbors", "Neighbours", "How many similar rows are asked. More neighbours give smoother, less "
           "jumpy answers.", ParamKind.INT, 5, low=1, high=500, log=True, search_range=(1, 50, True)),
        _p("weights", "Closer counts more", "Whether nearer rows get a bigger say than farther ones.",
           ParamKind.CHOICE, "distance", choices=(("uniform", "All neighbours equal"),
                                                  ("distance", "Nearer neighbours count more"))),
    ),
    build=_knn,
    onnx_export=pipeline_onnx_job,
    search=SearchPolicy(rank=4, quick=True, max_rows=KNN_MAX_ROWS, max_columns=WIDE_COLUMNS),
    overfit_tip="Ask more 'Neighbours' for smoother answers.",
))


def _svm(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    if task is Task.CLASSIFICATION:
        # Calibration gives class probabilities (for ROC AUC and the prediction file) from one final SVC.
        svc = SVC(C=p["C"], kernel=str(p["kernel"]), gamma="scale", random_state=SEED,
                  class_weight="balanced" if p.get("balanced") else None)
        return CalibratedClassifierCV(svc, ensemble=False, cv=3)
    # SVR's epsilon and C assume a target of unit scale; without this, targets in the thousands (grams, prices)
    # give a model that predicts almost a constant.
    return TransformedTargetRegressor(SVR(C=p["C"], kernel=str(p["kernel"]), gamma="scale", epsilon=p["epsilon"]),
                                      transformer=StandardScaler())


register(ModelSpec(
    key="svm",
    label="Support vector machine",
    description="Finds the widest possible margin between classes, bending it with a kernel where needed. Strong "
    "on small and medium tables; slow beyond tens of thousands of rows.",
    tasks=BOTH,
    params=(
        _p("C", "Flexibility", "Higher values follow the training rows more closely; lower values give a smoother "
           "boundary.", ParamKind.FLOAT, 1.0, low=1e-3, high=1e4, log=True, search_range=(1e-2, 1e3, True)),
        _p("kernel", "Shape of boundary", "Straight (linear) or curved (RBF, polynomial) boundaries.",
           ParamKind.CHOICE, "rbf", choices=(("rbf", "Curved (RBF)"), ("linear", "Straight"),
                                             ("poly", "Polynomial"))),
        _p("epsilon", "Tolerance", "Errors smaller than this are ignored (in the target's scaled units).",
           ParamKind.FLOAT, 0.1, low=0.0, high=10.0, only_for="regression", search_range=(0.01, 1.0, True)),
        _p("balanced", "Balance classes", "Give rare classes as much weight as common ones.", ParamKind.BOOL,
           False, only_for="classification"),
    ),
    build=_svm,
    onnx_export=pipeline_onnx_job,
    search=SearchPolicy(rank=5, quick=True, max_rows=SVM_MAX_ROWS, max_columns=WIDE_COLUMNS),
    overfit_tip="Lower 'Flexibility' for a smoother boundary.",
))


def _bayes(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB(var_smoothing=p["var_smoothing"])


register(ModelSpec(
    key="naive_bayes",
    label="Naive Bayes",
    description="Estimates how likely each class is from each column separately, then combines them. Very fast "
    "and robust on small data; less accurate when columns depend on each other.",
    tasks=(Task.CLASSIFICATION,),
    params=(
        _p("var_smoothing", "Smoothing", "A small safety margin added to every spread; raise it if predictions are "
           "overconfident.", ParamKind.FLOAT, 1e-9, low=1e-12, high=1.0, log=True,
           search_range=(1e-12, 1e-3, True)),
    ),
    build=_bayes,
    onnx_export=pipeline_onnx_job,
    search=SearchPolicy(rank=7),
    underfit_tip=LINEAR_UNDERFIT,
))
