"""Degradations, starting with a MATLAB-compatible ``imresize`` in numpy.

Papers make LR test images with MATLAB's ``imresize(hr, 1/s, 'bicubic')`` and
pre-upsampling networks get ``imresize(lr, s, 'bicubic')``; OpenCV's and
PIL's bicubic differ from it (kernel parameter, border handling, rounding),
which is enough to shift PSNR by tenths of a dB. This module reproduces
MATLAB's algorithm: Keys cubic kernel with a = -0.5, kernel stretched by 1/s
(antialiasing) when downscaling, symmetric (mirror) borders, one dimension at
a time (rows first when both scales are equal), and for uint8 input a
rounding back to uint8 after each pass, as MATLAB's ``imresizemex`` does.
"""

import functools
import math

import numpy as np


def cubic(x):
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (
        -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2
    ) * ((ax > 1) & (ax <= 2))


def contributions(in_length, out_length, scale, kernel_width=4.0, antialiasing=True):
    """Weights (out, P) and 0-based source indices (out, P) for one dimension,
    following MATLAB's imresize ``contributions``."""
    if scale < 1 and antialiasing:
        kernel = lambda x: scale * cubic(scale * x)  # noqa: E731
        kernel_width = kernel_width / scale
    else:
        kernel = cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # output pixel centre in input coords (1-based)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    ind = left[:, None] + np.arange(taps)[None, :]
    weights = kernel(u[:, None] - ind)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric padding: index sequence 1..n, n..1 repeated.
    aux = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    ind = aux[np.mod(ind.astype(np.int64) - 1, aux.size)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], ind[:, keep]


def quantize(x, peak=255, dtype=np.uint8):
    """Integer image from values in [0, peak], rounding half away from zero as
    MATLAB does (after clipping); the one rounding rule used everywhere."""
    return np.floor(np.clip(x, 0, peak) + 0.5).astype(dtype)


def _resize_axis(img, axis, out_length, scale, antialiasing):
    weights, ind = contributions(img.shape[axis], out_length, scale, antialiasing=antialiasing)
    return resample_axis(img, axis, weights, ind)


def resample_axis(img, axis, weights, ind):
    """imresize's pass along ``axis``: output k is sum_p weights[k, p] *
    img[ind[k, p]], in float64, in that order (so a window computed from a
    crop's rows is bit-identical to the same rows of the whole image)."""
    moved = np.moveaxis(img, axis, 0).astype(np.float64, copy=False)
    out = np.zeros((weights.shape[0],) + moved.shape[1:], dtype=np.float64)
    extra = (1,) * (moved.ndim - 1)
    for p in range(weights.shape[1]):
        out += weights[:, p].reshape((-1,) + extra) * moved[ind[:, p]]
    return np.moveaxis(out, 0, axis)


def imresize(img, scale=None, output_shape=None, antialiasing=True):
    """MATLAB ``imresize(img, scale, 'bicubic')`` for (H, W) or (H, W, C) arrays.

    uint8 input gives uint8 output (rounded after each pass, like MATLAB);
    float input gives float64 output, unclipped. Give ``scale`` (one number)
    or ``output_shape`` (H, W); output size is ``ceil(in * scale)``.
    """
    img = np.asarray(img)
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects an (H, W) or (H, W, C) array, got shape {img.shape}")
    is_uint8 = img.dtype == np.uint8
    if not (is_uint8 or np.issubdtype(img.dtype, np.floating)):
        raise ValueError(f"imresize expects uint8 or float input, got {img.dtype}")
    in_shape = img.shape[:2]
    if output_shape is not None:
        out_shape = tuple(int(v) for v in output_shape)
        scales = [o / i for o, i in zip(out_shape, in_shape)]
    elif scale is not None:
        scales = [float(scale)] * 2
        out_shape = tuple(int(math.ceil(i * scale)) for i in in_shape)
    else:
        raise ValueError("imresize needs scale or output_shape")
    if min(out_shape) < 1:
        raise ValueError(f"imresize output would be empty: {in_shape} -> {out_shape}")
    out = img
    for axis in sorted(range(2), key=lambda a: scales[a]):  # smallest scale first
        out = _resize_axis(out, axis, out_shape[axis], scales[axis], antialiasing)
        if is_uint8:
            out = quantize(out)
    return out


