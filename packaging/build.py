"""Builds the standalone Studio for this system and reports its size by component.

    python packaging/build.py            # dist/Studio (and on Linux dist/Studio-VERSION-linux-x86_64.tar.gz)
    python packaging/build.py --sizes    # only the size report of an existing dist/Studio

Run it with the Python of a virtual environment that has Studio (without torch) and PyInstaller installed:
``python3.11 -m venv .build-venv && .build-venv/bin/pip install . pyinstaller``. On Linux the folder gets the
desktop entry, its installer script and the model file type, and is packed as a tarball; on Windows feed
dist/Studio to packaging/windows/studio.iss (Inno Setup); on macOS the spec makes dist/Studio.app."""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
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


def elf_symbol(path: Path, name: str) -> tuple[int, int] | None:
    """(file offset, size) of a defined symbol in a 64-bit little-endian ELF file's dynamic symbol table."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    (sections_at,) = struct.unpack_from("<Q", data, 40)
    entry_size, count = struct.unpack_from("<HH", data, 58)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, sections_at + i * entry_size) for i in range(count)]
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, sym_size in sections:
        if kind != 11:  # SHT_DYNSYM
            continue
        strings_at = sections[link][4]
        for at in range(offset, offset + size, sym_size):
            name_at, _info, _other, index, value, length = struct.unpack_from("<IBBHQQ", data, at)
            end = data.index(b"\0", strings_at + name_at)
            if data[strings_at + name_at:end].decode() == name and 0 < index < count:
                _n, _k, _f, addr, sec_offset, *_rest = sections[index]
                return value - addr + sec_offset, length
    return None


def icu_items(blob: bytes) -> dict[str, int]:
    """Item name (as icupkg lists it, e.g. "coll/de.res") -> size, from an ICU common data package's table of
    contents (the header, then a count and that many pairs of name and data offsets from the table's start)."""
    header_size = struct.unpack_from("<H", blob, 0)[0]
    if blob[2:4] != b"\xda\x27" or blob[12:16] != b"CmnD":
        raise ValueError("not an ICU common data package")
    (count,) = struct.unpack_from("<I", blob, header_size)
    entries = [struct.unpack_from("<II", blob, header_size + 4 + 8 * i) for i in range(count)]
    items = {}
    for number, (name_at, data_at) in enumerate(entries):
        end = blob.index(b"\0", header_size + name_at)
        name = blob[header_size + name_at:end].decode().split("/", 1)[1]  # without the "icudt73l/" prefix
        next_at = entries[number + 1][1] if number + 1 < count else len(blob) - header_size
        items[name] = next_at - data_at
    return items


LOCALE_ITEM = re.compile(r"[a-z]{2,3}(_[A-Za-z0-9]*)*")  # de, de_AT, zh_Hant_TW, de_ (an alias)


def icu_item_dropped(name: str, size: int) -> bool:
    """What an English-only Qt app never reads from ICU's data. QtCore calls ICU for case mapping (code, no data),
    collation (QCollator, QFileSystemModel's sorting), time zone names and calendars, and text converters by name;
    never break iterators, transliteration or number spell-out. Kept: every tree's root, pool and res_index items
    and the English locales (en, en_GB, en_US_POSIX, ...), the supplemental data (likely subtags, time zones,
    plurals, ...), collation's root table (ucadata.icu), normalisation and properties (.nrm, .icu, .spp, .cfu),
    the converter aliases and the small single-byte converters. Dropped: the other 800 locales of each tree (ICU
    answers with their root-locale rules), the multi-byte CJK and EBCDIC converter tables (Studio reads text with
    Python's codecs, never Qt's) and the word-break dictionaries."""
    leaf = name.rsplit("/", 1)[-1]
    stem, _, kind = leaf.rpartition(".")
    if kind == "dict":
        return True
    if kind == "cnv":
        return size > 10_000
    if kind == "res" and stem != "res_index" and LOCALE_ITEM.fullmatch(stem):
        return not (stem == "en" or stem.startswith("en_"))
    return False


def icu_works(library_folder: Path, version: str) -> str | None:
    """None when ICU from this folder opens German and Japanese collators, a time zone's name, a calendar, case
    mapping and a converter the way QtCore calls them; else what failed."""
    loaded = {}
    for name in ("icudata", "icuuc", "icui18n"):
        loaded[name] = ctypes.CDLL(str(library_folder / f"lib{name}.so.{version}"), mode=ctypes.RTLD_GLOBAL)
    uc, i18n = loaded["icuuc"], loaded["icui18n"]
    status = ctypes.c_int(0)

    def check(what: str) -> str | None:
        return f"{what}: ICU error {status.value}" if status.value > 0 else None

    for locale in (b"en_US", b"de_DE", b"ja_JP", b"root"):
        collator = getattr(i18n, f"ucol_open_{version}")
        collator.restype = ctypes.c_void_p
        handle = collator(locale, ctypes.byref(status))
        if check(f"ucol_open({locale.decode()})"):
            return check(f"ucol_open({locale.decode()})")
        getattr(i18n, f"ucol_close_{version}")(ctypes.c_void_p(handle))
        zone = (ctypes.c_uint16 * 14)(*b"Europe/Berlin", 0)
        calendar_open = getattr(i18n, f"ucal_open_{version}")
        calendar_open.restype = ctypes.c_void_p
        calendar = calendar_open(zone, -1, locale, 0, ctypes.byref(status))
        if check(f"ucal_open({locale.decode()})"):
            return check(f"ucal_open({locale.decode()})")
        out = (ctypes.c_uint16 * 128)()
        getattr(i18n, f"ucal_getTimeZoneDisplayName_{version}")(ctypes.c_void_p(calendar), 0, locale, out, 128,
                                                                 ctypes.byref(status))
        getattr(i18n, f"ucal_close_{version}")(ctypes.c_void_p(calendar))
        if check(f"ucal_getTimeZoneDisplayName({locale.decode()})"):
            return check(f"ucal_getTimeZoneDisplayName({locale.decode()})")
        text = (ctypes.c_uint16 * 6)(*b"stra\xdfe")
        getattr(uc, f"u_strToUpper_{version}")(out, 128, text, 6, locale, ctypes.byref(status))
        if check("u_strToUpper"):
            return check("u_strToUpper")
    converter_open = getattr(uc, f"ucnv_open_{version}")
    converter_open.restype = ctypes.c_void_p
    for name in (b"windows-1252", b"ISO-8859-2", b"KOI8-R", b"UTF-16LE"):
        converter = converter_open(name, ctypes.byref(status))
        if check(f"ucnv_open({name.decode()})"):
            return check(f"ucnv_open({name.decode()})")
        getattr(uc, f"ucnv_close_{version}")(ctypes.c_void_p(converter))
    return None


def trim_icu_data(bundle: Path) -> int:
    """Replaces Qt's ICU data library (libicudata.so.NN: 32 MB, every locale of every language) by one that holds
    what an English-only app reads (see icu_item_dropped; about 6 MB), exporting the same symbol icudtNN_dat that
    libicuuc links to. Needs icupkg (Debian: icu-devtools) and a C compiler; without them, or when the trimmed
    data fails icu_works in a separate process, the original library stays. Returns the bytes saved."""
    found = sorted((bundle / "_internal" / "PySide6" / "Qt" / "lib").glob("libicudata.so.[0-9]*"))
    icupkg, compiler = shutil.which("icupkg"), shutil.which("cc") or shutil.which("gcc")
    if not found or found[0].is_symlink():
        return 0
    library = found[0]
    version = library.name.rsplit(".", 1)[1]
    if icupkg is None or compiler is None:
        print(f"kept the full ICU data ({library.stat().st_size / 1e6:.0f} MB): icupkg (Debian: icu-devtools) "
              "or a C compiler is missing")
        return 0
    where = elf_symbol(library, f"icudt{version}_dat")
    if where is None:
        print(f"kept the full ICU data: {library.name} exports no icudt{version}_dat")
        return 0
    offset, size = where
    with library.open("rb") as handle:
        handle.seek(offset)
        blob = handle.read(size)
    items = icu_items(blob)
    dropped = sorted(name for name, item_size in items.items() if icu_item_dropped(name, item_size))
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        full, strict, trimmed = work / f"icudt{version}l.dat", work / "strict.dat", work / "trimmed.dat"
        full.write_bytes(blob)
        # First everything but the word-break dictionaries, with icupkg's dependency check; then those, which
        # brkitr/root.res names: ICU treats a missing dictionary as none (rule-based breaking), and Qt does not
        # use ICU's break iterators at all.
        (work / "drop.txt").write_text("".join(f"{n}\n" for n in dropped if not n.endswith(".dict")))
        (work / "dicts.txt").write_text("".join(f"{n}\n" for n in dropped if n.endswith(".dict")))
        steps = [[icupkg, "--auto_toc_prefix", "-r", str(work / "drop.txt"), str(full), str(strict)],
                 [icupkg, "--auto_toc_prefix", "--ignore-deps", "-r", str(work / "dicts.txt"), str(strict),
                  str(trimmed)]]
        (work / "data.s").write_text(
            f'\t.section .rodata\n\t.globl icudt{version}_dat\n\t.type icudt{version}_dat, @object\n'
            f'\t.balign 16\nicudt{version}_dat:\n\t.incbin "{trimmed}"\n'
            f'\t.size icudt{version}_dat, . - icudt{version}_dat\n\t.section .note.GNU-stack,"",@progbits\n')
        replacement = work / library.name
        steps.append([compiler, "-shared", "-nostdlib", f"-Wl,-soname,{library.name}", "-o", str(replacement),
                      str(work / "data.s")])
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            # A converter that extends a dropped multi-byte table (windows-936 on ibm-1386) goes with it.
            while step is steps[0] and done.returncode != 0:
                dependents = set(re.findall(r"Item (\S+\.cnv) depends on missing item \S+\.cnv", done.stderr))
                if not dependents or dependents & set(dropped):
                    break
                dropped = sorted({*dropped, *dependents})
                (work / "drop.txt").write_text("".join(f"{n}\n" for n in dropped if not n.endswith(".dict")))
                done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"kept the full ICU data: {Path(step[0]).name} failed: {(done.stderr or done.stdout)[-800:]}")
                return 0
        # The check runs in a fresh process (a library once loaded stays loaded), from a copy of the bundle's
        # ICU folder with the replacement in it.
        trial = work / "trial"
        trial.mkdir()
        for name in ("icuuc", "icui18n"):
            shutil.copy2(library.with_name(f"lib{name}.so.{version}"), trial)
        shutil.copy2(replacement, trial)
        checked = subprocess.run([sys.executable, __file__, "--check-icu", str(trial), version],
                                 capture_output=True, text=True, check=False)
        if checked.returncode != 0:
            print(f"kept the full ICU data: the trimmed data failed: {checked.stdout}{checked.stderr[-800:]}")
            return 0
        saved = library.stat().st_size - replacement.stat().st_size
        shutil.copymode(library, replacement)
        shutil.copy2(replacement, library)
    print(f"ICU data: {len(items) - len(dropped)} of {len(items)} items kept "
          f"({(size - sum(items[n] for n in dropped)) / 1e6:.1f} of {size / 1e6:.1f} MB), {saved / 1e6:.0f} MB saved")
    return saved


