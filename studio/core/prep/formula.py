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
from studio.core.data.profile import to_number, too_large

# What a formula's parts evaluate to: a column of numbers or a single number.
_Value = np.ndarray | float

FUNCTIONS: dict[str, Callable[..., _Value]] = {
    "log": np.log, "log1p": np.log1p, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs,
    "round": np.round, "floor": np.floor, "ceil": np.ceil, "min": np.fmin, "max": np.fmax,
}
# How many values each function takes, with the words the editor says when it is given another count.
_ARITY: dict[str, tuple[int, int, str]] = {
    "log": (1, 2, "one value, or two: the value and the base, e.g. log(price) or log(price, 2)"),
    "round": (1, 2, "one value, or two: the value and how many decimals, e.g. round(price, 2)"),
    "min": (2, 2, "two values, e.g. min(price, 100)"),
    "max": (2, 2, "two values, e.g. max(price, 0)"),
}
_OPERATORS: dict[type[ast.operator], Callable[[_Value, _Value], _Value]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power,
    ast.Mod: np.mod, ast.FloorDiv: np.floor_divide,
}
_QUOTED = re.compile(r"`([^`]+)`")
_WORD = re.compile(r"\w+")
MAX_FORMULA_LENGTH = 500
MAX_DECIMALS = 15


@dataclass(frozen=True)
class Formula:
    text: str
    tree: ast.Expression
    names: tuple[str, ...]  # the columns it reads
    _aliases: tuple[tuple[str, str], ...] = ()

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """The formula over ``frame``'s rows; numbers stored as text are read as numbers, gaps stay gaps."""
        absent = [name for _, name in self._aliases if name not in frame.columns]
        if absent:
            raise DataError(f"The formula {self.text} reads the column '{absent[0]}', which the data lacks.")
        columns = {alias: _finite(to_number(frame[name]).to_numpy(dtype=float)) for alias, name in self._aliases}
        try:
            with np.errstate(all="ignore"):
                value = _evaluate(self.tree.body, columns)
            values = np.broadcast_to(np.asarray(value, dtype=float), (len(frame),)).copy()
        except (ArithmeticError, TypeError, ValueError, KeyError) as exc:
            # parse_formula lets through only what computes; this is the last word should that ever miss one.
            raise DataError(f"The formula {self.text} cannot be computed ({type(exc).__name__}).") from None
        values[~np.isfinite(values)] = np.nan  # log(0), x / 0: a gap, filled like any other
        return pd.Series(values, index=frame.index)


def _finite(values: np.ndarray) -> np.ndarray:
    """An infinite number read as a gap, like text in a number column: as the preparation reads it (and the ONNX
    file's inputs)."""
    return np.where(too_large(values), np.nan, values)


