"""Tiling equals whole-image processing for every model; self-ensemble,
grey, alpha and 16-bit handling; the one-call API."""

import keras
import numpy as np
import pytest

from conftest import random_image, save_tiny_checkpoint
from srkit import models, tiling
from srkit.inference import Upscaler, upscale

TINY_ARGS = {"SRCNN": {}, "VDSR": {"depth": 6, "filters": 8}, "SMALL": {"blocks": 2, "filters": 8},
             "LARGE": {"blocks": 3, "filters": 8}, "FAST": {"blocks": 2, "filters": 8},
             "BALANCED": {"blocks": 3, "filters": 8}, "SPAN": {"blocks": 1, "filters": 8}}


def randomized(name, seed=0, scale=2):
    """A model with random weights everywhere (the zero-initialised output
    conv would otherwise make residual models an identity)."""
    post = models.get_builder(name).upsampling == "post"
    model = models.build(name, **TINY_ARGS.get(name, {}), **({"scale": scale} if post else {}))
    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        fan_in = np.prod(w.shape[:-1]) if w.ndim > 1 else 1
        weights.append((rng.normal(0, 1, w.shape) / np.sqrt(fan_in)).astype(np.float32))
    model.set_weights(weights)
    return model


def test_every_registered_model_has_a_tiling_test():
    assert set(models.MODELS) <= set(TINY_ARGS)


@pytest.mark.parametrize("name", list(TINY_ARGS))
@pytest.mark.parametrize("scale", [2, 3])
def test_tiled_equals_whole_image(name, scale):
    model = randomized(name, scale=scale)
    upsampling = models.get_builder(name).upsampling
    img = random_image(45, 38, seed=scale)
    whole = Upscaler(model, scale, upsampling, tile=0)(img)[0]
    assert whole.shape == (45 * scale, 38 * scale, 3)
    for tile in (12, 17):
        tiled = Upscaler(model, scale, upsampling, tile=tile)(img)[0]
        assert np.abs(tiled.astype(int) - whole).max() <= 1  # 1/255: float noise of other tile shapes
    # too small an overlap shows seams: the default overlap is what makes it exact
    seamy = Upscaler(model, scale, upsampling, tile=12, overlap=0)(img)[0]
    assert np.abs(seamy.astype(int) - whole).max() > 1


def test_tile_windows_share_one_shape_and_cover_their_cores():
    for h, w, tile, overlap in ((45, 38, 12, 5), (100, 7, 30, 4), (10, 10, 16, 3)):
        seen = np.zeros((h, w), int)
        shapes = set()
        for (y0, y1, x0, x1), (wy0, wy1, wx0, wx1) in tiling.tiles(h, w, tile, overlap):
            seen[y0:y1, x0:x1] += 1
            shapes.add((wy1 - wy0, wx1 - wx0))
            assert 0 <= wy0 and wy1 <= h and 0 <= wx0 and wx1 <= w
            for lo, hi, wlo, whi, n in ((y0, y1, wy0, wy1, h), (x0, x1, wx0, wx1, w)):
                assert wlo == 0 or lo - wlo >= overlap  # margin, or the image border
                assert whi == n or whi - hi >= overlap
        assert np.all(seen == 1) and len(shapes) == 1
    # cores are balanced: 500 px in tiles of at most 396 -> two of 250
    cores = {(y1 - y0) for (y0, y1, _, _), _ in tiling.tiles(500, 10, 396, 11)}
    assert cores == {250}


def test_receptive_radius_and_auto_tile():
    assert tiling.receptive_radius(models.build("VDSR")) == 20
    assert tiling.receptive_radius(models.build("SRCNN")) == 4 + 0 + 2
    large = models.build("LARGE")
    assert tiling.receptive_radius(large) == 50
    assert tiling.auto_tile(large, 2, "pre", (100, 120)) == 0  # small image: one piece
    tile = tiling.auto_tile(large, 2, "pre", (3000, 4000))
    assert 48 <= tile < 1000
    # bfloat16 activations take half the memory: the same budget allows tiles
    # of twice the area (less overlap recomputed)
    half = tiling.bytes_per_output_pixel(models.build("LARGE", precision="bfloat16"), 2, "pre")
    assert half * 2 == tiling.bytes_per_output_pixel(large, 2, "pre")


