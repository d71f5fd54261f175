"""Folders of pictures as a dataset: one sub-folder per class, or a table with a column of image paths.

Opening is two passes. ``list_image_folder`` only walks the folder (names, sizes on disk), so the class counts
and the thumbnail grid show at once; ``check_images`` then reads every file in a worker, as a generator, and
finds what a person must know before training: unreadable and truncated files, exact and near duplicates (a
near duplicate on both sides of the split makes the test score lie), very large images and decompression bombs.
Every image is read the same way everywhere (``open_image``): turned upright from its EXIF orientation, first
frame only, and made RGB whatever its mode (grayscale, palette, RGBA, CMYK, 16-bit).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections import Counter
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from studio.core.common.errors import DataError
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.kinds import DataKind

if TYPE_CHECKING:
    from PIL import Image as PILImage

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
IMAGE_COLUMN = "image"  # the frame's column of absolute paths
CLASS_COLUMN = "class"  # the frame's column of class names
MIN_CLASS_IMAGES = 10  # fewer than this in a class: warned, as the model can hardly learn it
IMBALANCE_RATIO = 5.0  # the largest class this many times the smallest: warned
LARGE_PIXELS = 4096 * 4096  # larger images are read, but slowly: warned
# Pillow refuses images above twice its limit by itself; between one and two times it only warns. Both are
# refused here, in words: a 9,000 x 10,000 photo is rare, a crafted file that inflates to gigabytes is not.
BOMB_PIXELS = 89_478_485
HASH_SIDE = 16  # difference hashes of 16 x 16 = 256 bits: enough detail that similar scenes do not collide
NEAR_DUPLICATE_BITS = 12  # hashes this close (of 256 bits) count as the same picture resized or recompressed
NEAR_DUPLICATE_LIMIT = 5_000  # above this many images only identical difference hashes are compared


class ImageReadError(DataError):
    """One image could not be read; the message says why in words."""


def display_name(path: str) -> str:
    """A file name as a person can read it: a name that is not valid UTF-8 keeps its readable parts."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def open_image(path: str | Path, draft: tuple[int, int] | None = None, data: bytes | None = None) -> PILImage.Image:
    """The image at ``path`` as an upright RGB picture (the first frame of an animation).

    ``draft`` lets a JPEG decode at a reduced scale no smaller than that size, which makes thumbnails and small
    network inputs several times faster. ``data``: the file's bytes, already read (the file is then not read
    again). Raises ImageReadError with a sentence for anything it cannot read.
    """
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    name = display_name(str(path))
    try:
        if (len(data) if data is not None else os.path.getsize(path)) == 0:
            raise ImageReadError(f"{name} is empty (0 bytes).")
    except OSError:
        pass  # opening it below says what is wrong, in words
    source: str | Path | io.BytesIO = io.BytesIO(data) if data is not None else path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                if image.width * image.height > BOMB_PIXELS:
                    raise ImageReadError(
                        f"{name} is {image.width:,} × {image.height:,} pixels, too large to read safely (the limit "
                        f"is {BOMB_PIXELS / 1e6:.0f} million pixels); it is left out.")
                image.seek(0)
                if draft is not None and image.format == "JPEG":
                    image.draft("RGB", draft)
                image.load()
                return _upright_rgb(ImageOps.exif_transpose(image) or image)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(f"{name} would take too much memory to open (a decompression bomb); it is left "
                             "out.") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{name} is not an image Studio can read.") from None
    except PermissionError:
        raise ImageReadError(f"{name} cannot be opened: permission denied.") from None
    except FileNotFoundError:
        raise ImageReadError(f"{name} is no longer there.") from None
    except OSError as exc:
        text = str(exc)
        if "truncated" in text or "broken data stream" in text or "image file is" in text:
            raise ImageReadError(f"{name} is cut short (a damaged or incomplete file).") from None
        raise ImageReadError(f"{name} could not be read: {text}.") from None
    except (ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise ImageReadError(f"{name} is damaged: {exc or type(exc).__name__}.") from None


def _upright_rgb(image: PILImage.Image) -> PILImage.Image:
    from PIL import Image

    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit and float pictures: stretched to their own range, so a 12-bit scan is not almost black.
        values = np.asarray(image, dtype=np.float64)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        image = Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), mode="L")
    elif mode in ("P", "PA", "LA", "RGBA", "La", "RGBa"):
        # Transparent parts on white, the way a viewer shows them.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def read_pixels(path: str | Path, size: int, grayscale: bool = False, fit: str = "pad") -> np.ndarray:
    """The picture as the network sees it: ``size`` × ``size`` uint8 pixels, (H, W, 3) or (H, W, 1).

    ``fit``: "pad" keeps the whole picture and fills the sides with black, "stretch" resizes it to a square,
    "crop" cuts the middle square. None of them crops unless asked.
    """
    from PIL import Image, ImageOps

    image = open_image(path, draft=(size, size))
    if fit == "stretch":
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    elif fit == "crop":
        image = ImageOps.fit(image, (size, size), Image.Resampling.BILINEAR)
    else:
        image = ImageOps.pad(image, (size, size), Image.Resampling.BILINEAR, color=(0, 0, 0))
    if grayscale:
        return np.asarray(image.convert("L"), dtype=np.uint8)[:, :, None]
    return np.asarray(image, dtype=np.uint8)


