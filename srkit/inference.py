"""Running a model on an image: the one path shared by output.py, evaluation
and training validation, so the numbers in tables are what users get.

Models run compiled (a tf.function on TensorFlow, Keras's predict elsewhere):
an eager call of a functional model keeps every intermediate activation alive
(LARGE on a 256x256 input: 4.1 GB peak RSS eager, 1.0 GB compiled).
"""

import os

import numpy as np

from . import tiling
from .data import dihedral
from .degradations import imresize, quantize

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601: greyscale from the RGB a model returns
PRECISIONS = ("auto", "float32", "bfloat16", "int8")


def native_bfloat16():
    """Whether bfloat16 convolutions run natively here: a GPU, or a CPU with
    AMX (TensorFlow's oneDNN then runs them 2-4x faster than float32) or
    AVX512_BF16 (AMD EPYC, 2 cores: 1.2x for SRCNN to 2.2x for FAST at 256²,
    bench.py's path comparison). On other CPUs bfloat16 is emulated and
    slower than float32."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return False  # XLA's CPU bfloat16 convolutions are emulated
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return True
    from .devices import cpuinfo_field

    flags = cpuinfo_field("flags").split()  # none where unreadable: float32
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision):
    """"auto" -> "bfloat16" where it is native, else "float32". The bfloat16
    path is accepted because every shipped model loses < 0.02 dB with it on
    Set5 (tests/test_shipped.py checks each one). "int8" is only ever asked
    for (``quantize``), never chosen by "auto"."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision '{precision}' ({', '.join(PRECISIONS)})")
    if precision == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    return precision


def _to_float(img):
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    return img.astype(np.float32)


def _from_float(y, dtype):
    peak = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}[np.dtype(dtype)]
    return quantize(y * peak, peak, dtype)


def _undihedral(img, k):
    """Inverse of ``data.dihedral(img, k)``."""
    img = img[:, ::-1] if k >= 4 else img
    return np.rot90(img, -(k % 4), axes=(0, 1))


