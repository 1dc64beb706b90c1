"""Real-world degradations for training (``train.py --degradation real``).

A second-order degradation in the style of Real-ESRGAN (Wang et al., ICCVW
2021): blur, random resize, noise and JPEG, twice, then the final resize to
LR size with a sinc filter and JPEG in random order. It runs on each HR
training patch (with a margin, cropped away at the end) in the sampler's
worker threads, driven by a numpy Generator, so every LR patch is a pure
function of (seed, step, patch index) like the rest of the data stream.

All ranges sit in one table, ``PRESETS``: ``strong`` is the paper's x4
setting, ``medium`` (the default) and ``light`` narrow it towards the inputs
people actually have. ``photo`` is first order only, the shape of a camera
or web image: mild optical blur on the scene, a downscale (mostly MATLAB
bicubic, as the benchmarks), sensor noise and JPEG at LR size, no ringing and
no random resizes; ``web`` is ``photo`` with most of the weight on JPEG;
``jpeg`` is the MATLAB-bicubic LR with one JPEG and nothing else. A
share ``clean`` of the patches keeps the standard MATLAB-bicubic LR, so clean
inputs stay well served.
"""

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from . import degradations
from .errors import SRError

KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class Stage:
    """One blur - resize - noise - JPEG pass; (lo, hi) ranges are uniform draws."""
    blur: float  # probability of a blur at all
    kernel_probs: tuple  # probabilities of KERNEL_TYPES
    sigma: tuple  # Gaussian sigma range (pixels of the image being blurred)
    beta_gaussian: tuple  # shape exponent of the generalized Gaussian
    beta_plateau: tuple  # shape exponent of the plateau kernel
    sinc: float  # probability that the blur is a sinc (ringing) filter instead
    resize_probs: tuple  # (up, down, keep)
    resize_range: tuple  # scale factor range of the random resize
    noise: float  # probability of noise
    gaussian: float  # share of Gaussian noise (the rest Poisson)
    noise_sigma: tuple  # Gaussian sigma range, in 8-bit levels
    poisson_scale: tuple  # Poisson noise amplitude range (1 = 255 photons at white)
    gray_noise: float  # probability the noise is the same in all channels
    jpeg: float  # probability of a JPEG round trip
    jpeg_quality: tuple
    resize_modes: tuple = ()  # probabilities of RESIZE_MODES + ("matlab",); () = RESIZE_MODES uniformly


@dataclass(frozen=True)
class Preset:
    first: Stage
    second: Stage
    second_prob: float  # probability of the second stage
    final_sinc: float  # probability of a sinc filter in the final step
    final_jpeg: float  # probability of the final JPEG
    final_quality: tuple
    clean: float  # share of patches left with the plain MATLAB-bicubic LR


_KP = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)  # Real-ESRGAN's kernel mix
# a stage that blurs, resizes, adds noise and compresses nothing (it only resizes when a preset asks it to)
_IDLE = Stage(0.0, _KP, (0.2, 1.0), (0.5, 4.0), (1.0, 2.0), 0.0, (0.0, 0.0, 1.0), (1.0, 1.0),
              0.0, 1.0, (1, 1), (0.05, 1.0), 0.0, 0.0, (30, 95))
