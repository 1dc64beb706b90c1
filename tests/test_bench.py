"""bench.py: analytic cost, the JSON it writes, and the precision it runs in."""

import json

import numpy as np
import pytest

from conftest import run_script
from srkit import bench, exporting, litert, models
from srkit.inference import resolve_precision


def test_flop_per_pixel_counts_every_kernel_at_its_resolution():
    vdsr = models.build("VDSR")
    kernels = sum(int(np.prod(w.shape)) for w in vdsr.weights if len(w.shape) == 4)
    assert bench.flop_per_pixel(vdsr, 2, "pre") == 2 * kernels
    fast = models.build("FAST", scale=2)
    body = sum(int(np.prod(layer.kernel.shape)) for layer in fast.layers if hasattr(layer, "kernel"))
    # every conv of FAST x2 runs at LR resolution: a quarter of the output positions
    assert bench.flop_per_pixel(fast, 2, "post") == 2 * body / 4


@pytest.mark.slow
def test_bench_json(tmp_path):
    out = tmp_path / "b.json"
    r = run_script("bench.py", "--models", "FAST", "--sizes", "96", "--repeats", "1", "--json", out)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(out.read_text())
    precision = resolve_precision("auto")
    assert doc["precision"] == precision and doc["peak_gflops"] == doc["peaks"][precision] > 0
    assert doc["peak_gflops"] == max(doc["peak_kernels"][precision].values())
    assert set(doc["peak_kernels"][precision]) == {"matmul 2048", "matmul 3072", "conv3x3 64", "conv3x3 128"}
    rows = doc["results"]
    assert [(row["model"], row["scale"]) for row in rows] == [("FAST", 2), ("FAST", 3), ("FAST", 4)]
    for row in rows:
        assert {"model", "scale", "out_size", "seconds", "mpix_per_s", "gflop_per_mpix", "gflops", "peak_ratio",
                "rss_mb"} <= set(row)
        assert row["seconds"] > 0 and row["rss_mb"] > 100
        # the peak measured between the model's own calls, in its process
        assert row["local_peak_gflops"] > 0
        assert abs(row["local_peak_ratio"] * row["local_peak_gflops"] - row["gflops"]) < 1e-6 * row["gflops"]
        assert abs(row["gflops"] - row["gflop_per_mpix"] * (96 // row["scale"] * row["scale"]) ** 2 / 1e6
                   / row["seconds"]) < 1e-6 * row["gflops"]
        onnx = {"onnxruntime"} if exporting.available() is None else set()  # requirements-dev.txt installs it
        assert {"predict_on_batch", "tf.function", "xla", "tf.function bf16"} | onnx <= set(row["paths"])
    assert "| FAST | x3 | 96² |" in r.stdout


@pytest.mark.slow
def test_bench_builds_models_with_the_arguments_given(tmp_path):
    """--variant and --scales: a shipped variant (e.g. a deeper BALANCED x2) is
    timed as built beside the registry's default, and its rows say which
    arguments it had."""
    out = tmp_path / "b.json"
    r = run_script("bench.py", "--models", "SRCNN", "--variant", "FAST", '{"blocks": 1, "filters": 8}',
                   "--scales", "3", "--sizes", "48", "--repeats", "1", "--no-compare", "--int8", "--json", out)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(out.read_text())
    rows = [row for row in doc["results"] if row["precision"] == doc["precision"]]
    assert [(row["model"], row["args"], row["scale"]) for row in rows] == [
        ("SRCNN", {}, 2), ("FAST", {"blocks": 1, "filters": 8}, 3)]  # pre-upsampling models run at x2
    # --int8: each model's int8 row beside its default one, timed in the same loop
    int8 = [row for row in doc["results"] if row["precision"] == "int8"]
    assert [(row["model"], row["scale"], row["paired_precision"]) for row in int8] == [
        ("SRCNN", 2, doc["precision"]), ("FAST", 3, doc["precision"])]
    for row in int8:
        assert row["seconds"] > 0 and abs(row["speedup"] - row["paired_seconds"] / row["seconds"]) < 1e-9
    assert "| FAST (blocks=1, filters=8) | x3 | 48² |" in r.stdout and "| Speed-up |" in r.stdout
    small = models.build("FAST", scale=3, blocks=1, filters=8)
    assert rows[1]["gflop_per_mpix"] == bench.flop_per_pixel(small, 3, "post") / 1e3
    assert "| FAST (blocks=1, filters=8) | x3 | 48² |" in r.stdout
    bad = run_script("bench.py", "--variant", "FAST", '{"scale": 2}')
    assert bad.returncode == 2 and "--scales" in bad.stderr


@pytest.mark.slow
def test_layer_timing_script_times_every_output_conv_both_ways_and_each_srcnn_layer():
    import re

    r = run_script("scripts/measure_layers.py", "--side", "48")
    assert r.returncode == 0, r.stderr[-2000:]
    for name, shape in [("SRCNN", "5x5, 32"), ("VDSR", "3x3, 64"), ("SMALL", "3x3, 704"), ("LARGE", "3x3, 128")]:
        assert re.search(rf"\| {name} \| {shape} -> 3 \| \d+\.\d{{4}} \| \d+\.\d{{4}} \| \d+\.\d{{2}}x \|", r.stdout)
    assert f"SRCNN at 48x48, {resolve_precision('auto')}" in r.stdout
    for layer in ("conv_1 (Conv2D)", "conv_2 (Conv2D)", "conv_out (NarrowConv2D) | float32", "whole model"):
        assert layer in r.stdout


@pytest.mark.skipif(litert.available() is not None, reason=str(litert.available()))
def test_a_quantization_aware_variant_times_its_plain_network_and_converts_its_ranges(monkeypatch):
    """--variant FAST '{"fake_quant": true}': the default path is the float
    network the checkpoint's float paths run; the int8 row, the full-integer
    model from its (calibrated) ranges, as --precision int8 runs it."""
    from srkit import qat

    converted = []
    real = litert.convert
    monkeypatch.setattr(litert, "convert", lambda model, *a, **k: converted.append(model) or real(model, *a, **k))
    args = {"blocks": 1, "filters": 8}
    rows = bench.measure_one("FAST", 2, [48], 1, False, "float32", {**args, "fake_quant": True}, int8=True)
    # beside the full-integer row, the per-call kind (what the plain checkpoint would run), for comparison
    assert [(r["precision"], r.get("int8_ranges")) for r in rows] == [("float32", None), ("int8", True),
                                                                      ("int8", False)]
    assert rows[0]["args"]["fake_quant"]
    assert rows[0]["gflop_per_mpix"] == bench.flop_per_pixel(models.build("FAST", scale=2, **args), 2, "post") / 1e3
    aware, plain = converted
    assert len(qat.fake_quants(aware)) == 3 + 3 and qat.calibrated(aware) and not qat.fake_quants(plain)
    assert "QUANTIZE" in litert.op_names(real(aware, "int8"))  # full-integer: the input is quantized once
    assert "QUANTIZE" not in litert.op_names(real(plain, "int8"))
