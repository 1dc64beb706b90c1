"""--denoise: network interpolation between a real-degradation model and its
clean twin; the ends are exactly the two models, bad pairs are refused."""

import numpy as np
import pytest
from PIL import Image

from conftest import random_image, run_script, save_tiny_checkpoint
from srkit import blend, checkpoints, upscaler
from srkit.errors import SRError

FAST = {"blocks": 1, "filters": 8, "scale": 2}


def _save(path, args, seed, degradation):
    # random weights everywhere: a fresh FAST's zero last conv would make every seed the same function
    model = save_tiny_checkpoint(path, "FAST", args, seed=seed, metadata={"degradation": degradation})
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in model.get_weights()])
    checkpoints.save(path, model, "FAST", args, 2, {"degradation": degradation})


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    _save(d / "CLEAN_x2.h5", FAST, 1, "bicubic")
    _save(d / "REAL_x2.h5", FAST, 2, "real")
    _save(d / "OTHER_x2.h5", {**FAST, "filters": 4}, 3, "real")
    return d


def _w(path):
    return checkpoints.load(path)[0].get_weights()


def test_ends_are_exactly_each_model_and_the_middle_is_the_mean(pair):
    clean, real = _w(pair / "CLEAN_x2.h5"), _w(pair / "REAL_x2.h5")
    for s, expected in ((0.0, clean), (1.0, real)):
        model, info = blend.load_blend(pair / "REAL_x2.h5", pair / "CLEAN_x2.h5", s)
        for a, b in zip(model.get_weights(), expected):
            np.testing.assert_array_equal(a, b)
        assert info.metadata["denoise"]["strength"] == s
    model, _ = blend.load_blend(pair / "CLEAN_x2.h5", pair / "REAL_x2.h5", 0.25)  # either order
    for a, c, r in zip(model.get_weights(), clean, real):
        np.testing.assert_allclose(a, 0.75 * c + 0.25 * r, rtol=1e-6, atol=1e-7)


def test_partner_is_found_by_architecture_and_kind(pair):
    assert blend.partner(pair / "REAL_x2.h5", pair).name == "CLEAN_x2.h5"
    assert blend.partner(pair / "CLEAN_x2.h5", pair).name == "REAL_x2.h5"
    with pytest.raises(SRError, match="no clean"):
        blend.partner(pair / "OTHER_x2.h5", pair)


@pytest.mark.parametrize("s", [-0.1, 1.5, "x"])
def test_strength_outside_the_unit_interval_is_refused(s):
    with pytest.raises(SRError, match="--denoise"):
        blend.check_strength(s)


def test_pairs_of_different_architecture_or_kind_are_refused(pair):
    with pytest.raises(SRError, match="same architecture"):
        blend.load_blend(pair / "OTHER_x2.h5", pair / "CLEAN_x2.h5", 0.5)
    with pytest.raises(SRError, match="both real-degradation"):
        blend.load_blend(pair / "OTHER_x2.h5", pair / "REAL_x2.h5", 0.5)


def test_output_denoise_zero_reproduces_the_clean_model_and_one_the_real(pair, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(random_image(20, 24, seed=4)).save(src / "p.png")
    messages = []

    def run(out, **kw):
        counts = upscaler.upscale_files(src, tmp_path / out, weights_dir=pair, precision="float32",
                                        log=messages.append, **kw)
        assert counts["done"] == 1, messages
        return np.asarray(Image.open(tmp_path / out / "p_x2.png"))

    clean, real = run("clean", weights=pair / "CLEAN_x2.h5"), run("real", weights=pair / "REAL_x2.h5")
    np.testing.assert_array_equal(run("d0", denoise=0.0), clean)  # REAL_x2 chosen: it has a clean twin
    assert "denoise 0 with CLEAN_x2.h5" in messages[-2]
    np.testing.assert_array_equal(run("d1", denoise=1.0), real)
    assert not np.array_equal(clean, real)
    half = run("d5", model_name="REAL_x2", denoise=0.5)
    assert not np.array_equal(half, clean) and not np.array_equal(half, real)


@pytest.mark.slow
def test_output_py_refuses_a_bad_strength_in_one_line(pair, tmp_path):
    bad = run_script("output.py", "--weights-dir", pair, "--denoise", "2", "--output", tmp_path / "bad")
    assert bad.returncode != 0 and "--denoise 2.0: must lie in [0, 1]" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "bad").exists()


def test_a_plain_run_upscales_compressed_jpegs_with_the_real_model_and_the_rest_with_the_clean(pair, tmp_path):
    from srkit import autopick

    src = tmp_path / "in"
    src.mkdir()
    img = random_image(20, 24, seed=5)
    Image.fromarray(img).save(src / "low.jpg", quality=autopick.REAL_AT_OR_BELOW - 20)
    Image.fromarray(img).save(src / "top.jpg", quality=100)
    Image.fromarray(img).save(src / "lossless.png")
    weights = tmp_path / "w"
    weights.mkdir()
    for name in ("CLEAN_x2", "REAL_x2"):
        (weights / f"{name}.h5").write_bytes((pair / f"{name}.h5").read_bytes())
    messages = []
    counts = upscaler.upscale_files(src, tmp_path / "auto", weights_dir=weights, precision="float32",
                                    log=messages.append)
    assert counts["done"] == 3
    low = autopick.REAL_AT_OR_BELOW - 20
    assert any(m.startswith(f"low.jpg: JPEG quality {low}, upscaled with REAL_x2.h5") for m in messages)
    assert not any(m.startswith(("top.jpg", "lossless.png")) for m in messages)
    def alone(model, stem):  # each file upscaled by one named model
        upscaler.upscale_files(next(src.glob(f"{stem}.*")), tmp_path / model, weights=weights / f"{model}.h5",
                               precision="float32", log=lambda m: None)
        return np.asarray(Image.open(tmp_path / model / f"{stem}_x2.png"))

    got = lambda d, stem: np.asarray(Image.open(tmp_path / d / f"{stem}_x2.png"))  # noqa: E731
    np.testing.assert_array_equal(got("auto", "low"), alone("REAL_x2", "low"))
    np.testing.assert_array_equal(got("auto", "top"), alone("CLEAN_x2", "top"))
    np.testing.assert_array_equal(got("auto", "lossless"), alone("CLEAN_x2", "lossless"))
    # an explicit choice is obeyed for every file
    upscaler.upscale_files(src, tmp_path / "forced", model_name="CLEAN_x2", weights_dir=weights,
                           precision="float32", log=messages.append)
    np.testing.assert_array_equal(got("forced", "low"), alone("CLEAN_x2", "low"))
    assert not np.array_equal(got("forced", "low"), got("auto", "low"))