# -- the folder --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageCheck:
    """What reading every image found. Rows are positions in the dataset's frame."""

    sizes: tuple[tuple[int, int], ...] = ()  # (width, height) per readable image
    unreadable: tuple[tuple[int, str], ...] = ()  # (row, why)
    duplicate_rows: tuple[int, ...] = ()  # later copies of an identical file in the same class: left out
    conflicting_rows: tuple[int, ...] = ()  # identical files in different classes: all left out
    near_groups: tuple[tuple[int, ...], ...] = ()  # near-identical pictures: kept on one side of the split
    large: int = 0  # images above LARGE_PIXELS

    @property
    def left_out(self) -> frozenset[int]:
        return frozenset([row for row, _ in self.unreadable] + list(self.duplicate_rows)
                         + list(self.conflicting_rows))


@dataclass(frozen=True)
class ImageFolder:
    """Pictures and their classes: ``frame`` has one row per image file, its absolute path and its class."""

    frame: pd.DataFrame
    root: str
    source: str = ""  # the folder, or the table of paths it was read from
    not_images: int = 0  # files that are not pictures (by their name), left out
    outside_classes: int = 0  # pictures directly in the folder, not in a class folder
    skipped_links: int = 0  # folders reached through a link: not followed (a link can loop)
    check: ImageCheck | None = None  # None until check_images has read every file

    kind: ClassVar[DataKind] = DataKind.IMAGES

    @property
    def path(self) -> str:
        return self.source or self.root

    @property
    def name(self) -> str:
        return Path(self.path).name

    @cached_property
    def class_counts(self) -> dict[str, int]:
        # Kept: the pages ask often, and a new check makes a new ImageFolder.
        counts = Counter(self.usable_frame()[CLASS_COLUMN])
        return dict(sorted(counts.items()))

    @cached_property
    def class_total(self) -> int:
        return int(self.frame[CLASS_COLUMN].nunique())

    def warmed(self) -> ImageFolder:
        """This folder with what the pages ask for first already counted: called on the worker that lists it,
        so counting 20,000 class names never holds up the window."""
        _ = self.class_counts, self.class_total
        return self

    def describe_format(self) -> str:
        classes = self.class_total
        return f"{len(self.frame):,} pictures in {classes} class{'es' if classes != 1 else ''}"

    def relative(self, path: str) -> str:
        try:
            return os.path.relpath(path, self.root)
        except ValueError:  # another drive on Windows
            return path

    def usable_frame(self) -> pd.DataFrame:
        """The rows training uses: without the files the check left out."""
        if self.check is None or not self.check.left_out:
            return self.frame
        keep = np.ones(len(self.frame), dtype=bool)
        keep[list(self.check.left_out)] = False
        return self.frame.loc[keep].reset_index(drop=True)

    def with_check(self, check: ImageCheck) -> ImageFolder:
        return replace(self, check=check)

    def warnings(self) -> list[str]:
        """What a person should know about these pictures, each with what Studio does about it."""
        found: list[str] = []
        if self.not_images:
            found.append(f"{self.not_images:,} file{_s(self.not_images)} {_are(self.not_images)} not "
                         f"{'a picture; it is' if self.not_images == 1 else 'pictures; they are'} left out.")
        if self.outside_classes:
            n = self.outside_classes
            found.append(f"{n:,} picture{_s(n)} {'lies' if n == 1 else 'lie'} directly in the folder, not in a "
                         f"class folder; {'it is' if n == 1 else 'they are'} left out.")
        if self.skipped_links:
            found.append(f"{self.skipped_links:,} linked folder{_s(self.skipped_links)} {_are(self.skipped_links)} "
                         "not followed (a link can lead in a circle).")
        check = self.check
        if check is not None:
            if check.unreadable:
                found.append(f"{len(check.unreadable):,} file{_s(len(check.unreadable))} could not be read and "
                             f"{_are(len(check.unreadable))} left out: "
                             + "; ".join(why for _, why in check.unreadable[:3])
                             + (" …" if len(check.unreadable) > 3 else ""))
            if check.duplicate_rows:
                n = len(check.duplicate_rows)
                found.append(f"{n:,} picture{_s(n)} {_are(n)} {'an exact copy' if n == 1 else 'exact copies'} "
                             "of another in the same class; one of each is kept.")
            if check.conflicting_rows:
                n = len(check.conflicting_rows)
                found.append(f"{n:,} identical picture{_s(n)} {_are(n)} filed under different classes; "
                             f"{'they are' if n != 1 else 'it is'} left out, as the right class is unknown.")
            if check.near_groups:
                n = sum(len(g) for g in check.near_groups)
                found.append(f"{n:,} pictures are near copies of each other ({len(check.near_groups):,} groups). "
                             "Each group is kept on one side of the split, so the test score is not flattered by "
                             "pictures the model has already seen.")
            if check.large:
                found.append(f"{check.large:,} picture{_s(check.large)} {_are(check.large)} very large (over 16 "
                             "million pixels); they are shrunk when read, which takes longer.")
        counts = self.class_counts
        small = [name for name, count in counts.items() if count < MIN_CLASS_IMAGES]
        if small and len(counts) >= 2:
            found.append(f"{_list(small)} {'has' if len(small) == 1 else 'have'} fewer than {MIN_CLASS_IMAGES} "
                         "pictures; the model can hardly learn "
                         f"{'it' if len(small) == 1 else 'them'}. Add pictures if you can.")
        if len(counts) >= 2 and min(counts.values()) > 0:
            largest, smallest = max(counts.values()), min(counts.values())
            if largest / smallest >= IMBALANCE_RATIO:
                found.append(f"The classes are unbalanced: the largest has {largest / smallest:.0f} times as many "
                             "pictures as the smallest. Studio scores with balanced accuracy, so the small classes "
                             "count as much.")
        return found

    def problems(self) -> list[str]:
        """Why these pictures cannot be trained on, in words; empty when they can."""
        counts = self.class_counts
        if not len(self.frame):
            return ["The folder holds no pictures. Put the pictures of each class in a sub-folder named after it."]
        if len(counts) < 2:
            only = next(iter(counts), "")
            return [f"Only one class was found ({only}). Add a sub-folder of pictures for each other class, so "
                    "there is something to tell apart."]
        single = [name for name, count in counts.items() if count < 2]
        if single:
            return [f"{_list(single)} {'has' if len(single) == 1 else 'have'} only one picture; each class needs "
                    "at least two (one to learn from, one to test on)."]
        return []


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def _list(names: list[str]) -> str:
    quoted = [f"'{display_name(n)}'" for n in names[:5]]
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ("Class " if len(names) == 1 else "Classes ") + ", ".join(quoted) + more


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def list_image_folder(root: str | Path) -> ImageFolder:
    """The pictures in ``root``'s class folders, by name only (fast: no file is opened).

    Sub-folders of a class folder belong to that class. Links to folders are not followed.
    """
    if not Path(root).is_dir():
        raise DataError(f"{display_name(str(root))} is not a folder.")
    # The files are listed under the resolved folder, so every path in the frame is absolute and lies under
    # ``root`` (a relative folder, or one reached through a link, would otherwise give paths outside it).
    try:
        root_path = Path(root).resolve()
    except (OSError, RuntimeError):  # a link that loops on the way to the folder
        root_path = Path(os.path.abspath(root))
    paths: list[str] = []
    classes: list[str] = []
    not_images = outside = links = 0
    try:
        top = sorted(os.scandir(root_path), key=lambda e: e.name)
    except OSError as exc:
        raise DataError(f"The folder {display_name(str(root))} cannot be read: {exc.strerror or exc}.") from None
    for entry in top:
        if entry.is_symlink() and _is_dir(entry):
            links += 1
            continue
        if entry.is_dir(follow_symlinks=False):
            if entry.name.startswith("."):
                continue
            found, others, skipped = _walk_class(entry.path)
            paths.extend(found)
            classes.extend([entry.name] * len(found))
            not_images += others
            links += skipped
        elif entry.is_file():
            if is_image_name(entry.name):
                outside += 1
            elif not entry.name.startswith("."):
                not_images += 1
    frame = pd.DataFrame({IMAGE_COLUMN: pd.Series(paths, dtype=object),
                          CLASS_COLUMN: pd.Series(classes, dtype=object)})
    return ImageFolder(frame, str(root_path), not_images=not_images, outside_classes=outside,
                       skipped_links=links).warmed()


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _walk_class(folder: str) -> tuple[list[str], int, int]:
    found: list[str] = []
    others = links = 0
    for here, dirs, files in os.walk(folder, followlinks=False, onerror=lambda _: None):
        for name in list(dirs):
            if os.path.islink(os.path.join(here, name)):
                links += 1
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(here, d)))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if is_image_name(name):
                found.append(os.path.join(here, name))
            else:
                others += 1
    return found, others, links


