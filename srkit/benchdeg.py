"""Fixed, seeded degradations of benchmark LR images (``evaluate.py --degrade``).

Each one starts from the standard LR of the protocol (``bicubic_lr``) so a
degraded table compares like with like, and draws its noise from a seed made
of the image's name, the scale and the degradation, so every run of the
benchmark sees the same inputs:

  clean    the standard MATLAB-bicubic LR
  jpeg75   that LR saved as JPEG, quality 75 (Pillow, default 4:2:0 chroma)
  jpeg50   the same at quality 50 (jpeg90 and jpeg95 likewise: the light
           compression of most photos and web images)
  noise10  Gaussian noise, sigma 10/255, added to the LR, then rounded
  camera   Gaussian blur sigma 1.0 on the HR before the downscale, then
           Gaussian noise sigma 5/255 and JPEG quality 80 on the LR
"""

import io
import zlib

import numpy as np

from . import degradations
from .errors import SRError

DEGRADES = ("clean", "jpeg75", "jpeg50", "noise10", "camera", "jpeg90", "jpeg95")
JPEG_QUALITY = {"jpeg95": 95, "jpeg90": 90, "jpeg75": 75, "jpeg50": 50}
CAMERA_BLUR_SIGMA = 1.0


def pillow_jpeg(img, quality):
    """uint8 image after a Pillow JPEG round trip at ``quality`` (default subsampling)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        out = np.asarray(im.convert(im.mode))
    return out


def add_noise(img, sigma, rng):
    """uint8 image plus N(0, sigma^2) (sigma in 8-bit levels), rounded and clipped."""
    noisy = img.astype(np.float64) + rng.standard_normal(img.shape) * sigma
    return degradations.quantize(noisy)


def gaussian_blur(img, sigma):
    """Separable Gaussian blur of a uint8 image (radius ceil(3 sigma), mirrored
    borders as imresize has them), kept in float until one final rounding."""
    r = int(np.ceil(3 * sigma))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    out = img.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="symmetric")
        out = sum(k[i] * np.take(padded, range(i, i + img.shape[axis]), axis=axis) for i in range(2 * r + 1))
    return degradations.quantize(out)


def seed_for(name, scale, degrade):
    """A stable seed from the image's name (not its position in a folder)."""
    return zlib.crc32(f"{name}|x{scale}|{degrade}".encode())


def degraded_lr(hr, scale, degrade, name=""):
    """The LR input of ``hr`` (uint8, modcropped or not) under ``degrade``."""
    if degrade not in DEGRADES:
        raise SRError(f"unknown degradation '{degrade}' (use {', '.join(DEGRADES)})")
    hr = degradations.modcrop(hr, scale)
    rng = np.random.default_rng(seed_for(name, scale, degrade))
    if degrade == "camera":
        lr = degradations.bicubic_lr(gaussian_blur(hr, CAMERA_BLUR_SIGMA), scale)
        return pillow_jpeg(add_noise(lr, 5.0, rng), 80)
    lr = degradations.bicubic_lr(hr, scale)
    if degrade in JPEG_QUALITY:
        return pillow_jpeg(lr, JPEG_QUALITY[degrade])
    if degrade == "noise10":
        return add_noise(lr, 10.0, rng)
    return lr
