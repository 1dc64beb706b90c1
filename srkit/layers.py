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
        r = self.block_size
        shape = ops.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], x.shape[-1] // (r * r)
        x = ops.reshape(x, (n, h, w, r, r, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (n, h * r, w * r, c))

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r = self.block_size
        return (n, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}