PRESETS = {
    "strong": Preset(  # Real-ESRGAN's x4 ranges
        first=Stage(1.0, _KP, (0.2, 3.0), (0.5, 4.0), (1.0, 2.0), 0.1, (0.2, 0.7, 0.1), (0.15, 1.5),
                    1.0, 0.5, (1, 30), (0.05, 3.0), 0.4, 1.0, (30, 95)),
        second=Stage(0.8, _KP, (0.2, 1.5), (0.5, 4.0), (1.0, 2.0), 0.1, (0.3, 0.4, 0.3), (0.3, 1.2),
                     1.0, 0.5, (1, 25), (0.05, 2.5), 0.4, 1.0, (30, 95)),
        second_prob=1.0, final_sinc=0.8, final_jpeg=1.0, final_quality=(30, 95), clean=0.0),
    "medium": Preset(
        first=Stage(0.7, _KP, (0.2, 2.0), (0.5, 4.0), (1.0, 2.0), 0.1, (0.2, 0.5, 0.3), (0.5, 1.5),
                    0.5, 0.6, (1, 15), (0.05, 1.5), 0.4, 0.3, (50, 95)),
        second=Stage(0.5, _KP, (0.2, 1.2), (0.5, 4.0), (1.0, 2.0), 0.05, (0.2, 0.4, 0.4), (0.7, 1.2),
                     0.5, 0.6, (1, 20), (0.05, 1.5), 0.4, 0.2, (50, 95)),
        second_prob=0.5, final_sinc=0.2, final_jpeg=0.8, final_quality=(30, 95), clean=0.2),
    "light": Preset(
        first=Stage(0.5, _KP, (0.2, 1.5), (0.5, 4.0), (1.0, 2.0), 0.0, (0.1, 0.3, 0.6), (0.7, 1.3),
                    0.4, 0.7, (1, 10), (0.05, 1.0), 0.4, 0.0, (60, 95)),
        second=Stage(0.3, _KP, (0.2, 1.0), (0.5, 4.0), (1.0, 2.0), 0.0, (0.1, 0.3, 0.6), (0.8, 1.2),
                     0.4, 0.7, (1, 12), (0.05, 1.0), 0.4, 0.0, (60, 95)),
        second_prob=0.3, final_sinc=0.1, final_jpeg=0.7, final_quality=(40, 95), clean=0.3),
    "photo": Preset(  # the first stage only blurs the scene, the second downscales and adds noise
        first=Stage(0.3, (0.6, 0.4, 0.0, 0.0, 0.0, 0.0), (0.3, 1.5), (0.5, 4.0), (1.0, 2.0), 0.0, (0.0, 0.0, 1.0),
                    (1.0, 1.0), 0.0, 0.7, (1, 15), (0.05, 1.0), 0.3, 0.0, (30, 95)),
        second=Stage(0.0, _KP, (0.2, 1.0), (0.5, 4.0), (1.0, 2.0), 0.0, (0.0, 0.0, 1.0), (1.0, 1.0),
                     0.4, 0.7, (1, 15), (0.05, 1.0), 0.3, 0.0, (30, 95), resize_modes=(0.1, 0.1, 0.1, 0.7)),
        second_prob=1.0, final_sinc=0.0, final_jpeg=0.8, final_quality=(30, 95), clean=0.25),
    "web": Preset(  # photo with the weight moved onto JPEG: what most shared and downloaded images carry
        first=Stage(0.25, (0.6, 0.4, 0.0, 0.0, 0.0, 0.0), (0.3, 1.5), (0.5, 4.0), (1.0, 2.0), 0.0, (0.0, 0.0, 1.0),
                    (1.0, 1.0), 0.0, 0.7, (1, 15), (0.05, 1.0), 0.3, 0.0, (30, 95)),
        second=Stage(0.0, _KP, (0.2, 1.0), (0.5, 4.0), (1.0, 2.0), 0.0, (0.0, 0.0, 1.0), (1.0, 1.0),
                     0.3, 0.7, (1, 12), (0.05, 1.0), 0.3, 0.0, (30, 95), resize_modes=(0.05, 0.05, 0.1, 0.8)),
        second_prob=1.0, final_sinc=0.0, final_jpeg=0.95, final_quality=(35, 95), clean=0.2),
    "jpeg": Preset(  # MATLAB-bicubic LR and one JPEG, nothing else: the benchmark's jpeg inputs as a specialist's diet
        first=_IDLE, second=replace(_IDLE, resize_modes=(0.0, 0.0, 0.0, 1.0)),  # the second only downscales
        second_prob=1.0, final_sinc=0.0, final_jpeg=1.0, final_quality=(35, 95), clean=0.1),
}
KERNEL_SIZES = tuple(range(7, 22, 2))  # odd sizes 7..21


def preset(name):
    try:
        return PRESETS[name]
    except KeyError:
        raise SRError(f"unknown degradation strength '{name}' (use {', '.join(PRESETS)})") from None


