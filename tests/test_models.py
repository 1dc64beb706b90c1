"""Model builders: exact parameter counts, shapes, registry, serialization.
Also run under KERAS_BACKEND=jax by test_backends.py."""

import keras
import numpy as np
import pytest

from srkit import layers, models
from srkit.errors import SRError

EXPECTED_PARAMS = {"SRCNN": 20_099, "VDSR": 668_227, "SMALL": 2_012_611, "LARGE": 7_091_075}


@pytest.fixture(scope="module")
def built():
    return {name: models.build(name) for name in EXPECTED_PARAMS}


@pytest.mark.parametrize("name", list(EXPECTED_PARAMS))
def test_parameter_counts_match_original_project(built, name):
    assert built[name].count_params() == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", list(EXPECTED_PARAMS))
@pytest.mark.parametrize("hw", [(12, 16), (13, 17), (16, 11)])
def test_fully_convolutional_same_size_output(built, name, hw):
    x = np.random.default_rng(0).random((1, *hw, 3), dtype=np.float32)
    y = keras.ops.convert_to_numpy(built[name](x, training=False))
    assert y.shape == (1, *hw, 3)
    assert np.all(np.isfinite(y))


def test_registry_is_case_insensitive_and_complete():
    assert set(EXPECTED_PARAMS) <= set(models.MODELS)
    assert models.canonical_name("vdsr") == "VDSR"
    assert models.build("srcnn").count_params() == EXPECTED_PARAMS["SRCNN"]
    assert all(models.get_builder(n).upsampling == "pre" for n in EXPECTED_PARAMS)


def test_unknown_model_and_bad_arguments_are_clear_errors():
    with pytest.raises(SRError, match="unknown model 'NOPE'"):
        models.build("NOPE")
    with pytest.raises(SRError, match="bad arguments for model VDSR"):
        models.build("VDSR", nonsense=1)


@pytest.mark.parametrize("name", ["VDSR", "SMALL", "LARGE"])
def test_fresh_residual_models_start_at_their_input(name):
    x = np.random.default_rng(3).random((1, 9, 10, 3), dtype=np.float32)
    model = models.build(name, **({"depth": 3} if name == "VDSR" else {"blocks": 1}))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)), x)


def test_global_residual_returns_input_when_convs_are_zero():
    model = models.build("VDSR", depth=3)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    x = np.random.default_rng(1).random((1, 9, 10, 3), dtype=np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)), x)


def test_scale_layer_serializes_and_model_reloads_in_safe_mode(tmp_path):
    layer = layers.Scale(0.1, name="s")
    clone = layers.Scale.from_config(layer.get_config())
    assert clone.factor == pytest.approx(0.1)
    model = models.build("LARGE", filters=8, blocks=2)
    path = tmp_path / "large.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(2).random((1, 8, 8, 3), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6)


@pytest.mark.parametrize("kernel", [(5, 5), (3, 3), (4, 2), (1, 5), (3, 1)])
def test_narrow_conv_is_the_same_convolution_by_a_faster_route(kernel, monkeypatch):
    """Output convs (``NarrowConv2D``) equal a plain Conv2D with the same
    weights, at the zero-padded border and for even kernels too; in float32
    they take the two-convolution route, in bfloat16 the plain one."""
    rng = np.random.default_rng(5)
    x = rng.random((2, 11, 13, 7), dtype=np.float32)
    plain, narrow = keras.layers.Conv2D(3, kernel, padding="same"), layers.NarrowConv2D(3, kernel, padding="same")
    for layer in (plain, narrow):
        layer.build(x.shape)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in plain.weights]
    plain.set_weights(weights)
    narrow.set_weights(weights)
    calls = []  # convolutions of the two-step route (the plain one runs in Keras's Conv2D)
    conv = layers.ops.conv
    monkeypatch.setattr(layers.ops, "conv", lambda *a, **k: calls.append(1) or conv(*a, **k))
    want = keras.ops.convert_to_numpy(plain(x))
    calls.clear()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(narrow(x)), want, rtol=1e-5, atol=2e-5)
    assert len(calls) == (0 if kernel[1] == 1 else 2)
    half = layers.NarrowConv2D(3, kernel, padding="same", dtype="mixed_bfloat16")
    half.build(x.shape)
    half.set_weights(weights)
    calls.clear()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(half(x)).astype("float32"), want, rtol=0.05, atol=0.1)
    assert not calls


def test_models_with_narrow_output_convs_reload_in_safe_mode(tmp_path):
    model = models.build("SRCNN")
    assert isinstance(model.get_layer("conv_out"), layers.NarrowConv2D)
    model.save(tmp_path / "srcnn.keras")
    again = keras.saving.load_model(tmp_path / "srcnn.keras", safe_mode=True)
    x = np.random.default_rng(3).random((1, 12, 10, 3), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6)


