"""Re-parameterisable convolution and parameter-free attention (SPAN, Wan et
al., NTIRE 2024), in keras.ops so they run on every backend.

``RepConv3x3`` trains as several linear branches and folds into one plain
3x3 convolution for inference (``folded_weights``): the branches add
capacity to training only, the shipped model costs what a 3x3 conv costs.
``fold_into`` copies a training-form model into its plain twin layer by
layer (same layer names), folding every re-parameterisable layer on the way.
"""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="srkit")
class RepConv3x3(keras.layers.Layer):
    """SPAN's Conv3XC: a 1x1 expansion to ``gain`` x the input channels, a
    3x3 convolution to ``gain`` x ``filters``, a 1x1 squeeze to ``filters``,
    plus a 1x1 skip, all with biases and no non-linearity in between, so
    their sum is one 3x3 convolution. The input is zero-padded before the
    expansion (the padded border then carries the expansion's bias, as the
    folded conv's bias does), which makes the fold exact at the borders too.
    Stride 1, "same" output size, channels last."""

    def __init__(self, filters, gain=2, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.gain = int(filters), int(gain)
        self.kernel_size = (3, 3)  # its reach, as a Conv2D states it (tiling.receptive_radius reads it)
        if self.filters < 1 or self.gain < 1:
            raise ValueError(f"RepConv3x3 needs filters and gain >= 1, got {filters} and {gain}")

    def build(self, input_shape):
        cin, cout, g = int(input_shape[-1]), self.filters, self.gain
        shapes = {"expand": (1, 1, cin, cin * g), "conv": (3, 3, cin * g, cout * g),
                  "squeeze": (1, 1, cout * g, cout), "skip": (1, 1, cin, cout)}
        self.branch = {}
        for name, shape in shapes.items():
            w = self.add_weight(shape=shape, initializer="glorot_uniform", name=f"{name}_kernel")
            b = self.add_weight(shape=(shape[-1],), initializer="zeros", name=f"{name}_bias")
            self.branch[name] = (w, b)

    def call(self, x):
        def conv(t, name):
            w, b = self.branch[name]
            return ops.conv(t, w, padding="valid") + b

        padded = ops.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        main = conv(conv(conv(padded, "expand"), "conv"), "squeeze")
        return main + conv(x, "skip")

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def folded_weights(self):
        """[kernel (3, 3, cin, filters), bias (filters,)] of the plain 3x3
        convolution ("same" padding) that computes this layer, in float64
        arithmetic, returned as float32."""
        (w1, b1), (w2, b2), (w3, b3), (ws, bs) = [
            [np.asarray(v.numpy(), np.float64) for v in self.branch[n]]
            for n in ("expand", "conv", "squeeze", "skip")]
        expand, squeeze = w1[0, 0], w3[0, 0]
        kernel = np.einsum("im,yxmn,no->yxio", expand, w2, squeeze)
        kernel[1, 1] += ws[0, 0]
        # the expansion's bias reaches every one of the 3x3 taps, padded ones included
        bias = (b1 @ w2.sum(axis=(0, 1)) + b2) @ squeeze + b3 + bs
        return [kernel.astype(np.float32), bias.astype(np.float32)]

    def unfolded_weights(self, kernel, bias, seed=0):
        """Weights for this built layer that compute the plain 3x3 convolution
        (``kernel`` (3, 3, cin, filters), ``bias``) exactly, the inverse of
        ``folded_weights``: the expansion and the squeeze pass the first
        channels through, the 3x3 branch holds ``kernel`` among small random
        weights that reach the output only once training moves the zero parts
        (so every branch gets gradients), the skip is zero. What lets
        --init-from start a multi-branch run from a plain checkpoint."""
        cin, cout, g = kernel.shape[2], self.filters, self.gain
        rng = np.random.default_rng(seed)
        expand = np.zeros((1, 1, cin, cin * g), np.float32)
        expand[0, 0, :, :cin] = np.eye(cin)
        conv = rng.normal(0, np.sqrt(2 / (9 * (cin + cout) * g)), (3, 3, cin * g, cout * g)).astype(np.float32)
        conv[:, :, :cin, :cout] = kernel
        conv_bias = np.zeros(cout * g, np.float32)
        conv_bias[:cout] = bias
        squeeze = np.zeros((1, 1, cout * g, cout), np.float32)
        squeeze[0, 0, :cout] = np.eye(cout)
        return [expand, np.zeros(cin * g, np.float32), conv, conv_bias, squeeze, np.zeros(cout, np.float32),
                np.zeros((1, 1, cin, cout), np.float32), np.zeros(cout, np.float32)]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "gain": self.gain}


@keras.saving.register_keras_serializable(package="srkit")
class ParamFreeAttention(keras.layers.Layer):
    """SPAN's parameter-free attention, called on [features, block input]:
    (features + block input) * (sigmoid(features) - 0.5). The attention map
    comes from the features themselves through a symmetric activation, so it
    costs no weights and only element-wise work."""

    def call(self, inputs):
        features, skip = inputs
        return (features + skip) * (ops.sigmoid(features) - ops.cast(0.5, features.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def fold_into(src, dst):
    """Give ``dst`` (the plain form) the function of ``src`` (the training
    form of the same architecture): layers are matched by name; a
    re-parameterisable one gives its folded weights, any other its own.
    Refuses models whose weighted layers do not pair up."""
    by_name = {layer.name: layer for layer in src.layers}
    paired = set()
    for layer in dst.layers:
        if not layer.weights:
            continue
        other = by_name.get(layer.name)
        if other is None:
            raise ValueError(f"{dst.name}: layer {layer.name} has no counterpart in {src.name}")
        weights = other.folded_weights() if hasattr(other, "folded_weights") else other.get_weights()
        layer.set_weights(weights)
        paired.add(layer.name)
    left = [layer.name for layer in src.layers if layer.weights and layer.name not in paired]
    if left:
        raise ValueError(f"{src.name}: layers {', '.join(left)} have no counterpart in {dst.name}")
    return dst
