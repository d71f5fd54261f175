"""Models described as data: every estimator Studio offers and its hyperparameters."""