def test_self_ensemble_of_an_equivariant_model_is_the_model():
    # a 1x1 convolution commutes with flips and rotations, so the ensemble
    # must give back exactly the plain output if the inverses are right
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1)(inputs))
    img = random_image(20, 28, seed=5)
    plain = Upscaler(model, 2, "pre", tile=0)(img)[0]
    ens = Upscaler(model, 2, "pre", tile=0, ensemble=True)(img)[0]
    assert np.abs(plain.astype(int) - ens).max() <= 1
    model = randomized("VDSR")  # and a real model gives a (slightly) different result
    a = Upscaler(model, 2, "pre", tile=0)(img)[0]
    b = Upscaler(model, 2, "pre", tile=0, ensemble=True)(img)[0]
    assert a.shape == b.shape and np.abs(a.astype(int) - b).max() > 0


def test_integer_and_grey_outputs_are_the_float_output_rounded():
    """uint8/uint16 outputs are the float output rounded (to within one level
    where float32 rounding meets a .5 boundary), grey is the luma of RGB."""
    model = randomized("SRCNN")
    up = Upscaler(model, 2, "pre")
    rgb16 = random_image(20, 24, seed=2).astype(np.uint16) * 257
    y = up(rgb16.astype(np.float32) / 65535)[0]
    assert y.dtype == np.float32 and y.shape == (40, 48, 3)
    diff = up(rgb16)[0].astype(np.int64) - np.floor(np.clip(y.astype(np.float64) * 65535, 0, 65535) + 0.5)
    assert np.abs(diff).max() <= 1 and np.mean(diff == 0) > 0.99
    grey = random_image(20, 24, 1, seed=1)
    g = up(grey.astype(np.float32) / 255)[0]
    rgb = up(np.repeat(grey.astype(np.float32)[..., None] / 255, 3, axis=2))[0]
    np.testing.assert_allclose(g, rgb @ np.array([0.299, 0.587, 0.114]), atol=1e-6)
    diff = up(grey)[0].astype(np.int64) - np.floor(np.clip(g.astype(np.float64) * 255, 0, 255) + 0.5)
    assert np.abs(diff).max() <= 1 and np.mean(diff == 0) > 0.99


def test_grey_alpha_16bit_and_api(tmp_path):
    model = randomized("SRCNN")
    grey = random_image(20, 24, 1, seed=1)
    out, alpha = Upscaler(model, 2, "pre")(grey)
    assert out.shape == (40, 48) and out.dtype == np.uint8 and alpha is None
    rgb16 = (random_image(20, 24, seed=2).astype(np.uint16) * 257)
    a16 = np.full((20, 24), 40000, np.uint16)
    out, alpha = Upscaler(model, 2, "pre")(rgb16, a16)
    assert out.dtype == np.uint16 and out.shape == (40, 48, 3)
    assert alpha.dtype == np.uint16 and np.all(alpha == 40000)  # constant alpha stays exact
    rgba = np.dstack([random_image(20, 24, seed=3), np.full((20, 24), 255, np.uint8)])
    assert upscale(rgba, model, scale=2).shape == (40, 48, 4)
    ckpt = tmp_path / "c.h5"
    save_tiny_checkpoint(ckpt, "SRCNN", {}, scale=3)
    assert upscale(grey, ckpt).shape == (60, 72)
    with pytest.raises(ValueError, match="scale"):
        upscale(grey, model)


@pytest.mark.parametrize("name", ["VDSR", "FAST"])
def test_bfloat16_path_stays_close_and_tiles_cleanly(name, tmp_path):
    from srkit import checkpoints
    from srkit.inference import resolve_precision

    model = randomized(name)
    post = models.get_builder(name).upsampling == "post"
    args = {**TINY_ARGS[name], **({"scale": 2} if post else {})}
    checkpoints.save(tmp_path / "m.h5", model, name, args, 2, {"step": 0})
    f32, _ = Upscaler.from_checkpoint(tmp_path / "m.h5", precision="float32", tile=0)
    bf16, _ = Upscaler.from_checkpoint(tmp_path / "m.h5", precision="bfloat16", tile=0)
    assert bf16.model.layers[1].compute_dtype == "bfloat16" and bf16.model.layers[1].variable_dtype == "float32"
    assert bf16.model.output.dtype == "float32"
    img = random_image(40, 36, seed=3)
    a, b = f32(img)[0].astype(int), bf16(img)[0].astype(int)
    # bfloat16 noise, not another image (random weights amplify it; trained ones: tests/test_shipped.py)
    assert 0 < np.abs(a - b).mean() < 1.5 and np.mean(np.abs(a - b) > 4) < 0.02
    tiled, _ = Upscaler.from_checkpoint(tmp_path / "m.h5", precision="bfloat16", tile=13)
    assert np.mean(np.abs(tiled(img)[0].astype(int) - b) > 4) < 0.02
    assert resolve_precision("auto") in ("float32", "bfloat16")
    with pytest.raises(ValueError, match="unknown precision"):
        resolve_precision("int4")
