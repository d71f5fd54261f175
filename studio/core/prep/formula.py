"""Derived columns from formulas such as ``weight / height ** 2``, safely.

A formula is parsed with :mod:`ast` and only column names, numbers, arithmetic and a few named functions are
allowed; nothing is ever passed to ``eval``. Column names that are not Python names are written in backticks:
``log(`body mass (g)`)``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from studio.core.common.errors import DataError
from studio.core.data.profile import to_number

# What a formula's parts evaluate to: a column of numbers or a single number.
_Value = np.ndarray | float

FUNCTIONS: dict[str, Callable[..., _Value]] = {
    "log": np.log, "log1p": np.log1p, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs,
    "round": np.round, "floor": np.floor, "ceil": np.ceil, "min": np.fmin, "max": np.fmax,
}
_OPERATORS: dict[type[ast.operator], Callable[[_Value, _Value], _Value]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power,
    ast.Mod: np.mod, ast.FloorDiv: np.floor_divide,
}
_QUOTED = re.compile(r"`([^`]+)`")
MAX_FORMULA_LENGTH = 500


@dataclass(frozen=True)
class Formula:
    text: str
    tree: ast.Expression
    names: tuple[str, ...]  # the columns it reads
    _aliases: tuple[tuple[str, str], ...] = ()

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """The formula over ``frame``'s rows; numbers stored as text are read as numbers, gaps stay gaps."""
        columns = {alias: to_number(frame[name]).to_numpy(dtype=float) for alias, name in self._aliases}
        with np.errstate(all="ignore"):
            value = _evaluate(self.tree.body, columns)
        values = np.broadcast_to(np.asarray(value, dtype=float), (len(frame),)).copy()
        values[~np.isfinite(values)] = np.nan  # log(0), x / 0: a gap, filled like any other
        return pd.Series(values, index=frame.index)


def parse_formula(text: str, columns: Iterable[str]) -> Formula:
    """Check a formula as typed; raises DataError with a plain reason when it cannot be used."""
    known = list(columns)
    text = text.strip()
    if not text:
        raise DataError("Type a formula, e.g. weight / height ** 2.")
    if len(text) > MAX_FORMULA_LENGTH:
        raise DataError(f"The formula is too long (at most {MAX_FORMULA_LENGTH} characters).")
    aliases: dict[str, str] = {}

    def quote(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in known:
            raise DataError(f"There is no column called '{name}'.")
        alias = f"_col{len(aliases)}"
        aliases[alias] = name
        return alias

    try:
        tree = ast.parse(_QUOTED.sub(quote, text), mode="eval")
    except SyntaxError as exc:
        raise DataError(f"The formula is not complete or has a typo near character {exc.offset or 1}.") from None
    used: list[str] = []
    for node in ast.walk(tree):
        _check_node(node, known, aliases, used)
    names = tuple(dict.fromkeys(aliases.get(n, n) for n in used))
    pairs = tuple((n, aliases.get(n, n)) for n in dict.fromkeys(used))
    return Formula(text, tree, names, pairs)


def _check_node(node: ast.AST, known: list[str], aliases: dict[str, str], used: list[str]) -> None:
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else "this"
            raise DataError(f"'{name}' is not a function Studio knows. Use one of: {', '.join(FUNCTIONS)}.")
        if node.keywords or not 1 <= len(node.args) <= 2:
            raise DataError(f"{node.func.id}(…) takes one or two values separated by a comma.")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS or node.id in aliases:
            if node.id in aliases:
                used.append(node.id)
            return
        if node.id not in known:
            raise DataError(f"There is no column called '{node.id}'. Write names with spaces or symbols in "
                            "backticks, e.g. `body mass (g)`.")
        used.append(node.id)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise DataError(f"Only numbers can be written in a formula, not {node.value!r}.")
    elif isinstance(node, ast.BinOp | ast.UnaryOp):
        allowed = (*_OPERATORS, ast.UAdd, ast.USub)
        if not isinstance(node.op, allowed):
            raise DataError("Only + - * / // % and ** can be used between values.")
    elif not isinstance(node, ast.Expression | ast.Load | ast.operator | ast.unaryop):
        raise DataError("A formula can only hold column names, numbers, arithmetic and the functions "
                        f"{', '.join(FUNCTIONS)}.")


def _evaluate(node: ast.AST, columns: dict[str, np.ndarray]) -> _Value:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # _check_node lets no other constant through
        return float(node.value)
    if isinstance(node, ast.Name):
        return columns[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, columns)
        return np.negative(value) if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _OPERATORS[type(node.op)](_evaluate(node.left, columns), _evaluate(node.right, columns))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return FUNCTIONS[node.func.id](*(_evaluate(a, columns) for a in node.args))
    raise DataError("The formula holds something Studio cannot compute.")