def image_paths_in(paths: Iterable[str]) -> tuple[list[str], int]:
    """Pictures among files and folders (dropped or named on the command line), folders read recursively:
    (the pictures, how many files were not pictures)."""
    pictures: list[str] = []
    others = 0
    for path in paths:
        if os.path.isdir(path):
            for here, dirs, files in os.walk(path, followlinks=False, onerror=lambda _: None):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    if is_image_name(name):
                        pictures.append(os.path.join(here, name))
                    else:
                        others += 1
        elif is_image_name(path) or os.path.isfile(path):
            pictures.append(path)
    return pictures, others


def read_image_table(path: str | Path, label_column: str | None = None,
                     images_column: str | None = None) -> ImageFolder:
    """A table (CSV, Excel, Parquet) with a column of image paths, relative to the table, and a label column.

    The paths column is ``images_column``, or the column whose values look most like picture file names.
    """
    from studio.core.data.tabular import load_table

    return images_from_table(load_table(path).frame, path, label_column, images_column)


def images_from_table(frame: pd.DataFrame, path: str | Path, label_column: str | None = None,
                      images_column: str | None = None) -> ImageFolder:
    """``read_image_table`` for a table already loaded from ``path`` (the command line has read it to see
    whether it names pictures at all)."""
    root = Path(path).resolve().parent
    column = images_column or find_paths_column(frame)
    if column is None:
        raise DataError("No column of the table holds picture file names (ending in .jpg, .png and so on). Name "
                        "it with --images COLUMN.")
    if column not in frame.columns:
        raise DataError(f"The table has no column called '{column}'.")
    labels = [c for c in frame.columns if c != column]
    label = label_column or (labels[0] if len(labels) == 1 else None)
    if label is None:
        raise DataError("Name the column that holds each picture's class (--target COLUMN).")
    if label not in frame.columns:
        raise DataError(f"The table has no column called '{label}'.")
    rows = frame[[column, label]].dropna()
    paths = [str((root / str(p)).resolve()) if not os.path.isabs(str(p)) else str(p) for p in rows[column]]
    missing = sum(not os.path.isfile(p) for p in paths)
    if missing == len(paths):
        raise DataError(f"None of the pictures named in '{column}' was found next to the table.")
    result = pd.DataFrame({IMAGE_COLUMN: pd.Series(paths, dtype=object),
                           CLASS_COLUMN: rows[label].astype(str).to_numpy(dtype=object)})
    return ImageFolder(result, str(root), source=str(Path(path).resolve())).warmed()


