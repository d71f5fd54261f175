"""Folders of pictures as data: listing a class-per-folder tree, reading every file once (what cannot be read, exact
and near copies, unusual formats, hostile files), the warnings in words, and tables that name pictures.

The drawing helpers here are shared with tests/core/test_image_training.py and tests/test_cli_images.py: tiny
pictures, so every test stays quick.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from studio.core.common.errors import DataError
from studio.core.data import images as images_module
from studio.core.data.images import (
    CLASS_COLUMN,
    IMAGE_COLUMN,
    ImageCheck,
    ImageFolder,
    ImageReadError,
    check_images,
    display_name,
    find_paths_column,
    image_paths_in,
    list_image_folder,
    open_image,
    read_image_table,
    read_pixels,
)

SHAPES = ("circle", "square", "triangle")


# -- drawing -------------------------------------------------------------------------------------------------------
def draw(shape: str, seed: int, size: int = 24) -> Image.Image:
    """A bright shape on a dark, speckled background. The speckle makes every picture's difference hash its own,
    so pictures drawn apart are never taken for near copies."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 60, 3)
    pixels = np.clip(base + rng.integers(0, 50, (size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    pen = ImageDraw.Draw(image)
    side = int(rng.integers(size // 2, size - 3))
    x, y = int(rng.integers(0, size - side)), int(rng.integers(0, size - side))
    colour = tuple(int(v) for v in rng.integers(170, 256, 3))
    if shape == "circle":
        pen.ellipse([x, y, x + side, y + side], fill=colour)
    elif shape == "square":
        pen.rectangle([x, y, x + side, y + side], fill=colour)
    else:
        pen.polygon([(x, y + side), (x + side, y + side), (x + side // 2, y)], fill=colour)
    return image


def draw_folder(root: Path, classes: Sequence[str] = SHAPES[:2], per_class: int = 10, size: int = 24,
                seed: int = 0) -> Path:
    """``root``/<class>/<nnn>.png, ``per_class`` distinct pictures of each shape."""
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw(name, seed * 100_000 + k * 1_000 + i, size).save(root / name / f"{i:03d}.png")
    return root


def near_copy(source: Path, target: Path) -> Path:
    """The same picture a little brighter, saved again: a near duplicate. (Resized or recompressed copies of
    pictures this tiny differ in too many hash bits to count as copies; large photos do not.)"""
    with Image.open(source) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16) + 8
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(target)
    return target


def truncated_jpeg(path: Path, seed: int = 1) -> Path:
    buffer = io.BytesIO()
    draw("circle", seed, 64).save(buffer, format="JPEG", quality=95)
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) // 2])
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` × ``height`` pixels, with almost no data behind it: a decompression
    bomb as far as any reader that trusts the header is concerned."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def tiff_16_bit(path: Path, seed: int = 2) -> Path:
    rng = np.random.default_rng(seed)
    values = (np.linspace(0, 4000, 24 * 24).reshape(24, 24) + rng.integers(0, 300, (24, 24))).astype(np.uint16)
    Image.fromarray(values).save(path)  # mode I;16: a 12-bit scan in 16-bit words
    return path


def cmyk_jpeg(path: Path, seed: int = 3) -> Path:
    draw("square", seed).convert("CMYK").save(path, quality=95)
    return path


def animated_gif(path: Path, seed: int = 4) -> Path:
    frames = [draw("triangle", seed + i).convert("P") for i in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)
    return path


def run_check(folder: ImageFolder) -> ImageCheck:
    job = check_images(folder)
    while True:
        try:
            next(job)
        except StopIteration as finished:
            return finished.value  # type: ignore[no-any-return]


def checked(root: Path) -> ImageFolder:
    folder = list_image_folder(root)
    return folder.with_check(run_check(folder))


def rows_named(folder: ImageFolder, *names: str) -> list[int]:
    relative = [folder.relative(p) for p in folder.frame[IMAGE_COLUMN]]
    return [relative.index(name) for name in names]


# -- listing --------------------------------------------------------------------------------------------------------
def test_listing_reads_class_folders_with_their_sub_folders_and_counts_the_rest(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=2)
    (root / "cat" / "indoors").mkdir()
    draw("circle", 9).save(root / "cat" / "indoors" / "sofa.png")
    (root / "dog" / "notes.txt").write_text("not a picture")
    (root / "dog" / ".DS_Store").write_bytes(b"\0")
    draw("square", 10).save(root / "stray.png")
    (root / ".thumbnails").mkdir()
    draw("square", 11).save(root / ".thumbnails" / "hidden.png")

    folder = list_image_folder(root)

    assert folder.class_counts == {"cat": 3, "dog": 2}
    assert folder.relative(folder.frame[IMAGE_COLUMN][2]) == os.path.join("cat", "indoors", "sofa.png")
    assert (folder.not_images, folder.outside_classes, folder.skipped_links) == (1, 1, 0)
    assert folder.describe_format() == "5 pictures in 2 classes"
    warnings = " ".join(folder.warnings())
    assert "1 file is not a picture; it is left out." in warnings
    assert "lies directly in the folder, not in a class folder" in warnings


def test_a_folder_named_by_a_relative_path_still_lists_absolute_paths_under_its_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=1)
    monkeypatch.chdir(tmp_path)
    folder = list_image_folder("pets")
    assert folder.root == str((tmp_path / "pets").resolve())
    for path in folder.frame[IMAGE_COLUMN]:
        assert os.path.isabs(path) and path.startswith(folder.root + os.sep)


def test_a_link_back_up_the_tree_is_not_followed(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=2)
    try:
        os.symlink("..", root / "cat" / "loop", target_is_directory=True)  # cat/loop -> pets: a circle
        os.symlink(root / "dog", root / "puppies", target_is_directory=True)  # a class folder reached by a link
    except OSError:
        pytest.skip("this file system cannot make links")
    folder = list_image_folder(root)
    assert folder.class_counts == {"cat": 2, "dog": 2}
    assert folder.skipped_links == 2
    assert any("2 linked folders are not followed (a link can lead in a circle)" in w for w in folder.warnings())


def test_what_cannot_be_trained_on_is_said_in_a_sentence(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert list_image_folder(empty).problems() == [
        "The folder holds no pictures. Put the pictures of each class in a sub-folder named after it."]

    single = draw_folder(tmp_path / "single", ("cat",), per_class=3)
    assert list_image_folder(single).problems()[0].startswith("Only one class was found (cat).")

    lonely = draw_folder(tmp_path / "lonely", ("cat", "dog"), per_class=3)
    for extra in ("001.png", "002.png"):
        (lonely / "dog" / extra).unlink()
    assert list_image_folder(lonely).problems() == [
        "Class 'dog' has only one picture; each class needs at least two (one to learn from, one to test on)."]

    papers = tmp_path / "papers"
    for name in ("cat", "dog"):
        (papers / name).mkdir(parents=True)
        (papers / name / "readme.txt").write_text("text")
        (papers / name / "scan.pdf").write_bytes(b"%PDF-1.4")
    folder = list_image_folder(papers)
    assert folder.problems()[0].startswith("The folder holds no pictures.")
    assert folder.warnings()[0] == "4 files are not pictures; they are left out."

    with pytest.raises(DataError, match="is not a folder"):
        list_image_folder(tmp_path / "missing")


# -- reading every file --------------------------------------------------------------------------------------------
def test_exact_copies_in_one_class_keep_one_and_across_classes_leave_all_out(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=4)
    (root / "cat" / "copy.png").write_bytes((root / "cat" / "000.png").read_bytes())
    (root / "dog" / "mislabelled.png").write_bytes((root / "cat" / "001.png").read_bytes())

    folder = checked(root)
    check = folder.check
    assert check is not None

    assert check.duplicate_rows == tuple(rows_named(folder, os.path.join("cat", "copy.png")))
    assert set(check.conflicting_rows) == set(rows_named(folder, os.path.join("cat", "001.png"),
                                                         os.path.join("dog", "mislabelled.png")))
    assert folder.class_counts == {"cat": 3, "dog": 4}, "one copy and both conflicting files left out"
    warnings = folder.warnings()
    assert "1 picture is an exact copy of another in the same class; one of each is kept." in warnings
    assert ("2 identical pictures are filed under different classes; they are left out, as the right class is "
            "unknown.") in warnings


def test_near_copies_are_grouped_and_distinct_pictures_are_not(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=6, size=32)
    near_copy(root / "cat" / "000.png", root / "cat" / "000-bright.png")
    near_copy(root / "dog" / "003.png", root / "dog" / "003-bright.png")

    folder = checked(root)
    assert folder.check is not None
    groups = {frozenset(folder.relative(folder.frame[IMAGE_COLUMN][r]) for r in g) for g in folder.check.near_groups}
    assert groups == {frozenset({os.path.join("cat", "000.png"), os.path.join("cat", "000-bright.png")}),
                      frozenset({os.path.join("dog", "003.png"), os.path.join("dog", "003-bright.png")})}
    assert not folder.check.left_out, "near copies are kept, only held together"
    assert any(w.startswith("4 pictures are near copies of each other (2 groups). Each group is kept on one side "
                            "of the split") for w in folder.warnings())


def test_damaged_and_empty_files_are_left_out_with_a_reason_and_the_rest_is_kept(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=3)
    truncated_jpeg(root / "cat" / "cut.jpg")
    (root / "dog" / "empty.png").write_bytes(b"")
    (root / "dog" / "fake.png").write_text("this is not a picture")

    folder = checked(root)
    assert folder.check is not None
    reasons = dict(folder.check.unreadable)
    assert len(reasons) == 3
    cut, empty, fake = rows_named(folder, os.path.join("cat", "cut.jpg"), os.path.join("dog", "empty.png"),
                                  os.path.join("dog", "fake.png"))
    assert reasons[cut].endswith("cut.jpg is cut short (a damaged or incomplete file)")
    assert reasons[empty].endswith("empty.png is empty (0 bytes)")
    assert reasons[fake].endswith("fake.png is not an image Studio can read")
    assert folder.class_counts == {"cat": 3, "dog": 3}
    assert folder.warnings()[0].startswith("3 files could not be read and are left out: ")
    assert len(folder.check.sizes) == 6


def test_a_decompression_bomb_is_refused_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=2)
    png_claiming(root / "cat" / "bomb.png", 100_000, 100_000)
    folder = checked(root)
    assert folder.check is not None
    (row, why), = folder.check.unreadable
    assert folder.relative(folder.frame[IMAGE_COLUMN][row]) == os.path.join("cat", "bomb.png")
    assert why.endswith("bomb.png would take too much memory to open (a decompression bomb); it is left out")
    with pytest.raises(ImageReadError, match="decompression bomb"):
        open_image(root / "cat" / "bomb.png")

    # Studio's own limit, below Pillow's: an ordinary picture above it is refused with its size.
    monkeypatch.setattr(images_module, "BOMB_PIXELS", 100)
    with pytest.raises(ImageReadError, match=r"is 24 × 24 pixels, too large to read safely"):
        open_image(root / "dog" / "000.png")
    assert len(run_check(list_image_folder(root)).unreadable) == 5


def test_unusual_formats_are_read_as_rgb(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=2)
    deep = tiff_16_bit(root / "cat" / "scan.tif")
    cmyk = cmyk_jpeg(root / "dog" / "print.jpg")
    moving = animated_gif(root / "dog" / "moving.gif")
    with Image.open(moving) as gif:
        assert gif.n_frames == 3
    with Image.open(deep) as tiff:
        assert tiff.mode.startswith("I;16")

    folder = checked(root)
    assert folder.check is not None and not folder.check.unreadable
    for path in (deep, cmyk, moving):
        image = open_image(path)
        assert image.mode == "RGB" and image.size == (24, 24)
    scan = read_pixels(deep, 16)
    assert scan.shape == (16, 16, 3) and scan.max() > 200, "a 12-bit scan is stretched, not left almost black"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads every file")
def test_a_file_without_read_permission_is_left_out(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=2)
    locked = root / "cat" / "locked.png"
    draw("circle", 77).save(locked)
    locked.chmod(0)
    try:
        folder = checked(root)
    finally:
        locked.chmod(0o644)
    assert folder.check is not None
    (_, why), = folder.check.unreadable
    assert "locked.png cannot be opened" in why and "ermission denied" in why


def test_file_names_that_are_not_utf8_are_read_and_shown_readably(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=2)
    buffer = io.BytesIO()
    draw("circle", 55).save(buffer, format="PNG")
    raw = os.path.join(os.fsencode(root / "cat"), b"caf\xe9-\xff.png")
    try:
        with open(raw, "wb") as handle:
            handle.write(buffer.getvalue())
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    folder = checked(root)
    assert folder.check is not None and not folder.check.unreadable
    assert folder.class_counts == {"cat": 3, "dog": 2}
    odd = next(p for p in folder.frame[IMAGE_COLUMN] if os.fsencode(p).endswith(b"\xff.png"))
    assert display_name(odd).endswith("caf\ufffd-\ufffd.png")
    assert read_pixels(odd, 8).shape == (8, 8, 3)


def test_small_classes_and_unbalanced_classes_are_warned(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat",), per_class=12)
    draw_folder(root, ("dog",), per_class=2, seed=1)
    warnings = checked(root).warnings()
    assert ("Class 'dog' has fewer than 10 pictures; the model can hardly learn it. Add pictures if you can."
            in warnings)
    assert any(w.startswith("The classes are unbalanced: the largest has 6 times as many pictures as the smallest")
               for w in warnings)


# -- tables of paths, and pictures named on a command line -----------------------------------------------------------
def test_a_table_of_paths_relative_to_it_is_read_as_pictures(tmp_path: Path) -> None:
    draw_folder(tmp_path / "pictures", ("a", "b"), per_class=2)
    table = tmp_path / "labels.csv"
    pd.DataFrame({"file": ["pictures/a/000.png", "pictures/a/001.png", "pictures/b/000.png", "pictures/b/001.png"],
                  "animal": ["cat", "cat", "dog", "dog"], "note": ["x", "y", "z", "w"]}).to_csv(table, index=False)

    folder = read_image_table(table, label_column="animal")
    assert folder.class_counts == {"cat": 2, "dog": 2}
    assert folder.source == str(table.resolve()) and folder.root == str(tmp_path.resolve())
    assert all(os.path.isfile(p) for p in folder.frame[IMAGE_COLUMN])
    assert list(folder.frame.columns) == [IMAGE_COLUMN, CLASS_COLUMN]
    assert find_paths_column(pd.read_csv(table)) == "file"

    with pytest.raises(DataError, match=r"Name the column that holds each picture's class \(--target COLUMN\)"):
        read_image_table(table)
    with pytest.raises(DataError, match="no column called 'kind'"):
        read_image_table(table, label_column="kind")
    plain = tmp_path / "plain.csv"
    pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}).to_csv(plain, index=False)
    with pytest.raises(DataError, match="No column of the table holds picture file names"):
        read_image_table(plain, label_column="y")


def test_pictures_named_on_a_command_line_are_found_in_files_and_folders(tmp_path: Path) -> None:
    root = draw_folder(tmp_path / "pets", ("cat", "dog"), per_class=2)
    (root / "cat" / "notes.txt").write_text("x")
    single = root / "dog" / "000.png"
    pictures, others = image_paths_in([str(root / "cat"), str(single)])
    assert [Path(p).name for p in pictures] == ["000.png", "001.png", "000.png"]
    assert others == 1
