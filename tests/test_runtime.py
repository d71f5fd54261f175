"""studio.runtime: a model file used from another program, without the window's packages.

Models of every family are trained and saved here, opened through ``studio.runtime.load`` and compared with what the
app itself predicts (``predict_frame`` with its drift notes, as ``studio predict`` does). A child process checks that
the runtime loads nothing of the window, the workers, Qt or Optuna; the README's and the docstring's examples run as
written; and (opt-in, ``-m perf``) a fresh environment built with the README's two pip commands predicts the same.
"""

from __future__ import annotations

import os

# As in tests/core/conftest.py: before scikit-learn loads OpenMP, whose spin-waits cost more than they save on these
# tiny tables on a busy 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import tomllib
import venv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import studio.runtime
from studio.core.common.errors import DataError, StudioError
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.models.params import ParamValue
from studio.core.serve.drift import check_drift
from studio.core.serve.predict import PREDICTION_COLUMN, add_drift_notes, predict_frame
from studio.core.store.model_file import UntrustedModelFileError, load_model, metadata_for, save_model
from studio.resources import sample_dataset
from studio.runtime import load
from tests.core.helpers import make_request, run_training

ROOT = Path(__file__).resolve().parents[1]
LEGACY = ROOT / "tests" / "core" / "data" / "legacy_models"
# What the runtime must never bring in: the window, the workers, the entry modules and their packages.
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "optuna", "studio.ui", "studio.workers", "studio.app", "studio.cli",
             "studio.__main__")
HAS_TORCH = importlib.util.find_spec("torch") is not None
ENSEMBLE = ('[{"model": "logistic_regression", "params": {}, "weight": 2}, '
            '{"model": "knn", "params": {}, "weight": 1}]')
# name -> (target, task, model key, settings): every family, small enough to train in a second.
FAMILIES: dict[str, tuple[str, Task, str, dict[str, ParamValue]]] = {
    "logistic_regression": ("species", Task.CLASSIFICATION, "logistic_regression", {}),
    "decision_tree": ("species", Task.CLASSIFICATION, "decision_tree", {}),
    "random_forest": ("species", Task.CLASSIFICATION, "random_forest", {}),
    "gradient_boosting": ("species", Task.CLASSIFICATION, "gradient_boosting", {}),
    "knn": ("species", Task.CLASSIFICATION, "knn", {}),
    "svm": ("species", Task.CLASSIFICATION, "svm", {}),
    "naive_bayes": ("species", Task.CLASSIFICATION, "naive_bayes", {}),
    "ensemble": ("species", Task.CLASSIFICATION, "ensemble", {"members": ENSEMBLE}),
    "linear_regression": ("body_mass_g", Task.REGRESSION, "linear_regression", {}),
    "random_forest_regression": ("body_mass_g", Task.REGRESSION, "random_forest", {}),
}
NETWORK = ("species", Task.CLASSIFICATION, "neural_network", {"epochs": 3, "hidden_layers": "8", "device": "cpu"})


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return load_table(sample_dataset()).frame


