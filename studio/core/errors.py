"""Errors whose message is meant for the person using Studio, not for a developer."""


class StudioError(Exception):
    """A problem the user can understand and fix; its message is shown as is."""


class DataError(StudioError):
    """The data file cannot be read or does not fit the task."""


class ModelFileError(StudioError):
    """A model file cannot be opened or used."""


class Cancelled(Exception):  # noqa: N818 - reads as an event, like StopIteration
    """Raised inside long work when the user asked it to stop."""
