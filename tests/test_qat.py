"""Quantization-aware training and its full-integer int8 model: the fake
quantizer rounds to the range's 256 levels, calibration covers the float
tensors, a checkpoint gives its plain network to the float paths and its
ranges to the int8 conversion, which keeps them (full-integer LiteRT graph
close to the Keras simulation)."""

import json

import numpy as np
import pytest

import keras
from conftest import save_tiny_checkpoint
from srkit import checkpoints, litert, models, qat, quantize
from srkit.errors import SRError
from srkit.layers import FakeQuant

ARGS = {"scale": 2, "blocks": 2, "filters": 16, "fake_quant": True}


def _patches(n=4, side=24, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((1, side, side, 3), dtype=np.float32) for _ in range(n)]


def _calibrated(args=ARGS, seed=0):
    """A quantization-aware FAST with random weights (the zero-initialised
    upsampler too, so its output depends on the body), ranges calibrated."""
    keras.utils.set_random_seed(seed)
    model = models.build("FAST", **args)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.weights and not isinstance(layer, FakeQuant):
            layer.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in layer.get_weights()])
    qat.calibrate(model, "FAST", args, _patches())
    return model


def test_fake_quant_rounds_to_the_256_levels_of_its_range_and_clips():
    layer = FakeQuant()
    layer.build((None, 4))
    layer.set_weights([np.float32(0.0), np.float32(2.55)])  # zero on the grid: steps of 0.01
    x = np.random.default_rng(0).uniform(-0.5, 3.0, (1000,)).astype(np.float32)
    expected = np.round(np.clip(x, 0.0, 2.55) / 0.01) * 0.01
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, atol=1e-5)


def test_fake_quant_passes_gradients_inside_its_range_only():
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient check written with tf.GradientTape")
    layer = FakeQuant()
    layer.build((None,))
    layer.set_weights([np.float32(-1.0), np.float32(1.0)])
    x = tf.constant([-2.0, -0.3, 0.4, 1.5])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(layer(x))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0, 1, 1, 0])


@pytest.mark.parametrize("percentile", [100, 99.9])
def test_calibration_sets_each_range_at_the_percentiles_of_the_float_tensor_it_follows(percentile):
    keras.utils.set_random_seed(0)
    model = models.build("FAST", **ARGS)
    assert not qat.calibrated(model)  # built as min = max = 0
    patches = _patches()
    qat.calibrate(model, "FAST", ARGS, patches, percentile=percentile)
    assert qat.calibrated(model)
    plain = qat.plain(model, "FAST", ARGS)
    for q in qat.fake_quants(model):
        probe = keras.Model(plain.input, plain.get_layer(q.name[:-3]).output)
        values = np.sort(np.concatenate([keras.ops.convert_to_numpy(probe(p)).ravel() for p in patches]))
        k = max(1, int(np.ceil(values.size * (100 - percentile) / 100)))  # values left outside at each end
        lo, hi = (float(keras.ops.convert_to_numpy(w)) for w in (q.range_min, q.range_max))
        assert lo == pytest.approx(min(values[k - 1], 0), abs=1e-6) and hi == pytest.approx(max(values[-k], 0), abs=1e-6)
        if percentile < 100 and values[-1] > 0:
            assert hi < values[-1]  # the rarest values saturate
    relu = model.get_layer("block0_conv1_fq")
    assert float(keras.ops.convert_to_numpy(relu.range_min)) == 0.0  # after a ReLU: nothing below zero


def test_plain_network_is_the_quantized_model_without_its_rounding():
    model = _calibrated()
    plain = qat.plain(model, "FAST", ARGS)
    assert not qat.fake_quants(plain) and len(plain.weights) == len(model.weights) - 2 * len(qat.fake_quants(model))
    x = _patches(1, 32, seed=5)[0]
    a, b = (keras.ops.convert_to_numpy(m(x)) for m in (plain, model))
    assert np.abs(a - b).max() > 0 and np.abs(a - b).mean() < 0.01  # the rounding is all that differs


def test_checkpoint_gives_the_plain_network_unless_asked_for_the_quantized_one(tmp_path):
    model = _calibrated()
    path = tmp_path / "q.h5"
    checkpoints.save(path, model, "FAST", ARGS, 2, {"step": 1})
    plain, info = checkpoints.load(path)
    assert info.args["fake_quant"] and not qat.fake_quants(plain)
    bf16, _ = checkpoints.load(path, precision="bfloat16")
    assert not qat.fake_quants(bf16)
    again, _ = checkpoints.load(path, quantized=True)
    assert len(qat.fake_quants(again)) == 3 * 2 + 3
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = _patches(1, 20, seed=6)[0]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(x)),
                               keras.ops.convert_to_numpy(qat.plain(model, "FAST", ARGS)(x)), atol=1e-6)


