"""The window's last-resort handler (ARCHITECTURE rule 8): an exception that escapes a slot, or a thread, becomes a
sentence in the window and a traceback in the log file, and the window carries on.

Known problems never get here: they are StudioErrors shown by the page where they happen. This is for Studio's
own faults, so that one of them costs the action it interrupted and nothing else.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Signal

from studio.core.common.errors import first_line
from studio.core.common.logs import log_exception

Show = Callable[[str, str], None]  # the sentence and its details (the exception's own words)


def unexpected_sentence(exc: BaseException, log: object) -> str:
    return (f"Studio ran into a problem it did not expect, so the last thing you asked for may not have finished. "
            f"Everything else still works; the details for a bug report are in {log}.")


class LastResortHandler(QObject):
    """Installed once per application: ``sys.excepthook`` (exceptions escaping Qt slots and event handlers) and
    ``threading.excepthook`` (a background thread's), each logged, then shown through ``show`` on the GUI thread."""

    _caught = Signal(str, str)

    def __init__(self, show: Show, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._show = show
        # Emitted from any thread, received on the GUI thread (a queued connection across threads).
        self._caught.connect(self._on_caught)
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread

    def uninstall(self) -> None:
        if sys.excepthook == self.handle:
            sys.excepthook = self._previous_hook
        if threading.excepthook == self._handle_thread:
            threading.excepthook = self._previous_thread_hook

    def handle(self, kind: type[BaseException], exc: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt | SystemExit):
            self._previous_hook(kind, exc, trace)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(trace)
        log = log_exception(exc, "the window")
        self._caught.emit(unexpected_sentence(exc, log), f"{type(exc).__name__}: {first_line(exc)}")

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def _on_caught(self, sentence: str, details: str) -> None:
        try:
            self._show(sentence, details)
        except Exception as exc:  # showing it failed too: the log has it, and the terminal gets a line
            print(f"Studio: {sentence} ({details}; {first_line(exc)})", file=sys.stderr)
