"""Upscaling image files with a checkpoint: what output.py runs.

One bad file never stops a batch: each failure is reported with its file
name and counted, outputs are written atomically, inputs never overwritten.
"""

import sys
from pathlib import Path

from . import checkpoints
from .errors import SRError
from .io import is_image_path, list_images, load_image, save_image

ROOT = Path(__file__).resolve().parent.parent


def default_weights(weights_dir, scale=2):
    """The shipped checkpoint for ``scale`` with the best recorded validation PSNR."""
    weights_dir = Path(weights_dir)
    found = []
    for path in sorted(weights_dir.glob("*.h5")) if weights_dir.is_dir() else []:
        info = checkpoints.read_info(path)
        if scale in info.scales:
            found.append((float(info.metadata.get("best_psnr") or 0.0), path))
    if not found:
        raise SRError(f"{weights_dir}: no x{scale} checkpoint found; pass --weights FILE.h5")
    return max(found)[1]


def input_files(path, recursive=False):
    path = Path(path)
    if path.is_file():
        if not is_image_path(path):
            raise SRError(f"{path}: not an image file name")
        return path.parent, [path]
    return path, list_images(path, recursive)


def upscale_files(input_path, output_dir, weights=None, scale=None, overwrite=False,
                  recursive=False, weights_dir=ROOT / "weights", log=None):
    """Upscale every image under ``input_path`` into ``output_dir`` (as PNG).
    Returns a dict of counts: done, skipped, failed."""
    from .inference import upscale
    from .models import get_builder

    log = log or (lambda msg: print(msg, file=sys.stderr))
    weights = Path(weights) if weights else default_weights(weights_dir, scale or 2)
    model, info = checkpoints.load(weights)
    scale = scale or info.scales[0]
    if scale not in info.scales:
        raise SRError(f"{weights}: trained for x{info.scales}, not x{scale}")
    upsampling = get_builder(info.model).upsampling
    base, files = input_files(input_path, recursive)
    output_dir = Path(output_dir)
    counts = {"done": 0, "skipped": 0, "failed": 0}
    log(f"{len(files)} image(s), x{scale} with {weights.name} ({info.model})")
    for src in files:
        dst = output_dir / src.relative_to(base).with_suffix(".png")
        if dst.resolve() == src.resolve():
            log(f"failed: {src}: output path equals the input path; choose another --output")
            counts["failed"] += 1
            continue
        if dst.exists() and not overwrite:
            counts["skipped"] += 1
            continue
        try:
            save_image(dst, upscale(model, load_image(src), scale, upsampling))
            counts["done"] += 1
        except SRError as exc:
            log(f"failed: {exc}")
            counts["failed"] += 1
    log(f"{counts['done']} upscaled, {counts['skipped']} skipped (exist; --overwrite), {counts['failed']} failed")
    return counts