def test_plain_and_quantization_aware_forms_refuse_what_they_cannot_be():
    with pytest.raises(SRError, match="fake_quant"):
        models.build("FAST", scale=2, blocks=1, reparam=True, fake_quant=True)
    with pytest.raises(SRError, match="fake_quant"):
        models.build("BALANCED", scale=2, blocks=1, res_scale=0.1, fake_quant=True)


@pytest.mark.skipif(litert.available() is not None, reason=str(litert.available()))
class TestFullInteger:
    @pytest.fixture(autouse=True)
    def cache(self, tmp_path, monkeypatch):
        monkeypatch.setenv("SRKIT_CACHE_DIR", str(tmp_path / "cache"))

    def test_int8_model_holds_the_trained_ranges_and_follows_the_simulation(self, tmp_path):
        model = _calibrated()
        path = tmp_path / "q.h5"
        checkpoints.save(path, model, "FAST", ARGS, 2, {"step": 1})
        content = quantize.int8_model(path)
        ops = litert.op_names(content)
        assert ops.count("QUANTIZE") == 1 and ops.count("DEQUANTIZE") == 1  # int8 from conv_in's output to the upsampler
        assert litert.max_rank(content) <= litert.MAX_RANK
        it = litert._interpreter(content)  # noqa: SLF001
        scales = {round(float(t["quantization_parameters"]["scales"][0]), 7)
                  for t in it.get_tensor_details() if t["dtype"] == np.int8 and len(t["shape_signature"]) == 4
                  and len(t["quantization_parameters"]["scales"]) == 1}
        for q in qat.fake_quants(model):
            lo, hi = (float(keras.ops.convert_to_numpy(w)) for w in (q.range_min, q.range_max))
            assert round((hi - lo) / 255, 7) in scales, q.name  # the trained range, not a re-calibrated one
        x = _patches(1, 40, seed=7)[0]
        out = litert.runner(content)(x)
        sim = keras.ops.convert_to_numpy(model(x))
        plain = keras.ops.convert_to_numpy(qat.plain(model, "FAST", ARGS)(x))
        # the same function within int8 noise (its weights are int8 too, which the simulation leaves float)
        assert np.abs(out - plain).mean() < 2 * np.abs(sim - plain).mean() < 0.02

    def test_an_uncalibrated_quantization_aware_checkpoint_is_refused(self, tmp_path):
        path = tmp_path / "raw.h5"
        save_tiny_checkpoint(path, "FAST", ARGS, 2)
        with pytest.raises(SRError, match="ranges were never set"):
            quantize.int8_model(path)


def test_int8_ranges_command_adds_calibrated_ranges_and_keeps_the_float_network(tmp_path):
    from PIL import Image

    from conftest import random_image, run_script

    calib = tmp_path / "calib"
    calib.mkdir()
    for i in range(2):
        Image.fromarray(random_image(200, 210, seed=i)).save(calib / f"c{i}.png")
    src, dst = tmp_path / "m.h5", tmp_path / "q.h5"
    plain_args = {k: v for k, v in ARGS.items() if k != "fake_quant"}
    model = save_tiny_checkpoint(src, "FAST", plain_args, 2, metadata={"step": 7})
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])
    checkpoints.save(src, model, "FAST", plain_args, 2, {"step": 7})
    src.with_suffix(".json").write_text(json.dumps({"architecture": "FAST", "arguments": plain_args, "int8": {}}))
    env = {"SRKIT_CALIBRATION_DATA": str(calib)}
    r = run_script("network.py", "--int8-ranges", src, "--to", dst, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    aware, info = checkpoints.load(dst, quantized=True)
    assert info.args == ARGS and qat.calibrated(aware) and info.metadata["step"] == 7
    record = info.metadata["int8_calibration"]
    assert record["percentile"] == 99.99 and record["data"] == [str(calib)] and record["patches"] == 48
    x = _patches(1, 30, seed=3)[0]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(checkpoints.load(dst)[0](x)),
                                  keras.ops.convert_to_numpy(model(x)))  # the float paths: the same network
    card = json.loads(dst.with_suffix(".json").read_text())
    assert card["arguments"] == ARGS and "int8" not in card and card["int8_calibration"] == record
    vdsr = tmp_path / "v.h5"
    save_tiny_checkpoint(vdsr, "VDSR", {"depth": 3}, 2)
    r = run_script("network.py", "--int8-ranges", vdsr, "--to", tmp_path / "v2.h5", env=env)
    assert r.returncode != 0 and "no quantization-aware form" in r.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "v2.h5").exists()