@pytest.fixture(scope="module")
def saved(penguins: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every family trained on the penguins and saved as the Export page saves it (the network only with torch)."""
    folder = tmp_path_factory.mktemp("models")
    families = {**FAMILIES, **({"neural_network": NETWORK} if HAS_TORCH else {})}
    paths: dict[str, Path] = {}
    for name, (target, task, key, params) in families.items():
        _, result = run_training(make_request(penguins, target, task, key, params))
        paths[name] = save_model(folder / f"{name}.studio", result.pipeline, metadata_for(result))
    return paths


def app_predictions(path: Path, frame: pd.DataFrame, trust: bool = False) -> pd.DataFrame:
    """What `studio predict` computes for these rows."""
    bundle = load_model(path, trust=trust)
    return add_drift_notes(bundle, frame, predict_frame(bundle, frame))


@pytest.mark.parametrize("name", [*FAMILIES, pytest.param("neural_network", marks=pytest.mark.skipif(
    not HAS_TORCH, reason="neural networks need torch"))])
def test_predictions_are_the_apps(name: str, saved: dict[str, Path], penguins: pd.DataFrame) -> None:
    model = load(saved[name])

    predicted = model.predict(penguins)

    expected = app_predictions(saved[name], penguins)
    pd.testing.assert_frame_equal(predicted, expected)
    assert predicted.attrs["notes"] == expected.attrs["notes"]
    assert model.task == FAMILIES.get(name, NETWORK)[1].value
    assert model.target == FAMILIES.get(name, NETWORK)[0]
    if model.task == "classification":
        assert model.classes == ["Adelie", "Chinstrap", "Gentoo"]
        probabilities = model.predict_proba(penguins)
        assert list(probabilities.columns) == model.classes
        np.testing.assert_array_equal(probabilities.to_numpy(),
                                      expected[list(expected.attrs["probability_columns"])].to_numpy())
    else:
        assert model.classes == []
        with pytest.raises(StudioError, match="no class probabilities"):
            model.predict_proba(penguins)


def test_rows_as_a_list_of_dicts_predict_as_the_table_does(saved: dict[str, Path], penguins: pd.DataFrame) -> None:
    model = load(saved["random_forest"])
    table = penguins.head(30)
    # As JSON would bring them: gaps as None, whole numbers as ints.
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in table.to_dict("records")]
    assert any(v is None for row in rows for v in row.values())

    predicted = model.predict(rows)

    expected = app_predictions(saved["random_forest"], table)
    shown = [PREDICTION_COLUMN, *expected.attrs["probability_columns"]]
    pd.testing.assert_frame_equal(predicted[shown], expected[shown])


def test_columns_say_which_inputs_are_needed_and_which_may_be_missing(saved: dict[str, Path],
                                                                       penguins: pd.DataFrame) -> None:
    model = load(saved["random_forest"])

    names = [c.name for c in model.columns]
    required = {c.name for c in model.columns if c.required}

    assert names == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]
    assert required == {"island", "year"}  # the sample has gaps in the others, so the preparation fills them
    assert model.predict(penguins.drop(columns=["sex", "body_mass_g"])).shape[0] == len(penguins)
    with pytest.raises(DataError, match="'year'"):
        model.predict(penguins.drop(columns=["year"]))


def test_check_is_the_drift_report(saved: dict[str, Path], penguins: pd.DataFrame) -> None:
    model = load(saved["gradient_boosting"])
    rows = penguins[penguins["island"] == "Dream"]

    report = model.check(rows)

    assert report == check_drift(load_model(saved["gradient_boosting"]).metadata, rows)
    assert report.checked and "island" in report.drifted
    assert model.metadata["model"] == "gradient_boosting"
    assert model.metadata["versions"]["scikit-learn"]


def test_a_pickle_era_file_needs_trust() -> None:
    path = LEGACY / "rf.studio.joblib"
    rows = load_table(LEGACY / "penguins_rows.csv").frame
    with pytest.raises(UntrustedModelFileError, match="trust"):
        load(path)

    model = load(path, trust=True)

    expected = pd.read_csv(LEGACY / "rf.predictions.csv")
    assert list(model.predict(rows)[PREDICTION_COLUMN].astype(str)) == list(expected["prediction"].astype(str))


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": "", "PYTHONNOUSERSITE": "1"}


def test_the_runtime_loads_nothing_of_the_window_qt_or_optuna(saved: dict[str, Path]) -> None:
    script = textwrap.dedent(f"""
        import sys
        from studio.runtime import load
        model = load({str(saved["random_forest"])!r})
        rows = [{{"island": "Biscoe", "bill_length_mm": 45.1, "year": 2008}}]
        assert model.predict(rows)["prediction (Studio)"][0] in model.classes
        forbidden = {FORBIDDEN!r}
        loaded = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))
        print("LOADED", loaded)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=child_env(), check=False)
    assert done.returncode == 0, done.stderr
    # Not torch: where it is installed, importing skops.io imports it (skops lists scikit-learn's estimators, which
    # walks sklearn.externals.array_api_compat.torch), whatever the model.
    assert "LOADED []" in done.stdout, done.stdout


def examples() -> dict[str, str]:
    """The README section's first Python example and the module docstring's, as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using a model file in another program", 1)[1].split("\n## ", 1)[0]
    # The first: the table example (the picture example after it needs a picture model and pictures).
    from_readme = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[0]
    after = (studio.runtime.__doc__ or "").split("Example::\n\n", 1)[1]
    from_docstring = textwrap.dedent("\n\n".join(after.split("\n\n")[:2]))  # the import, then the rest
    return {"README": from_readme, "docstring": from_docstring}


@pytest.mark.parametrize("where", ["README", "docstring"])
def test_the_examples_run_as_written(where: str, saved: dict[str, Path], tmp_path: Path) -> None:
    code = examples()[where]
    assert code.count("\n") >= 7, code
    shutil.copy2(saved["random_forest"], tmp_path / "penguins.studio")

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=child_env(), check=False)

    assert done.returncode == 0, code + done.stderr
    assert "classification species ['Adelie', 'Chinstrap', 'Gentoo']" in done.stdout


def readme_pip_commands() -> list[list[str]]:
    """The README section's two pip commands, without their comments."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using a model file in another program", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.startswith("pip install")]


