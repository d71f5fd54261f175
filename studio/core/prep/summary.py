"""The preparation said in a few plain sentences, for the person who will not open every setting: which columns
are used and how (grouped, "7 numbers (gaps filled with the middle value, put on a common scale)"), which are left
out and why, in a few words each.

Everything here is read from the :class:`~studio.core.prep.config.PrepConfig` and the column profiles, so the
sentences change with every choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.data.profile import ColumnKind, ColumnProfile
from studio.core.prep.config import ColumnPrep, PrepConfig, Treatment, default_treatment

# Left-out columns named one by one up to this many; a wide table's long tail is counted instead.
NAMED_LEFT_OUT = 8

# (singular, plural) of what a group of columns holds.
_NOUNS: dict[tuple[Treatment, bool], tuple[str, str]] = {
    (Treatment.NUMERIC, False): ("number", "numbers"),
    (Treatment.CATEGORICAL, False): ("category", "categories"),
    (Treatment.CATEGORICAL, True): ("yes/no column", "yes/no columns"),
    (Treatment.DATE, False): ("date", "dates"),
    (Treatment.TEXT, False): ("free-text column", "free-text columns"),
}


@dataclass(frozen=True)
class UsedGroup:
    """Columns prepared the same way: ``count`` of ``noun`` with these ``steps``."""
    names: tuple[str, ...]
    noun: str
    steps: tuple[str, ...]

    def words(self) -> str:
        steps = f" ({', '.join(self.steps)})" if self.steps else ""
        return f"{len(self.names)} {self.noun}{steps}"


@dataclass(frozen=True)
class PrepSummary:
    used: tuple[UsedGroup, ...]
    left_out: tuple[tuple[str, str], ...]  # (column, why in a few words)
    target: str | None
    drop_duplicates: bool

    @property
    def used_count(self) -> int:
        return sum(len(group.names) for group in self.used)

    def lines(self) -> tuple[tuple[str, str], ...]:
        """The summary as (lead, rest) pairs, e.g. ("12 columns are used:", "7 numbers (…), 5 categories (…)."),
        so a page can set the lead in bold; ``lead + " " + rest`` is the plain sentence."""
        lines: list[tuple[str, str]] = []
        count = self.used_count
        if count:
            lines.append((f"{_columns(count)} {'is' if count == 1 else 'are'} used:",
                          _listed([group.words() for group in self.used]) + "."))
        else:
            lines.append(("No column is used,", "so the model would have nothing to learn from."))
        if self.left_out:
            named = [f"{name} ({why})" for name, why in self.left_out[:NAMED_LEFT_OUT]]
            hidden = len(self.left_out) - len(named)
            if hidden:
                named.append(f"{hidden:,} more")
            lines.append((f"{_columns(len(self.left_out))} {'is' if len(self.left_out) == 1 else 'are'} left out:",
                          _listed(named) + "."))
        if self.drop_duplicates:
            lines.append(("Duplicated rows", "are removed from the training rows."))
        return tuple(lines)

    def text(self) -> str:
        return " ".join(f"{lead} {rest}" for lead, rest in self.lines())

    def headline(self) -> str:
        """The counts alone, for when the details are on screen anyway: "7 columns are used, 3 left out"."""
        count = self.used_count
        used = f"{_columns(count)} {'is' if count == 1 else 'are'} used" if count else "No column is used"
        return used + (f", {len(self.left_out):,} left out" if self.left_out else "")


def summarise(prep: PrepConfig, target: str | None, profiles: tuple[ColumnProfile, ...]) -> PrepSummary:
    by_name = {p.name: p for p in profiles}
    groups: dict[tuple[int, str, str, tuple[str, ...]], list[str]] = {}
    left_out: list[tuple[str, str]] = []
    for column in prep.columns:
        if column.name == target:
            continue
        if not column.used:
            left_out.append((column.name, left_out_words(column, by_name.get(column.name))))
            continue
        nouns = (column.treatment, column.kind is ColumnKind.BOOLEAN)
        if nouns not in _NOUNS:
            nouns = (column.treatment, False)
        singular, plural = _NOUNS[nouns]
        steps = column.steps_in_words()
        if column.formula:
            singular, plural = f"new {singular} (a formula)", f"new {plural} (formulas)"
        groups.setdefault((list(_NOUNS).index(nouns), singular, plural, steps), []).append(column.name)
    # The largest groups first: they say what happens to most of the table; among equals, numbers before
    # categories, dates and text, as _NOUNS lists them.
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0][0]))
    used = [UsedGroup(tuple(names), singular if len(names) == 1 else plural, steps)
            for (_, singular, plural, steps), names in ordered]
    return PrepSummary(tuple(used), tuple(left_out), target, prep.drop_duplicates)


def left_out_words(column: ColumnPrep, profile: ColumnProfile | None) -> str:
    """Why a column is left out, in a few words: "a different number on every row", "you left it out"."""
    if profile is not None and column.reason == default_treatment(profile)[1]:
        # Studio's own reason: said from what the column holds, shorter than the reason shown next to it.
        if profile.kind is ColumnKind.ID:
            numbers = bool(profile.histogram[0])  # only an identifier made of numbers gets a histogram
            return "a different number on every row" if numbers else "text that differs on every row"
        if profile.kind is ColumnKind.CONSTANT:
            return "every value is missing" if profile.missing == profile.rows else "the same value on every row"
        if profile.kind is ColumnKind.TEXT:
            return "long free text"
        return f"{profile.missing_share:.0%} missing"
    if column.reason in ("", "chosen by you"):
        return "you left it out"
    return column.reason.removeprefix("it ")


def _columns(count: int) -> str:
    return f"{count:,} column" + ("" if count == 1 else "s")


def _listed(parts: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
