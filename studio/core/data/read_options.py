"""How a text table is read: the choices a person can make (delimiter, decimal mark, encoding, header, rows to
skip) and the detection of how a file writes its numbers.

``ReadOptions`` holds only what the person set: an empty field means "detect it", for this file and for every
file read the same way later (a model's prediction files are detected again, not forced to the training file's
guess). The options travel as plain data with runs and model files (``to_plain`` / ``from_plain``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from studio.core.common.errors import DataError

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
DECIMAL_MARKS = (".", ",")
DECIMAL_NAMES = {".": "decimal point", ",": "decimal comma"}
THOUSANDS_NAMES = {",": "comma", ".": "point", " ": "space", "'": "apostrophe"}
# Spaces that spreadsheets put between groups of thousands ("1 234 567"): plain, no-break and narrow no-break.
GROUP_SPACES = " \u00a0\u202f"


@dataclass(frozen=True)
class ReadOptions:
    """What the person said about reading a text table; None (or "") leaves a choice to detection."""

    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    # False: the first row (after the skipped ones) is data, and the columns are named column_1, column_2, ...
    header: bool = True
    skip_rows: int = 0
    # A workbook's sheet, when the person picked one (formats.py); None: the first sheet that holds rows.
    sheet: str | None = None

    def __post_init__(self) -> None:
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise DataError(f"The delimiter must be one character; {self.delimiter!r} is not.")
        if self.decimal is not None and self.decimal not in DECIMAL_MARKS:
            raise DataError(f"The decimal mark must be '.' or ','; {self.decimal!r} is neither.")
        if self.delimiter is not None and self.delimiter == self.decimal:
            raise DataError("The delimiter and the decimal mark cannot be the same character.")
        if self.encoding is not None:
            import codecs

            try:
                codecs.lookup(self.encoding)
            except LookupError as exc:
                raise DataError(f"Studio does not know the text encoding {self.encoding!r}.") from exc
        if self.skip_rows < 0:
            raise DataError("The number of rows to skip cannot be negative.")

    @property
    def is_default(self) -> bool:
        return self == ReadOptions()

    def to_plain(self) -> dict[str, Any]:
        """Only what differs from detection, so old files and runs (with none) read back as the default."""
        default = ReadOptions()
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}

    @classmethod
    def from_plain(cls, plain: Any) -> ReadOptions:
        if not isinstance(plain, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in plain.items() if key in known})

    def merged(self, over: ReadOptions) -> ReadOptions:
        """These options with what ``over`` sets replacing them (a command line's choices over a model's)."""
        default = ReadOptions()
        values = {f.name: getattr(over, f.name) if getattr(over, f.name) != getattr(default, f.name)
                  else getattr(self, f.name) for f in fields(self)}
        return ReadOptions(**values)

    def describe(self) -> str:
        """The choices in words, "" when everything is detected."""
        parts = []
        if self.delimiter is not None:
            parts.append(f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated")
        if self.decimal is not None:
            parts.append(DECIMAL_NAMES[self.decimal])
        if self.encoding is not None:
            parts.append(f"encoding {self.encoding}")
        if not self.header:
            parts.append("no header row")
        if self.skip_rows:
            parts.append(f"{self.skip_rows} rows skipped")
        if self.sheet is not None:
            parts.append(f"sheet '{self.sheet}'")
        return ", ".join(parts)


@dataclass(frozen=True)
class NumberStyle:
    """How a file or column writes its numbers: the decimal mark, the thousands separator (None: none used), and
    a sentence when the choice was a guess between two readings."""

    decimal: str = "."
    thousands: str | None = None
    note: str = ""

    @property
    def is_plain(self) -> bool:
        return self.decimal == "." and self.thousands is None


_SIGN = r"^[+-]?"
# Each pattern is evidence for a (decimal, thousands) reading; "?" marks an ambiguous one.
_DOT_DECIMAL = re.compile(_SIGN + r"(\d*\.\d+)([eE][+-]?\d+)?$")  # 1.5, .5, 12.3456 (1.234: see _DOT_GROUP)
_COMMA_DECIMAL = re.compile(_SIGN + r"\d*,\d+([eE][+-]?\d+)?$")  # 0,125, -0,621, 1,5 (1,234: see _COMMA_GROUP)
_COMMA_GROUP = re.compile(_SIGN + r"[1-9]\d{0,2},\d{3}$")  # 1,234: a thousands group or three decimals
_DOT_GROUP = re.compile(_SIGN + r"[1-9]\d{0,2}\.\d{3}$")  # 1.234: three decimals or a thousands group
_COMMA_GROUPS = re.compile(_SIGN + r"[1-9]\d{0,2}(,\d{3}){2,}$")  # 1,234,567
_DOT_GROUPS = re.compile(_SIGN + r"[1-9]\d{0,2}(\.\d{3}){2,}$")  # 1.234.567
_COMMA_GROUPS_DOT = re.compile(_SIGN + r"[1-9]\d{0,2}(,\d{3})+\.\d+$")  # 1,234,567.89
_DOT_GROUPS_COMMA = re.compile(_SIGN + r"[1-9]\d{0,2}(\.\d{3})+,\d+$")  # 1.234.567,89
_SPACE_GROUPS = re.compile(_SIGN + r"[1-9]\d{0,2}([ \u00a0\u202f]\d{3})+([.,]\d+)?$")  # 1 234,5 / 1 234.5
_APOSTROPHE_GROUPS = re.compile(_SIGN + r"[1-9]\d{0,2}('\d{3})+(\.\d+)?$")  # 1'234.5 (Switzerland)
_PLAIN_INTEGER = re.compile(_SIGN + r"\d+$")


@dataclass
class _Votes:
    """Values counted by what they say about the decimal mark and the thousands separator."""

    decimal: dict[str, int]
    thousands: dict[str, int]
    ambiguous_comma: int = 0  # 1,234
    ambiguous_dot: int = 0  # 1.234

    @classmethod
    def empty(cls) -> _Votes:
        return cls({".": 0, ",": 0}, {",": 0, ".": 0, " ": 0, "'": 0})


def _vote(votes: _Votes, value: str) -> None:
    text = value.strip()
    if not text or (not any(ch.isdigit() for ch in text[:2]) and text[:1] not in "+-.,"):
        return
    if _PLAIN_INTEGER.match(text):
        return
    if _COMMA_GROUP.match(text):
        votes.ambiguous_comma += 1
    elif _DOT_GROUP.match(text):
        votes.ambiguous_dot += 1
    elif _DOT_DECIMAL.match(text):
        votes.decimal["."] += 1
    elif _COMMA_DECIMAL.match(text):
        votes.decimal[","] += 1
    elif _COMMA_GROUPS.match(text):
        votes.thousands[","] += 1
    elif _DOT_GROUPS.match(text):
        votes.thousands["."] += 1
    elif _COMMA_GROUPS_DOT.match(text):
        votes.decimal["."] += 1
        votes.thousands[","] += 1
    elif _DOT_GROUPS_COMMA.match(text):
        votes.decimal[","] += 1
        votes.thousands["."] += 1
    elif _SPACE_GROUPS.match(text):
        votes.thousands[" "] += 1
        tail = text.rstrip("0123456789")[-1:]
        if tail in DECIMAL_MARKS:
            votes.decimal[tail] += 1
    elif _APOSTROPHE_GROUPS.match(text):
        votes.thousands["'"] += 1
        if "." in text:
            votes.decimal["."] += 1


def detect_number_style(values: Iterable[str], delimiter: str | None = None,
                        decimal: str | None = None) -> NumberStyle:
    """Read the decimal mark and thousands separator off sample values (a column's, or a whole file's).

    Unambiguous values decide ("0,125" has a decimal comma, "1,234,567" groups thousands with commas, a value
    with both marks says which is which). When the values only ever read both ways ("1,234"), the delimiter
    decides: a semicolon or tab file is a European export with decimal commas, a comma file groups thousands;
    the note says so. A thousands separator is used only where no value contradicts it. ``decimal``: the
    person's choice, which detection does not override.
    """
    votes = _Votes.empty()
    for value in values:
        _vote(votes, value)
    notes = []
    if decimal is None:
        dots, commas = votes.decimal["."], votes.decimal[","]
        # "1.234.567" groups with points, so its decimal mark is the comma (and "1,234,567" the reverse).
        commas += votes.thousands["."]
        dots += votes.thousands[","]
        if dots and commas:
            decimal = "." if dots >= commas else ","
            notes.append(f"Numbers are written both ways in this file; Studio reads them with a "
                         f"{DECIMAL_NAMES[decimal]} (the more common mark here: {max(dots, commas):,} values "
                         f"against {min(dots, commas):,}). Set the decimal mark in the reading options if that is "
                         "wrong.")
        elif dots or commas:
            decimal = "." if dots else ","
        elif votes.ambiguous_comma:
            decimal = "," if delimiter in (";", "\t") else "."
            example = "1,234"
            notes.append(f"Values like {example} could mean a decimal comma or a thousands separator; Studio reads "
                         f"them with a {DECIMAL_NAMES[decimal]}, as is usual in a "
                         f"{'semicolon or tab' if decimal == ',' else 'comma'}-separated file. Set the decimal mark "
                         "in the reading options if that is wrong.")
        else:
            decimal = "."
    thousands = _thousands_for(votes, decimal)
    return NumberStyle(decimal, thousands, " ".join(notes))


def _thousands_for(votes: _Votes, decimal: str) -> str | None:
    candidates = {mark: count for mark, count in votes.thousands.items() if count and mark != decimal}
    # Under a decimal point "1,234" is a thousands group; under a decimal comma "1.234" is.
    if decimal == "." and votes.ambiguous_comma:
        candidates[","] = candidates.get(",", 0) + votes.ambiguous_comma
    if decimal == "," and votes.ambiguous_dot:
        candidates["."] = candidates.get(".", 0) + votes.ambiguous_dot
    if len(candidates) != 1:
        return None  # none used, or several: no separator is consistent, so none is assumed
    (mark, _count), = candidates.items()
    return mark
