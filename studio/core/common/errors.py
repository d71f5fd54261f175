"""Errors whose message is meant for the person using Studio, not for a developer."""


class StudioError(Exception):
    """A problem the user can understand and fix; its message is shown as is."""


class DataError(StudioError):
    """The data file cannot be read or does not fit the task."""


class ModelFileError(StudioError):
    """A model file cannot be opened or used."""


class Cancelled(Exception):  # noqa: N818 - reads as an event, like StopIteration
    """Raised inside long work when the user asked it to stop."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (or its type's name when it has none), at most ``limit`` long:
    enough to say what went wrong in a sentence."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
