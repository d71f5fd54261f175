"""A table at a web address, served by a local web server: read like a file (the command line and the window's
job), its size checked before downloading, progress and cancel, and a sentence for each way a download fails.
The temporary copy is removed every time."""

from __future__ import annotations

import io
import socket
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pytest

from studio.core.common.errors import Cancelled, DataError
from studio.core.common.progress import Progress
from studio.core.data.download import TooLarge, download
from studio.core.data.sources import pasted_table_job, url_table_job
from studio.core.data.tabular import LoadedTable, load_table
from tests.core.web_server import Answer, closed_port_url, local_server

PEOPLE_CSV = b"name,age,height\nAnn,31,1.62\nBob,42,\nCleo,27,1.75\n"
T = TypeVar("T")


def drain(job: Generator[Progress, None, T], on_item: Callable[[Progress], object] = lambda _item: None) -> T:
    while True:
        try:
            on_item(next(job))
        except StopIteration as finished:
            return finished.value  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def downloads_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary copies land in a folder of the test's, which must be empty again afterwards."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def assert_no_copy_left(folder: Path) -> None:
    assert list(folder.iterdir()) == []


def people() -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(PEOPLE_CSV))


def test_a_csv_at_a_web_address_reads_like_the_file(downloads_in_tmp: Path) -> None:
    with local_server() as server:
        url = server.serve("/data/people.csv", Answer(PEOPLE_CSV, content_type="text/csv"))
        table = load_table(url)
    pd.testing.assert_frame_equal(table.frame, people())
    assert table.path == url and table.name == "people.csv"
    assert_no_copy_left(downloads_in_tmp)


def test_a_parquet_file_is_recognised_without_its_name(downloads_in_tmp: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "people.parquet"
    people().to_parquet(parquet)
    with local_server() as server:
        url = server.serve("/export", Answer(parquet.read_bytes()))  # no suffix, a generic type
        table = load_table(url)
    pd.testing.assert_frame_equal(table.frame, people())
    assert_no_copy_left(downloads_in_tmp)


def test_the_job_reports_progress_and_returns_the_table(downloads_in_tmp: Path) -> None:
    body = b"x,y\n" + b"".join(b"%d,%d\n" % (i, i * 2) for i in range(60_000))  # about 620 KB: several blocks
    with local_server() as server:
        url = server.serve("/numbers.csv", Answer(body))
        items: list[Progress] = []
        table = drain(url_table_job(url, lambda: False), items.append)
    assert isinstance(table, LoadedTable)
    assert table.frame.shape == (60_000, 2) and table.frame["y"].iloc[-1] == 119_998
    fractions = [item.fraction for item in items if item.stage == "Downloading" and item.fraction is not None]
    assert len(fractions) >= 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "KB of" in items[-2].message  # "Downloading numbers.csv: 512 KB of 622 KB"
    assert_no_copy_left(downloads_in_tmp)


def test_a_file_over_the_limit_is_not_downloaded_without_a_choice(downloads_in_tmp: Path) -> None:
    with local_server() as server:
        url = server.serve("/big.csv", Answer(PEOPLE_CSV * 100))
        result = drain(url_table_job(url, lambda: False, limit=1000))
        assert isinstance(result, TooLarge) and result.size == len(PEOPLE_CSV) * 100
        assert "big.csv is 4.8 KB, more than the 1,000 bytes Studio downloads without asking" in result.sentence()
        table = drain(url_table_job(url, lambda: False, limit=None))  # "Download anyway"
        assert len(table.frame) == 399  # every copy's header but the first is a row
        # Without a Content-Length the limit is checked while downloading.
        url = server.serve("/unsized.csv", Answer(PEOPLE_CSV * 100, length=None))
        assert isinstance(drain(url_table_job(url, lambda: False, limit=1000)), TooLarge)
    assert_no_copy_left(downloads_in_tmp)


def test_cancel_stops_the_download_and_removes_the_copy(downloads_in_tmp: Path) -> None:
    body = b"x\n" + b"1\n" * 400_000
    seen: list[Progress] = []
    with local_server() as server:
        url = server.serve("/slow.csv", Answer(body, chunk_pause_s=0.02))
        with pytest.raises(Cancelled):
            drain(download(url, lambda: len(seen) >= 3), seen.append)
    assert_no_copy_left(downloads_in_tmp)


@pytest.mark.parametrize(("answer", "words"), [
    (None, "There is no file at {url} (the server answered 404, not found). Check the address."),
    (Answer(status=403), "The server refused to send people.csv (403, forbidden)"),
    (Answer(status=500), "has a problem of its own (500, internal server error). Try again later."),
    (Answer(PEOPLE_CSV, cut_after=10), "The download of people.csv stopped after 10 bytes of 49 bytes"),
    (Answer(b"", length=None), "people.csv is empty: the server sent no data"),
    (Answer(b"name,age\n"), "people.csv has a header but no data rows"),
])
def test_each_failure_gets_a_sentence(downloads_in_tmp: Path, answer: Answer | None, words: str) -> None:
    with local_server() as server:
        url = server.url + "/people.csv"
        if answer is not None:
            server.serve("/people.csv", answer)
        with pytest.raises(DataError) as caught:
            load_table(url)
    assert words.format(url=url) in str(caught.value)
    assert_no_copy_left(downloads_in_tmp)


def test_a_server_that_does_not_answer_times_out(downloads_in_tmp: Path) -> None:
    with local_server() as server:
        url = server.serve("/people.csv", Answer(PEOPLE_CSV, delay_s=1.0))
        with pytest.raises(DataError, match=r"127\.0\.0\.1 did not answer within 0.2 seconds"):
            drain(download(url, timeout_s=0.2))


def test_no_network_and_nothing_listening_are_said(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError, match=r"127\.0\.0\.1 refused the connection"):
        load_table(closed_port_url())

    def no_network(*_args: object, **_kwargs: object) -> None:
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    with pytest.raises(DataError, match=r"could not find data\.example\.org: there is no network connection, or "
                                        r"the address is misspelled"):
        load_table("https://data.example.org/sales.csv")


# -- pasted -----------------------------------------------------------------------------------------------------
def test_a_pasted_table_is_saved_as_csv_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "pasted"
    table = drain(pasted_table_job("name\tage\nAnn\t31\nBob\t\n", folder, lambda: False))
    assert Path(table.path).parent == folder and table.name.startswith("Pasted table ") and table.name.endswith(
        ".csv")
    assert table.frame["name"].tolist() == ["Ann", "Bob"] and table.frame["age"].iloc[0] == 31
    again = load_table(table.path)  # what a prediction or a retraining reads later
    pd.testing.assert_frame_equal(again.frame, table.frame)
    second = drain(pasted_table_job("a\tb\n1\t2\n", folder, lambda: False))
    assert second.path != table.path


def test_a_plain_read_of_a_large_file_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.core.data import download as download_module

    monkeypatch.setattr(download_module, "DOWNLOAD_LIMIT_BYTES", 100)
    with local_server() as server:
        url = server.serve("/big.csv", Answer(PEOPLE_CSV * 10))
        with pytest.raises(DataError, match=r"more than the 100 bytes .* Download it yourself \(a browser, curl\)"):
            load_table(url)
