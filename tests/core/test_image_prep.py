"""Preparing pictures without the window: the size the network sees, how pictures are made square, the preview
the Prepare page shows (the very pixels training reads, then seeded variations), unusual image files, and a
damaged file among good ones."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from studio.core.data.images import ImageReadError, open_image, read_pixels
from studio.core.prep.image_reader import ImageReader
from studio.core.prep.images import MAX_SIZE, PRETRAINED_MIN_SIZE, PRETRAINED_SIZE, ImagePrep

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 60)


def _rgb(pixel: np.ndarray) -> tuple[int, ...]:
    """A pixel as plain ints: uint8 arithmetic would wrap around in the comparisons."""
    return tuple(int(v) for v in pixel)


def _save(image: Image.Image, path: Path, **options: Any) -> str:
    image.save(path, **options)
    return str(path)


@pytest.fixture
def wide(tmp_path: Path) -> str:
    """A red picture twice as wide as high, with a blue stripe along its left edge."""
    pixels = np.zeros((50, 100, 3), dtype=np.uint8)
    pixels[:, :] = RED
    pixels[:, :12] = BLUE
    return _save(Image.fromarray(pixels), tmp_path / "wide.png")


@pytest.fixture
def square(tmp_path: Path) -> str:
    """A busy square picture: every variation of it looks different."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    pixels[10:30, 5:20] = GREEN
    return _save(Image.fromarray(pixels), tmp_path / "square.png")


# -- the size -----------------------------------------------------------------------------------------------------
def test_the_automatic_size_follows_the_pictures_and_never_enlarges_small_ones() -> None:
    automatic = ImagePrep()
    assert automatic.input_size(40) == 40, "small pictures are not blown up"
    assert automatic.input_size(96) == 96
    assert automatic.input_size(3000) == 128, "large photos are capped so training stays quick"


def test_a_pretrained_network_gets_at_least_what_it_needs() -> None:
    automatic = ImagePrep()
    assert automatic.input_size(40, pretrained=True) == PRETRAINED_MIN_SIZE
    assert automatic.input_size(3000, pretrained=True) == PRETRAINED_SIZE
    assert ImagePrep(size=32).input_size(3000, pretrained=True) == PRETRAINED_MIN_SIZE


def test_a_chosen_size_wins_within_the_limits() -> None:
    assert ImagePrep(size=32).input_size(3000) == 32
    assert ImagePrep(size=200).input_size(40) == 200, "asked for explicitly, so it is honoured"
    assert ImagePrep(size=5000).input_size(40) == MAX_SIZE
    assert ImagePrep(size=5000).problems(), "the page never offers it, and the Project reports it"
    assert ImagePrep(fit="zoom").problems()
    assert ImagePrep().problems() == []


def test_the_words_say_what_the_network_sees() -> None:
    prep = ImagePrep(grayscale=True, fit="stretch", flip=False, rotate=0, zoom=0, color=0)
    assert prep.describe(64) == "64 × 64 pixels in grayscale; non-square pictures: stretch the picture to a square"
    assert prep.augmentation_words() == "No augmentation."
    assert not prep.augments
    assert "mirrored" in ImagePrep().augmentation_words()


# -- making pictures square -----------------------------------------------------------------------------------------
def test_pad_keeps_the_whole_picture_with_black_bands(wide: str) -> None:
    pixels = read_pixels(wide, 64, fit="pad")
    assert pixels.shape == (64, 64, 3) and pixels.dtype == np.uint8
    assert pixels[:12].max() == 0 and pixels[-12:].max() == 0, "black above and below the wide picture"
    middle = pixels[32]
    assert _rgb(middle[2]) == pytest.approx(BLUE, abs=12), "the left edge is still there"
    assert _rgb(middle[40]) == pytest.approx(RED, abs=12)


def test_stretch_fills_the_square_and_crop_loses_the_edges(wide: str) -> None:
    stretched = read_pixels(wide, 64, fit="stretch")
    assert stretched.reshape(-1, 3).max(axis=1).min() > 100, "no black band anywhere"
    assert _rgb(stretched[32, 2]) == pytest.approx(BLUE, abs=12), "the whole width is kept, squeezed"
    cropped = read_pixels(wide, 64, fit="crop")
    assert cropped.reshape(-1, 3).max(axis=1).min() > 100
    assert _rgb(cropped[32, 2]) == pytest.approx(RED, abs=12), "the middle square only: the blue edge is cut"


# -- the preview ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("grayscale", "fit"), [(False, "pad"), (True, "pad"), (False, "stretch"), (True, "crop")])
def test_the_first_preview_tile_is_exactly_what_training_reads(wide: str, grayscale: bool, fit: str) -> None:
    pytest.importorskip("torchvision")
    prep = ImagePrep(grayscale=grayscale, fit=fit)
    tiles = prep.preview(wide, 48, count=8, seed=1)
    assert len(tiles) == 8
    expected = read_pixels(wide, 48, grayscale, fit)
    np.testing.assert_array_equal(tiles[0], expected)
    reader_pixels, failures = prep.reader(48).read([wide])
    assert failures == {}
    np.testing.assert_array_equal(reader_pixels[0], expected, "the reader a saved model uses reads the same")
    channels = 1 if grayscale else 3
    assert all(tile.shape == (48, 48, channels) and tile.dtype == np.uint8 for tile in tiles)


