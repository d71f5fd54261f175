"""Derived columns: formulas are checked as typed and can never run arbitrary code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import DataError
from studio.core.prep.formula import parse_formula

COLUMNS = ["weight", "height", "body mass (g)", "label"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"weight": [70.0, 80.0, None, 60.0], "height": ["1.75", " 2 ", "1.6", "0"],
                         "body mass (g)": [1000, 2000, 3000, 4000], "label": list("abab")})


def test_arithmetic_over_columns_with_numbers_stored_as_text(frame: pd.DataFrame) -> None:
    formula = parse_formula("weight / height ** 2", COLUMNS)
    assert formula.names == ("weight", "height")
    values = formula.evaluate(frame)
    assert values.iloc[0] == pytest.approx(70 / 1.75 ** 2)
    assert values.iloc[1] == pytest.approx(20.0)
    # A gap stays a gap, and a division by zero becomes a gap rather than infinity.
    assert np.isnan(values.iloc[2]) and np.isnan(values.iloc[3])


def test_functions_backticks_and_unary_minus(frame: pd.DataFrame) -> None:
    formula = parse_formula("-log(`body mass (g)`) + sqrt(abs(weight)) + max(weight, 65)", COLUMNS)
    assert set(formula.names) == {"body mass (g)", "weight"}
    expected = -np.log(1000) + np.sqrt(70) + 70
    assert formula.evaluate(frame).iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize(("text", "message"), [
    ("weight / heigth", "no column called 'heigth'"),
    ("weight / (height", "not complete or has a typo"),
    ("__import__('os').system('echo hi')", "not a function Studio knows"),
    ("weight.real", "can only hold column names"),
    ("open('x')", "not a function Studio knows"),
    ("weight if height else 1", "can only hold column names"),
    ("'text' + weight", "Only numbers can be written"),
    ("(lambda: 1)()", "not a function Studio knows"),
    ("weight < height", "can only hold column names"),
    ("`no such column` * 2", "no column called 'no such column'"),
    ("", "Type a formula"),
    ("log(weight, height, 2)", "takes one value, or two"),
])
def test_bad_formulas_get_a_plain_reason(text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_formula(text, COLUMNS)
