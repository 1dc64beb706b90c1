"""LiteRT (TFLite) conversion of a Keras model and an interpreter runner: the
mobile export (``network.py --litert``) and the engine of the int8 path
(``quantize``).

Modes: "float32" (the plain network); "int8" (weights int8 with per-channel
scales, activations quantized at run time by XNNPACK's dynamically quantized
kernels: no calibration needed, what ``--precision int8`` runs; a model with
``FakeQuant`` layers, see ``qat``, becomes full-integer at their ranges instead); "int8-static"
(full-integer model calibrated on training patches, for accelerators that need
fixed activation ranges; the layers named in ``keep_float`` stay float32).
The graph is NHWC float32 in and out, any height and width; every tensor in it
has rank 4 at most (``layers.depth_to_space``, ``layers.NearestUpsample``).
Needs the TensorFlow backend (the converter is TensorFlow's); the interpreter
is ``ai_edge_litert``'s where installed, else ``tf.lite``'s.
"""

import contextlib
import io
import warnings

import numpy as np

from .errors import SRError

MODES = ("float32", "int8", "int8-static")
MAX_RANK = 4  # mobile GPU delegates reject higher ranks
# Layers kept float32 in "int8-static": the first convolution (reads the
# image), the image-producing last ones, and the global residual add.
KEEP_FLOAT = ("conv_in", "conv_out", "upsample0_conv", "upsample1_conv", "global_residual", "anchor")


def available():
    """None when conversion and the interpreter can run here, else the reason."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return f"LiteRT conversion needs the TensorFlow backend (this is {keras.backend.backend()})"
    try:
        import tensorflow as tf

        tf.lite.TFLiteConverter  # noqa: B018 (removed from some TensorFlow builds)
    except (ImportError, AttributeError):
        return "tf.lite is not available in this TensorFlow (pip install tensorflow-cpu)"
    return None


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806 (deprecated in favour of ai_edge_litert; same runtime)
    return Interpreter


def _converter(model):
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model)


def _op_names(content):
    """Output tensor names of every op of a LiteRT model, in graph order."""
    it = _interpreter(content)
    return [it._get_tensor_details(i, 0)["name"] for op in it._get_ops_details() for i in op["outputs"]]  # noqa: SLF001


def convert(model, mode="float32", calibration=None, keep_float=()):
    """The LiteRT flatbuffer (bytes) of ``model`` in ``mode``. "int8-static"
    needs ``calibration`` (arrays of the model's input, from training images);
    ``keep_float``: Keras layer names whose ops stay float32 there."""
    import tensorflow as tf

    reason = available()
    if reason:
        raise SRError(f"cannot convert to LiteRT: {reason}")
    if mode not in MODES:
        raise SRError(f"unknown LiteRT mode '{mode}' ({', '.join(MODES)})")
    conv = _converter(model)  # prints the traced signature: kept off stdout below
    if mode != "float32":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if mode != "int8-static":
            return bytes(conv.convert())
        if not calibration:
            raise SRError("int8-static conversion needs calibration patches")
        conv.representative_dataset = lambda: ([np.asarray(x, np.float32)] for x in calibration)
        # the float graph's op names, to keep the layers named in keep_float out of quantization
        names = _op_names(_converter(model).convert())
        deny = [n for n in names if any(f"/{layer}_" in n or f"/{layer}/" in n for layer in keep_float)]
        options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=deny)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=conv, debug_dataset=lambda: ([np.asarray(calibration[0], np.float32)],), debug_options=options)
        return bytes(debugger.get_nondebug_quantized_model())


def _interpreter(content, threads=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite's deprecation notice
        return _interpreter_class()(model_content=bytes(content), num_threads=threads)


def max_rank(content):
    """The highest rank of any tensor in a LiteRT model (every op's inputs
    and outputs are among them)."""
    it = _interpreter(content)
    return max(len(t["shape_signature"]) for t in it.get_tensor_details())


def op_names(content):
    """The builtin op types of a LiteRT model, e.g. ["CONV_2D", "ADD", ...]."""
    return [op["op_name"] for op in _interpreter(content)._get_ops_details()]  # noqa: SLF001


def runner(content, threads=None):
    """Callable: float32 NHWC batch of one -> the model's output (LiteRT
    interpreter with XNNPACK, ``threads`` default every core this process may
    use; re-allocated when the input shape changes, as tiles of one image
    mostly share a shape)."""
    import os

    it = _interpreter(content, threads or len(os.sched_getaffinity(0)))
    inp, out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    state = {"shape": None}

    def run(x):
        x = np.ascontiguousarray(x, np.float32)
        if state["shape"] != x.shape:
            it.resize_tensor_input(inp, x.shape, strict=False)
            it.allocate_tensors()
            state["shape"] = x.shape
        it.set_tensor(inp, x)
        it.invoke()
        return it.get_tensor(out).copy()

    return run


def export_checkpoint(checkpoint, path, mode="float32", check_side=48, calibration=None):
    """Export a srkit checkpoint to LiteRT at ``path`` (atomically) and check
    it against Keras on a random input: returns (path, max abs difference,
    max rank). float32 must match within 1e-4 and every mode must keep ranks
    at ``MAX_RANK`` or below, else nothing is written."""
    import keras

    from . import checkpoints
    from .safewrite import write_file

    model, info = checkpoints.load(checkpoint, precision="float32", quantized=mode == "int8")
    if mode == "int8-static" and calibration is None:
        from .calibration import calibration_patches

        calibration = calibration_patches(info.scales[0], info.upsampling)
    content = convert(model, mode, calibration, keep_float=KEEP_FLOAT)
    x = np.random.default_rng(0).random((1, check_side, check_side, model.input.shape[-1]), dtype=np.float32)
    diff = float(np.max(np.abs(runner(content)(x) - keras.ops.convert_to_numpy(model(x)))))
    rank = max_rank(content)
    if rank > MAX_RANK:
        raise SRError(f"{checkpoint}: the LiteRT graph has a tensor of rank {rank} (at most {MAX_RANK} wanted)")
    if mode == "float32" and diff > 1e-4:
        raise SRError(f"{checkpoint}: LiteRT output differs from Keras by {diff:.2e}; nothing written")
    write_file(path, content, "LiteRT model")
    return path, diff, rank
