"""output.py end to end: every kind of input, a corrupt file in the batch,
overwrite semantics, inputs never overwritten, interrupted writes."""

import numpy as np
import pytest
from PIL import Image

from conftest import random_image, run_script, save_tiny_checkpoint
from srkit import upscaler
from srkit.errors import SRError
from srkit.io import read_picture
from srkit.safewrite import TMP_SUFFIX, atomic_path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "tiny.h5"
    save_tiny_checkpoint(path)
    return path


@pytest.fixture
def batch(tmp_path):
    import cv2

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    rgb = random_image(20, 24, seed=1)
    Image.fromarray(rgb).save(src / "rgb.png")
    Image.fromarray(rgb[..., 0]).save(src / "grey.png")
    Image.fromarray(np.dstack([rgb, np.full((20, 24), 99, np.uint8)])).save(src / "rgba.png")
    Image.fromarray(rgb).convert("P").save(src / "pal.png")
    Image.fromarray(rgb).convert("CMYK").save(src / "cmyk.jpg")
    cv2.imwrite(str(src / "deep.png"), rgb.astype(np.uint16) * 257)
    Image.fromarray(rgb).save(src / "sub" / "nested.webp")
    (src / "bad.jpg").write_bytes(b"\xff\xd8\xff truncated")
    (src / "empty.png").write_bytes(b"")
    return src


@pytest.mark.slow
def test_batch_of_every_kind_with_bad_files(tmp_path, batch, ckpt):
    dst = tmp_path / "out"
    r = run_script("output.py", "--input", batch, "--output", dst, "--weights", ckpt, "--recursive")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "bad.jpg" in r.stderr and "empty.png" in r.stderr
    assert "7 upscaled, 0 skipped" in r.stderr and "2 failed" in r.stderr
    expect = {"rgb_x2.png": ((40, 48, 3), 8, False), "grey_x2.png": ((40, 48), 8, False),
              "rgba_x2.png": ((40, 48, 3), 8, True), "pal_x2.png": ((40, 48, 3), 8, False),
              "cmyk_x2.png": ((40, 48, 3), 8, False), "deep_x2.png": ((40, 48, 3), 16, False),
              "sub/nested_x2.png": ((40, 48, 3), 8, False)}
    for name, (shape, bits, alpha) in expect.items():
        pic = read_picture(dst / name)
        assert (pic.pixels.shape, pic.bits, pic.alpha is not None) == (shape, bits, alpha), name
    assert np.all(read_picture(dst / "rgba_x2.png").alpha == 99)
    assert not list(dst.rglob(f"*{TMP_SUFFIX}"))

    # existing outputs are skipped; --overwrite replaces them
    r = run_script("output.py", "--input", batch, "--output", dst, "--weights", ckpt, "--recursive")
    assert "0 upscaled, 7 skipped" in r.stderr
    before = (dst / "rgb_x2.png").stat().st_mtime_ns
    r = run_script("output.py", "--input", batch / "rgb.png", "--output", dst, "--weights", ckpt, "--overwrite",
                   "--compare", "--format", "same", "--ensemble", "--tile", "8")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (dst / "rgb_x2.png").stat().st_mtime_ns != before
    assert Image.open(dst / "rgb_x2_compare.png").width >= 3 * 48


@pytest.mark.slow
def test_outputs_never_replace_inputs(tmp_path, ckpt):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(random_image(16, 16, seed=1)).save(src / "b.png")
    Image.fromarray(random_image(12, 12, seed=2)).save(src / "b_x2.png")  # b.png's output name
    r = run_script("output.py", "--input", src, "--output", src, "--weights", ckpt, "--overwrite")
    assert r.returncode == 1 and "would overwrite an input" in r.stderr
    assert Image.open(src / "b_x2.png").size == (12, 12)  # untouched
    assert Image.open(src / "b_x2_x2.png").size == (24, 24)


def test_output_names_are_planned_collision_free_for_all_inputs(tmp_path):
    for name in ("a.png", "a.jpg", "a_png.png"):  # a.png's tagged name is a_png.png's plain one
        (tmp_path / name).write_bytes(b"")
    names = sorted(dst.name for _, dst in upscaler.plan(tmp_path, tmp_path / "o", 2))
    assert names == ["a_jpg_x2.png", "a_png_png_x2.png", "a_png_x2.png"]
    (tmp_path / "a_png.png").unlink()
    # with --format same the outputs differ but their comparison images would not
    assert sorted(d.name for _, d in upscaler.plan(tmp_path, tmp_path / "o", 2, "same")) == ["a_x2.jpg", "a_x2.png"]
    assert sorted(d.name for _, d in upscaler.plan(tmp_path, tmp_path / "o", 2, "same", compare=True)) == [
        "a_jpg_x2.jpg", "a_png_x2.png"]
    (tmp_path / "c.png").write_bytes(b"")
    (tmp_path / "c.PNG").write_bytes(b"")  # the same name on case-insensitive file systems, whatever the tag
    with pytest.raises(SRError, match=r"c\.(PNG|png) and \S*c\.(PNG|png) would both be written as c_png_x2\.png"):
        upscaler.plan(tmp_path, tmp_path / "o", 2)


def test_every_input_gets_its_own_output(tmp_path, ckpt):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i, name in enumerate(("a.png", "a.jpg", "a_png.png", "c.png")):
        Image.fromarray(random_image(8, 8 + i, seed=i)).save(src / name)
    for overwrite in (False, True):
        counts = upscaler.upscale_files(src, dst, weights=ckpt, overwrite=overwrite, log=lambda m: None)
        assert counts == {"done": 4, "skipped": 0, "failed": 0}
    widths = sorted(Image.open(p).width for p in dst.iterdir())
    assert widths == [16, 18, 20, 22]  # one output per input, none replaced by another
    Image.fromarray(random_image(8, 8)).save(src / "c.PNG")
    with pytest.raises(SRError, match="would both be written as"):
        upscaler.upscale_files(src, tmp_path / "out2", weights=ckpt, log=lambda m: None)
    assert not (tmp_path / "out2").exists()


