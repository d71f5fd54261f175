"""Searching models and settings: search spaces, the worker-process pool, the scheduler and ensembles."""
