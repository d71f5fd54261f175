"""Weka's ARFF format: numeric, nominal (categories, in the order the header lists them), string and date
attributes, ``?`` for a missing value, quoted values, comments, instance weights and sparse rows ``{0 5.1, 3 yes}``.

A small reader of its own: scipy.io.arff reads neither string attributes nor sparse rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studio.core.common.errors import DataError, first_line

_ATTRIBUTE = re.compile(r"""@attribute\s+('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)\s+(.+)$""", re.IGNORECASE)
_VALUE = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,]*?)\s*(?:,|$)""")
# Java date patterns (ARFF's) that translate one to one to strptime's; others are parsed by guessing.
_JAVA_DATE = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S")]


@dataclass(frozen=True)
class _Attribute:
    name: str
    kind: str  # numeric, nominal, string, date
    categories: tuple[str, ...] = ()
    date_format: str | None = None


def read_arff_frame(path: Path, raw: bytes) -> pd.DataFrame:
    """The table of an ARFF file whose bytes are ``raw``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # Weka wrote files in the platform's encoding
    attributes: list[_Attribute] = []
    lines = text.splitlines()
    data_start = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        lowered = stripped.lower()
        if lowered.startswith("@relation"):
            continue
        if lowered.startswith("@attribute"):
            attributes.append(_parse_attribute(stripped, number, path.name))
        elif lowered.startswith("@data"):
            data_start = number
            break
        else:
            raise DataError(f"Line {number:,} of {path.name} is not part of an ARFF header (it should start with "
                            "@relation, @attribute or @data).")
    if not attributes:
        raise DataError(f"{path.name} is not an ARFF file Studio can read: it names no @attribute.")
    if data_start is None:
        raise DataError(f"{path.name} has no @data line, so it holds no rows.")
    rows = [_parse_row(line.strip(), attributes, number, path.name)
            for number, line in enumerate(lines[data_start:], start=data_start + 1)
            if line.strip() and not line.strip().startswith("%")]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in attributes]
    frame = pd.DataFrame({a.name: _typed(a, list(values), path.name) for a, values in zip(attributes, columns,
                                                                                           strict=True)})
    return frame


def _parse_attribute(line: str, number: int, name: str) -> _Attribute:
    match = _ATTRIBUTE.match(line)
    if match is None:
        raise DataError(f"Line {number:,} of {name} is not a complete @attribute line (a name and a type).")
    attribute, kind = _unquote(match.group(1)), match.group(2).strip()
    if kind.startswith("{"):
        if not kind.endswith("}"):
            raise DataError(f"Line {number:,} of {name}: the values of '{attribute}' are not closed with a }}.")
        return _Attribute(attribute, "nominal", tuple(str(v) for v in _split_values(kind[1:-1]) if v is not None))
    word = kind.split()[0].lower()
    if word in ("numeric", "real", "integer"):
        return _Attribute(attribute, "numeric")
    if word == "string":
        return _Attribute(attribute, "string")
    if word == "date":
        pattern = _unquote(kind[4:].strip()) if kind[4:].strip() else None
        return _Attribute(attribute, "date", date_format=_strptime_format(pattern))
    if word == "relational":
        raise DataError(f"{name} uses a relational attribute ('{attribute}'), a table inside the table; Studio reads "
                        "flat ARFF files only.")
    raise DataError(f"Line {number:,} of {name}: '{kind}' is not an ARFF type (numeric, integer, real, string, "
                    "date or a list of values in braces).")


def _strptime_format(pattern: str | None) -> str | None:
    if pattern is None:
        return "%Y-%m-%dT%H:%M:%S"  # ARFF's default, ISO 8601
    result = pattern.replace("'T'", "T")
    for java, python in _JAVA_DATE:
        result = result.replace(java, python)
    return None if re.search(r"[A-Za-z]", re.sub(r"%[A-Za-z]|T", "", result)) else result


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def _split_values(text: str) -> list[str | None]:
    """Comma-separated ARFF values, each quoted with ' or " or bare; a bare ? is a missing value."""
    values: list[str | None] = []
    position = 0
    while position <= len(text):
        match = _VALUE.match(text, position)
        if match is None or match.end() == position:
            break
        token = match.group(1)
        values.append(None if token == "?" else _unquote(token))
        position = match.end()
        if position == len(text) and not text.endswith(","):
            break
    return values


def _parse_row(line: str, attributes: list[_Attribute], number: int, name: str) -> list[str | None]:
    if line.startswith("{"):
        return _parse_sparse_row(line, attributes, number, name)
    values = _split_values(line)
    if len(values) == len(attributes) + 1 and values[-1] is not None and values[-1].startswith("{"):
        values = values[:-1]  # an instance weight, {0.5}, after the values
    if len(values) != len(attributes):
        raise DataError(f"Line {number:,} of {name} has {len(values)} values, but the header names "
                        f"{len(attributes)} attributes.")
    return values


def _parse_sparse_row(line: str, attributes: list[_Attribute], number: int, name: str) -> list[str | None]:
    # A sparse row lists only the values that are not zero (or the first category): {1 3.5, 4 yes}.
    values: list[str | None] = [a.categories[0] if a.kind == "nominal" and a.categories else "0" for a in attributes]
    body = line[1:line.rindex("}")] if "}" in line else ""
    for item in _split_values(body):
        if item is None or not item.strip():
            continue
        index_text, _, value = item.strip().partition(" ")
        if not index_text.isdigit() or int(index_text) >= len(attributes):
            raise DataError(f"Line {number:,} of {name} is a sparse row with an entry Studio cannot place: '{item}'.")
        value = value.strip()
        values[int(index_text)] = None if value == "?" else _unquote(value)
    return values


def _typed(attribute: _Attribute, values: list[str | None], name: str) -> pd.Series:
    if attribute.kind == "numeric":
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        bad = [v for v, n in zip(values, numbers, strict=True) if v is not None and pd.isna(n)]
        if bad:
            raise DataError(f"The attribute '{attribute.name}' of {name} is numeric, but it holds '{bad[0]}'.")
        return numbers.astype("int64") if numbers.notna().all() and bool(np.all(numbers % 1 == 0)) \
            and any(v is not None and "." not in v and "e" not in v.lower() for v in values) else numbers
    if attribute.kind == "nominal":
        unknown = sorted({v for v in values if v is not None} - set(attribute.categories))
        if unknown:
            raise DataError(f"The attribute '{attribute.name}' of {name} holds '{unknown[0]}', which is not one of "
                            f"its listed values.")
        return pd.Series(pd.Categorical(values, categories=list(attribute.categories)))
    if attribute.kind == "date":
        try:
            return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), format=attribute.date_format))
        except (ValueError, TypeError) as exc:
            raise DataError(f"The dates of '{attribute.name}' in {name} do not match their format "
                            f"({first_line(exc, 120)}).") from exc
    return pd.Series(values, dtype=object)
