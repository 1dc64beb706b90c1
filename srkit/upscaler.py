"""Upscaling image files: what output.py runs.

One bad file never stops a batch: each failure is reported with its file
name and counted; outputs are written atomically (a killed run leaves at most
a hidden ``*.srkit.tmp`` file, removed by the next run) and never replace an
input; existing outputs are skipped unless ``overwrite``.
"""

import sys
import time
from pathlib import Path

from . import autopick, blend, checkpoints
from .errors import SRError
from .io import DEFAULT_MAX_PIXELS, FORMATS, Picture, is_image_path, list_images, read_picture, to_8bit, write_picture
from .paths import shipped
from .safewrite import remove_stale_temp_files


def choose_weights(weights_dir, name=None, scale=None, real=False):
    """The shipped checkpoint to use: among those matching ``name`` (stem or
    architecture) and ``scale`` (default 2), the best recorded validation PSNR
    (``real``: among real-degradation models; else among clean ones unless
    only real ones match ``name``: their validation scores differ in kind)."""
    found = checkpoints.find(weights_dir, name, scale or (None if name else 2))
    found = [(p, i) for p, i in found if blend.is_real(i) == real] or ([] if real or not name else found)
    if real:  # for --denoise: one that has its clean twin beside it, where any has
        found = [(p, i) for p, i in found if _has_partner(p, weights_dir)] or found
    if not found:
        what = " ".join(filter(None, ["real-degradation" if real else None, name,
                                      f"x{scale or 2}" if scale or not name else None]))
        raise SRError(f"{weights_dir}: no {what} checkpoint found; pass --weights FILE.h5 or train one with train.py")
    return max(found, key=lambda pi: float(pi[1].metadata.get("best_psnr") or 0.0))[0]


def _auto_real(weights_dir, scale):
    """The real-degradation checkpoint a plain run uses for JPEG inputs, or None."""
    try:
        return choose_weights(weights_dir, None, scale, real=True)
    except SRError:
        return None


def _has_partner(path, weights_dir):
    try:
        blend.partner(path, weights_dir)
        return True
    except SRError:
        return False


def plan(input_path, output_dir, scale, fmt="png", recursive=False, compare=False):
    """(source, destination) pairs: ``<stem>_x<scale>.<ext>`` in ``output_dir``
    (sub-folders mirrored with ``recursive``), planned for all sources at
    once: sources whose outputs (and ``compare`` images) would share a name,
    compared case-insensitively as some file systems do, get their own
    extension in the name (``a_png_x2.png``), repeatedly until no name is
    shared; a clash that remains (``c.png`` and ``c.PNG``) is an SRError
    naming both sources, before anything is written."""
    input_path, output_dir = Path(input_path), Path(output_dir)
    if input_path.is_file():
        if not is_image_path(input_path):
            raise SRError(f"{input_path}: not an image file name")
        base, files = input_path.parent, [input_path]
    else:
        base, files = input_path, list_images(input_path, recursive)

    def outputs(src, tagged):
        ext = src.suffix.lstrip(".").lower() if fmt == "same" else fmt
        ext = ext if ext in FORMATS else "png"  # --format same for a format only read (GIF)
        stem = f"{src.stem}_{src.suffix.lstrip('.').lower()}" if tagged else src.stem
        folder = output_dir / src.relative_to(base).parent
        return [folder / f"{stem}_x{scale}.{ext}"] + ([folder / f"{stem}_x{scale}_compare.png"] if compare else [])

    tagged = dict.fromkeys(files, False)
    while True:  # each round tags every untagged source in a clash; at most two rounds per source
        claims = {}
        for src in files:
            for out in outputs(src, tagged[src]):
                claims.setdefault(str(out).casefold(), []).append(src)
        clashes = [group for group in claims.values() if len(group) > 1]
        untagged = {src for group in clashes for src in group if not tagged[src]}
        if not untagged:
            break
        tagged.update(dict.fromkeys(untagged, True))
    if clashes:
        a, b = clashes[0][:2]
        raise SRError(f"{a} and {b} would both be written as {outputs(a, True)[0].name}; rename one of them")
    return [(src, outputs(src, tagged[src])[0]) for src in files]


