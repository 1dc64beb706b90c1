"""Upscaling image files: what output.py runs.

One bad file never stops a batch: each failure is reported with its file
name and counted; outputs are written atomically (a killed run leaves at most
a hidden ``*.srkit.tmp`` file, removed by the next run) and never replace an
input; existing outputs are skipped unless ``overwrite``.
"""

import sys
import time
from pathlib import Path

from . import blend, checkpoints
from .errors import SRError
from .io import (DEFAULT_MAX_PIXELS, FORMATS, TMP_SUFFIX, Picture, is_image_path, list_images, read_picture,
                 to_8bit, write_picture)
from .paths import shipped


def choose_weights(weights_dir, name=None, scale=None, real=False):
    """The shipped checkpoint to use: among those matching ``name`` (stem or
    architecture) and ``scale`` (default 2), the best recorded validation PSNR
    (``real``: among real-degradation models; else among clean ones unless
    only real ones match ``name``: their validation scores differ in kind)."""
    from .blend import is_real

    found = checkpoints.find(weights_dir, name, scale or (None if name else 2))
    found = [(p, i) for p, i in found if is_real(i) == real] or ([] if real or not name else found)
    if real:  # for --denoise: one that has its clean twin beside it, where any has
        found = [(p, i) for p, i in found if _has_partner(p, weights_dir)] or found
    if not found:
        what = " ".join(filter(None, ["real-degradation" if real else None, name,
                                      f"x{scale or 2}" if scale or not name else None]))
        raise SRError(f"{weights_dir}: no {what} checkpoint found; pass --weights FILE.h5 or train one with train.py")
    return max(found, key=lambda pi: float(pi[1].metadata.get("best_psnr") or 0.0))[0]


def _has_partner(path, weights_dir):
    try:
        blend.partner(path, weights_dir)
        return True
    except SRError:
        return False


def plan(input_path, output_dir, scale, fmt="png", recursive=False):
    """(source, destination) pairs: ``<stem>_x<scale>.<ext>`` in ``output_dir``
    (sub-folders mirrored with ``recursive``); sources whose names would
    collide get their own extension in the name."""
    input_path, output_dir = Path(input_path), Path(output_dir)
    if input_path.is_file():
        if not is_image_path(input_path):
            raise SRError(f"{input_path}: not an image file name")
        base, files = input_path.parent, [input_path]
    else:
        base, files = input_path, list_images(input_path, recursive)

    def dest(src, with_ext=False):
        ext = src.suffix.lstrip(".").lower() if fmt == "same" else fmt
        stem = f"{src.stem}_{src.suffix.lstrip('.').lower()}" if with_ext else src.stem
        return output_dir / src.relative_to(base).parent / f"{stem}_x{scale}.{ext}"

    pairs = [(src, dest(src)) for src in files]
    counts = {}
    for _, dst in pairs:
        counts[dst] = counts.get(dst, 0) + 1
    return [(src, dest(src, with_ext=True) if counts[dst] > 1 else dst) for src, dst in pairs]


def _remove_stale_temp_files(output_dir, log):
    for tmp in Path(output_dir).rglob(f".*{TMP_SUFFIX}") if Path(output_dir).is_dir() else []:
        tmp.unlink(missing_ok=True)
        log(f"removed unfinished temporary file {tmp} (from an interrupted run)")


def _compare(path, lr, sr, scale):
    """HR-size side by side: nearest | bicubic | model (8-bit, for viewing)."""
    from .degradations import imresize, nearest_upscale
    from .visualize import save_side_by_side

    lr8 = to_8bit(lr)
    save_side_by_side(path, [("nearest", nearest_upscale(lr8, scale)), ("bicubic", imresize(lr8, scale)),
                             ("model", to_8bit(sr))])


def upscale_files(input_path, output_dir, weights=None, model_name=None, scale=None, fmt="png", overwrite=False,
                  recursive=False, compare=False, ensemble=False, tile=None, overlap=None,
                  max_pixels=DEFAULT_MAX_PIXELS, weights_dir=None, log=None, precision="auto",
                  denoise=None, denoise_pair=None):
    """Upscale every image under ``input_path`` into ``output_dir``.
    ``denoise`` S in [0, 1]: interpolate the chosen real-degradation model
    with its clean twin (``blend``; ``denoise_pair`` names the other file).
    Returns a dict of counts: done, skipped, failed."""
    from tqdm import tqdm

    from .inference import Upscaler, resolve_precision

    log = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    if fmt != "same" and fmt not in FORMATS:
        raise SRError(f"unknown output format '{fmt}' (png, jpg, webp, tif, bmp or same)")
    if denoise is not None:
        blend.check_strength(denoise)  # before any model is loaded
    weights_dir = shipped("weights", required=False) if weights_dir is None else weights_dir
    weights = Path(weights) if weights else choose_weights(weights_dir, model_name, scale, real=denoise is not None)
    precision = resolve_precision(precision)
    if denoise is None:
        up, info = Upscaler.from_checkpoint(weights, scale, precision, tile=tile, overlap=overlap, ensemble=ensemble)
    else:
        from . import models

        pair = Path(denoise_pair) if denoise_pair else blend.partner(weights, weights_dir)
        model, info = blend.load_blend(weights, pair, denoise, precision)
        up = Upscaler(model, scale or info.scales[0], models.get_builder(info.model).upsampling, tile=tile,
                      overlap=overlap, ensemble=ensemble)
    if up.scale not in info.scales:
        raise SRError(f"{weights}: trained for x{'/x'.join(map(str, info.scales))}, not x{up.scale}")
    pairs = plan(input_path, output_dir, up.scale, fmt, recursive)
    inputs = {src.resolve() for src, _ in pairs}
    _remove_stale_temp_files(output_dir, log)
    counts = {"done": 0, "skipped": 0, "failed": 0}
    out_pixels, start = 0, time.perf_counter()
    mix = f", denoise {float(denoise):g} with {Path(pair).name}" if denoise is not None else ""
    log(f"{len(pairs)} image(s), x{up.scale} with {weights.name} ({info.model}, {precision}"
        f"{', self-ensemble' if ensemble else ''}{mix})")
    for src, dst in tqdm(pairs, unit="img", disable=None, file=sys.stderr):
        if dst.resolve() in inputs:
            log(f"failed: {src}: output {dst} would overwrite an input image; choose another --output")
            counts["failed"] += 1
            continue
        if dst.exists() and not overwrite:
            counts["skipped"] += 1
            continue
        try:
            pic = read_picture(src, max_pixels)
            n = up.num_tiles(pic.pixels.shape)
            with tqdm(total=n, unit="tile", leave=False, disable=None if n > 1 else True, file=sys.stderr) as bar:
                pixels, alpha = up(pic.pixels, pic.alpha, progress=lambda: bar.update(8 if ensemble else 1))
            write_picture(dst, Picture(pixels, alpha, pic.icc, pic.format), log)
            if compare:
                _compare(dst.with_name(f"{dst.stem}_compare.png"), pic.pixels, pixels, up.scale)
            counts["done"] += 1
            out_pixels += pixels.shape[0] * pixels.shape[1]
        except SRError as exc:
            log(f"failed: {exc}")
            counts["failed"] += 1
        except MemoryError:
            log(f"failed: {src}: out of memory (try a smaller --tile)")
            counts["failed"] += 1
    secs = time.perf_counter() - start
    log(f"{counts['done']} upscaled, {counts['skipped']} skipped (output exists; --overwrite replaces), "
        f"{counts['failed']} failed; {counts['done'] / secs:.2f} images/s, {out_pixels / 1e6 / secs:.2f} output MP/s")
    return counts
