"""What a search is asked to do, as plain enums the Project and the window can name without loading the search."""

from __future__ import annotations

from enum import StrEnum


class TuneMode(StrEnum):
    MANUAL = "manual"  # no search: the model and its settings are chosen by hand
    TUNE = "tune"  # search the settings of one chosen model
    AUTO = "auto"  # search the model families and their settings

    @property
    def searches(self) -> bool:
        return self is not TuneMode.MANUAL


class SearchMethod(StrEnum):
    BAYES = "bayes"
    RANDOM = "random"
    GRID = "grid"

    @property
    def label(self) -> str:
        return {"bayes": "Smart search (Bayesian, Optuna)", "random": "Random search",
                "grid": "Grid search (every combination)"}[self.value]