def parse_formula(text: str, columns: Iterable[str]) -> Formula:
    """Check a formula as typed; raises DataError with a plain reason when it cannot be used.

    Checked completely: what passes computes for any numbers (gaps, zeros and overflows become gaps)."""
    known = list(dict.fromkeys(str(c) for c in columns))
    text = text.strip()
    if not text:
        raise DataError("Type a formula, e.g. weight / height ** 2.")
    if len(text) > MAX_FORMULA_LENGTH:
        raise DataError(f"The formula is too long (at most {MAX_FORMULA_LENGTH} characters).")
    # A backticked name is read through an alias, a Python name no column has and the formula does not use:
    # a real column called `_col0` must not be mistaken for the first backticked one.
    taken = set(known) | set(_WORD.findall(_QUOTED.sub(" ", text)))
    aliases: dict[str, str] = {}
    by_name: dict[str, str] = {}

    def quote(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in known:
            raise DataError(f"There is no column called '{name}'.")
        if name not in by_name:
            alias = f"_col{len(aliases)}"
            while alias in taken:
                alias = "_" + alias
            taken.add(alias)
            aliases[alias] = name
            by_name[name] = alias
        return by_name[name]

    source = _QUOTED.sub(quote, text)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise DataError(f"The formula is not complete or has a typo near character {exc.offset or 1}.") from None
    except (RecursionError, MemoryError):
        raise DataError("The formula has too many brackets inside brackets.") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            _check_size(node.value, ast.get_source_segment(source, node) or str(node.value))
    used: list[str] = []
    _check(tree.body, known, aliases, used)
    names = tuple(dict.fromkeys(aliases.get(n, n) for n in used))
    pairs = tuple((n, aliases.get(n, n)) for n in dict.fromkeys(used))
    return Formula(text, tree, names, pairs)


def _check(node: ast.AST, known: list[str], aliases: dict[str, str], used: list[str]) -> None:
    """Every part of the formula, from the top: calls are checked here, so a function's name is only a function
    where it is called, and a column may be called 'log'."""
    if isinstance(node, ast.Call):
        _check_call(node, known, aliases, used)
    elif isinstance(node, ast.Name):
        if node.id in aliases or node.id in known:
            used.append(node.id)
        elif node.id in FUNCTIONS:
            raise DataError(f"'{node.id}' is a function: write the value it works on in brackets, e.g. "
                            f"{node.id}(weight).")
        else:
            raise DataError(f"There is no column called '{node.id}'. Write names with spaces or symbols in "
                            "backticks, e.g. `body mass (g)`.")
    elif isinstance(node, ast.Constant):
        # Its size was checked before, with the number as it was written.
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise DataError(f"Only numbers can be written in a formula, not {_short(repr(node.value))}.")
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, tuple(_OPERATORS)):
            raise DataError("Only + - * / // % and ** can be used between values.")
        _check(node.left, known, aliases, used)
        _check(node.right, known, aliases, used)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.UAdd | ast.USub):
            raise DataError("Only + - * / // % and ** can be used between values.")
        _check(node.operand, known, aliases, used)
    else:
        raise DataError("A formula can only hold column names, numbers, arithmetic and the functions "
                        f"{', '.join(FUNCTIONS)}.")


def _check_call(node: ast.Call, known: list[str], aliases: dict[str, str], used: list[str]) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        name = node.func.id if isinstance(node.func, ast.Name) else "this"
        raise DataError(f"'{name}' is not a function Studio knows. Use one of: {', '.join(FUNCTIONS)}.")
    name = node.func.id
    fewest, most, words = _ARITY.get(name, (1, 1, "one value, e.g. " + name + "(weight)"))
    if node.keywords or not fewest <= len(node.args) <= most:
        raise DataError(f"{name}(…) takes {words}.")
    for argument in node.args:
        _check(argument, known, aliases, used)
    if name == "round" and len(node.args) == 2:
        decimals = _constant(node.args[1])
        if decimals is None or decimals != int(decimals) or abs(decimals) > MAX_DECIMALS:
            raise DataError(f"round(…)'s second value is how many decimals: a whole number from 0 to {MAX_DECIMALS}, "
                            "e.g. round(price, 2).")


def _check_size(value: int | float, written: str) -> None:
    try:
        number = float(value)
    except OverflowError:
        number = float("inf")
    if not np.isfinite(number):
        raise DataError(f"The number {_short(written)} is too large to compute with (the largest is about 1.8e308).")


def _constant(node: ast.AST) -> float | None:
    """A number written in the formula (with its sign), or None when the part reads a column."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _constant(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    return None


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _evaluate(node: ast.AST, columns: dict[str, np.ndarray]) -> _Value:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # _check lets no other constant through
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
        values = [_evaluate(a, columns) for a in node.args]
        if node.func.id == "log" and len(values) == 2:
            return np.divide(np.log(values[0]), np.log(values[1]))
        if node.func.id == "round" and len(values) == 2:
            return np.round(values[0], int(_constant(node.args[1]) or 0))
        return FUNCTIONS[node.func.id](*values)
    raise DataError("The formula holds something Studio cannot compute.")
