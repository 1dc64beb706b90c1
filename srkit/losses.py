"""Training losses in keras.ops (any backend). Images are in [0, 1]; both
tensors are cast to float32 so mixed-precision outputs are scored exactly.

Each loss returns one value per sample, shape (batch,), and Keras reduces
them: a loss that returned the batch mean itself would not be rescaled for
data-parallel training (under tf.distribute its gradient came out
multiplied by the number of replicas).
"""

import numpy as np
from keras import ops

from .errors import SRError
from .metrics import gaussian_window


def _f32(y_true, y_pred):
    return ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")


_PIXELS = (1, 2, 3)  # per-sample mean over height, width and channels


def l1(y_true, y_pred):
    y_true, y_pred = _f32(y_true, y_pred)
    return ops.mean(ops.abs(y_true - y_pred), axis=_PIXELS)


def mse(y_true, y_pred):
    y_true, y_pred = _f32(y_true, y_pred)
    return ops.mean(ops.square(y_true - y_pred), axis=_PIXELS)


def _gaussian_kernel(channels):
    g = gaussian_window()  # the metric's window, so loss and metric use one definition
    g = np.outer(g, g)
    return np.tile(g[:, :, None, None], (1, 1, channels, 1)).astype(np.float32)


def ssim(y_true, y_pred, max_val=1.0):
    """Per-sample mean SSIM over pixels and channels, Wang et al. constants, Gaussian
    11x11 window with sigma 1.5, valid filtering (the differentiable twin of
    ``metrics.ssim_planes``, applied per RGB channel)."""
    y_true, y_pred = _f32(y_true, y_pred)
    kernel = ops.convert_to_tensor(_gaussian_kernel(ops.shape(y_true)[-1]))

    def blur(t):
        return ops.depthwise_conv(t, kernel, strides=1, padding="valid")

    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    mu_t, mu_p = blur(y_true), blur(y_pred)
    var_t = blur(y_true * y_true) - mu_t**2
    var_p = blur(y_pred * y_pred) - mu_p**2
    cov = blur(y_true * y_pred) - mu_t * mu_p
    num = (2 * mu_t * mu_p + c1) * (2 * cov + c2)
    den = (mu_t**2 + mu_p**2 + c1) * (var_t + var_p + c2)
    return ops.mean(num / den, axis=_PIXELS)


def ssim_l1(y_true, y_pred):
    """The original project's mix: 0.84 * (1 - SSIM) + 0.16 * L1."""
    return 0.84 * (1.0 - ssim(y_true, y_pred)) + 0.16 * l1(y_true, y_pred)


CHROMA_WEIGHT = 0.1
# RGB differences -> BT.601 (Y, Cb, Cr) differences (the luma row as metrics.rgb_to_y; offsets cancel), each
# column scaled by its share of the weighted mean (weights are positive, so they pass through the abs)
_YCC = (np.array([[65.481, -37.797, 112.0], [128.553, -74.203, -93.786], [24.966, 112.0, -18.214]]) / 255.0
        * np.array([1.0, CHROMA_WEIGHT, CHROMA_WEIGHT]) / (1.0 + 2.0 * CHROMA_WEIGHT)).astype("float32")


def l1_luma(y_true, y_pred):
    """L1 on luma, which the benchmarks score, plus CHROMA_WEIGHT times L1 on
    Cb and Cr (a weighted mean over the three), so colours stay anchored while
    the model spends itself on luma: for inputs whose chroma a codec has
    already thrown away, where plain L1 asks for detail that cannot return."""
    y_true, y_pred = _f32(y_true, y_pred)
    return ops.mean(ops.sum(ops.abs(ops.matmul(y_true - y_pred, _YCC)), axis=-1), axis=(1, 2))


LOSSES = {"l1": l1, "mse": mse, "ssim_l1": ssim_l1, "l1_luma": l1_luma}


def get(name):
    try:
        return LOSSES[name.lower()]
    except KeyError:
        raise SRError(f"unknown loss '{name}' (known: {', '.join(LOSSES)})") from None