def upscale_phases(scale):
    """MATLAB's bicubic enlargement by an integer ``scale`` as a filter bank:
    (scale, 5) weights; output pixel ``scale * k + p`` of a row is
    ``sum(w[p, j] * row[k + j - 2])``. Read off ``contributions`` itself, so
    an in-graph enlargement (``layers.BicubicUpsample``) matches ``imresize``."""
    n = 16  # any length whose middle is clear of the borders
    weights, ind = contributions(n, n * scale, float(scale), antialiasing=False)
    k = n // 2
    bank = np.zeros((scale, 5))
    for p in range(scale):
        for w, i in zip(weights[scale * k + p], ind[scale * k + p]):
            bank[p, i - k + 2] += w
    return bank


def modcrop(img, scale):
    """Crop H and W down to multiples of ``scale`` (top-left kept), as papers do."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def bicubic_lr(hr, scale):
    """The standard LR image: ``imresize(modcrop(hr, s), 1/s)``, uint8 in and out."""
    return imresize(modcrop(hr, scale), 1.0 / scale)


@functools.lru_cache(maxsize=256)
def _lr_contributions(length, scale):
    """``bicubic_lr``'s (weights, indices) along one side of ``length`` HR
    pixels, computed as imresize does for the whole image."""
    n = length - length % scale
    factor = 1.0 / scale
    weights, ind = contributions(n, int(math.ceil(n * factor)), factor)
    weights.flags.writeable = ind.flags.writeable = False  # shared between threads
    return weights, ind


def lr_support(hr_shape, scale, rows, cols):
    """((r0, r1), (c0, c1)): the HR rows and columns that
    ``bicubic_lr(hr, scale)[np.ix_(rows, cols)]`` depends on (imresize's
    kernel is finite). ``rows``/``cols``: LR indices, any order, repeats allowed."""
    (_, ir), (_, ic) = (_lr_contributions(n, scale) for n in hr_shape[:2])
    ir, ic = ir[rows], ic[cols]
    return (int(ir.min()), int(ir.max()) + 1), (int(ic.min()), int(ic.max()) + 1)


def bicubic_lr_window(crop, origin, hr_shape, scale, rows, cols):
    """``bicubic_lr(hr, scale)[np.ix_(rows, cols)]`` from ``crop``, the part
    of ``hr`` (of ``hr_shape``) from ``origin`` (r0, c0) that covers
    ``lr_support``. The weights are the whole image's, applied in the same
    order, so the result is exactly the same, mirrored borders included."""
    (wr, ir), (wc, ic) = (_lr_contributions(n, scale) for n in hr_shape[:2])
    out = quantize(resample_axis(crop, 0, wr[rows], ir[rows] - origin[0]))  # rows first, rounded after each pass
    return quantize(resample_axis(out, 1, wc[cols], ic[cols] - origin[1]))


def bicubic_upscale(lr, scale):
    """Bicubic enlargement of a uint8 LR image, rounded to uint8 (the 'bicubic'
    baseline row of every results table)."""
    return imresize(lr, scale)


def pre_upscale(lr, scale):
    """Float32 [0, 1] input for pre-upsampling models: bicubic enlargement of
    the LR image without intermediate rounding (uint8 or [0, 1] float input)."""
    x = np.asarray(lr)
    x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)
    return imresize(x, scale).astype(np.float32)


def nearest_upscale(lr, scale):
    """Pixel replication: the 'nearest' baseline row (exact for integer scales)."""
    return np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
