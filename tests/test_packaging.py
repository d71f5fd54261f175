"""What an installed Studio carries: the sample tables and the style sheet from resources/, inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from studio.resources import RESOURCES_ENV, resources_dir, sample_dataset

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"studio/_resources/style.qss", "studio/_resources/samples/penguins.csv",
           "studio/_resources/samples/messy_customers.csv", "studio/_resources/icons/studio-256.png"}


def test_the_sample_and_the_style_sheet_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RESOURCES_ENV, raising=False)
    assert sample_dataset().is_file(), sample_dataset()
    assert (resources_dir() / "style.qss").is_file(), resources_dir()
    assert (resources_dir() / "samples" / "messy_customers.csv").is_file()


def test_the_package_list_names_every_package() -> None:
    """pyproject.toml lists the packages by hand (package-dir maps studio._resources to resources/): a new
    sub-package missing from the list would be left out of the wheel without a word."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "studio").rglob("*.py")}
    listed = set(setuptools["packages"])
    assert on_disk - listed == set(), f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    data_only = {name for name in listed - on_disk if name.startswith("studio._resources")}
    assert listed - on_disk - data_only == set(), f"listed but not in studio/: {sorted(listed - on_disk - data_only)}"
    assert setuptools["package-dir"] == {"studio._resources": "resources"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the source, so no build/ folder lands in the checkout."""
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("studio", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), "."], cwd=source, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = out.glob("studio_desktop-*.whl")
    return built


def test_the_wheel_ships_the_samples_and_the_style_sheet_but_not_the_screenshots(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not SHIPPED - names, f"missing from the wheel: {sorted(SHIPPED - names)}"
    # Only the app icon's PNGs (resources/icons); the README's screenshots stay out.
    assert not [n for n in names if (n.endswith(".png") and "/icons/" not in n) or "/screenshots/" in n]
    assert not [n for n in names if n.startswith("resources/")], "resources/ must not be a top-level folder"
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "studio").rglob("*.py")}
    assert not sources - names, f"modules missing from the wheel: {sorted(sources - names)}"


def test_an_installed_copy_finds_its_resources(wheel: Path, tmp_path: Path) -> None:
    """Unpacked as pip installs it, outside the checkout, without site-packages (so not this editable install)."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "import studio.resources as r\n"
            "print(r.__file__); print(r.sample_dataset()); print(r.resources_dir() / 'style.qss')")
    env = {k: v for k, v in os.environ.items() if k not in (RESOURCES_ENV, "PYTHONPATH")}
    done = subprocess.run([sys.executable, "-S", "-c", code, str(site)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False, env=env)
    assert done.returncode == 0, done.stderr
    module, sample, style = (Path(line) for line in done.stdout.splitlines())
    assert module.is_relative_to(site), module
    assert sample.is_relative_to(site) and sample.is_file(), sample
    assert style.is_relative_to(site) and style.is_file(), style
