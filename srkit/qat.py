"""Quantization-aware training for the full-integer int8 path.

A model built with ``fake_quant=True`` (FAST, BALANCED) holds a ``FakeQuant``
after every tensor its full-integer LiteRT model keeps in int8; training it
(``train.py --model-args '{..., "fake_quant": true}' --init-from CKPT``)
teaches the weights, and the ranges, to work at int8 precision. Its
checkpoint carries the ranges, so the int8 model is converted from the file
alone (``quantize``); the float paths run the plain network inside it
(``plain``), whose weights are the checkpoint's.
"""

import numpy as np

from .layers import FakeQuant
from .models import build


def fake_quants(model):
    return [layer for layer in model.layers if isinstance(layer, FakeQuant)]


def calibrated(model):
    """True when every range of ``model`` has been set (built as min = max = 0)."""
    from keras import ops

    return all(float(ops.convert_to_numpy(q.range_max)) > float(ops.convert_to_numpy(q.range_min))
               for q in fake_quants(model))


def plain(model, name, args, precision=None):
    """The float network inside a ``fake_quant`` model: the same builder
    without ``fake_quant``, every other layer's weights copied by name."""
    twin = build(name, precision=precision, **{k: v for k, v in args.items() if k != "fake_quant"})
    for layer in twin.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return twin


def aware(model, name, args):
    """The ``fake_quant`` form of the plain ``model`` built by ``name`` with
    ``args``: the same weights, ranges not yet set (see ``calibrate``)."""
    twin = build(name, precision="float32", **{**args, "fake_quant": True})
    for layer in model.layers:
        if layer.weights:
            twin.get_layer(layer.name).set_weights(layer.get_weights())
    return twin


def calibrate(model, name, args, patches, percentile=99.99):
    """Set each range of ``model`` from the float tensor it follows over
    ``patches`` (model inputs from training images): its ``percentile`` and
    ``100 - percentile`` (widened to hold 0), so the rarest values saturate
    rather than coarsen every step of the grid; 100 is min/max. Where
    quantization-aware training starts."""
    import keras

    twin = plain(model, name, args, precision="float32")
    quants = fake_quants(model)
    probe = keras.Model(twin.input, [twin.get_layer(q.name[: -len("_fq")]).output for q in quants])
    pixels = sum(int(np.prod(np.shape(x)[:-1])) for x in patches)
    tails = []  # per tensor: the lowest and the highest values seen, as many as the percentile leaves out
    for q in quants:
        k = max(1, int(np.ceil(pixels * q.input.shape[-1] * (100 - percentile) / 100)))
        tails.append([k, np.zeros(0, np.float32), np.zeros(0, np.float32)])
    for x in patches:
        for tail, t in zip(tails, probe(np.asarray(x, np.float32))):
            t = keras.ops.convert_to_numpy(t).ravel()
            k = tail[0]
            low, high = np.concatenate([tail[1], t]), np.concatenate([tail[2], t])
            tail[1] = np.partition(low, k - 1)[:k] if low.size > k else low
            tail[2] = np.partition(high, high.size - k)[-k:] if high.size > k else high
    for q, (k, low, high) in zip(quants, tails):
        q.set_weights([np.float32(min(low.max(), 0.0)), np.float32(max(high.min(), 0.0))])
