"""output.py: a batch with a bad file, greyscale stays greyscale, no overwrite."""

from PIL import Image

from conftest import random_image, run_script, save_tiny_checkpoint


def test_batch_with_corrupt_file(tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(random_image(20, 24, seed=1)).save(src / "rgb.png")
    Image.fromarray(random_image(18, 16, 1, seed=2)).save(src / "grey.png")
    (src / "bad.jpg").write_bytes(b"\xff\xd8\xff truncated")
    ckpt = tmp_path / "tiny.h5"
    save_tiny_checkpoint(ckpt)
    r = run_script("output.py", "--input", src, "--output", dst, "--weights", ckpt)
    assert r.returncode == 1
    assert "bad.jpg" in r.stderr and "Traceback" not in r.stderr
    assert "2 upscaled" in r.stderr and "1 failed" in r.stderr
    assert Image.open(dst / "rgb.png").size == (48, 40)
    grey = Image.open(dst / "grey.png")
    assert grey.mode == "L" and grey.size == (32, 36)
    assert not list(dst.glob(".*.tmp"))

    (src / "bad.jpg").unlink()
    r = run_script("output.py", "--input", src, "--output", dst, "--weights", ckpt)
    assert r.returncode == 0 and "2 skipped" in r.stderr
    # writing into the input folder: the output name would equal the input name
    r = run_script("output.py", "--input", src, "--output", src, "--weights", ckpt, "--overwrite")
    assert r.returncode == 1 and "equals the input" in r.stderr
    assert Image.open(src / "rgb.png").size == (24, 20)  # input untouched


def test_no_weights_is_a_clear_error(tmp_path):
    r = run_script("output.py", "--input", tmp_path, "--weights", tmp_path / "missing.h5")
    assert r.returncode == 2 and "missing.h5: checkpoint does not exist" in r.stderr
