"""Builds the standalone Studio for this system and reports its size by component.

    python packaging/build.py            # dist/Studio (and on Linux dist/Studio-VERSION-linux-x86_64.tar.gz)
    python packaging/build.py --sizes    # only the size report of an existing dist/Studio

Run it with the Python of a virtual environment that has Studio (without torch) and PyInstaller installed:
``python3.11 -m venv .build-venv && .build-venv/bin/pip install . pyinstaller``. On Linux the folder gets the
desktop entry, its installer script and the model file type, and is packed as a tarball; on Windows feed
dist/Studio to packaging/windows/studio.iss (Inno Setup); on macOS the spec makes dist/Studio.app."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def folder_sizes(bundle: Path, top: int = 14) -> list[tuple[str, int]]:
    """Bytes per component: each top folder of _internal (and PySide6/Qt's libraries and plugins apart)."""
    internal = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    sizes: dict[str, int] = {}
    for path in internal.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        parts = path.relative_to(internal).parts
        key = parts[0] if len(parts) > 1 else "(loose files: Python, libraries)"
        if parts[0] == "PySide6" and len(parts) > 3 and parts[1] == "Qt":
            key = f"PySide6/Qt/{parts[2]}"
        sizes[key] = sizes.get(key, 0) + path.stat().st_size
    ordered = sorted(sizes.items(), key=lambda item: -item[1])
    rest = sum(size for _, size in ordered[top:])
    return [*ordered[:top], *([("(everything else)", rest)] if rest else [])]


def print_sizes(bundle: Path) -> int:
    total = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"{bundle}: {total / 1e6:.0f} MB unpacked")
    for name, size in folder_sizes(bundle):
        print(f"  {size / 1e6:7.1f} MB  {name}")
    return total


def loads_aligned(path: Path) -> bool:
    """Whether the dynamic loader will map this ELF file: every LOAD segment's file offset and address agree modulo
    the page size. Stripping a library that auditwheel's patchelf rewrote can break that ("ELF load command
    address/offset not page-aligned"), as it does for numpy's and scipy's OpenBLAS."""
    with path.open("rb") as handle:
        head = handle.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return True  # not a 64-bit little-endian ELF file: left as it is
        (table_at,) = struct.unpack_from("<Q", head, 32)
        entry_size, entries = struct.unpack_from("<HH", head, 54)
        handle.seek(table_at)
        table = handle.read(entry_size * entries)
    for number in range(entries):
        kind, _flags, offset, address, _physical, _size, _memory, align = struct.unpack_from(
            "<IIQQQQQQ", table, number * entry_size)
        if kind == 1 and align > 1 and (offset - address) % min(align, 4096) != 0:
            return False
    return True


def strip_libraries(bundle: Path) -> int:
    """Strips each shared library's symbol table where the stripped copy still loads; returns the bytes saved."""
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        return 0
    saved = 0
    for path in sorted(bundle.rglob("*.so*")):
        if path.is_symlink() or not path.is_file() or not loads_aligned(path):
            continue
        stripped = path.with_name(path.name + ".stripped")
        done = subprocess.run([strip, "--strip-unneeded", "-o", str(stripped), str(path)], capture_output=True,
                              check=False)
        if done.returncode == 0 and loads_aligned(stripped) and stripped.stat().st_size < path.stat().st_size:
            saved += path.stat().st_size - stripped.stat().st_size
            shutil.copymode(path, stripped)
            os.replace(stripped, path)
        else:
            stripped.unlink(missing_ok=True)
    return saved


def linux_tarball(dist: Path) -> Path:
    bundle = dist / "Studio"
    for name in ("studio.desktop", "studio-model.xml", "install-desktop-entry.sh"):
        shutil.copy2(PACKAGING / "linux" / name, bundle / name)
    sys.path.insert(0, str(ROOT))
    from studio import __version__

    archive = dist / f"Studio-{__version__}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname="Studio")
    print(f"{archive}: {archive.stat().st_size / 1e6:.0f} MB to download")
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    parser.add_argument("--sizes", action="store_true", help="only report the sizes of an existing build")
    args = parser.parse_args(argv)
    if not args.sizes:
        done = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(args.dist),
                               "--workpath", str(args.work), str(PACKAGING / "studio.spec")], check=False)
        if done.returncode != 0:
            return done.returncode
    bundle = args.dist / "Studio"
    if sys.platform.startswith("linux") and not args.sizes:
        print(f"stripped the libraries' symbol tables: {strip_libraries(bundle) / 1e6:.0f} MB saved")
    print_sizes(bundle)
    if sys.platform.startswith("linux") and not args.sizes:
        linux_tarball(args.dist)
    return 0


if __name__ == "__main__":
    sys.exit(main())
