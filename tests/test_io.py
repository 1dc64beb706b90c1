"""Every input mode/format round-trips through read_picture/write_picture
with the right size, mode and bit depth."""

import os

import numpy as np
import pytest
from PIL import Image, ImageCms

from conftest import random_image
from srkit.errors import SRError
from srkit.io import Picture, read_picture, write_picture


@pytest.fixture
def rgb():
    return random_image(12, 16, seed=1)


def _save(tmp_path, name, im, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


def test_modes_are_normalised(tmp_path, rgb):
    grey = Image.fromarray(rgb).convert("L")
    cases = {
        "rgb.png": (Image.fromarray(rgb), (12, 16, 3), False),
        "grey.png": (grey, (12, 16), False),
        "la.png": (grey.convert("LA"), (12, 16), True),
        "rgba.png": (Image.fromarray(rgb).convert("RGBA"), (12, 16, 3), True),
        "pal.png": (Image.fromarray(rgb).convert("P"), (12, 16, 3), False),
        "bw.png": (grey.convert("1"), (12, 16), False),
        "cmyk.jpg": (Image.fromarray(rgb).convert("CMYK"), (12, 16, 3), False),
        "photo.webp": (Image.fromarray(rgb), (12, 16, 3), False),
        "scan.tif": (grey, (12, 16), False),
    }
    for name, (im, shape, has_alpha) in cases.items():
        pic = read_picture(_save(tmp_path, name, im))
        assert pic.pixels.shape == shape and pic.pixels.dtype == np.uint8, name
        assert (pic.alpha is not None) == has_alpha, name


def test_palette_with_transparency_keeps_alpha(tmp_path, rgb):
    im = Image.fromarray(rgb).convert("P")
    pic = read_picture(_save(tmp_path, "t.png", im, transparency=0))
    assert pic.alpha is not None and pic.pixels.shape == (12, 16, 3)


def test_exif_orientation_is_applied(tmp_path, rgb):
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    pic = read_picture(_save(tmp_path, "o.jpg", im, exif=exif, quality=95))
    assert pic.pixels.shape == (16, 12, 3)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16_bit_png_and_tiff_keep_their_depth(tmp_path, channels):
    import cv2

    arr = (np.random.default_rng(0).integers(0, 65536, (10, 14, channels))).astype(np.uint16)
    for ext in ("png", "tif"):
        src = tmp_path / f"in{channels}.{ext}"
        cv2.imwrite(str(src), arr[..., 0] if channels == 1 else arr)
        pic = read_picture(src)
        assert pic.bits == 16 and pic.pixels.dtype == np.uint16
        assert pic.pixels.shape == ((10, 14) if channels == 1 else (10, 14, 3))
        assert (pic.alpha is not None) == (channels == 4)
        dst = write_picture(tmp_path / f"out{channels}.{ext}", pic)
        again = read_picture(dst)
        assert np.array_equal(again.pixels, pic.pixels)
        if channels == 4:
            assert np.array_equal(again.alpha, pic.alpha)
    # a 16-bit image written as JPEG is reduced to 8 bits, with a note
    notes = []
    write_picture(tmp_path / "out.jpg", pic, notes.append)
    assert read_picture(tmp_path / "out.jpg").bits == 8 and any("8-bit only" in n for n in notes)


def test_write_keeps_grey_alpha_and_icc(tmp_path, rgb):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    grey = Picture(rgb[..., 0], None, icc, "PNG")
    for ext in ("png", "jpg", "webp", "tif"):
        back = read_picture(write_picture(tmp_path / f"g.{ext}", grey))
        if ext == "webp":  # WebP has no greyscale mode: stored as equal R, G, B
            assert np.ptp(back.pixels.astype(int), axis=2).max() <= 2
        else:
            assert back.pixels.ndim == 2, ext
        if ext != "tif":
            assert back.icc == icc, ext
    rgba = Picture(rgb, np.full((12, 16), 128, np.uint8))
    assert read_picture(write_picture(tmp_path / "a.webp", rgba)).alpha is not None
    notes = []
    assert read_picture(write_picture(tmp_path / "a.jpg", rgba, notes.append)).alpha is None
    assert any("no alpha" in n for n in notes)
    assert not list(tmp_path.glob("*.tmp"))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.webp").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_bad_files_and_decompression_bombs(tmp_path, rgb):
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    good = _save(tmp_path, "good.png", Image.fromarray(rgb))
    (tmp_path / "trunc.png").write_bytes(good.read_bytes()[:60])
    for name, reason in (("zero.png", "not a readable image"), ("text.jpg", "not a readable image"),
                         ("trunc.png", "cannot decode")):
        with pytest.raises(SRError, match=reason):
            read_picture(tmp_path / name)
    with pytest.raises(SRError, match="exceeds the limit"):
        read_picture(good, max_pixels=100)
    assert read_picture(good, max_pixels=12 * 16).pixels.shape == (12, 16, 3)


def test_file_sha256_matches_the_published_test_vector(tmp_path):
    from srkit.io import file_sha256

    path = tmp_path / "abc.bin"
    path.write_bytes(b"abc")  # FIPS 180-2 example; chunk 2 makes it read in pieces
    assert file_sha256(path, chunk=2) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
