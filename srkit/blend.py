"""Denoising strength by network interpolation (``output.py --denoise S``).

Real-ESRGAN's and ESRGAN's network interpolation: the weights of a model
trained on real-world degradations and of the same architecture trained on
clean bicubic LR are mixed, ``(1 - S) clean + S real``. S = 0 is exactly the
clean model, S = 1 exactly the real one; in between, restoration (JPEG
blocks, noise) and detail trade off smoothly, with one model's cost.
"""

from pathlib import Path

from . import checkpoints
from .errors import SRError


def is_real(info):
    return info.metadata.get("degradation") == "real"


def partner(path, weights_dir):
    """The checkpoint in ``weights_dir`` that pairs with ``path``: same
    architecture, arguments (of the float network) and scale, the other kind of training LR (clean
    bicubic for a real model, real for a clean one)."""
    info = checkpoints.read_info(path)
    want_real = not is_real(info)
    found = [p for p, i in checkpoints.find(weights_dir, info.model)
             if i.float_args == info.float_args and i.scales == info.scales and is_real(i) == want_real
             and Path(p).resolve() != Path(path).resolve()]
    if not found:
        kind = "real-degradation" if want_real else "clean (bicubic)"
        raise SRError(f"{path}: no {kind} {info.model}{info.args} checkpoint in {weights_dir} to pair with "
                      "for --denoise (pass --denoise-pair FILE)")
    return found[0]


def check_strength(strength):
    try:
        s = float(strength)
    except (TypeError, ValueError):
        raise SRError(f"--denoise {strength!r}: not a number in [0, 1]") from None
    if not 0.0 <= s <= 1.0:
        raise SRError(f"--denoise {strength}: must lie in [0, 1] (0: the clean model, 1: the real one)")
    return s


def load_blend(path, pair, strength, precision="float32"):
    """(model, info) whose weights are ``(1 - S) clean + S real`` of the two
    checkpoints ``path`` and ``pair`` (either order); ``info`` is the real
    one's with the mix recorded under ``metadata['denoise']``."""
    s = check_strength(strength)
    first, a = checkpoints.load(path, precision=precision)
    second, b = checkpoints.load(pair, precision=precision)
    if is_real(a) == is_real(b):
        kind = "real-degradation" if is_real(a) else "clean"
        raise SRError(f"--denoise: {path} and {pair} are both {kind} models; need one clean and one real")
    if (a.model, a.float_args, a.scales) != (b.model, b.float_args, b.scales):
        raise SRError(f"--denoise: {path} is {a.model}{a.args} x{a.scales} but {pair} is "
                      f"{b.model}{b.args} x{b.scales}; interpolation needs the same architecture")
    (real, real_info), (clean, clean_info) = ((first, a), (second, b)) if is_real(a) else ((second, b), (first, a))
    if s == 0.0 or s == 1.0:  # exactly one model's weights, not a sum that rounds
        model = clean if s == 0.0 else real
    else:
        model = real
        model.set_weights([(1.0 - s) * c + s * r for c, r in zip(clean.get_weights(), real.get_weights())])
    real_info.metadata = {**real_info.metadata, "denoise": {"strength": s, "clean": str(clean_info.path),
                                                            "real": str(real_info.path)}}
    return model, real_info