def test_residual_scaling_is_applied():
    x = np.ones((1, 2, 2, 4), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layers.Scale(0.1)(x)), 0.1 * x, rtol=1e-6)


def test_runs_on_the_requested_backend():
    import os

    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


POST = ["FAST", "BALANCED"]


@pytest.mark.parametrize("name", POST)
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("hw", [(12, 16), (13, 11)])
def test_post_upsampling_models_enlarge_by_their_scale(name, scale, hw):
    model = models.build(name, scale=scale, blocks=1, filters=8)
    assert models.get_builder(name).upsampling == "post"
    x = np.random.default_rng(0).random((1, *hw, 3), dtype=np.float32)
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (1, hw[0] * scale, hw[1] * scale, 3)
    # a fresh model is its anchor: the nearest-neighbour enlargement of the input
    np.testing.assert_array_equal(y[0], np.repeat(np.repeat(x[0], scale, 0), scale, 1))


def test_post_upsampling_sizes_and_bad_scale():
    assert models.build("BALANCED").count_params() == 1_227_340
    assert models.build("FAST").count_params() == 276_732
    with pytest.raises(SRError, match="x5"):
        models.build("FAST", scale=5)


def test_depth_to_space_matches_the_reference_layout(tmp_path):
    r, c = 2, 3
    x = np.arange(1 * 2 * 3 * c * r * r, dtype=np.float32).reshape(1, 2, 3, c * r * r)
    y = keras.ops.convert_to_numpy(layers.DepthToSpace(r)(x))
    assert y.shape == (1, 4, 6, c)
    for h in range(2):
        for w in range(3):
            for i in range(r):
                for j in range(r):
                    # output[h*r+i, w*r+j, k] = input[h, w, (i*r + j)*c + k] (tf.nn.depth_to_space)
                    np.testing.assert_array_equal(y[0, h * r + i, w * r + j], x[0, h, w, (i * r + j) * c:(i * r + j + 1) * c])
    model = models.build("FAST", scale=4, blocks=1, filters=8)
    model.save(tmp_path / "fast.keras")
    again = keras.saving.load_model(tmp_path / "fast.keras", safe_mode=True)
    z = np.random.default_rng(1).random((1, 5, 7, 3), dtype=np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(again(z)), keras.ops.convert_to_numpy(model(z)))


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("hw", [(7, 9), (2, 3)])
def test_bicubic_upsample_layer_equals_matlab_imresize(scale, hw):
    from srkit.degradations import imresize

    img = np.random.default_rng(scale).random((*hw, 3))
    m = 3  # more than the layer needs: the surplus is cropped
    padded = np.pad(img, ((m, m), (m, m), (0, 0)), "symmetric").astype(np.float32)
    layer = layers.BicubicUpsample(scale, m)
    y = keras.ops.convert_to_numpy(layer(padded[None]))[0]
    ref = imresize(img, scale)
    assert y.shape == ref.shape == layer.compute_output_shape((1, hw[0] + 2 * m, hw[1] + 2 * m, 3))[1:]
    assert np.max(np.abs(y - ref)) < 1e-6
    again = layers.BicubicUpsample.from_config(layer.get_config())
    assert (again.scale, again.margin, again.dtype) == (scale, m, "float32")
    with pytest.raises(ValueError, match="margin"):
        layers.BicubicUpsample(scale, 1)


def test_image_producing_layers_dtypes():
    """Training (mixed policy) keeps the image-producing convs float32; bfloat16
    inference computes a residual conv in bfloat16 but a whole image in float32."""
    import keras

    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        trained = models.build("FAST", scale=4, filters=8, blocks=1)
    finally:
        keras.config.set_dtype_policy(saved)
    assert trained.get_layer("conv_in").compute_dtype == "bfloat16"
    assert trained.get_layer("upsample1_conv").compute_dtype == "float32"
    post = models.build("FAST", precision="bfloat16", scale=4, filters=8, blocks=1)
    assert [post.get_layer(n).compute_dtype for n in ("upsample0_conv", "upsample1_conv", "upsample1_shuffle")] \
        == ["bfloat16"] * 3
    assert post.get_layer("global_residual").compute_dtype == "float32" and post.output.dtype == "float32"
    plain = models.build("SRCNN", precision="bfloat16", filters=[8, 4])
    residual = models.build("SRCNN", precision="bfloat16", filters=[8, 4], global_residual=True)
    assert plain.get_layer("conv_out").compute_dtype == "float32"
    assert residual.get_layer("conv_out").compute_dtype == "bfloat16"
    assert models.build("SRCNN", precision="float32").get_layer("conv_out").compute_dtype == "float32"
