"""Weights from one checkpoint into a related model for --init-from: x2 ->
x3/x4 fine-tuning (the body transfers, the upsampler starts fresh), grown
kernels (SRCNN 9-1-5 -> 9-5-5), added residual blocks (16 -> 24), and the
plain and multi-branch (``reparam``) forms of one model into each other."""

import re

import numpy as np

from .errors import SRError
from .models import get_builder
from .reparam import RepConv3x3

# builder arguments --init-from may change: transfer_layers handles the upsampler and grown kernels
# (and a quantization-aware form's new ranges, calibrated by trainmodel.build)
GROWABLE = ("scale", "kernels", "reparam", "gain", "fake_quant")
_BLOCK_CONV = re.compile(r"block(\d+)_conv(\d+)$")


def fixed_args(model, args):
    """Builder arguments that must match between --init-from's checkpoint and the new ``model``."""
    growable = GROWABLE + (("blocks",) if get_builder(model).residual_blocks else ())
    return {k: v for k, v in args.items() if k not in growable}


def transfer_layers(src, dst):
    """Copy weights between layers of the same name (x2 -> x3/x4 fine-tuning).

    A convolution whose kernel grew (SRCNN 9-1-5 -> 9-5-5) gets the old kernel
    at the centre of a zero kernel: with 'same' padding it computes exactly the
    old function, so training starts where the smaller network ended. So
    does a deeper residual model (BALANCED 16 -> 24 blocks): the blocks the
    source lacks start with their last conv at zero and add nothing until
    trained. A plain model and its multi-branch form (``reparam``) start
    from each other exactly too (``_weights_for``). Returns the names of
    ``dst``'s layers left as built and of those grown; a model with fewer
    blocks than the source is refused, since dropping trained blocks
    changes the function without saying so."""
    by_name = {layer.name: layer for layer in src.layers}
    src_blocks, dst_blocks = _block_count(src), _block_count(dst)
    if dst_blocks < src_blocks:
        raise SRError(f"{dst.name} with {dst_blocks} blocks cannot start from {src.name} with {src_blocks}: "
                      f"blocks may be added, not removed")
    if dst_blocks > src_blocks and not get_builder(dst.name).residual_blocks:  # SMALL concatenates its blocks
        raise SRError(f"{dst.name}: its blocks are not residual, so added blocks would change its function")
    fresh, grown = [], []
    for layer in dst.layers:
        if not layer.weights:
            continue
        other = by_name.get(layer.name)
        old = _weights_for(layer, other) if other is not None else []
        new = [tuple(w.shape) for w in layer.weights]
        if len(old) != len(new) or not all(_embeds(a.shape, b) for a, b in zip(old, new)):
            fresh.append(layer.name)
            if other is None and _is_last_conv_of_new_block(layer.name, src_blocks):
                layer.set_weights(_zero_function(layer, new))
            continue
        layer.set_weights([_centre(a, b) for a, b in zip(old, new)])
        if any(a.shape != b for a, b in zip(old, new)):
            grown.append(layer.name)
    return fresh, grown


def _weights_for(layer, other):
    """``other``'s weights in ``layer``'s form: a multi-branch layer and a
    plain one (or two of different expansion) meet through the plain 3x3
    convolution they compute, which is exact both ways."""
    multi, multi_src = isinstance(layer, RepConv3x3), isinstance(other, RepConv3x3)
    if multi == multi_src and (not multi or layer.gain == other.gain):
        return other.get_weights()
    plain = other.folded_weights() if multi_src else other.get_weights()
    if multi_src or (getattr(other, "kernel_size", None) == (3, 3) and len(plain) == 2):
        return layer.unfolded_weights(*plain) if multi else plain
    return []  # nothing that pairs: the layer starts fresh


def _zero_function(layer, shapes):
    """Weights making a new block's last conv output zero (the block then
    adds nothing): zeros, or for a multi-branch conv the unfolded zero
    kernel, whose branches still all get gradients."""
    if not isinstance(layer, RepConv3x3):
        return [np.zeros(shape, "float32") for shape in shapes]
    cin, cout = shapes[0][2], layer.filters  # the expansion's input channels, the layer's output
    return layer.unfolded_weights(np.zeros((3, 3, cin, cout), np.float32), np.zeros(cout, np.float32))


def _block_count(model):
    return len({m.group(1) for m in map(_BLOCK_CONV.match, (layer.name for layer in model.layers)) if m})


def _is_last_conv_of_new_block(name, src_blocks):
    m = _BLOCK_CONV.match(name)
    return bool(m) and int(m.group(1)) >= src_blocks and m.group(2) == "2"


def _embeds(small, big):
    """True when an array of shape ``small`` fits at the centre of ``big``:
    the same shape, or a kernel with the same channels and each spatial size
    no larger and of the same parity."""
    if small == big:
        return True
    return (len(small) == len(big) == 4 and small[2:] == big[2:]
            and all(s <= b and (b - s) % 2 == 0 for s, b in zip(small[:2], big[:2])))


def _centre(weights, shape):
    if weights.shape == shape:
        return weights
    out = np.zeros(shape, weights.dtype)
    top, left = (shape[0] - weights.shape[0]) // 2, (shape[1] - weights.shape[1]) // 2
    out[top:top + weights.shape[0], left:left + weights.shape[1]] = weights
    return out
