"""LiteRT export: the float32 graph computes what Keras computes (pre- and
post-upsampling models, every upsampler), has no tensor of rank above 4, and
the int8 graph really holds int8 weights and stays close."""

import numpy as np
import pytest

from conftest import run_script, save_tiny_checkpoint
from srkit import checkpoints, litert, models

pytestmark = pytest.mark.skipif(litert.available() is not None, reason=str(litert.available()))


def _noisy(model, seed=1):
    """Non-trivial weights: fresh residual models start as the identity."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


CASES = [("VDSR", {"depth": 3, "filters": 8}, 1), ("FAST", {"scale": 2, "blocks": 1, "filters": 8}, 2),
         ("FAST", {"scale": 3, "blocks": 1, "filters": 8}, 3), ("FAST", {"scale": 4, "blocks": 1, "filters": 8}, 4)]


@pytest.mark.parametrize("name,args,grow", CASES, ids=lambda c: str(c))
def test_float32_graph_matches_keras_with_tensors_of_rank_4_at_most(name, args, grow):
    import keras

    model = _noisy(models.build(name, **args))
    content = litert.convert(model, "float32")
    assert litert.max_rank(content) <= 4, litert.op_names(content)
    x = np.random.default_rng(2).random((1, 21, 34, 3), dtype=np.float32)  # odd sizes, none seen at conversion
    y, ref = litert.runner(content)(x), keras.ops.convert_to_numpy(model(x))
    assert y.shape == ref.shape == (1, 21 * grow, 34 * grow, 3)
    assert np.max(np.abs(y - ref)) < 1e-4 and np.std(ref) > 0.01
    assert "CONV_2D" in litert.op_names(content)


def test_depth_to_space_and_nearest_anchor_equal_their_references():
    import keras
    import tensorflow as tf

    from srkit.layers import NearestUpsample, depth_to_space

    x = np.random.default_rng(0).random((2, 5, 7, 36), dtype=np.float32)
    for r in (2, 3):
        assert np.array_equal(keras.ops.convert_to_numpy(depth_to_space(x, r)), tf.nn.depth_to_space(x, r).numpy())
        assert np.array_equal(keras.ops.convert_to_numpy(NearestUpsample(r)(x)),
                              keras.ops.convert_to_numpy(keras.layers.UpSampling2D(r)(x)))


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a - b) ** 2))


def test_int8_graph_holds_int8_weights_and_stays_close():
    import keras

    model = _noisy(models.build("FAST", scale=2, blocks=2, filters=16), seed=3)  # kernels big enough to quantize
    content = litert.convert(model, "int8")
    x = np.random.default_rng(4).random((1, 40, 40, 3), dtype=np.float32)
    y, ref = litert.runner(content)(x), keras.ops.convert_to_numpy(model(x))
    kernels = [t for t in litert._interpreter(content).get_tensor_details() if t["dtype"] == np.int8]
    assert len(kernels) >= 4  # the body's convolutions
    assert 0 < np.max(np.abs(y - ref)) and _psnr(y, ref) > 35
    assert litert.max_rank(content) <= 4


def test_int8_static_calibrates_on_given_patches_and_keeps_named_layers_float(data):
    from srkit.calibration import calibration_patches

    model = _noisy(models.build("FAST", scale=2, blocks=1, filters=16), seed=5)
    patches = calibration_patches(2, "post", folders=[data / "train"], count=4, side=16)
    assert len(patches) == 4 and all(p.shape == (1, 16, 16, 3) and p.dtype == np.float32 for p in patches)
    content = litert.convert(model, "int8-static", patches, keep_float=litert.KEEP_FLOAT)
    it = litert._interpreter(content)
    ops = it._get_ops_details()
    convs = [op for op in ops if op["op_name"] == "CONV_2D"]
    dtype = lambda op: it._get_tensor_details(op["inputs"][1], 0)["dtype"]  # noqa: E731 (the kernel's)
    assert dtype(convs[0]) == np.float32 and dtype(convs[-1]) == np.float32  # conv_in, upsample0_conv
    assert any(dtype(op) == np.int8 for op in convs[1:-1])
    assert litert.max_rank(content) <= 4


@pytest.mark.slow
def test_network_cli_exports_litert_checked_against_keras(tmp_path):
    save_tiny_checkpoint(tmp_path / "fast.h5", "FAST", {"scale": 2, "blocks": 1, "filters": 8})
    model, _ = checkpoints.load(tmp_path / "fast.h5")
    r = run_script("network.py", "--litert", tmp_path / "fast.h5")
    assert r.returncode == 0, r.stderr[-2000:]
    content = (tmp_path / "fast.tflite").read_bytes()
    assert "max difference" in r.stdout and "rank 4" in r.stdout and litert.max_rank(content) <= 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    bad = run_script("network.py", "--litert", tmp_path / "missing.h5")
    assert bad.returncode != 0 and "missing.h5" in bad.stderr and "Traceback" not in bad.stderr
