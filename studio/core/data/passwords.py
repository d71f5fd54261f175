"""Database passwords in the system's password store (the keyring), never in Studio's settings or run records.

A computer without a password store (a headless server, a bare container) has only keyring's "fail" backend:
then nothing is stored, :func:`can_remember` says so, and Studio asks for the password each time. Every call is
cheap to get wrong on a broken store (a locked D-Bus wallet), so each failure reads as "not stored" rather than
an error: a password that cannot be remembered is asked for again, nothing worse.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator
from dataclasses import replace
from typing import Any

from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.database import DatabaseCatalog, DatabaseLogin, list_tables_job

SERVICE = "Studio database"
log = logging.getLogger(__name__)


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def can_remember() -> bool:
    """True when this computer has a password store keyring can use."""
    keyring = _keyring()
    if keyring is None:
        return False
    try:
        from keyring.backends import fail

        backend = keyring.get_keyring()
        return not isinstance(backend, fail.Keyring) and float(getattr(backend, "priority", 1)) > 0
    except Exception:
        return False


def saved_password(url: str) -> str | None:
    """The password remembered for ``url`` (a URL without its password), or None."""
    keyring = _keyring()
    if keyring is None or not can_remember():
        return None
    try:
        value = keyring.get_password(SERVICE, url)
    except Exception as exc:  # a locked or broken store: ask the person instead
        log.info("The password store could not be read: %s", type(exc).__name__)
        return None
    return value if isinstance(value, str) else None


def remember_password(url: str, password: str) -> bool:
    """Store the password for ``url`` in the system's store; False when there is none or it refused."""
    keyring = _keyring()
    if keyring is None or not password or not can_remember():
        return False
    try:
        keyring.set_password(SERVICE, url, password)
    except Exception as exc:
        log.info("The password store refused the password: %s", type(exc).__name__)
        return False
    return True


def forget_password(url: str) -> None:
    keyring = _keyring()
    if keyring is None or not can_remember():
        return
    # Nothing was stored, or the store is gone: either way nothing is remembered.
    with contextlib.suppress(Exception):
        keyring.delete_password(SERVICE, url)


def connect_job(login: DatabaseLogin, remember: bool, should_stop: StopCheck = never_stop
                ) -> Generator[Progress, None, DatabaseCatalog]:
    """Connect and list the tables, as a job: the password comes from the store when none was typed, and goes into
    it after a successful connection when the person asked for that (and the computer has a store)."""
    if login.password is None and not login.is_sqlite:
        yield Progress("Connecting", None, "Looking for a remembered password")
        stored = saved_password(login.url)
        if stored is not None:
            login = replace(login, password=stored)
    catalog = yield from list_tables_job(login, should_stop)
    if remember and login.password:
        remember_password(login.url, login.password)
    return catalog
