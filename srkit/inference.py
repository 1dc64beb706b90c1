"""Running a model on an LR image: the one path shared by evaluation (and the
upscaler), so the numbers in tables are those users get."""

import numpy as np

from .degradations import pre_upscale
from .metrics import to_uint8

# ITU-R 601 luma: how a greyscale image is recovered from the RGB a model returns.
_LUMA = np.array([0.299, 0.587, 0.114])


def upscale(model, lr, scale, upsampling="pre"):
    """Super-resolve a uint8 LR image, (H, W) or (H, W, 3), with ``model``.

    Pre-upsampling models get the MATLAB-bicubic enlarged image; greyscale
    images go through the RGB model as three equal channels and come back as
    luma. Returns uint8 of the same layout, ``scale`` times larger.
    """
    from keras import ops

    lr = np.asarray(lr)
    grey = lr.ndim == 2
    rgb = np.repeat(lr[..., None], 3, axis=2) if grey else lr
    if upsampling == "pre":
        x = pre_upscale(rgb, scale)
    else:
        x = rgb.astype(np.float32) / 255.0
    y = ops.convert_to_numpy(model(x[None], training=False))[0].astype(np.float64)
    if grey:
        y = y @ _LUMA
    return to_uint8(y)
