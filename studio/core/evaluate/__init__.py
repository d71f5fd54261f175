"""Evaluation of a fitted Pipeline: metrics, cross-validation, details for the Results page, diagnosis and
explanations."""
