"""Figures for the README and for eyeballing results: labelled side-by-side
comparisons and the PSNR/SSIM plot."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .safewrite import atomic_path

_LABEL_HEIGHT = 22


def _font():
    try:
        return ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def side_by_side(panels, gap=4):
    """One RGB image of equally sized ``(label, uint8 image)`` panels in a row,
    each labelled above. Greyscale panels are shown as grey RGB."""
    imgs = [np.repeat(im[..., None], 3, 2) if im.ndim == 2 else im for _, im in panels]
    h = max(im.shape[0] for im in imgs)
    w = sum(im.shape[1] for im in imgs) + gap * (len(imgs) - 1)
    canvas = Image.new("RGB", (w, h + _LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    font = _font()
    x = 0
    for (label, _), im in zip(panels, imgs):
        canvas.paste(Image.fromarray(im), (x, _LABEL_HEIGHT))
        draw.text((x + 4, 3), label, fill="black", font=font)
        x += im.shape[1] + gap
    return canvas


def save_side_by_side(path, panels):
    path = Path(path)
    with atomic_path(path) as tmp:
        side_by_side(panels).save(tmp, format="PNG")
    return path


def busiest_window(hr, sr, side):
    """Top-left corner of the ``side`` x ``side`` window where ``sr`` differs
    most from ``hr`` (mean absolute error): where a method's detail shows."""
    err = np.abs(hr.astype(np.float64) - sr.astype(np.float64))
    err = err.mean(axis=2) if err.ndim == 3 else err
    c = np.pad(err.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = c[side:, side:] - c[:-side, side:] - c[side:, :-side] + c[:-side, :-side]
    y, x = np.unravel_index(np.argmax(sums), sums.shape)
    return int(y), int(x)


def save_zoomed_crops(path, panels, side=80, zoom=3):
    """Side by side, the same ``side``-pixel window of every panel, enlarged
    ``zoom`` times with nearest neighbour so pixels stay visible. The window
    is where the second panel (bicubic, by convention) misses most."""
    side = min(side, *panels[0][1].shape[:2])
    y, x = busiest_window(panels[0][1], panels[1][1], side)
    crops = [(label, np.kron(im[y:y + side, x:x + side], np.ones((zoom, zoom) + (1,) * (im.ndim - 2), np.uint8)))
             for label, im in panels]
    return save_side_by_side(path, crops)


def plot_results(results, path):
    """PSNR and SSIM per method, one group of bars per dataset x scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys((r.dataset, r.scale) for r in results))
    methods = list(dict.fromkeys(r.model for r in results))
    lookup = {(r.dataset, r.scale, r.model): r for r in results}
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 1.6 * len(groups) + 2), 7), sharex=True)
    width = 0.8 / max(1, len(methods))
    xs = np.arange(len(groups))
    for k, method in enumerate(methods):
        for ax, metric in zip(axes, ("psnr", "ssim")):
            vals = [getattr(lookup[g + (method,)], metric) if g + (method,) in lookup else np.nan for g in groups]
            ax.bar(xs + (k - (len(methods) - 1) / 2) * width, vals, width, label=method)
    for ax, name in zip(axes, ("PSNR (dB, Y)", "SSIM (Y)")):
        ax.set_ylabel(name)
        ax.grid(axis="y", alpha=0.3)
    lo = np.nanmin([r.psnr for r in results])
    axes[0].set_ylim(max(0, lo - 2), None)
    axes[1].set_ylim(max(0, np.nanmin([r.ssim for r in results]) - 0.05), 1)
    axes[1].set_xticks(xs, [f"{d} x{s}" for d, s in groups])
    axes[0].legend(fontsize=8, ncol=min(4, len(methods)))
    axes[0].set_title("Super-resolution quality (papers' protocol: Y channel, scale px shaved)")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