def test_write_errors_fail_their_file_and_the_batch_goes_on(tmp_path, ckpt, full_disk):
    src, dst = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    long = "n" * 240  # its temporary name used to pass the 255-byte limit
    for i, name in enumerate((f"{long}.png", "a.png", "b.png", "sub/c.png")):
        Image.fromarray(random_image(8, 8, seed=i)).save(src / name)
    dst.mkdir()
    (dst / "sub").write_text("a file where the output sub-folder goes")
    (dst / "b_x2.png").mkdir()
    logs = []
    counts = upscaler.upscale_files(src, dst, weights=ckpt, overwrite=True, recursive=True, log=logs.append)
    assert counts == {"done": 2, "skipped": 0, "failed": 2}
    assert (dst / f"{long}_x2.png").is_file() and (dst / "a_x2.png").is_file()
    failed = [m for m in logs if m.startswith("failed:")]
    assert any("b.png" in m and "folder" in m for m in failed)
    assert any("sub/c_x2.png" in m and "a file stands" in m for m in failed)
    # a full disk: every write fails with its own line, an earlier output survives, no temporary file is left
    old = full_disk.folder / "a_x2.png"
    old.write_bytes(b"an earlier output")
    full_disk.fill()
    logs.clear()
    counts = upscaler.upscale_files(src, full_disk.folder, weights=ckpt, overwrite=True, recursive=True,
                                    log=logs.append)
    assert counts == {"done": 0, "skipped": 0, "failed": 4}
    assert sum("No space left on device" in m for m in logs) == 4, logs
    assert old.read_bytes() == b"an earlier output"
    assert not [p for p in (*dst.rglob("*"), *full_disk.folder.rglob("*")) if p.name.endswith(TMP_SUFFIX)]


def test_a_live_runs_temporary_file_is_left_alone(tmp_path, ckpt):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(random_image(8, 8)).save(src / "a.png")
    with atomic_path(dst / "other_x2.png") as theirs:  # another output.py writing into the same folder
        theirs.write_bytes(b"in progress")
        assert upscaler.upscale_files(src, dst, weights=ckpt, log=lambda m: None)["done"] == 1
        assert theirs.read_bytes() == b"in progress"
    assert (dst / "other_x2.png").read_bytes() == b"in progress" and (dst / "a_x2.png").is_file()


def test_interrupted_write_leaves_nothing_and_stale_temp_files_are_cleaned(tmp_path, ckpt, monkeypatch):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    dst.mkdir()
    Image.fromarray(random_image(16, 16)).save(src / "a.png")
    stale = dst / f".a_x2.png.abc123{TMP_SUFFIX}"
    stale.write_bytes(b"half an image")  # what a killed run leaves
    original = Image.Image.save

    def interrupted(self, fp, *args, **kwargs):
        original(self, fp, *args, **kwargs)
        raise KeyboardInterrupt  # dies after writing the temporary file

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        upscaler.upscale_files(src, dst, weights=ckpt, log=lambda m: None)
    assert list(dst.iterdir()) == []  # stale file removed, no partial output, no temp file


@pytest.mark.slow
def test_choose_weights_and_clear_errors(tmp_path):
    save_tiny_checkpoint(tmp_path / "A_x2.h5", metadata={"best_psnr": 30.0})
    save_tiny_checkpoint(tmp_path / "B_x2.h5", metadata={"best_psnr": 31.0})
    save_tiny_checkpoint(tmp_path / "C_x3.h5", scale=3, metadata={"best_psnr": 40.0})
    assert upscaler.choose_weights(tmp_path).name == "B_x2.h5"
    assert upscaler.choose_weights(tmp_path, scale=3).name == "C_x3.h5"
    assert upscaler.choose_weights(tmp_path, name="a_x2").name == "A_x2.h5"
    with pytest.raises(SRError, match="no x4 checkpoint"):
        upscaler.choose_weights(tmp_path, scale=4)
    r = run_script("output.py", "--input", tmp_path, "--weights", tmp_path / "missing.h5")
    assert r.returncode == 2 and "missing.h5: checkpoint does not exist" in r.stderr
    r = run_script("output.py", "--input", tmp_path / "nope", "--weights", tmp_path / "A_x2.h5")
    assert r.returncode == 2 and "nope: folder does not exist" in r.stderr


def test_a_float_tiff_is_upscaled_at_its_range(tmp_path, ckpt):
    import tifffile

    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    img = random_image(10, 12, seed=3).astype(np.float32) / 255.0
    tifffile.imwrite(src / "f.tif", img, photometric="rgb")  # used to come out near-black, as uint16
    tifffile.imwrite(src / "i.tif", np.round(img * 65535).astype(np.uint16), photometric="rgb")
    counts = upscaler.upscale_files(src, dst, weights=ckpt, fmt="same", log=lambda m: None)
    assert counts == {"done": 2, "skipped": 0, "failed": 0}
    out = tifffile.imread(dst / "f_x2.tif")
    reference = tifffile.imread(dst / "i_x2.tif") / 65535.0
    assert out.dtype == np.float32 and out.shape == (20, 24, 3)
    assert np.abs(out - reference).max() < 1e-3 and out.max() > 0.5