def describe(name):
    """The preset's ranges as plain data (for checkpoints and model cards)."""
    p = preset(name)
    out = {f.name: getattr(p, f.name) for f in fields(p) if f.name not in ("first", "second")}
    for stage in ("first", "second"):
        s = getattr(p, stage)
        out[stage] = {f.name: getattr(s, f.name) for f in fields(s)}
    return {"strength": name, **out}


# -- kernels ------------------------------------------------------------------

def _grid(size):
    r = size // 2
    ax = np.arange(-r, r + 1, dtype=np.float64)
    return np.meshgrid(ax, ax, indexing="xy")


def _quadratic_form(size, sigma_x, sigma_y, theta):
    """x^T Sigma^-1 x on a size x size grid, Sigma = R diag(sx^2, sy^2) R^T."""
    xx, yy = _grid(size)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy  # coordinates along the kernel's axes
    return (u / sigma_x) ** 2 + (v / sigma_y) ** 2


def gaussian_kernel(size, sigma_x, sigma_y=None, theta=0.0, beta=1.0, plateau=False):
    """Normalised blur kernel: Gaussian (beta 1), generalized Gaussian
    exp(-0.5 q^beta), or plateau 1 / (1 + q^beta), with q the quadratic form."""
    q = _quadratic_form(size, sigma_x, sigma_x if sigma_y is None else sigma_y, theta)
    k = 1.0 / (1.0 + q ** beta) if plateau else np.exp(-0.5 * q ** beta)
    return k / k.sum()


def sinc_kernel(size, cutoff):
    """Circular low-pass (ideal filter of angular cutoff ``cutoff`` rad/px,
    truncated): cutoff * J1(cutoff r) / (2 pi r); its ringing mimics
    over-sharpened and resampled images."""
    from scipy.special import j1

    xx, yy = _grid(size)
    r = np.hypot(xx, yy)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = cutoff * j1(cutoff * r) / (2 * np.pi * r)
    k[r == 0] = cutoff ** 2 / (4 * np.pi)
    return k / k.sum()


def random_kernel(rng, stage):
    size = int(rng.choice(KERNEL_SIZES))
    if rng.random() < stage.sinc:
        lo = math.pi / 3 if size < 13 else math.pi / 5
        return sinc_kernel(size, rng.uniform(lo, math.pi))
    kind = KERNEL_TYPES[rng.choice(len(KERNEL_TYPES), p=np.asarray(stage.kernel_probs) / sum(stage.kernel_probs))]
    sx = rng.uniform(*stage.sigma)
    sy, theta = (rng.uniform(*stage.sigma), rng.uniform(-math.pi, math.pi)) if "aniso" in kind else (sx, 0.0)
    if kind.startswith("generalized"):
        return gaussian_kernel(size, sx, sy, theta, beta=rng.uniform(*stage.beta_gaussian))
    if kind.startswith("plateau"):
        return gaussian_kernel(size, sx, sy, theta, beta=rng.uniform(*stage.beta_plateau), plateau=True)
    return gaussian_kernel(size, sx, sy, theta)


# -- operations on float32 (H, W, 3) images in [0, 1] ------------------------

def blur(img, kernel):
    import cv2

    return cv2.filter2D(img, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)


def resize(img, shape, mode):
    """Resize to (H, W) with cv2 ('area', 'bilinear', 'bicubic') or MATLAB's
    antialiased bicubic ('matlab')."""
    import cv2

    h, w = int(shape[0]), int(shape[1])
    if mode == "matlab":
        return degradations.imresize(img, output_shape=(h, w)).astype(np.float32)
    flag = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}[mode]
    return cv2.resize(img, (w, h), interpolation=flag)


def gaussian_noise(rng, img, sigma, gray=False):
    """Add N(0, (sigma/255)^2) per pixel: one draw per channel, or shared (gray)."""
    shape = img.shape[:2] + ((1,) if gray else img.shape[2:])
    return img + rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma / 255.0)


def poisson_noise(rng, img, scale, gray=False):
    """Shot noise of an 8-bit sensor (255 photons at white), amplitude x ``scale``."""
    base = np.clip(img, 0, 1)
    if gray:
        base = base @ np.array([0.299, 0.587, 0.114], np.float32)
        base = base[..., None]
    noise = rng.poisson(base * 255.0).astype(np.float32) / 255.0 - base
    return img + noise * np.float32(scale)


