"""PSNR/SSIM against closed-form values and an independent implementation
(scikit-image, configured as Wang et al.)."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from conftest import random_image
from srkit import metrics


def test_luma_of_black_and_white():
    img = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
    np.testing.assert_allclose(metrics.rgb_to_y(img), [[16.0, 235.0]])


def test_psnr_closed_form_on_constant_error():
    hr = np.full((20, 20), 100, np.uint8)
    sr = np.full((20, 20), 110, np.uint8)
    # MSE = 100 on the grey channel itself
    assert metrics.psnr(hr, sr, 2) == pytest.approx(10 * np.log10(255**2 / 100))
    assert metrics.psnr(hr, hr, 2) == float("inf")


def test_shave_and_modcrop():
    hr = np.full((23, 22), 50, np.uint8)
    sr = np.full((22, 22), 50, np.uint8)
    sr[:2] = 0  # inside the shaved border at x2: no effect
    assert metrics.psnr(hr, sr, 2) == float("inf")
    sr[2, 5] = 0  # first unshaved row counts
    assert metrics.psnr(hr, sr, 2) < 60
    with pytest.raises(ValueError, match="differ"):
        metrics.psnr(hr, sr[:20], 2)


def test_sr_float_is_rounded_to_uint8():
    hr = random_image(30, 30, seed=1)
    sr = hr.astype(np.float64) / 255 + 0.4 / 255  # rounds back to hr
    assert metrics.psnr(hr, sr, 2) == float("inf")


@pytest.mark.parametrize("channels", [1, 3])
def test_against_scikit_image(channels):
    hr = random_image(48, 42, channels, seed=2)
    noisy = np.clip(hr.astype(int) + np.random.default_rng(3).integers(-12, 13, hr.shape), 0, 255).astype(np.uint8)
    s = 3
    a = hr.astype(np.float64) if channels == 1 else metrics.rgb_to_y(hr)
    b = noisy.astype(np.float64) if channels == 1 else metrics.rgb_to_y(noisy)
    a, b = a[s:-s, s:-s], b[s:-s, s:-s]
    ref_psnr = peak_signal_noise_ratio(a, b, data_range=255)
    ref_ssim = structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    p, q = metrics.psnr_ssim(hr, noisy, s)
    assert p == pytest.approx(ref_psnr, abs=1e-10)
    assert q == pytest.approx(ref_ssim, abs=1e-10)


def test_ssim_identical_is_one_and_needs_a_window():
    hr = random_image(30, 30, seed=4)
    assert metrics.ssim(hr, hr, 2) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="11x11"):
        metrics.ssim(hr[:14, :14], hr[:14, :14], 2)
