"""Re-parameterisable convolution and parameter-free attention against
independent numpy references; the SPAN model's training form against its
folded (plain) form; serialisation; export of a run folds the model.
Also run under KERAS_BACKEND=jax by test_backends.py."""

import keras
import numpy as np
import pytest

from srkit import bench, checkpoints, models, reparam, tiling


def _np(t):
    return keras.ops.convert_to_numpy(t)


def _conv_valid(x, w):
    """Plain numpy cross-correlation, no padding: x (N, H, W, I), w (kh, kw, I, O)."""
    kh, kw = w.shape[:2]
    h, wd = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    return sum(np.einsum("nhwi,io->nhwo", x[:, dy:dy + h, dx:dx + wd], w[dy, dx])
               for dy in range(kh) for dx in range(kw))


def _random_layer(filters, gain, cin, seed=0):
    layer = reparam.RepConv3x3(filters, gain)
    layer.build((None, None, None, cin))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("gain,cin,filters", [(2, 4, 5), (1, 3, 8)])
def test_rep_conv_is_its_branches_and_folds_into_one_plain_conv(gain, cin, filters):
    layer = _random_layer(filters, gain, cin)
    x = np.random.default_rng(1).random((2, 7, 9, cin), dtype=np.float32)
    y = _np(layer(x))
    # reference: zero-pad, 1x1 expand, 3x3 valid, 1x1 squeeze, plus the 1x1 skip, in float64
    (w1, b1, w2, b2, w3, b3, ws, bs) = [w.astype(np.float64) for w in layer.get_weights()]
    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = _conv_valid(_conv_valid(_conv_valid(padded, w1) + b1, w2) + b2, w3) + b3 + _conv_valid(x, ws) + bs
    assert y.shape == (2, 7, 9, filters) and np.max(np.abs(y - ref)) < 1e-4
    kernel, bias = layer.folded_weights()
    assert kernel.shape == (3, 3, cin, filters) and bias.shape == (filters,)
    plain = _conv_valid(np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0))), kernel) + bias
    assert np.max(np.abs(plain - ref)) < 1e-4  # borders included: the padding is the same on both sides


def test_param_free_attention_is_the_hand_computed_formula():
    rng = np.random.default_rng(2)
    f, s = rng.normal(0, 3, (2, 5, 6, 4)).astype(np.float32), rng.normal(0, 3, (2, 5, 6, 4)).astype(np.float32)
    y = _np(reparam.ParamFreeAttention()([f, s]))
    ref = (f + s) * (1 / (1 + np.exp(-f.astype(np.float64))) - 0.5)
    assert np.max(np.abs(y - ref)) < 1e-5
    assert not reparam.ParamFreeAttention().weights


