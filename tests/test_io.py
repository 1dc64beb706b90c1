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


def _tiff(path, arr, **tags):
    import tifffile

    rgb = arr.ndim == 3 and arr.shape[2] >= 3
    extratags = [(34675, 7, len(tags["icc"]), tags["icc"], True)] if "icc" in tags else []
    extratags += [(274, 3, 1, tags["orientation"], True)] if "orientation" in tags else []
    tifffile.imwrite(path, arr, photometric="rgb" if rgb else "minisblack", extratags=extratags,
                     extrasamples=[2] if arr.ndim == 3 and arr.shape[2] in (2, 4) else None)
    return path


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float_tiff_is_read_and_written_at_its_range(tmp_path, channels, dtype):
    import tifffile

    arr = np.random.default_rng(0).random((10, 14, channels)).astype(dtype)
    src = _tiff(tmp_path / "in.tif", arr[..., 0] if channels == 1 else arr)
    pic = read_picture(src)
    assert pic.pixels.dtype == np.float32 and pic.bits == 32 and (pic.alpha is not None) == (channels == 4)
    np.testing.assert_array_equal(pic.pixels, (arr[..., 0] if channels == 1 else arr[..., :3]).astype(np.float32))
    back = tifffile.imread(write_picture(tmp_path / "out.tif", pic))
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, arr[..., 0] if channels == 1 else arr.astype(np.float32))
    notes = []
    png = read_picture(write_picture(tmp_path / "out.png", pic, notes.append))
    assert png.bits == 16 and any("no float samples; written as 16-bit" in n for n in notes)
    assert np.abs(png.pixels / 65535.0 - pic.pixels).max() <= 0.5 / 65535 + 1e-7


def test_float_tiff_outside_0_1_is_refused(tmp_path):
    src = _tiff(tmp_path / "hdr.tif", np.full((4, 4, 3), 3.5, np.float32))
    with pytest.raises(SRError, match=r"hdr.tif: float samples span \[3.5, 3.5\]"):
        read_picture(src)


def test_16_bit_images_keep_icc_and_orientation(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    grey = np.random.default_rng(1).integers(0, 65536, (6, 9)).astype(np.uint16)
    im = Image.fromarray(grey.astype(np.int32)).convert("I;16")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    im.save(tmp_path / "g.png", icc_profile=icc, exif=exif)
    rgb = np.random.default_rng(2).integers(0, 65536, (6, 9, 3)).astype(np.uint16)
    _tiff(tmp_path / "c.tif", rgb, icc=icc, orientation=8)
    for name, arr, turned in (("g.png", grey, np.rot90(grey, -1)), ("c.tif", rgb, np.rot90(rgb, 1))):
        pic = read_picture(tmp_path / name)
        assert pic.bits == 16 and pic.icc == icc, name
        np.testing.assert_array_equal(pic.pixels, turned)
        for ext in ("png", "tif"):
            out = write_picture(tmp_path / f"out_{name}.{ext}", pic)
            assert Image.open(out).info.get("icc_profile") == icc, (name, ext)  # read by Pillow, not by us
            np.testing.assert_array_equal(read_picture(out).pixels, turned)


def test_orientation_matches_pillows(rgb):
    from PIL import ImageOps

    from srkit.deepimage import orient

    for value in range(1, 9):
        im = Image.fromarray(rgb)
        exif = im.getexif()
        exif[0x0112] = value
        im.info["exif"] = exif.tobytes()
        np.testing.assert_array_equal(orient(rgb, value), np.asarray(ImageOps.exif_transpose(im)), err_msg=str(value))


def test_multi_frame_files_are_refused_and_single_frame_gif_is_read(tmp_path, rgb):
    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "pages.tif", save_all=True, append_images=frames[1:])
    for name in ("anim.gif", "pages.tif"):
        with pytest.raises(SRError, match=f"{name}: 2 frames"):
            read_picture(tmp_path / name)
    frames[0].save(tmp_path / "still.gif")
    assert read_picture(tmp_path / "still.gif").pixels.shape == (12, 16, 3)


def test_pillows_own_bomb_check_reports_our_limit(tmp_path, rgb, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # as low as a caller may have set it
    good = _save(tmp_path, "good.png", Image.fromarray(rgb))  # 192 pixels: over 4 x 40, Pillow refuses at open
    with pytest.raises(SRError, match="good.png: declared size exceeds the limit of 40 pixels .raise it with --max"):
        read_picture(good, max_pixels=40)


def test_a_small_limit_does_not_lower_pillows_for_later_reads(tmp_path, rgb, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after the test
    before = Image.MAX_IMAGE_PIXELS
    good = _save(tmp_path, "good.png", Image.fromarray(rgb))
    with pytest.raises(SRError, match=r"declared size 16x12 \(192 pixels\) exceeds the limit of 40 pixels"):
        read_picture(good, max_pixels=40)
    assert Image.MAX_IMAGE_PIXELS == before
    with Image.open(good) as im:  # a plain Pillow read afterwards is not refused
        assert im.size == (16, 12)
    read_picture(good, max_pixels=None)
    assert Image.MAX_IMAGE_PIXELS is None  # no limit asked: Pillow's is lifted, never lowered again