def find_paths_column(frame: pd.DataFrame) -> str | None:
    best, best_share = None, 0.5
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue  # numbers and dates are never file names
        # The first values only: turning a whole million-row column into text held the window up on every load.
        values = series.iloc[:2_000].dropna().head(200).astype(str)
        if not len(values):
            continue
        share = float(values.map(is_image_name).mean())
        if share > best_share:
            best, best_share = str(column), share
    return best


def is_image_folder(path: str | Path) -> bool:
    """True for a folder (a class-per-folder tree of pictures) rather than a table file."""
    return Path(path).is_dir()


# -- reading every file ------------------------------------------------------------------------------------------
@dataclass
class _Seen:
    sizes: list[tuple[int, int]] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    digests: dict[bytes, list[int]] = field(default_factory=dict)
    hashes: list[bytes] = field(default_factory=list)
    hashed_rows: list[int] = field(default_factory=list)
    large: int = 0


def check_images(folder: ImageFolder, should_stop: StopCheck = never_stop) -> Generator[Progress, None, ImageCheck]:
    """Read every picture once: its size, whether it decodes, its exact and near copies."""
    from concurrent.futures import ThreadPoolExecutor

    paths = list(folder.frame[IMAGE_COLUMN])
    seen = _Seen()
    total = len(paths)
    yield Progress("Checking pictures", 0.0, f"Reading {total:,} pictures")
    # Pillow decodes without holding the GIL, so a few threads read several files at once; one core is left
    # to the window, which draws thumbnails meanwhile.
    with ThreadPoolExecutor(max_workers=max(1, min(4, (os.cpu_count() or 2) - 1))) as pool:
        chunk = 64
        for start in range(0, total, chunk):
            if should_stop():
                from studio.core.common.errors import Cancelled

                raise Cancelled()
            results = pool.map(_inspect, paths[start:start + chunk])
            for row, outcome in enumerate(results, start=start):
                if isinstance(outcome, str):
                    seen.unreadable.append((row, outcome))
                    continue
                digest, width, height, dhash = outcome
                seen.sizes.append((width, height))
                seen.digests.setdefault(digest, []).append(row)
                seen.hashes.append(dhash)
                seen.hashed_rows.append(row)
                seen.large += width * height > LARGE_PIXELS
            done = min(total, start + chunk)
            yield Progress("Checking pictures", done / max(total, 1), f"{done:,} of {total:,} pictures read")
    classes = list(folder.frame[CLASS_COLUMN])
    duplicates: list[int] = []
    conflicting: list[int] = []
    for rows in seen.digests.values():
        if len(rows) < 2:
            continue
        if len({classes[r] for r in rows}) > 1:
            conflicting.extend(rows)
        else:
            duplicates.extend(rows[1:])
    dropped = set(duplicates) | set(conflicting)
    near = _near_groups(seen.hashes, seen.hashed_rows, dropped)
    return ImageCheck(sizes=tuple(seen.sizes), unreadable=tuple(seen.unreadable), duplicate_rows=tuple(duplicates),
                      conflicting_rows=tuple(sorted(conflicting)), near_groups=near, large=seen.large)