def test_the_readme_installs_exactly_the_runtime_extra() -> None:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    needed = {re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0] for requirement in extra["runtime"]}

    studio_line, packages_line = readme_pip_commands()

    assert studio_line[:3] == ["pip", "install", "--no-deps"]
    assert {re.split(r"[<>=!~ \[]", name, maxsplit=1)[0] for name in packages_line[2:]} == needed


ENV_SCRIPT = """
import importlib.util, json, sys
from pathlib import Path
import pandas as pd
import sklearn
import studio
from studio.runtime import load

folder = Path(sys.argv[1])
rows = pd.read_pickle(folder / "rows.pkl")
warnings = {}
for path in sorted(folder.glob("*.studio")):
    model = load(path)
    model.predict(rows).to_csv(folder / f"{path.stem}.env.csv", index=False)
    assert model.check(rows).checked
    warnings[path.stem] = model.warning
print(json.dumps({"studio": studio.__file__, "absent": [name for name in ("PySide6", "pyqtgraph", "optuna", "torch")
                  if importlib.util.find_spec(name) is None], "scikit-learn": sklearn.__version__,
                  "pandas": pd.__version__, "warnings": warnings}))
"""


@pytest.mark.perf
def test_a_fresh_environment_with_only_the_runtime_packages_predicts_the_same(
        saved: dict[str, Path], penguins: pd.DataFrame, tmp_path: Path) -> None:
    """Builds what the README describes: a new virtual environment (no system site packages), Studio's wheel with
    --no-deps, then the README's package line. Models of every scikit-learn family saved by this environment predict
    the same there. The neural network is left out: torch is a large download, and its file needs nothing else of
    Studio than the other families do. Takes a minute or two (the wheels come from PyPI or a local mirror)."""
    source = tmp_path / "source"  # a copy, so the build leaves no build/ folder in the checkout
    for name in ("studio", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(tmp_path / "wheel"), "."], cwd=source, capture_output=True, text=True, timeout=300,
                           check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (tmp_path / "wheel").glob("studio_desktop-*.whl")
    venv.create(tmp_path / "env", with_pip=True, system_site_packages=False)
    pip = [str(tmp_path / "env" / "bin" / "python"), "-m", "pip"]
    studio_line, packages_line = readme_pip_commands()
    # The README's commands as written, with the wheel for the checkout's path.
    for command in ([*pip, *studio_line[1:-1], "-q", str(wheel)], [*pip, *packages_line[1:], "-q"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=child_env(), check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    folder = tmp_path / "models"
    folder.mkdir()
    sklearn_only = {name: path for name, path in saved.items() if name != "neural_network"}
    for path in sklearn_only.values():
        shutil.copy2(path, folder / path.name)
    rows = penguins.sample(80, random_state=1)
    rows.to_pickle(folder / "rows.pkl")  # pickle: the same dtypes and gaps on both sides, with no reader between
    (tmp_path / "use.py").write_text(ENV_SCRIPT, encoding="utf-8")
    done = subprocess.run([str(tmp_path / "env" / "bin" / "python"), str(tmp_path / "use.py"), str(folder)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=child_env(), check=False)
    assert done.returncode == 0, done.stdout + done.stderr

    report = json.loads(done.stdout.strip().splitlines()[-1])
    print("the runtime environment:", report)  # with -s: which versions the README's command installed
    assert Path(report["studio"]).is_relative_to(tmp_path / "env"), report["studio"]  # the wheel, not the checkout
    assert set(report["absent"]) == {"PySide6", "pyqtgraph", "optuna", "torch"}
    for name, path in sklearn_only.items():
        there = pd.read_csv(folder / f"{name}.env.csv")
        expected = app_predictions(path, rows)
        expected.to_csv(tmp_path / "here.csv", index=False)
        here = pd.read_csv(tmp_path / "here.csv")  # through CSV as well, so both sides are read alike
        assert list(there.columns) == list(here.columns), name
        numbers = [c for c in here.columns if pd.api.types.is_float_dtype(here[c])]
        pd.testing.assert_frame_equal(there.drop(columns=numbers), here.drop(columns=numbers), obj=name)
        np.testing.assert_allclose(there[numbers].to_numpy(), here[numbers].to_numpy(), rtol=1e-9, atol=1e-9,
                                   err_msg=name)
