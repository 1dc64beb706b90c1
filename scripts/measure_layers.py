#!/usr/bin/env python
"""Layer timings behind the README's Speed notes on SRCNN, in one process:

  python -m scripts.measure_layers            # about a minute on 2 cores
  python -m scripts.measure_layers --side 500 # smaller maps

1. Each classic model's output convolution (3 channels, float32) as a plain
   Conv2D and as ``layers.NarrowConv2D`` with the same weights, at 1 MP.
2. SRCNN's layers one by one at 1 MP, in the precision output.py would use,
   each fed what it gets inside the model.

Medians of 7 compiled calls (random weights: speed does not depend on them).
Prints markdown tables. Run it from the repository (python -m, as above) or
with srkit installed (pip install -e .).
"""

import argparse
import sys


def _timer(layer, x):
    import tensorflow as tf

    from srkit.bench import _median_time

    fn = tf.function(lambda v: layer(v))
    return _median_time(lambda: fn(x).numpy(), 7)


def output_convs(side):
    import keras
    import numpy as np
    import tensorflow as tf

    from srkit import layers, models

    rng = np.random.default_rng(0)
    print("| Model | Output conv | Conv2D s | NarrowConv2D s | Speed-up |\n|---|---|---|---|---|")
    for name in ("SRCNN", "VDSR", "SMALL", "LARGE"):
        conv = models.build(name, precision="float32").get_layer("conv_out")
        (k, _), cin = conv.kernel_size, conv.kernel.shape[2]
        x = tf.constant(rng.random((1, side, side, cin), dtype=np.float32))
        plain = keras.layers.Conv2D(3, k, padding="same")
        narrow = layers.NarrowConv2D(3, k, padding="same")
        for layer in (plain, narrow):
            layer.build(x.shape)
        narrow.set_weights(plain.get_weights())
        a, b = _timer(plain, x), _timer(narrow, x)
        print(f"| {name} | {k}x{k}, {cin} -> 3 | {a:.4f} | {b:.4f} | {a / b:.2f}x |")


def srcnn_layers(side):
    import numpy as np
    import tensorflow as tf

    from srkit import models
    from srkit.inference import resolve_precision

    precision = resolve_precision("auto")
    model = models.build("SRCNN", precision=precision)
    rng = np.random.default_rng(1)
    print(f"\nSRCNN at {side}x{side}, {precision}:\n\n| Layer | Dtype | Seconds |\n|---|---|---|")
    total = 0.0
    for layer in model.layers[1:]:
        cin = layer.input.shape[-1]
        x = tf.cast(rng.random((1, side, side, cin), dtype=np.float32), layer.input.dtype)
        t = _timer(layer, x)
        total += t
        print(f"| {layer.name} ({type(layer).__name__}) | {layer.compute_dtype} | {t:.4f} |")
    x = tf.constant(rng.random((1, side, side, 3), dtype=np.float32))
    print(f"| sum of layers | | {total:.4f} |\n| whole model | | {_timer(model, x):.4f} |")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--side", type=int, default=1000, help="map side in pixels (default 1000: 1 MP, as bench.py)")
    a = p.parse_args()
    import keras

    if keras.backend.backend() != "tensorflow":
        sys.exit(f"measure_layers.py times TensorFlow's kernels; KERAS_BACKEND is {keras.backend.backend()!r}")
    output_convs(a.side)
    srcnn_layers(a.side)