def _inspect(path: str) -> tuple[bytes, int, int, bytes] | str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return f"{display_name(path)} cannot be opened: {exc.strerror or exc}"
    if not data:
        return f"{display_name(path)} is empty (0 bytes)"
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            import io

            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
        image = open_image(path, draft=(64, 64), data=data)
    except ImageReadError as exc:
        return str(exc).rstrip(".")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow refuses the header of a huge picture before open_image could say so in its words.
        return f"{display_name(path)} would take too much memory to open (a decompression bomb); it is left out"
    except UnidentifiedImageError:
        return f"{display_name(path)} is not an image Studio can read"
    except Exception as exc:  # a damaged header: whatever Pillow raised, the file is left out with a reason
        return f"{display_name(path)} could not be read ({type(exc).__name__})"
    return hashlib.blake2b(data, digest_size=16).digest(), width, height, difference_hash(image)


def difference_hash(image: PILImage.Image) -> bytes:
    """256 bits (which neighbouring pixels are brighter) that change little when a picture is resized,
    recompressed or slightly recoloured."""
    from PIL import Image

    small = np.asarray(image.convert("L").resize((HASH_SIDE + 1, HASH_SIDE), Image.Resampling.BOX),
                       dtype=np.int16)
    return np.packbits(small[:, 1:] > small[:, :-1]).tobytes()


