"""Calibration data for the full-integer int8 export (``litert`` mode
"int8-static"): model inputs made from training images, never from the
benchmark sets (Set5, Set14), found through ``$SRKIT_CALIBRATION_DATA`` or
the data root that evaluate.py and train.py use."""

import os
from pathlib import Path

import numpy as np

from .errors import SRError

CALIBRATION_ENV = "SRKIT_CALIBRATION_DATA"


def training_folders():
    """Folders of training images for calibration: ``$SRKIT_CALIBRATION_DATA``
    (os.pathsep-separated), else ``train/`` under the data root
    (``$SR_DATA_ROOT``, else evaluation/), else train.py's default data."""
    from .evaluation import default_data_root
    from .trainconfig import TrainConfig

    if os.environ.get(CALIBRATION_ENV):
        return [Path(p) for p in os.environ[CALIBRATION_ENV].split(os.pathsep) if p]
    for folder in [default_data_root() / "train", *map(Path, TrainConfig().data)]:
        if folder.is_dir():
            return [folder]
    raise SRError(f"no training images found for int8 calibration (looked in {default_data_root() / 'train'} and "
                  f"{TrainConfig().data[0]}); set ${CALIBRATION_ENV} to a folder of training images")


def calibration_patches(scale, upsampling="post", folders=None, count=48, side=None, seed=0):
    """``count`` model inputs made like training inputs: random HR crops of
    training images (never a benchmark set), MATLAB-bicubic downscaled to an
    LR of ``side`` pixels (default 96, or at x4 72: an HR crop of 288 pixels,
    which BSD's 481x321 images hold), float32 in [0, 1], shape (1, side, side, 3);
    bicubic-enlarged back for pre-upsampling models."""
    side = side or min(96, 288 // scale)
    from .degradations import bicubic_lr, pre_upscale
    from .io import list_images, load_image

    files = [f for folder in (folders or training_folders()) for f in list_images(Path(folder), recursive=True)]
    if not files:
        raise SRError(f"{', '.join(map(str, folders or training_folders()))}: no training images for calibration")
    rng, hr_side, patches = np.random.default_rng(seed), side * scale, []
    for _ in range(count * 4):
        if len(patches) == count:
            break
        img = load_image(files[rng.integers(len(files))])
        img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
        if min(img.shape[:2]) < hr_side:
            continue
        r, c = rng.integers(img.shape[0] - hr_side + 1), rng.integers(img.shape[1] - hr_side + 1)
        lr = bicubic_lr(img[r:r + hr_side, c:c + hr_side], scale)
        x = (pre_upscale(lr, scale) if upsampling == "pre" else lr.astype(np.float32) / 255.0).astype(np.float32)
        patches.append(x[None])
    if not patches:
        raise SRError(f"no training image is {hr_side} pixels on its shortest side: cannot calibrate")
    return patches
