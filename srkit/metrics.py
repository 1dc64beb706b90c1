"""PSNR and SSIM exactly as SR papers compute them (one implementation, used
by evaluate.py, training validation and the tests).

Protocol: HR cropped to a multiple of the scale; SR rounded to uint8; colour
images scored on BT.601 luma Y = 16 + 65.481 R + 128.553 G + 24.966 B with
R, G, B in [0, 1] (not rounded); single-channel images on their own channel;
``scale`` pixels shaved from each border; float64 throughout. SSIM follows
Wang et al. 2004: 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03,
L = 255, 'valid' filtering (no padding), mean over the SSIM map.
"""

import numpy as np

from .degradations import modcrop, quantize


def to_uint8(img):
    """uint8 image from uint8 or [0, 1] float input, rounding half away from zero."""
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img
    return quantize(img.astype(np.float64) * 255.0)


def rgb_to_y(img):
    """BT.601 luma in [16, 235] (float64, unrounded) from a uint8 RGB image."""
    x = np.asarray(img, dtype=np.float64) / 255.0
    return 16.0 + x[..., 0] * 65.481 + x[..., 1] * 128.553 + x[..., 2] * 24.966


def scoring_channel(img):
    """The float64 plane that is scored: Y for RGB, the channel itself for grey."""
    img = to_uint8(img)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        return img.astype(np.float64)
    if img.ndim == 3 and img.shape[2] == 3:
        return rgb_to_y(img)
    raise ValueError(f"expected a greyscale or RGB image, got shape {img.shape}")


def prepare_pair(hr, sr, scale, shave=None):
    """Scoring planes for an (HR, SR) pair: modcrop HR, round SR, take Y, shave."""
    hr = modcrop(np.asarray(hr), scale)
    sr = np.asarray(sr)
    if hr.shape != sr.shape:
        raise ValueError(f"HR {hr.shape} and SR {sr.shape} differ after cropping HR to x{scale}")
    a, b = scoring_channel(hr), scoring_channel(sr)
    s = scale if shave is None else shave
    if s:
        a, b = a[s:-s, s:-s], b[s:-s, s:-s]
    return a, b


def psnr_planes(a, b):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def gaussian_window(size=11, sigma=1.5):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(img, g):
    # Separable 2-D correlation, 'valid' region only.
    k = g.size
    rows = np.lib.stride_tricks.sliding_window_view(img, k, axis=0) @ g
    return np.lib.stride_tricks.sliding_window_view(rows, k, axis=1) @ g


def ssim_planes(a, b):
    if min(a.shape) < 11:
        raise ValueError(f"SSIM needs planes of at least 11x11 pixels, got {a.shape}")
    g = gaussian_window()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a**2
    var_b = _filter_valid(b * b, g) - mu_b**2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(ssim_map.mean())


def psnr(hr, sr, scale, shave=None):
    """PSNR (dB) of ``sr`` against ``hr`` under the papers' protocol."""
    return psnr_planes(*prepare_pair(hr, sr, scale, shave))


def ssim(hr, sr, scale, shave=None):
    """SSIM of ``sr`` against ``hr`` under the papers' protocol."""
    return ssim_planes(*prepare_pair(hr, sr, scale, shave))


def psnr_ssim(hr, sr, scale, shave=None):
    """Both metrics from one preparation of the pair."""
    a, b = prepare_pair(hr, sr, scale, shave)
    return psnr_planes(a, b), ssim_planes(a, b)