def _compare(path, lr, sr, scale):
    """HR-size side by side: nearest | bicubic | model (8-bit, for viewing)."""
    from .degradations import imresize, nearest_upscale
    from .visualize import save_side_by_side

    lr8 = to_8bit(lr)
    save_side_by_side(path, [("nearest", nearest_upscale(lr8, scale)), ("bicubic", imresize(lr8, scale)),
                             ("model", to_8bit(sr))])


def upscale_files(input_path, output_dir, *, weights=None, model_name=None, scale=None, fmt="png",
                  overwrite=False, recursive=False, compare=False, ensemble=False, tile=None, overlap=None,
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
    explicit = weights is not None
    weights_dir = shipped("weights", required=False) if weights_dir is None else weights_dir
    weights = Path(weights) if weights else choose_weights(weights_dir, model_name, scale, real=denoise is not None)
    precision = resolve_precision(precision)
    if denoise is not None and precision == "int8":
        raise SRError("--denoise mixes two models' weights, which the int8 path cannot; use another --precision")
    if denoise is None:
        up, info = Upscaler.from_checkpoint(weights, scale, precision, log, tile=tile, overlap=overlap,
                                            ensemble=ensemble)
    else:
        pair = Path(denoise_pair) if denoise_pair else blend.partner(weights, weights_dir)
        model, info = blend.load_blend(weights, pair, denoise, precision)
        up = Upscaler(model, scale or info.scales[0], info.upsampling, tile=tile, overlap=overlap, ensemble=ensemble)
    if up.scale not in info.scales:
        raise SRError(f"{weights}: trained for x{'/x'.join(map(str, info.scales))}, not x{up.scale}")
    auto = _auto_real(weights_dir, up.scale) if not (explicit or model_name or denoise is not None) else None
    pairs = plan(input_path, output_dir, up.scale, fmt, recursive, compare)
    inputs = {src.resolve() for src, _ in pairs}
    remove_stale_temp_files(output_dir, log)
    counts = {"done": 0, "skipped": 0, "failed": 0}
    out_pixels, start = 0, time.perf_counter()
    mix = f", denoise {float(denoise):g} with {Path(pair).name}" if denoise is not None else ""
    log(f"{len(pairs)} image(s), x{up.scale} with {weights.name} ({info.model}, {precision}"
        f"{', self-ensemble' if ensemble else ''}{mix})"
        + (f"; JPEG inputs of quality <= {autopick.REAL_AT_OR_BELOW} with {auto.name}" if auto else ""))
    real_up = None
    for src, dst in tqdm(pairs, unit="img", disable=None, file=sys.stderr):
        if dst.resolve() in inputs:
            log(f"failed: {src}: output {dst} would overwrite an input image; choose another --output")
            counts["failed"] += 1
            continue
        if dst.is_dir():
            log(f"failed: {src}: a folder stands at the output's name {dst}")
            counts["failed"] += 1
            continue
        if dst.exists() and not overwrite:
            counts["skipped"] += 1
            continue
        try:
            pic = read_picture(src, max_pixels)
            use, (jpeg_real, quality) = up, autopick.wants_real(src) if auto else (False, None)
            if jpeg_real:
                if real_up is None:  # loaded on the first JPEG that needs it
                    real_up = Upscaler.from_checkpoint(auto, up.scale, precision, log, tile=tile, overlap=overlap,
                                                       ensemble=ensemble)[0]
                use = real_up
                log(f"{src.name}: JPEG quality {quality}, upscaled with {auto.name}")
            n = use.num_tiles(pic.pixels.shape)
            with tqdm(total=n, unit="tile", leave=False, disable=None if n > 1 else True, file=sys.stderr) as bar:
                pixels, alpha = use(pic.pixels, pic.alpha, progress=lambda: bar.update(8 if ensemble else 1))
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
        except OSError as exc:  # writes report their own (SRError); this is what nothing else caught
            log(f"failed: {src}: {exc.strerror or exc}")
            counts["failed"] += 1
    secs = time.perf_counter() - start
    log(f"{counts['done']} upscaled, {counts['skipped']} skipped (output exists; --overwrite replaces), "
        f"{counts['failed']} failed; {counts['done'] / secs:.2f} images/s, {out_pixels / 1e6 / secs:.2f} output MP/s")
    return counts
