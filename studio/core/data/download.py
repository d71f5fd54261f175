"""Downloading a table from a web address (http or https) to a temporary file, with a size limit, progress, cancel,
timeouts and a sentence for each way it fails (no network, no such file, a server error).

The caller reads the file and removes it (``downloaded`` does both for a plain call; sources.py does it for the
window's job). Only the standard library: no dependency for something this small.
"""

from __future__ import annotations

import contextlib
import re
import socket
import tempfile
import urllib.parse
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import studio
from studio.core.common.errors import Cancelled, DataError
from studio.core.common.progress import Progress, StopCheck, never_stop, result_of

# Larger files are downloaded only when the person says so (the window asks; the CLI names the option).
DOWNLOAD_LIMIT_BYTES = 500 * 1024 * 1024
# Seconds to connect, and to wait for each further block, before saying the server does not answer.
TIMEOUT_S = 20.0
CHUNK_BYTES = 256 * 1024
# File name endings load_table reads; any other address is named by what its first bytes hold.
KNOWN_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".json", ".jsonl", ".ndjson", ".feather", ".arrow",
                  ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".arff")
_CONTENT_TYPES = {"parquet": ".parquet", "json": ".json", "spreadsheetml": ".xlsx", "ms-excel": ".xls",
                  "opendocument.spreadsheet": ".ods", "csv": ".csv", "tab-separated": ".tsv"}


def is_url(text: object) -> bool:
    return isinstance(text, str) and text.strip().lower().startswith(("http://", "https://"))


def url_name(url: str) -> str:
    """The file name an address ends with ("sales.csv"), or its host when it names none."""
    parsed = urllib.parse.urlparse(url)
    return urllib.parse.unquote(Path(parsed.path).name) or parsed.hostname or url


