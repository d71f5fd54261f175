"""Smoke test of an installed or packaged Studio, as a person would use it, without torch.

    python packaging/smoke_test.py PATH/TO/studio          # the `studio` command of a venv
    python packaging/smoke_test.py dist/Studio/studio      # the packaged app's command-line executable

From a folder that holds an unrelated ``studio/`` package (which must not shadow the real one): trains on the
sample through the command line, predicts with the model file, opens the window with the sample (offscreen unless
a display is given) and opens it again with the model file, which must show the Predict page with that model.
Settings, runs and the log go to a temporary folder. Exits non-zero with a sentence on the first failure.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "samples" / "penguins.csv"


class SmokeTestError(Exception):
    pass


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    print(f"+ {' '.join(command[1:]) or command[0]}  ({time.monotonic() - started:.1f} s, exit {done.returncode})",
          flush=True)
    if done.returncode != 0:
        raise SmokeTestError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done


def window_report(studio: str, argument: str, cwd: Path, env: dict[str, str]) -> str:
    """What the window showed before it closed itself (studio.app's STUDIO_QUIT_AFTER_MS)."""
    done = run([studio, argument], cwd, {**env, "STUDIO_QUIT_AFTER_MS": env.get("STUDIO_QUIT_AFTER_MS", "5000")})
    lines = [line for line in done.stdout.splitlines() if line.startswith("Studio window shown:")]
    if not lines:
        raise SmokeTestError(f"the window did not report itself:\n{done.stdout}\n{done.stderr[-3000:]}")
    print(f"  {lines[-1]}")
    return lines[-1]


def smoke(studio: str, work: Path, display: bool) -> None:
    decoy = work / "studio"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise ImportError('the unrelated studio/ folder was imported')\n")
    env = {**os.environ, "STUDIO_SETTINGS_DIR": str(work / "settings"), "STUDIO_DATA_DIR": str(work / "data")}
    env.pop("PYTHONPATH", None)
    if not display:
        env["QT_QPA_PLATFORM"] = "offscreen"
    version = run([studio, "--version"], work, env)
    print(f"  {version.stdout.strip()}")
    model = work / "penguins.studio"
    trained = run([studio, "train", str(SAMPLE), "--target", "species", "--model", "logistic_regression",
                   "--out", str(model)], work, env)
    metrics = json.loads(trained.stdout.strip().splitlines()[-1])
    print(f"  test metrics: {metrics}")
    if not model.is_file():
        raise SmokeTestError(f"training reported success but wrote no {model.name}")
    predictions = work / "predictions.csv"
    run([studio, "predict", str(model), str(SAMPLE), "--out", str(predictions)], work, env)
    with predictions.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        expected = sum(1 for _ in csv.reader(handle))
    if len(rows) != expected:
        raise SmokeTestError(f"{len(rows) - 1} predictions for {expected - 1} rows")
    print(f"  {len(rows) - 1} predictions")
    sample_window = window_report(studio, "--sample", work, env)
    if "shown: True" not in sample_window or "data: penguins" not in sample_window:
        raise SmokeTestError(f"the window with the sample: {sample_window}")
    model_window = window_report(studio, str(model), work, env)
    if "page: Predict" not in model_window or f"model: {model.name}" not in model_window:
        raise SmokeTestError(f"the window with the model file: {model_window}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studio", help="the studio executable to test")
    parser.add_argument("--display", action="store_true", help="use the display in $DISPLAY (e.g. Xvfb), "
                        "not Qt's offscreen platform")
    args = parser.parse_args(argv)
    studio = str(Path(args.studio).resolve())
    with tempfile.TemporaryDirectory(prefix="studio-smoke-") as folder:
        try:
            smoke(studio, Path(folder), args.display)
        except (SmokeTestError, subprocess.TimeoutExpired, ValueError) as exc:
            print(f"SMOKE TEST FAILED: {exc}", file=sys.stderr)
            return 1
    print("Smoke test passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
