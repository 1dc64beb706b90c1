"""ONNX export: the exported graph computes what Keras computes, for a pre-
and a post-upsampling model (depth-to-space included), at any input size."""

import numpy as np
import pytest

from conftest import run_script
from srkit import checkpoints, exporting, models

pytestmark = pytest.mark.skipif(exporting.available() is not None, reason=str(exporting.available()))


def _random_checkpoint(path, name, args, scale):
    import keras

    model = models.build(name, **args)
    rng = np.random.default_rng(1)  # non-trivial weights: fresh residual models start as the identity
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])
    checkpoints.save(path, model, name, args, scale, {"step": 0})
    return model, keras


@pytest.mark.parametrize("name,args,scale", [("VDSR", {"depth": 3, "filters": 8}, 2),
                                             ("FAST", {"scale": 3, "blocks": 1, "filters": 8}, 3),
                                             ("FAST", {"scale": 4, "blocks": 1, "filters": 8}, 4),
                                             ("SPAN", {"scale": 2, "blocks": 2, "filters": 8}, 2)])
def test_onnx_runtime_matches_keras(tmp_path, name, args, scale):
    model, keras = _random_checkpoint(tmp_path / "m.h5", name, args, scale)
    path, diff = exporting.export_checkpoint(tmp_path / "m.h5", tmp_path / "m.onnx")
    assert diff < 1e-4
    run = exporting.runner(path)
    x = np.random.default_rng(2).random((1, 21, 34, 3), dtype=np.float32)  # another, odd size
    y = run(x)
    ref = keras.ops.convert_to_numpy(model(x))
    grow = 1 if name == "VDSR" else scale
    assert y.shape == ref.shape == (1, 21 * grow, 34 * grow, 3)
    assert np.max(np.abs(y - ref)) < 1e-4 and np.std(ref) > 0.01


@pytest.mark.slow
def test_network_cli_exports_a_checkpoint(tmp_path):
    _random_checkpoint(tmp_path / "fast.h5", "FAST", {"scale": 2, "blocks": 1, "filters": 8}, 2)
    r = run_script("network.py", "--onnx", tmp_path / "fast.h5")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "fast.onnx").stat().st_size > 1000 and "max difference" in r.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
