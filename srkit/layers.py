"""Custom layers. Each is registered and serializable (``get_config``), so a
model can be exported with ``model.save`` and reloaded in Keras safe mode;
srkit's own checkpoints never deserialize layers (see ``checkpoints``)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="srkit")
class Scale(keras.layers.Layer):
    """Multiply by a constant: EDSR's residual scaling (x0.1) keeps the sum of
    many residual blocks from blowing up early in training."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)

    def call(self, x):
        return x * ops.cast(self.factor, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def depth_to_space(x, r):
    """(N, H, W, C*r*r) -> (N, H*r, W*r, C), channel order as tf.nn.depth_to_space.
    Written with tensors of rank 4 at most (rows first, then columns): mobile
    GPU delegates of an exported LiteRT graph reject rank 5 and 6."""
    shape = ops.shape(x)
    n, h, w, c = shape[0], shape[1], shape[2], x.shape[-1] // (r * r)
    x = ops.reshape(x, (n * h, w, r, r * c))  # channel (i*r + j)*c + ch = i*(r*c) + (j*c + ch)
    x = ops.transpose(x, (0, 2, 1, 3))  # (n*h, i, w, j*c + ch): row i of each block after row h
    return ops.reshape(x, (n, h * r, w * r, c))  # (w, j*c + ch) is already column w*r + j, channel ch


@keras.saving.register_keras_serializable(package="srkit")
class DepthToSpace(keras.layers.Layer):
    """Sub-pixel rearrangement (pixel shuffle): (N, H, W, C*r*r) ->
    (N, H*r, W*r, C), channel order as tf.nn.depth_to_space. Written with
    keras.ops reshape/transpose so it runs on every backend and exports as
    plain reshape/transpose ops (ONNX, TFLite)."""

    def __init__(self, block_size, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, x):
        return depth_to_space(x, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.block_size
        return (n, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


@keras.saving.register_keras_serializable(package="srkit")
class NearestUpsample(keras.layers.Layer):
    """Nearest-neighbour enlargement by an integer ``scale``: the input
    repeated scale² times along channels, then ``depth_to_space``. Same
    values as ``UpSampling2D(interpolation="nearest")``, whose repeat makes
    rank-5 tensors in an exported LiteRT graph; this one stays at rank 4."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, x):
        return depth_to_space(ops.concatenate([x] * self.scale**2, axis=-1), self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.scale
        return (n, None if h is None else h * r, None if w is None else w * r, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="srkit")
class BicubicUpsample(keras.layers.Layer):
    """MATLAB-bicubic enlargement by an integer ``scale`` inside the graph, for
    pre-upsampling models at inference: a 5x5 filter bank (one filter per
    output phase and channel, from ``degradations.upscale_phases``) and the
    pixel shuffle of ``DepthToSpace``. Input: the LR image with ``margin`` (>= 2) pixels of
    symmetric padding on each side; output: the enlargement of the unpadded
    image, equal to ``imresize`` up to float32 rounding. Runs in float32
    whatever the dtype policy (the enlarged image is the model's input)."""

    def __init__(self, scale, margin=2, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.scale, self.margin = int(scale), int(margin)
        if self.margin < 2:
            raise ValueError("BicubicUpsample needs a margin of at least 2 pixels")

    def build(self, input_shape):
        import numpy as np

        from .degradations import upscale_phases

        s, c = self.scale, input_shape[-1]
        bank = upscale_phases(s)
        phases = np.einsum("ai,bj->ijab", bank, bank).reshape(5, 5, s * s)  # (dy, dx, py * s + px)
        # block-diagonal over channels, output channel (py * s + px) * c + ch: depth_to_space's order
        kernel = np.zeros((5, 5, c, s * s, c), "float32")
        for ch in range(c):
            kernel[:, :, ch, :, ch] = phases
        self._kernel = kernel.reshape(5, 5, c, s * s * c)

    def call(self, x):
        cut = self.margin - 2
        if cut:
            x = x[:, cut:-cut, cut:-cut, :]
        y = ops.conv(x, ops.convert_to_tensor(self._kernel), padding="valid")
        return depth_to_space(y, self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        grow = lambda v: None if v is None else (v - 2 * self.margin) * self.scale  # noqa: E731
        return (n, grow(h), grow(w), c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "margin": self.margin}


@keras.saving.register_keras_serializable(package="srkit")
class NarrowConv2D(keras.layers.Conv2D):
    """A Conv2D for outputs of a few channels (an image): in float32, with
    "same" padding and stride 1, it runs as a (kh x 1) convolution to
    kw * filters channels, then a (1 x kw) block-diagonal one of ones that
    adds the kw horizontal taps. Same weights, same function up to float32
    summation order. Why: oneDNN's direct kernels vectorise over output
    channels, so 3 of them leave most of each vector idle; SRCNN's 5x5
    32 -> 3 output conv runs 2.5x faster at 1 MP this way. Other dtypes keep
    the plain convolution (in bfloat16 each partial sum would be rounded)."""

    def convolution_op(self, inputs, kernel):
        kh, kw, cin, cout = kernel.shape
        plain = (kw == 1 or self.compute_dtype != "float32" or self.padding != "same"
                 or tuple(self.strides) != (1, 1) or tuple(self.dilation_rate) != (1, 1)
                 or self.data_format != "channels_last" or self.groups != 1)
        if plain:
            return super().convolution_op(inputs, kernel)
        import numpy as np

        columns = ops.reshape(ops.transpose(kernel, (0, 2, 1, 3)), (kh, 1, cin, kw * cout))  # channel d*cout+o
        taps = np.zeros((1, kw, kw, cout, cout), "float32")
        for d in range(kw):
            taps[0, d, d] = np.eye(cout)
        # zero padding of the partial sums equals zero padding of the input (no bias inside)
        partial = ops.conv(inputs, columns, padding="same")
        return ops.conv(partial, ops.convert_to_tensor(taps.reshape(1, kw, kw * cout, cout)), padding="same")


@keras.saving.register_keras_serializable(package="srkit")
class FakeQuant(keras.layers.Layer):
    """Quantization-aware training: rounds its input to the 256 levels of
    [min, max] (an int8 tensor's per-tensor range) in the forward pass and
    passes gradients straight through inside the range (and to the range
    itself, which is trained). ``keras.quantizers.fake_quant_with_min_max_vars``
    becomes TensorFlow's FakeQuant op, which the LiteRT converter reads as
    this tensor's int8 range: the full-integer model needs no calibration at
    conversion. Built with min = max = 0: "not calibrated yet" (``qat``)."""

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"  # the op is float32-only
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.range_min = self.add_weight(shape=(), initializer="zeros", name="range_min")
        self.range_max = self.add_weight(shape=(), initializer="zeros", name="range_max")

    def call(self, x):
        return keras.quantizers.fake_quant_with_min_max_vars(x, self.range_min, self.range_max, num_bits=8)

    def compute_output_shape(self, input_shape):
        return input_shape