def link_duplicates(bundle: Path) -> int:
    """Turns byte-identical copies of a shared library into relative symlinks to one of them (pyarrow's
    libarrow_python.so, .so.2600 and .so.2600.1.0; the libgfortran and libquadmath that numpy and scipy both
    vendor). The copy kept is the one other symlinks already point at (PyInstaller's links in _internal), else the
    first by name; the dynamic loader follows the link and maps the file once. Returns the bytes saved."""
    by_content: dict[tuple[int, str], list[Path]] = {}
    for path in sorted(bundle.rglob("*.so*")):
        if path.is_file() and not path.is_symlink():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            by_content.setdefault((path.stat().st_size, digest), []).append(path)
    targets = {p.resolve() for p in bundle.rglob("*") if p.is_symlink()}
    saved = 0
    for (size, _digest), copies in by_content.items():
        if len(copies) < 2:
            continue
        kept_copy = next((p for p in copies if p.resolve() in targets), copies[0])
        for path in copies:
            if path != kept_copy:
                path.unlink()
                path.symlink_to(os.path.relpath(kept_copy, path.parent))
                saved += size
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
    parser.add_argument("--check-icu", nargs=2, metavar=("FOLDER", "VERSION"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check_icu:
        failed = icu_works(Path(args.check_icu[0]), args.check_icu[1])
        print(failed or "ICU works")
        return 1 if failed else 0
    if not args.sizes:
        done = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(args.dist),
                               "--workpath", str(args.work), str(PACKAGING / "studio.spec")], check=False)
        if done.returncode != 0:
            return done.returncode
    bundle = args.dist / "Studio"
    if sys.platform.startswith("linux") and not args.sizes:
        print(f"stripped the libraries' symbol tables: {strip_libraries(bundle) / 1e6:.0f} MB saved")
        trim_icu_data(bundle)
        print(f"identical copies of a library made links to one: {link_duplicates(bundle) / 1e6:.1f} MB saved")
    print_sizes(bundle)
    if sys.platform.startswith("linux") and not args.sizes:
        linux_tarball(args.dist)
    return 0


if __name__ == "__main__":
    sys.exit(main())
