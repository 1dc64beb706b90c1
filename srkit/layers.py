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
