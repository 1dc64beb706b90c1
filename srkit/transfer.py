"""Weights from one checkpoint into a related model for --init-from: x2 ->
x3/x4 fine-tuning (the body transfers, the upsampler starts fresh) and grown
kernels (SRCNN 9-1-5 -> 9-5-5)."""

import numpy as np

# builder arguments --init-from may change: the upsampler and grown kernels are handled by transfer_layers
GROWABLE = ("scale", "kernels")


def fixed_args(args):
    """Builder arguments that must match between --init-from's checkpoint and the new model."""
    return {k: v for k, v in args.items() if k not in GROWABLE}


def transfer_layers(src, dst):
    """Copy weights between layers of the same name (x2 -> x3/x4 fine-tuning).

    A convolution whose kernel grew (SRCNN 9-1-5 -> 9-5-5) gets the old kernel
    at the centre of a zero kernel: with 'same' padding it computes exactly the
    old function, so training starts where the smaller network ended. Returns
    the names of ``dst``'s layers left as built and of those grown."""
    by_name = {layer.name: layer for layer in src.layers}
    fresh, grown = [], []
    for layer in dst.layers:
        if not layer.weights:
            continue
        other = by_name.get(layer.name)
        old = other.get_weights() if other is not None else []
        new = [tuple(w.shape) for w in layer.weights]
        if len(old) != len(new) or not all(_embeds(a.shape, b) for a, b in zip(old, new)):
            fresh.append(layer.name)
            continue
        layer.set_weights([_centre(a, b) for a, b in zip(old, new)])
        if any(a.shape != b for a, b in zip(old, new)):
            grown.append(layer.name)
    return fresh, grown


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
