"""MATLAB-style imresize against values derived independently of our code."""

import numpy as np
import pytest
from PIL import Image

from srkit import degradations as d


def test_hand_worked_1d_upscale_with_symmetric_border():
    # x2 of [1, 2, 3, 4]: output pixel 1 sits at u = 0.75, pixel 2 at u = 1.25
    # (1-based input coords). Keys weights a=-0.5 worked by hand, mirror border:
    # out1 = 1.09375*x1 - 0.09375*x2 ; out2 = 0.796875*x1 + 0.2265625*x2 - 0.0234375*x3
    row = np.array([[1.0, 2.0, 3.0, 4.0]])
    out = d.imresize(row, output_shape=(1, 8))
    assert out[0, 0] == pytest.approx(1.09375 - 0.09375 * 2, abs=1e-12)
    assert out[0, 1] == pytest.approx(0.796875 + 0.2265625 * 2 - 0.0234375 * 3, abs=1e-12)


def test_kernel_values():
    np.testing.assert_allclose(d.cubic(np.array([0, 0.5, 1, 1.5, 2, 2.5])), [1, 0.5625, 0, -0.0625, 0, 0])


@pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.25, 2, 3, 4])
def test_constant_image_stays_exactly_constant(scale):
    img = np.full((24, 36, 3), 137, np.uint8)
    out = d.imresize(img, scale)
    assert out.dtype == np.uint8
    assert out.shape == (int(np.ceil(24 * scale)), int(np.ceil(36 * scale)), 3)
    assert np.all(out == 137)


@pytest.mark.parametrize("scale", [2, 3, 4, 0.5, 0.25])
def test_linear_ramp_is_reproduced_away_from_borders(scale):
    # The kernel reproduces linear functions; weights are symmetric about the
    # output pixel centre, so away from the mirrored border the result is the
    # ramp evaluated at that centre: value(u) with u = x/s + 0.5(1 - 1/s).
    n = 48
    ramp = np.tile(np.arange(1, n + 1, dtype=np.float64), (3, 1))
    out = d.imresize(ramp, output_shape=(3, int(np.ceil(n * scale))))
    x = np.arange(1, out.shape[1] + 1)
    expected = x / scale + 0.5 * (1 - 1 / scale)
    margin = int(np.ceil(max(scale, 1 / scale) * 3))
    np.testing.assert_allclose(out[1, margin:-margin], expected[margin:-margin], atol=1e-9)


@pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.25, 2, 3])
def test_interior_matches_pillow_bicubic(scale):
    # Pillow's BICUBIC is the same Keys a=-0.5 kernel with the same support
    # stretching on downscale; only borders differ (it renormalises instead of
    # mirroring), so interior pixels must agree to float precision.
    img = np.random.default_rng(0).random((60, 48)).astype(np.float32) * 255
    h, w = int(round(60 * scale)), int(round(48 * scale))
    ours = d.imresize(img.astype(np.float64), output_shape=(h, w))
    pil = np.asarray(Image.fromarray(img, mode="F").resize((w, h), Image.Resampling.BICUBIC))
    m = int(np.ceil(max(scale, 1 / scale) * 3))
    np.testing.assert_allclose(ours[m:-m, m:-m], pil[m:-m, m:-m], atol=2e-3)


def test_uint8_rounding_and_float_path():
    yy, xx = np.mgrid[0:20, 0:20]
    img = np.stack([40 + 7 * xx + 3 * yy, 200 - 5 * yy, 60 + xx * yy // 4], -1).astype(np.uint8)
    lr = d.imresize(img, 0.5)
    assert lr.dtype == np.uint8 and lr.shape == (10, 10, 3)
    f = d.imresize(img.astype(np.float64), 0.5)
    # per-pass rounding (MATLAB's uint8 behaviour) stays within one level of
    # the float path on a smooth image (no overshoot clipped between passes)
    assert np.max(np.abs(lr.astype(float) - f.clip(0, 255))) <= 1.0
    up = d.pre_upscale(lr, 2)
    assert up.dtype == np.float32 and up.shape == (20, 20, 3)


def test_modcrop_lr_nearest_shapes():
    hr = np.zeros((31, 50, 3), np.uint8)
    assert d.modcrop(hr, 3).shape == (30, 48, 3)
    assert d.bicubic_lr(hr, 4).shape == (7, 12, 3)
    assert d.nearest_upscale(np.arange(4, dtype=np.uint8).reshape(2, 2), 2).tolist() == [
        [0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]


def test_bad_arguments():
    with pytest.raises(ValueError):
        d.imresize(np.zeros((4, 4), np.int32), 2)
    with pytest.raises(ValueError):
        d.imresize(np.zeros((4,)), 2)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("shape", [(61, 75), (37, 30)])
def test_lr_window_from_a_crop_equals_the_whole_image_lr(scale, shape):
    """What the training sampler relies on: any window of the standard LR,
    mirrored borders included, computed from only the HR pixels of its
    support, is exactly the whole image's."""
    rng = np.random.default_rng(scale)
    hr = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    lr = d.bicubic_lr(hr, scale)
    m = 3
    padded = np.pad(lr, ((m, m), (m, m), (0, 0)), "symmetric")
    mirrored = [np.pad(np.arange(n), m, "symmetric") for n in lr.shape[:2]]
    side = 4
    for i in range(lr.shape[0] - side + 1):
        for j in (0, 1, lr.shape[1] // 2, lr.shape[1] - side):
            rows, cols = mirrored[0][i:i + side + 2 * m], mirrored[1][j:j + side + 2 * m]
            (r0, r1), (c0, c1) = d.lr_support(hr.shape, scale, rows, cols)
            assert r1 - r0 <= (side + 2 * m) * scale + 4 * scale  # a window's support, not the image
            window = d.bicubic_lr_window(hr[r0:r1, c0:c1], (r0, c0), hr.shape, scale, rows, cols)
            np.testing.assert_array_equal(window, padded[i:i + side + 2 * m, j:j + side + 2 * m])
