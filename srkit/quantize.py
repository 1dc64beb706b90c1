"""The int8 inference path (``--precision int8``): a checkpoint's network
converted to LiteRT with int8 weights (per-channel scales) and run by
XNNPACK's int8 kernels (``litert``, mode "int8"): activations quantized at
run time, or, for a quantization-aware checkpoint (``qat``), held in int8
at the ranges it was trained with (full-integer, faster). Built from the
checkpoint at load and cached on disk under the checkpoint's SHA-256, so
checkpoints stay one format and a changed checkpoint is never served a
stale model.

A shipped checkpoint is offered int8 only when its model card's "int8"
entry says so: its Set5 PSNR drop was measured (``evaluate.py --precision
float32 int8``) and is within ``MAX_DROP_DB``; otherwise the card says why.
"""

import json
from pathlib import Path

import numpy as np

from . import paths
from .errors import SRError

MAX_DROP_DB = 0.05  # Set5 PSNR an int8 model may lose against float32
RECIPE = 2  # part of every cache entry's name: bump when the conversion changes


def cache_dir():
    """``int8`` under srkit's cache root (``paths.cache``: ``$SRKIT_CACHE_DIR``, else ``~/.cache/srkit``)."""
    return paths.cache("int8")


def refusal(path):
    """Why the checkpoint at ``path`` is not offered int8, or None. Only a
    model card (``<checkpoint>.json``) can refuse: a user's own checkpoint
    without one is converted as asked."""
    card = Path(path).with_suffix(".json")
    if not card.is_file():
        return None
    try:
        entry = json.loads(card.read_text()).get("int8")
    except (OSError, ValueError):
        return None
    if not entry or entry.get("offered", True):
        return None
    return entry.get("why") or f"its Set5 PSNR drop exceeds {MAX_DROP_DB} dB"


def int8_model(path, log=None):
    """The LiteRT int8 flatbuffer (bytes) of the checkpoint at ``path``, from
    the cache when an entry for this exact file exists (its SHA-256 names
    the entry), else converted and cached atomically: the network alone,
    as ``network.py --litert --mode int8`` exports it."""
    from . import checkpoints, litert, qat
    from .io import file_sha256
    from .safewrite import write_file

    checkpoints.read_info(path)  # a missing or foreign file fails here, in one line
    why = refusal(path)
    if why:
        raise SRError(f"{path}: not offered in int8: {why}")
    import keras

    entry = cache_dir() / f"{file_sha256(path)}-{litert.MODES[1]}-r{RECIPE}-k{keras.__version__}.tflite"
    if entry.is_file():
        return entry.read_bytes()
    model, _ = checkpoints.load(path, precision="float32", quantized=True)
    if not qat.calibrated(model):
        raise SRError(f"{path}: its int8 ranges were never set (a quantization-aware model before training)")
    if log:
        log(f"{Path(path).name}: converting to int8 (once; cached in {entry.parent})")
    content = litert.convert(model, "int8")
    try:
        write_file(entry, content, "int8 model cache")
    except SRError as exc:  # an unwritable cache costs time, not the result
        if log:
            log(f"warning: {exc}")
    return content


def calibrate_checkpoint(src, dst, folders=None, percentile=99.99):
    """Write at ``dst`` the quantization-aware form of the FAST or BALANCED
    checkpoint at ``src`` (``qat``): the same weights, so its float paths
    give the same output, plus an int8 range per body tensor at the
    ``percentile``s of the float tensor over calibration patches from
    training images (``folders``, else ``calibration.training_folders``),
    never benchmark images. ``--precision int8`` then runs it full-integer.
    The model card beside ``src``, if any, is copied with the new arguments
    and the calibration, without its measured "int8" entry (measure again)."""
    import inspect

    from . import checkpoints, models, qat
    from .calibration import calibration_patches, training_folders
    from .io import file_sha256
    from .safewrite import write_file

    plain, info = checkpoints.load(src)
    if "fake_quant" not in inspect.signature(models.get_builder(info.model)).parameters:
        raise SRError(f"{src}: {info.model} has no quantization-aware form (FAST and BALANCED have)")
    args = {**info.args, "fake_quant": True}
    aware = qat.aware(plain, info.model, info.args)
    folders = [Path(f) for f in (folders or training_folders())]
    patches = calibration_patches(info.scales[0], "post", folders=folders)
    qat.calibrate(aware, info.model, args, patches, percentile=percentile)
    record = {"percentile": percentile, "patches": len(patches), "side": int(patches[0].shape[1]),
              "data": [str(f) for f in folders], "source_sha256": file_sha256(src)}
    checkpoints.save(dst, aware, info.model, args, info.scale, {**info.metadata, "int8_calibration": record})
    card = Path(src).with_suffix(".json")
    if card.is_file():
        entry = {k: v for k, v in json.loads(card.read_text()).items() if k != "int8"}
        entry.update(arguments=args, int8_calibration=record)
        write_file(Path(dst).with_suffix(".json"), (json.dumps(entry, indent=2) + "\n").encode(), "model card")
    return dst


def engine(content, scale, upsampling):
    """What runs an int8 model in ``inference.Upscaler`` (its ``engine``):
    the LiteRT interpreter, after the float32 in-graph bicubic enlargement
    for pre-upsampling models (whose input is then the padded LR window), so
    the bicubic filter is never quantized."""
    from . import litert

    run = litert.runner(content)
    if upsampling != "pre":
        return run
    from .layers import BicubicUpsample
    from .tiling import BICUBIC_MARGIN

    enlarge = BicubicUpsample(scale, BICUBIC_MARGIN)
    return lambda x: run(np.asarray(enlarge(np.asarray(x, np.float32))))