def _trained_like(model, seed=0):
    """Non-trivial weights of a sane size (the upsampler starts at zero)."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0, 0.02, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_span_training_form_folds_into_the_plain_model(scale):
    args = {"scale": scale, "filters": 8, "blocks": 2, "reparam": True}
    train = _trained_like(models.build("SPAN", **args))
    plain, plain_args = models.deployed("SPAN", train, args)
    assert plain_args == {"scale": scale, "filters": 8, "blocks": 2}
    assert not any(isinstance(layer, reparam.RepConv3x3) for layer in plain.layers)
    assert len(plain.weights) == models.get_builder("SPAN").arrays(**plain_args)
    assert len(train.weights) == models.get_builder("SPAN").arrays(**args)
    x = np.random.default_rng(3).random((1, 13, 11, 3), dtype=np.float32)
    a, b = _np(train(x)), _np(plain(x))
    anchor = np.repeat(np.repeat(x, scale, 1), scale, 2)
    assert a.shape == (1, 13 * scale, 11 * scale, 3) and np.std(a - anchor) > 0.01
    assert np.max(np.abs(a - b)) < 1e-4
    assert models.deployed("FAST", plain, {"scale": 2})[0] is plain  # nothing to fold
    assert tiling.receptive_radius(train) == tiling.receptive_radius(plain) == 1 + 3 * 2 + 1 + 1  # tiles cover it


@pytest.mark.parametrize("name,scale", [("FAST", 2), ("FAST", 4), ("BALANCED", 3)])
def test_residual_models_train_multi_branch_on_request_and_fold_exactly(name, scale):
    args = {"scale": scale, "filters": 8, "blocks": 2, "reparam": True}
    train = _trained_like(models.build(name, **args))
    plain, plain_args = models.deployed(name, train, args)
    assert plain_args == {"scale": scale, "filters": 8, "blocks": 2}
    assert sum(isinstance(layer, reparam.RepConv3x3) for layer in train.layers) == 2 + 2 * 2  # in, blocks, body
    assert not any(isinstance(layer, reparam.RepConv3x3) for layer in plain.layers)
    builder = models.get_builder(name)
    assert len(plain.weights) == builder.arrays(**plain_args) and len(train.weights) == builder.arrays(**args)
    # the plain form is the model as always built, layer for layer
    assert [w.shape for w in plain.weights] == [w.shape for w in models.build(name, **plain_args).weights]
    x = np.random.default_rng(5).random((1, 12, 10, 3), dtype=np.float32)
    a, b = _np(train(x)), _np(plain(x))
    anchor = np.repeat(np.repeat(x, scale, 1), scale, 2)
    assert np.std(a - anchor) > 0.01 and np.max(np.abs(a - b)) < 1e-4
    assert tiling.receptive_radius(train) == tiling.receptive_radius(plain)


def test_fold_into_refuses_models_that_do_not_pair_up():
    train = models.build("SPAN", filters=8, blocks=2, reparam=True)
    with pytest.raises(ValueError, match="no counterpart"):
        reparam.fold_into(train, models.build("SPAN", filters=8, blocks=1))


def test_span_is_in_the_fast_class_at_x2():
    model = models.build("SPAN")
    assert model.count_params() == 410_700
    assert bench.flop_per_pixel(model, 2, "post") / 1e3 == pytest.approx(204.84)  # GFLOP per output MP
    fresh = models.build("SPAN", scale=3, filters=8, blocks=1, reparam=True)
    x = np.random.default_rng(0).random((1, 5, 7, 3), dtype=np.float32)
    np.testing.assert_array_equal(_np(fresh(x))[0], np.repeat(np.repeat(x[0], 3, 0), 3, 1))  # starts at its anchor


@pytest.mark.parametrize("form", [True, False])
def test_span_layers_serialize_and_reload_in_safe_mode(tmp_path, form):
    model = _trained_like(models.build("SPAN", filters=8, blocks=1, reparam=form))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.random.default_rng(1).random((1, 6, 5, 3), dtype=np.float32)
    np.testing.assert_array_equal(_np(again(x)), _np(model(x)))
    layer = reparam.RepConv3x3.from_config(reparam.RepConv3x3(4, gain=3, name="r").get_config())
    assert (layer.filters, layer.gain, layer.name) == (4, 3, "r")


def test_export_of_a_run_writes_the_folded_model(tmp_path):
    from srkit import trainrun

    args = {"scale": 2, "filters": 8, "blocks": 1, "reparam": True}
    train = _trained_like(models.build("SPAN", **args))
    (tmp_path / "run").mkdir()
    checkpoints.save(tmp_path / "run" / "best.h5", train, "SPAN", args, 2, {"step": 3, "best_psnr": 30.0})
    assert trainrun.export(tmp_path / "run", tmp_path / "S.h5") == 0
    plain, info = checkpoints.load(tmp_path / "S.h5")  # rebuilt from the file's own description
    assert info.args == {"scale": 2, "filters": 8, "blocks": 1} and info.metadata["best_psnr"] == 30.0
    assert not any(isinstance(layer, reparam.RepConv3x3) for layer in plain.layers)
    x = np.random.default_rng(4).random((1, 9, 10, 3), dtype=np.float32)
    assert np.max(np.abs(_np(plain(x)) - _np(train(x)))) < 1e-4
    import json

    card = json.loads((tmp_path / "S.json").read_text())
    assert card["arguments"] == info.args and card["parameters"] == plain.count_params()