def test_without_augmentation_the_preview_is_the_plain_picture(square: str) -> None:
    prep = ImagePrep(flip=False, rotate=0, zoom=0, color=0)
    assert prep.augmenter(32) is None
    tiles = prep.preview(square, 32, count=8)
    assert len(tiles) == 1
    np.testing.assert_array_equal(tiles[0], read_pixels(square, 32))


def test_the_variations_repeat_under_a_seed_and_leave_the_global_random_state_alone(square: str) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    prep = ImagePrep(rotate=30, zoom=0.3, color=0.4, blur=True, noise=0.5)
    torch.manual_seed(123)
    first = prep.preview(square, 32, count=8, seed=5)
    after_preview = torch.rand(3)
    torch.manual_seed(123)
    untouched = torch.rand(3)
    assert torch.equal(after_preview, untouched), "the preview forks the random state; training's is untouched"
    again = prep.preview(square, 32, count=8, seed=5)
    for one, other in zip(first, again, strict=True):
        np.testing.assert_array_equal(one, other)
    other_seed = prep.preview(square, 32, count=8, seed=6)
    assert any(not np.array_equal(a, b) for a, b in zip(first[1:], other_seed[1:], strict=True))
    assert all(not np.array_equal(first[0], tile) for tile in first[1:]), "every variation changes the picture"


def test_the_augmenter_alone_is_deterministic_under_a_seed(square: str) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    augmenter = ImagePrep(rotate=20, zoom=0.2, color=0.3).augmenter(32)
    tensor = torch.from_numpy(read_pixels(square, 32).transpose(2, 0, 1).copy())
    torch.manual_seed(11)
    one = [augmenter(tensor) for _ in range(4)]
    torch.manual_seed(11)
    two = [augmenter(tensor) for _ in range(4)]
    assert all(torch.equal(a, b) for a, b in zip(one, two, strict=True))
    assert one[0].dtype == torch.uint8 and tuple(one[0].shape) == (3, 32, 32)


# -- unusual files read as upright RGB -------------------------------------------------------------------------------
def test_a_16_bit_tiff_is_stretched_to_its_range(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 4095, 64, dtype=np.uint16), (64, 1))  # a 12-bit scan: near black if read as-is
    path = _save(Image.fromarray(ramp), tmp_path / "scan.tif")
    assert Image.open(path).mode.startswith("I;16")
    pixels = read_pixels(path, 64)
    assert pixels.shape == (64, 64, 3)
    assert pixels.min() <= 5 and pixels.max() >= 250
    assert np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2])


def test_a_cmyk_jpeg_reads_in_its_colours(tmp_path: Path) -> None:
    path = _save(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), tmp_path / "print.jpg", quality=95)
    assert Image.open(path).mode == "CMYK"
    pixels = read_pixels(path, 32)
    assert pixels.shape == (32, 32, 3)
    assert _rgb(pixels[16, 16]) == pytest.approx((255, 0, 0), abs=25)


def test_a_palette_png_shows_its_transparent_parts_on_white(tmp_path: Path) -> None:
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, *GREEN] + [0, 0, 0] * 254)
    image.paste(1, (20, 0, 40, 40))  # the right half green; the left half is colour 0, transparent
    path = _save(image, tmp_path / "logo.png", transparency=0)
    pixels = read_pixels(path, 40, fit="stretch")
    assert _rgb(pixels[20, 5]) == (255, 255, 255), "transparent, not black"
    assert _rgb(pixels[20, 35]) == GREEN


def test_an_animated_gif_reads_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (30, 30), colour) for colour in (RED, BLUE, GREEN)]
    path = str(tmp_path / "moving.gif")
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(path), "n_frames", 1) == 3
    pixels = read_pixels(path, 30)
    assert pixels.shape == (30, 30, 3)
    assert _rgb(pixels[15, 15]) == pytest.approx(RED, abs=12)


def test_an_exif_rotated_photo_reads_upright(tmp_path: Path) -> None:
    stored = Image.new("RGB", (60, 30), BLUE)
    stored.paste(RED, (0, 0, 30, 30))  # stored sideways: red on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to show": the camera was held upright
    path = _save(stored, tmp_path / "phone.jpg", exif=exif, quality=95)
    assert open_image(path).size == (30, 60), "upright: taller than wide"
    pixels = read_pixels(path, 32, fit="stretch")
    assert _rgb(pixels[4, 16]) == pytest.approx(RED, abs=30), "what was on the left is now on top"
    assert _rgb(pixels[28, 16]) == pytest.approx(BLUE, abs=30)


# -- a damaged file among good ones ---------------------------------------------------------------------------------
def test_the_reader_names_a_truncated_file_by_position_and_reads_the_others(tmp_path: Path, wide: str,
                                                                           square: str) -> None:
    photo = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 120, 3), dtype=np.uint8)).save(photo, "JPEG")
    data = photo.getvalue()
    truncated = tmp_path / "cut short.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    paths = [wide, str(truncated), square]

    reader = ImagePrep().reader(32)
    pixels, failures = reader.read(paths)

    assert pixels.shape == (3, 32, 32, 3)
    assert list(failures) == [1]
    assert "cut short.jpg" in failures[1] and "cut short" in failures[1].replace("cut short.jpg", "")
    np.testing.assert_array_equal(pixels[0], read_pixels(wide, 32))
    np.testing.assert_array_equal(pixels[2], read_pixels(square, 32))
    assert pixels[1].max() == 0, "the failed row is left black"
    with pytest.raises(ImageReadError, match="cut short"):
        ImageReader(size=32).fit(paths).transform(paths)
