"""ONNX export of a checkpoint, checked against Keras, and an ONNX Runtime
runner (bench.py compares it with the TensorFlow paths).

Needs ``onnx``, ``onnxruntime`` and ``tf2onnx`` (requirements-dev.txt) and
the TensorFlow backend, which Keras's ONNX export uses. The exported graph is
the plain float32 network: pre-upsampling models take the bicubic-enlarged
image (``degradations.pre_upscale``), post-upsampling ones the LR image; NHWC,
float32 in [0, 1], any height and width.
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np

from .errors import SRError


def available():
    """None when ONNX export and ONNX Runtime can run here, else the reason."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return f"Keras's ONNX export needs the TensorFlow backend (this is {keras.backend.backend()})"
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install onnx onnxruntime tf2onnx)"
    return None


def export_model(model, path):
    """Write ``model`` as ONNX to ``path`` atomically; returns ``path``."""
    from .safewrite import atomic_path

    reason = available()
    if reason:
        raise SRError(f"cannot export to ONNX: {reason}")
    model(np.zeros((1, 16, 16, model.input.shape[-1]), np.float32))  # export wants a called model
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "model.onnx"
        model.export(str(staged), format="onnx", verbose=False)
        with atomic_path(path) as out:
            shutil.copyfile(staged, out)
    return Path(path)


def runner(path, threads=0):
    """Callable: float32 NHWC batch -> the ONNX model's output (ONNX Runtime,
    CPU; ``threads`` 0 lets it choose)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: np.ascontiguousarray(x, np.float32)})[0]


def export_checkpoint(checkpoint, path, check_side=48):
    """Export a srkit checkpoint to ONNX and check that ONNX Runtime gives the
    Keras output on a random input; returns (path, max abs difference)."""
    import keras

    from . import checkpoints

    model, info = checkpoints.load(checkpoint, precision="float32")
    export_model(model, path)
    x = np.random.default_rng(0).random((1, check_side, check_side, model.input.shape[-1]), dtype=np.float32)
    diff = float(np.max(np.abs(runner(path)(x) - keras.ops.convert_to_numpy(model(x)))))
    if diff > 1e-4:
        Path(path).unlink()
        raise SRError(f"{checkpoint}: ONNX Runtime output differs from Keras by {diff:.2e}; export removed")
    return Path(path), diff
