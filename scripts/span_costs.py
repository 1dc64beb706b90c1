"""What SPAN's element-wise work costs at 1 MP, and whether any SPAN of the
paper's size could be 5x faster than BALANCED (blocks=32) on this machine.

Times output.py's path (bfloat16 where native, one tf.function, whole image)
for BALANCED (blocks=32) x2, SPAN x2 as shipped, and SPAN copies with its
SiLUs made linear, with its attention made a plain add, and with both: the
last is a lower bound on any SPAN of this width and depth, whatever its
activations. Calls alternate between models; medians (docs/training.md,
"SPAN's speed against the issue's 5x").

  python -m scripts.span_costs --repeats 5
"""

import argparse

import keras
import numpy as np

from srkit import models
from srkit.bench import alternated
from srkit.inference import Upscaler, resolve_precision
from srkit.reparam import ParamFreeAttention


def without(model, silu=False, attention=False):
    """A copy of ``model`` (weights shared in value) with its SiLUs linear
    and/or its attention layers replaced by the add they start from."""
    def swap(layer):
        if silu and isinstance(layer, keras.layers.Activation):
            return keras.layers.Activation("linear", name=layer.name, dtype=layer.dtype_policy)
        if attention and isinstance(layer, ParamFreeAttention):
            return keras.layers.Add(name=layer.name, dtype=layer.dtype_policy)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=swap)
    copy.set_weights(model.get_weights())
    return copy


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1000, help="output side in pixels (x2)")
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args(argv)
    precision = resolve_precision("auto")
    span = models.build("SPAN", precision=precision, scale=2)
    cases = {
        "BALANCED (blocks=32)": models.build("BALANCED", precision=precision, scale=2, blocks=32),
        "SPAN": span,
        "SPAN, SiLU linear": without(span, silu=True),
        "SPAN, attention an add": without(span, attention=True),
        "SPAN, neither": without(span, silu=True, attention=True),
    }
    lr = np.random.default_rng(0).random((a.size // 2, a.size // 2, 3), np.float32)
    median = alternated({name: Upscaler(m, 2, "post", tile=0) for name, m in cases.items()}, lr, a.repeats)
    ref = median["BALANCED (blocks=32)"]
    print(f"x2, {a.size}x{a.size} output, {precision}, medians of {a.repeats}")
    print("| Model | s | vs BALANCED (blocks=32) |\n|---|---|---|")
    for name, s in median.items():
        print(f"| {name} | {s:.3f} | {ref / s:.1f}x |")


if __name__ == "__main__":
    main()