def size_words(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"  # 812 MB, 4.8 KB
    return f"{size:,} bytes"


@dataclass(frozen=True)
class TooLarge:
    """A file over the download limit, not downloaded: the window offers to download it anyway."""

    url: str
    size: int
    limit: int

    def sentence(self) -> str:
        return (f"{url_name(self.url)} is {size_words(self.size)}, more than the {size_words(self.limit)} Studio "
                "downloads without asking. Downloading it may take a while and fill the disk.")


class TooLargeError(DataError):
    """Raised by ``download`` for a file over the limit; ``too_large`` says how large."""

    def __init__(self, too_large: TooLarge) -> None:
        super().__init__(too_large.sentence())
        self.too_large = too_large


def download(url: str, should_stop: StopCheck = never_stop, limit: int | None = DOWNLOAD_LIMIT_BYTES,
             timeout_s: float = TIMEOUT_S) -> Generator[Progress, None, Path]:
    """Download ``url`` to a temporary file and return its path (the caller removes it); yields progress.

    The size is checked against ``limit`` before anything is written when the server says it (Content-Length),
    and while writing when it does not. Raises DataError with a sentence, TooLargeError, or Cancelled.
    """
    url = url.strip()
    name = url_name(url)
    yield Progress("Downloading", None, f"Connecting to {urllib.parse.urlparse(url).hostname or url}")
    response = _open(url, timeout_s)
    path: Path | None = None
    try:
        size = _content_length(response)
        if limit is not None and size is not None and size > limit:
            raise TooLargeError(TooLarge(url, size, limit))
        first = _read(response, url)
        suffix = _suffix(url, response.headers.get("Content-Type", ""), first)
        # In a folder of its own, under the address's own name: a sentence about the file names it as the person
        # knows it.
        stem = re.sub(r"[^\w.-]+", "_", Path(name).stem)[:80] or "download"
        path = Path(tempfile.mkdtemp(prefix="studio-download-")) / f"{stem}{suffix}"
        done = 0
        with path.open("wb") as out:
            chunk = first
            while chunk:
                if should_stop():
                    raise Cancelled()
                out.write(chunk)
                done += len(chunk)
                if limit is not None and size is None and done > limit:
                    raise TooLargeError(TooLarge(url, done, limit))
                fraction = min(done / size, 1.0) if size else None
                of = f" of {size_words(size)}" if size else ""
                yield Progress("Downloading", fraction, f"Downloading {name}: {size_words(done)}{of}")
                chunk = _read(response, url)
        if done == 0:
            raise DataError(f"{name} is empty: the server sent no data for {url}.")
        if size is not None and done < size:
            raise DataError(f"The download of {name} stopped after {size_words(done)} of {size_words(size)}; "
                            "the connection was cut. Try again.")
        return path
    except BaseException:
        if path is not None:
            remove_download(path)
        raise
    finally:
        response.close()


@contextlib.contextmanager
def downloaded(url: str) -> Iterator[Path]:
    """The file at ``url`` as a temporary local file for the length of a ``with`` block (the command line)."""
    try:
        path = result_of(download(url, limit=DOWNLOAD_LIMIT_BYTES))
    except TooLargeError as exc:
        # Without a window to ask in, the way on is a copy of the person's own.
        raise DataError(f"{exc} Download it yourself (a browser, curl) and give Studio the file.") from exc
    try:
        yield path
    finally:
        remove_download(path)


def remove_download(path: Path) -> None:
    """Remove a downloaded file and the temporary folder made for it (quietly: on Windows a read abandoned by a
    cancel may still hold the file open, and a leftover in the temporary folder must not hide the cancel)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
        path.parent.rmdir()


def _open(url: str, timeout_s: float) -> Any:
    # Imported here: urllib.request brings http.client and ssl, which opening a file never needs.
    import urllib.error
    import urllib.request

    host = urllib.parse.urlparse(url).hostname or url
    request = urllib.request.Request(url, headers={"User-Agent": f"Studio/{studio.__version__}"})
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        raise DataError(_http_sentence(url, exc.code, str(exc.reason))) from exc
    except urllib.error.URLError as exc:
        raise DataError(_network_sentence(host, exc.reason, timeout_s)) from exc
    except TimeoutError as exc:
        raise DataError(f"{host} did not answer within {timeout_s:g} seconds. Check the address, or try again "
                        "later.") from exc
    except (ValueError, OSError) as exc:  # a malformed address, a connection reset
        raise DataError(f"Studio could not open {url}: {exc}.") from exc


def _read(response: Any, url: str) -> bytes:
    try:
        return bytes(response.read(CHUNK_BYTES))
    except TimeoutError as exc:
        raise DataError(f"The server stopped sending {url_name(url)} (nothing came for {TIMEOUT_S:g} seconds). "
                        "Try again.") from exc
    except OSError as exc:
        raise DataError(f"The download of {url_name(url)} failed: {exc}. Try again.") from exc


def _http_sentence(url: str, code: int, reason: str) -> str:
    if code == 404:
        return f"There is no file at {url} (the server answered 404, not found). Check the address."
    if code in (401, 403):
        return (f"The server refused to send {url_name(url)} ({code}, {reason.lower()}): it needs a login or a "
                "permission Studio does not have. Download it in a browser and open the file.")
    if code >= 500:
        return f"The server of {url} has a problem of its own ({code}, {reason.lower()}). Try again later."
    return f"The server would not send {url} ({code}, {reason.lower()})."


def _network_sentence(host: str, reason: object, timeout_s: float) -> str:
    if isinstance(reason, socket.gaierror):
        return (f"Studio could not find {host}: there is no network connection, or the address is misspelled.")
    if isinstance(reason, TimeoutError):
        return f"{host} did not answer within {timeout_s:g} seconds. Check the address, or try again later."
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} refused the connection: nothing is serving files at that address."
    if isinstance(reason, OSError) and "certificate" in str(reason).lower():
        return f"The secure connection to {host} could not be checked (its certificate is not trusted)."
    return f"Studio could not reach {host}: {reason}."


def _content_length(response: Any) -> int | None:
    try:
        value = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _suffix(url: str, content_type: str, first: bytes) -> str:
    suffix = Path(urllib.parse.urlparse(url).path).suffix.lower()
    if suffix in KNOWN_SUFFIXES:
        return suffix
    if first.startswith(b"PAR1"):
        return ".parquet"
    if first.startswith(b"ARROW1"):
        return ".feather"
    for word, by_type in _CONTENT_TYPES.items():
        if word in content_type.lower():
            return by_type
    if first.startswith(b"PK\x03\x04"):
        return ".xlsx"  # a zip: the usual workbook
    # Anything else is text: load_table tells CSV, JSON (Lines) and ARFF apart by their content.
    return ".csv"
