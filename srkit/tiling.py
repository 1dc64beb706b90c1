"""Overlapping tiles whose stitched result equals whole-image processing.

A tile is processed with a margin of ``overlap`` LR pixels on each side (cut
off afterwards) that covers the model's receptive field, so each kept output
pixel sees exactly the inputs it would see in a whole-image pass. Where a tile
touches the image border it is not padded: the model's own zero padding then
acts there exactly as in the whole image. A pre-upsampling model gets each
LR window with ``BICUBIC_MARGIN`` pixels of symmetric padding and enlarges it
itself (``layers.BicubicUpsample``), which equals the crop of the whole
bicubic-enlarged image (``data.PatchSampler`` crops training inputs the same way).
"""

import math
import os

import numpy as np

BICUBIC_MARGIN = 3  # LR pixels the bicubic kernel reaches, plus one

def _activation_budget():
    """Bytes of activations one tile may take: 512 MiB (at most 1/8 of RAM).
    Small enough that peak memory hardly depends on image size (a compiled
    TensorFlow model already takes about 0.9 GB), large enough that the
    overlap recomputed around tiles stays a modest cost."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 * 2**30
    return min(512 * 2**20, ram // 8)


ACTIVATION_BUDGET = _activation_budget()


def receptive_radius(model):
    """Upper bound of the receptive-field radius in input pixels: the sum of
    every convolution's reach (exact for a chain, conservative otherwise)."""
    radius = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel_size", None)
        if kernel is not None:
            dilation = getattr(layer, "dilation_rate", (1, 1))
            radius += max((k - 1) // 2 * d for k, d in zip(kernel, dilation))
    return radius


def default_overlap(model, scale, upsampling):
    """LR pixels of margin that cover the receptive field."""
    r = receptive_radius(model)
    return math.ceil(r / scale) + 1 if upsampling == "pre" else r + 1


def bytes_per_output_pixel(model, scale, upsampling):
    """Peak activation bytes per output pixel in a compiled pass: the widest
    layer plus its input, in that layer's compute dtype (bfloat16 halves it,
    so bfloat16 runs take larger tiles and recompute less overlap), with room
    for the backend's workspace."""
    widest = max(model.layers, key=lambda layer: layer.output.shape[-1] or 0)
    itemsize = 2 if widest.compute_dtype in ("bfloat16", "float16") else np.dtype(widest.compute_dtype).itemsize
    per_input_px = 3 * itemsize * widest.output.shape[-1]
    return per_input_px if upsampling == "pre" else math.ceil(per_input_px / scale**2) + 48


def auto_tile(model, scale, upsampling, shape, budget=ACTIVATION_BUDGET):
    """Tile side (LR pixels, margin excluded) keeping one window's
    activations under ``budget``; 0 (whole image) when the image fits in one
    window. Peak memory is then bounded whatever the image size."""
    overlap = default_overlap(model, scale, upsampling)
    max_out_px = budget / bytes_per_output_pixel(model, scale, upsampling)
    side = int(math.sqrt(max_out_px) / scale) - 2 * overlap
    side = max(side, 2 * overlap, 48)
    # an image no larger than one window (core plus both margins) takes no
    # more memory whole than a tile would, and whole it needs no overlap
    return 0 if max(shape[:2]) <= side + 2 * overlap else side


def tiles(h, w, tile, overlap):
    """(core, window) boxes (y0, y1, x0, x1) in LR pixels covering the image
    with cores of at most ``tile`` pixels a side.

    Every window has the same shape (tile + 2 * overlap, clipped to the
    image): windows at the image border are shifted inward rather than cut,
    so a compiled model sees one input shape (one trace, steady memory). A
    window edge is then either the image border or at least ``overlap`` away
    from the core it serves, which is what keeps tiled output exact.
    """
    if tile <= 0:
        yield (0, h, 0, w), (0, h, 0, w)
        return
    # equal cores per axis (at most ``tile``): 500 px with tile 396 gives two
    # cores of 250, not 396 + 104 (whose window would be nearly a full tile)
    th, tw = math.ceil(h / math.ceil(h / tile)), math.ceil(w / math.ceil(w / tile))
    win_h, win_w = min(h, th + 2 * overlap), min(w, tw + 2 * overlap)
    for y0 in range(0, h, th):
        for x0 in range(0, w, tw):
            y1, x1 = min(y0 + th, h), min(x0 + tw, w)
            wy0 = min(max(0, y0 - overlap), h - win_h)
            wx0 = min(max(0, x0 - overlap), w - win_w)
            yield (y0, y1, x0, x1), (wy0, wy0 + win_h, wx0, wx0 + win_w)


def count_tiles(h, w, tile):
    return 1 if tile <= 0 else math.ceil(h / tile) * math.ceil(w / tile)


def run_tiled(predict, lr, scale, upsampling, tile, overlap, finish, out_dtype, progress=None):
    """Super-resolve float (H, W, 3) ``lr`` in [0, 1] tile by tile.

    ``predict`` maps a float32 NHWC batch to the model output (for
    pre-upsampling, a batch of LR windows with ``BICUBIC_MARGIN`` pixels of
    symmetric padding, which it enlarges); ``finish`` turns a float output
    tile into its final form (written into an array of ``out_dtype``), so
    full-size float buffers never exist.
    """
    h, w = lr.shape[:2]
    m = BICUBIC_MARGIN
    padded = np.pad(lr, ((m, m), (m, m), (0, 0)), "symmetric") if upsampling == "pre" else None
    out = None
    for (y0, y1, x0, x1), (wy0, wy1, wx0, wx1) in tiles(h, w, tile, overlap):
        if upsampling == "pre":
            x = padded[wy0:wy1 + 2 * m, wx0:wx1 + 2 * m]
        else:
            x = lr[wy0:wy1, wx0:wx1]
        y = predict(np.ascontiguousarray(x, np.float32)[None])[0]
        y = y[(y0 - wy0) * scale:(y1 - wy0) * scale, (x0 - wx0) * scale:(x1 - wx0) * scale]
        y = finish(y)
        if out is None:
            out = np.empty((h * scale, w * scale) + y.shape[2:], out_dtype)
        out[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = y
        if progress:
            progress()
    return out
