"""The types a Studio model file may hold beyond what skops trusts by itself: exactly the pieces Studio writes.

skops stores a pipeline as plain data and rebuilds only the types it is told to trust; scikit-learn's estimators,
numpy arrays and Python's plain containers it trusts already. Everything else a Studio pipeline holds is named
here. A file that needs any other type was not made by this Studio (or was changed), and is refused unopened.
``tests/core/test_model_file.py`` trains every model family with every kind of preparation and checks that the
files need nothing outside this list.
"""

from __future__ import annotations

STUDIO_TYPES = frozenset({
    # The preparation (studio.core.prep): the raw-row reader, the outlier clipper and the functions its
    # FunctionTransformers call.
    "studio.core.prep.build.OutlierClipper",
    "studio.core.prep.build.RawInputs",
    "studio.core.prep.values.column_to_text",
    "studio.core.prep.values.date_part_names",
    "studio.core.prep.values.FeatureNames",
    "studio.core.prep.values.feature_name",
    "studio.core.prep.values.frame_to_categories",
    "studio.core.prep.values.frame_to_date_parts",
    "studio.core.prep.values.frame_to_numbers",
    "studio.core.prep.values.same_names",
    # The neural networks (their weights are kept as numpy arrays; see models/torch/estimators.py).
    "studio.core.models.torch.estimators.NetworkClassifier",
    "studio.core.models.torch.estimators.NetworkRegressor",
    # Pictures: the reader of image files, the picture network (its weights kept as numpy arrays and its
    # architecture by name; see models/torch/image_nets.py) and the pixel baseline's shrinking step.
    "studio.core.prep.image_reader.ImageReader",
    "studio.core.models.torch.image_estimator.ImageClassifier",
    "studio.core.models.pixels.PixelShrinker",
    # scikit-learn's own internals that skops does not list as trusted.
    "numpy.dtype",
    # Gradient boosting that splits on categories keeps a small preparation of its own, whose numbers step is
    # check_array with fixed settings.
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.model_selection._split.KFold",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",
})
