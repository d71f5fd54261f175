"""The census of issue 16's bad-input corpus: every probe run once through the core and the command line, and every
probe a person can give the window run once through the real window; the outcomes counted by the issue's names (OK,
clear message, unclear, traceback, hang, silent wrong, data lost, temp left behind) and printed as tables, with the
probes that did not end well named. Opt-in (perf); the default run asserts the same probes one by one in
tests/test_bad_input_corpus.py and tests/ui/test_bad_input_window.py.

Run: ``QT_QPA_PLATFORM=offscreen python -m pytest -m perf tests/perf/test_bad_input_census.py -s``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.bad_input_corpus import GOOD, OUTCOMES, PROBES, Finding, Probe, run_probe, tally

pytestmark = pytest.mark.perf


def print_census(title: str, probes: list[Probe], findings: dict[str, Finding], seconds: float) -> dict[str, int]:
    counts = tally(findings)
    print(f"\n{title}: {len(probes)} probes in {seconds:.0f} s")
    for outcome in OUTCOMES:
        print(f"  {outcome:<18}{counts[outcome]:>4}")
    by_item: dict[str, dict[str, int]] = {}
    for probe in probes:
        row = by_item.setdefault(probe.item, dict.fromkeys(OUTCOMES, 0))
        row[findings[probe.name].outcome] += 1
    print("\n  " + "by part of the issue".ljust(22) + "".join(o[:9].rjust(10) for o in OUTCOMES))
    for item, row in by_item.items():
        print("  " + item.ljust(22) + "".join(str(row[o]).rjust(10) for o in OUTCOMES))
    for name, found in findings.items():
        if found.outcome not in GOOD:
            print(f"  ✗ {name}: {found.outcome}: {found.detail[:160]}")
    return counts


def test_census_of_the_bad_input_corpus(tmp_path: Path) -> None:
    findings: dict[str, Finding] = {}
    started = time.perf_counter()
    for index, probe in enumerate(PROBES):
        findings[probe.name] = run_probe(probe, tmp_path / f"probe-{index}")
    counts = print_census("Issue 16 corpus, core and command line", list(PROBES), findings,
                          time.perf_counter() - started)
    # Loose, as the benchmarks' asserts are: the default run holds each probe to a sentence.
    assert counts["hang"] == 0


@pytest.mark.qt_no_exception_capture  # the window's own last-resort handler counts the tracebacks
def test_census_of_the_window_pass(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.app import create_window
    from tests.ui.bad_input_window import Caught, run_in_window

    window = create_window(tmp_path / "settings")
    qtbot.addWidget(window)
    window.prep_panel.settings_dir = None  # one probe's remembered choices must not meet the next probe's table
    window.show()
    caught = Caught(window)
    probes = [p for p in PROBES if p.window is not None]
    findings: dict[str, Finding] = {}
    started = time.perf_counter()
    try:
        with caught.installed():
            for index, probe in enumerate(probes):
                with monkeypatch.context() as patched:
                    findings[probe.name] = run_in_window(qtbot, window, patched, caught, probe,
                                                         tmp_path / f"window-{index}")
    finally:
        window.shutdown()
    counts = print_census("Issue 16 corpus, the window", probes, findings, time.perf_counter() - started)
    assert counts["hang"] == 0