class Upscaler:
    """A model ready to super-resolve arrays: tiles, self-ensemble, grey and
    alpha handling, 8/16-bit in and out.

    ``tile``: LR tile side; None chooses from image size and memory, 0 means
    the whole image at once. ``overlap``: LR margin; None covers the model's
    receptive field (what makes tiled output equal whole-image output).
    """

    def __init__(self, model, scale, upsampling="pre", tile=None, overlap=None, ensemble=False, engine=None):
        self.model, self.scale, self.upsampling = model, int(scale), upsampling
        self.tile, self.ensemble, self._fn = tile, ensemble, engine  # engine: runs runner_model() another way
        self.info = None  # the CheckpointInfo, when made from a preset
        self.overlap = tiling.default_overlap(model, self.scale, upsampling) if overlap is None else overlap

    @classmethod
    def from_checkpoint(cls, path, scale=None, precision="float32", log=None, **kwargs):
        """``precision`` "int8": the float32 model gives the tiling, the
        LiteRT int8 model (``quantize.int8_model``) runs."""
        from . import checkpoints

        precision = resolve_precision(precision)
        if precision == "int8":
            from . import quantize

            content = quantize.int8_model(path, log)  # refused before anything is built, where the card says so
        model, info = checkpoints.load(path, precision="float32" if precision == "int8" else precision)
        scale = scale or info.scales[0]
        if precision == "int8":
            kwargs["engine"] = quantize.engine(content, scale, info.upsampling)
        return cls(model, scale, info.upsampling, **kwargs), info

    @classmethod
    def from_preset(cls, name, scale=None, precision="float32", weights_dir=None, **kwargs):
        """The Upscaler of a shipped checkpoint by preset name (``srkit.presets``:
        "balanced_x2", "fast_x4", "real_x2", ...); its card's description is ``.info``."""
        from . import presets

        up, info = cls.from_checkpoint(presets.path(name, weights_dir), scale, precision, **kwargs)
        up.info = info
        return up

    def tile_for(self, shape):
        if self.tile is not None:
            return self.tile
        return tiling.auto_tile(self.model, self.scale, self.upsampling, shape)

    def num_tiles(self, shape):
        return tiling.count_tiles(shape[0], shape[1], self.tile_for(shape)) * (8 if self.ensemble else 1)

    def runner_model(self):
        """What actually runs: the model, preceded for pre-upsampling models by
        the MATLAB-bicubic enlargement in the graph (``layers.BicubicUpsample``:
        about 20x faster than numpy's ``imresize``, equal to it within 3e-7),
        so its input is the symmetric-padded LR window."""
        if self.upsampling != "pre":
            return self.model
        import keras

        from .layers import BicubicUpsample

        lr = keras.Input((None, None, self.model.input.shape[-1]), dtype="float32")
        return keras.Model(lr, self.model(BicubicUpsample(self.scale, tiling.BICUBIC_MARGIN)(lr)))

    def _compiled(self):
        """The fastest correct way to run the model (bench.py compares them):
        on TensorFlow a tf.function with a shape-relaxed signature, traced
        once for all tile shapes; elsewhere Keras's compiled predict."""
        if self._fn is None:
            import keras

            runner = self.runner_model()
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                spec = [tf.TensorSpec([1, None, None, runner.input.shape[-1]], tf.float32)]
                fn = tf.function(lambda x: runner(x, training=False), input_signature=spec)
                self._fn = lambda x: fn(x).numpy()
            else:
                self._fn = runner.predict_on_batch
        return self._fn

    def _predict(self, x):
        run = self._compiled()
        if not self.ensemble:
            return run(x)
        acc = None
        for k in range(8):  # geometric self-ensemble: average of the 8 flips/rotations
            y = _undihedral(run(np.ascontiguousarray(dihedral(x[0], k))[None])[0], k)
            acc = y if acc is None else acc + y
        return (acc / 8)[None]

    def __call__(self, pixels, alpha=None, progress=None):
        """Upscale ``pixels`` ((H, W) grey or (H, W, 3) RGB; uint8, uint16 or
        float in [0, 1]) and optional ``alpha`` (H, W). Returns (pixels, alpha)
        ``scale`` times larger, same layout and dtype (float in, float out)."""
        pixels = np.asarray(pixels)
        dtype = pixels.dtype
        grey = pixels.ndim == 2
        lr = _to_float(pixels)
        if grey:
            lr = np.repeat(lr[..., None], 3, axis=2)

        def finish(y):
            # float32 throughout: the model's output is float32 already, and a
            # float64 copy of it took 7% of SRCNN's time at 1 MP
            y = np.asarray(y, np.float32)
            if grey:
                y = y @ _LUMA
            return y if dtype.kind == "f" else _from_float(y, dtype)

        out = tiling.run_tiled(self._predict, lr, self.scale, self.upsampling, self.tile_for(lr.shape),
                               self.overlap, finish, np.float32 if dtype.kind == "f" else dtype, progress)
        if alpha is not None:
            a = imresize(_to_float(alpha).astype(np.float64), self.scale)
            alpha = a.astype(np.float32) if np.asarray(alpha).dtype.kind == "f" else _from_float(a, alpha.dtype)
        return out, alpha


def upscale(image, model, scale=None, upsampling=None, tile=None, ensemble=False):
    """One-call API: super-resolve ``image`` ((H, W), (H, W, 3) or (H, W, 4)
    array, uint8/uint16/float) with a keras.Model, a checkpoint path or a
    preset name ("balanced_x2", "real_x2", ...: a string that names no file,
    has no folder and no .h5 is taken as one). Returns the same layout and
    dtype, ``scale`` times larger."""
    if (isinstance(model, str) and not model.lower().endswith(".h5") and "/" not in model and os.sep not in model
            and not os.path.exists(model)):
        up = Upscaler.from_preset(model, scale, tile=tile, ensemble=ensemble)
    elif isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        up, _ = Upscaler.from_checkpoint(model, scale, tile=tile, ensemble=ensemble)
    else:
        if scale is None:
            raise ValueError("give the scale when passing a keras.Model")
        up = Upscaler(model, scale, upsampling or "pre", tile=tile, ensemble=ensemble)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 4:
        rgb, alpha = up(image[..., :3], image[..., 3])
        return np.concatenate([rgb, alpha[..., None]], axis=2)
    return up(image)[0]