_BIT_COUNTS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


def _near_groups(hashes: list[bytes], rows: list[int], dropped: set[int]) -> tuple[tuple[int, ...], ...]:
    keep = [i for i, row in enumerate(rows) if row not in dropped]
    width = HASH_SIDE * HASH_SIDE // 8
    values = np.frombuffer(b"".join(hashes[i] for i in keep), dtype=np.uint8).reshape(len(keep), width) \
        if keep else np.zeros((0, width), dtype=np.uint8)
    kept_rows = np.array([rows[i] for i in keep], dtype=np.int64)
    parent = list(range(len(values)))
    # Pictures mostly of one flat colour have few bits set, so any two differ in few bits; the distance must be
    # small against what the pictures hold, too.
    ones = _BIT_COUNTS[values].sum(axis=1).astype(np.int32) if len(values) else np.zeros(0, dtype=np.int32)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(values) <= NEAR_DUPLICATE_LIMIT:
        block = 128
        for start in range(0, len(values), block):
            # Distances of a block of pictures to every later one, counted with a table of bits per byte.
            distance = _BIT_COUNTS[values[start:start + block, None, :] ^ values[None, :, :]].sum(axis=2)
            held = np.minimum(ones[start:start + block, None], ones[None, :])
            close = (distance <= NEAR_DUPLICATE_BITS) & (distance * 5 <= held)
            for offset, j in zip(*np.nonzero(close), strict=True):
                i = start + int(offset)
                if int(j) > i:
                    parent[find(int(j))] = find(i)
    else:
        first: dict[bytes, int] = {}
        for i, value in enumerate(hashes[k] for k in keep):
            if value in first:
                parent[find(i)] = find(first[value])
            else:
                first[value] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(values)):
        groups.setdefault(find(i), []).append(int(kept_rows[i]))
    # Flat pictures (all one colour) share an almost empty hash without being copies of each other.
    flat = {int(kept_rows[i]) for i in range(len(values)) if int(_BIT_COUNTS[values[i]].sum()) <= 2}
    return tuple(tuple(g) for g in groups.values() if len(g) > 1 and not flat.intersection(g))


def size_summary(sizes: Iterable[tuple[int, int]]) -> str:
    """The pictures' sizes in words: "mostly 640 × 480", or the range."""
    counts = Counter(sizes)
    if not counts:
        return "no readable pictures"
    (common, times), total = counts.most_common(1)[0], sum(counts.values())
    if times == total:
        return f"all {common[0]} × {common[1]} pixels"
    widths = [w for w, _ in counts.elements()]
    heights = [h for _, h in counts.elements()]
    return (f"from {min(widths)} × {min(heights)} to {max(widths)} × {max(heights)} pixels "
            f"(most often {common[0]} × {common[1]})")


def typical_side(sizes: Iterable[tuple[int, int]]) -> int:
    """The median shorter side of the pictures: what the network's input size follows."""
    sides = [min(w, h) for w, h in sizes]
    return int(np.median(sides)) if sides else 64
