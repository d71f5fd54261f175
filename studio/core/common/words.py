"""Counts, numbers and times said the same way on every page, in the reports and in messages.

A newcomer reads "1 row" and "2,345 rows", never "row(s)"; a score is always a percentage; an error is a number
in the target's units with a few meaningful digits; a moment is the local time. Nothing here is used for what
scripts read (the command line's JSON, saved files' column names): those keep their plain values.
"""

from __future__ import annotations

import datetime as dt
import math

_IRREGULAR = {"child": "children", "person": "people", "analysis": "analyses"}


def plural_of(noun: str) -> str:
    """The plural of an English noun: "row" → "rows", "class" → "classes", "category" → "categories"."""
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and len(noun) > 1 and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """A count with its noun: ``plural(1, "row")`` → "1 row", ``plural(2345, "row")`` → "2,345 rows". ``many``
    gives a plural the rule does not know, or the plural of a phrase ("value of 'age'")."""
    return f"{count:,} {noun if count == 1 else (many or plural_of(noun))}"


def _unsigned_zero(text: str) -> str:
    """ "-0.0%" and "-0.000" read as a loss where there is none: a value that rounds to zero has no sign."""
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        return text[1:]
    return text


def percent(share: float | None, digits: int = 1) -> str:
    """A share (0..1) as a percentage, "81.8%"; "–" for none. Scores are written this way everywhere."""
    if share is None or not math.isfinite(share):
        return "–"
    return _unsigned_zero(f"{share * 100:,.{digits}f}%")


def number(value: float | None, significant: int = 3) -> str:
    """A measured number with a few meaningful digits and no exponent: 12,346 · 3.14 · 0.00123; "–" for none."""
    if value is None or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    digits = max(0, significant - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{digits}f}"
    if "." in text:  # "3.1", not "3.10": the zeros would claim a precision the number does not have
        text = text.rstrip("0").rstrip(".")
    return _unsigned_zero(text)


def local_time(stamp: str) -> str:
    """A stored ISO moment ("2024-05-03T12:33:10+00:00") as the computer's local time, "3 May 2024, 14:33". A
    stamp without a zone is taken as local already; text that is no moment is returned as it is."""
    try:
        moment = dt.datetime.fromisoformat(stamp.strip())
    except (ValueError, AttributeError):
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M}"