def jpeg_bytes(u8, quality):
    """An RGB uint8 image encoded by libjpeg (OpenCV, 4:2:0) at ``quality``."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(u8[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise SRError("JPEG encoding failed")
    return buf.tobytes()


def jpeg(img, quality):
    """A JPEG round trip at ``quality`` of the 8-bit image a camera or browser
    would have stored; float32 [0, 1] in and out."""
    import cv2

    buf = np.frombuffer(jpeg_bytes(degradations.quantize(img * 255.0), quality), np.uint8)
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0


# -- the pipeline -----------------------------------------------------------------

def _stage(rng, img, stage, resize_to):
    """One pass. ``resize_to(factor)`` gives the target shape of the random
    resize (the first stage resizes the current image, the second around LR size)."""
    if rng.random() < stage.blur:
        img = blur(img, random_kernel(rng, stage))
    kind = rng.choice(3, p=stage.resize_probs)
    lo, hi = stage.resize_range
    factor = (rng.uniform(1, hi) if kind == 0 else rng.uniform(lo, 1) if kind == 1 else 1.0)
    shape = resize_to(factor)
    if shape != img.shape[:2]:
        if stage.resize_modes:
            mode = (RESIZE_MODES + ("matlab",))[rng.choice(len(RESIZE_MODES) + 1, p=stage.resize_modes)]
        else:
            mode = RESIZE_MODES[rng.integers(len(RESIZE_MODES))]
        img = resize(img, shape, mode)
    if rng.random() < stage.noise:
        gray = rng.random() < stage.gray_noise
        if rng.random() < stage.gaussian:
            img = gaussian_noise(rng, img, rng.uniform(*stage.noise_sigma), gray)
        else:
            img = poisson_noise(rng, img, rng.uniform(*stage.poisson_scale), gray)
        img = np.clip(img, 0, 1)
    if rng.random() < stage.jpeg:
        img = jpeg(np.clip(img, 0, 1), int(rng.integers(stage.jpeg_quality[0], stage.jpeg_quality[1] + 1)))
    return img


def degrade(rng, hr, scale, strength="medium"):
    """uint8 LR image (H/scale, W/scale) from a uint8 HR crop whose sides are
    multiples of ``scale``. Every resize spans the whole crop, so LR pixel
    centres map onto HR pixel centres exactly as in ``bicubic_lr``."""
    p = preset(strength) if isinstance(strength, str) else strength
    h, w = hr.shape[:2]
    if h % scale or w % scale:
        raise SRError(f"degrade: crop {w}x{h} is not a multiple of x{scale}")
    lh, lw = h // scale, w // scale
    if rng.random() < p.clean:
        return degradations.imresize(hr, output_shape=(lh, lw))
    img = hr.astype(np.float32) / 255.0

    def around(base):
        return lambda f: (max(1, int(round(base[0] * f))), max(1, int(round(base[1] * f))))

    img = _stage(rng, img, p.first, around((h, w)))
    if rng.random() < p.second_prob:
        img = _stage(rng, img, p.second, around((lh, lw)))
    mode = ("matlab",) + RESIZE_MODES

    def final_resize(x):
        x = resize(x, (lh, lw), mode[rng.integers(len(mode))]) if x.shape[:2] != (lh, lw) else x
        if rng.random() < p.final_sinc:
            size = int(rng.choice(KERNEL_SIZES))
            x = blur(x, sinc_kernel(size, rng.uniform(math.pi / 3, math.pi)))
        return np.clip(x, 0, 1)

    def final_jpeg(x):
        if rng.random() < p.final_jpeg:
            return jpeg(x, int(rng.integers(p.final_quality[0], p.final_quality[1] + 1)))
        return x

    if rng.random() < 0.5:  # Real-ESRGAN's two orders of the last resize/sinc and JPEG
        img = final_jpeg(final_resize(img))
    else:
        img = final_resize(final_jpeg(np.clip(img, 0, 1)))
    return degradations.quantize(img * 255.0)
