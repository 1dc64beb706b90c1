"""Presets, as keras-hub has them: short names for the shipped checkpoints
(``weights/NAME.h5``) and their model cards (``weights/NAME.json``), so that
``Upscaler.from_preset("balanced_x2")``, ``upscale(image, "real_x2")`` and
``python network.py --presets`` need no file path.

PRESETS is the one registry. A preset whose file is not in the weights folder
(a trimmed install, a folder of one's own) is listed as "not shipped yet"
and refused with a message saying so.
"""

import json
from pathlib import Path

from .errors import SRError
from .paths import shipped

# name -> (file stem in the weights folder, what it is for)
PRESETS = {
    "srcnn_x2": ("SRCNN_x2", "SRCNN, the classic three-layer baseline"),
    "vdsr_x2": ("VDSR_x2", "VDSR, 20 layers on the bicubic-enlarged image"),
    "small_x2": ("SMALL_x2", "the original project's SMALL (blocks joined by Concatenate)"),
    "large_x2": ("LARGE_x2", "the original project's LARGE, 12 of its 24 blocks trained so far; slow"),
    "fast_x2": ("FAST_x2", "fastest model, for large images"),
    "fast_x3": ("FAST_x3", "fastest model, for large images"),
    "fast_x4": ("FAST_x4", "fastest model, for large images"),
    "balanced_x2": ("BALANCED_x2", "best quality on clean images"),
    "balanced_x3": ("BALANCED_x3", "best quality on clean images"),
    "balanced_x4": ("BALANCED_x4", "best quality on clean images"),
    "real_x2": ("REAL_x2", "real photos: also undoes blur, noise and JPEG"),
    "real_x4": ("REAL_x4", "real photos: also undoes blur, noise and JPEG"),
}


def is_preset(name):
    return isinstance(name, str) and name.lower() in PRESETS


def path(name, weights_dir=None):
    """The checkpoint file of preset ``name`` (case-insensitive); SRError
    for an unknown name or a file not shipped (yet)."""
    key = str(name).lower()
    if key not in PRESETS:
        raise SRError(f"unknown preset '{name}' (presets: {', '.join(PRESETS)})")
    folder = Path(weights_dir) if weights_dir is not None else shipped("weights", required=False)
    file = folder / f"{PRESETS[key][0]}.h5"
    if not file.is_file():
        raise SRError(f"preset {key}: {file} is not shipped yet (see python network.py --presets)")
    return file


def card(name, weights_dir=None):
    """Preset ``name``'s model card (the JSON beside its checkpoint), or {} where there is none."""
    file = path(name, weights_dir).with_suffix(".json")
    return json.loads(file.read_text()) if file.is_file() else {}


def _set5(c):
    """The card's Set5 validation PSNR, with the degraded inputs it was scored on where not clean."""
    val = c.get("validation") or {}
    if val.get("data") != "Set5" or val.get("psnr") is None:
        return "not validated on Set5"
    degrade = val.get("degrade")
    return f"{val['psnr']:.2f} dB" + (f" ({', '.join(degrade)} inputs)" if degrade else "")


def table(weights_dir=None):
    """Markdown: every preset with its file, scale, parameters and Set5 PSNR
    from its card, or "not shipped yet"."""
    lines = ["| Preset | File | Scale | Parameters | Set5 PSNR | For |", "|---|---|---|---|---|---|"]
    for name, (stem, purpose) in PRESETS.items():
        try:
            c = card(name, weights_dir)
        except SRError:
            lines.append(f"| {name} | {stem}.h5 | | | not shipped yet | {purpose} |")
            continue
        params = f"{c['parameters']:,}" if "parameters" in c else "(no model card)"
        scale = f"x{c['scale']}" if "scale" in c else ""
        lines.append(f"| {name} | {stem}.h5 | {scale} | {params} | {_set5(c) if c else ''} | {purpose} |")
    return "\n".join(lines)
