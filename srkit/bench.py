"""Inference speed benchmark (bench.py): analytic cost, measured time through
output.py's path (``inference.Upscaler``), achieved GFLOP/s against this
machine's measured peak (best dense kernel), peak RSS, and a comparison of execution paths.

Each model runs in a fresh process so its peak RSS is its own.
"""

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .errors import SRError


def flop_per_pixel(model, scale, upsampling):
    """Analytic FLOP per output pixel (= GFLOP per output megapixel x 1000):
    2 * k*k*Cin*Cout per position of every convolution, at the resolution it
    runs at."""
    from .layers import DepthToSpace

    factor = 1 if upsampling == "pre" else 1 / scale**2  # positions per output pixel
    flops = 0.0
    for layer in model.layers:
        if isinstance(layer, DepthToSpace):
            factor *= layer.block_size**2
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and len(kernel.shape) == 4:
            kh, kw, cin, cout = kernel.shape
            flops += 2 * kh * kw * cin * cout * factor
    return flops


# Dense kernels whose best rate is the yardstick ("peak"): a large matmul
# alone understates it, since oneDNN runs bfloat16 3x3 convolutions on AMX
# about 2x faster than TensorFlow's bfloat16 matmul.
PEAK_KERNELS = (("matmul", 2048), ("matmul", 3072), ("conv3x3", 64), ("conv3x3", 128))


def _kernel(kind, size, dtype):
    """One of the dense kernels: (call returning a numpy array, FLOP per call)."""
    from keras import ops

    rng = np.random.default_rng(0)
    if kind == "matmul":
        a = ops.cast(rng.random((size, size), dtype=np.float32), dtype)
        return (lambda: ops.convert_to_numpy(ops.matmul(a, a))), 2 * size**3
    # a 3x3 convolution, ``size`` channels in and out, on a 256x256 map
    x = ops.cast(rng.random((1, 256, 256, size), dtype=np.float32), dtype)
    k = ops.cast(rng.random((3, 3, size, size), dtype=np.float32) / size, dtype)
    return (lambda: ops.convert_to_numpy(ops.conv(x, k, padding="same"))), 2 * 9 * size * size * 256 * 256


def _best_rate(fn, flop, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return flop / best / 1e9


def _kernel_rate(kind, size, dtype, repeats):
    fn, flop = _kernel(kind, size, dtype)
    fn()
    return _best_rate(fn, flop, repeats)


def peak_gflops(dtype="float32", repeats=7):
    """This machine's best dense-arithmetic rate in ``dtype`` through the
    backend: (best GFLOP/s, {kernel: GFLOP/s}) over ``PEAK_KERNELS``, each
    the fastest of ``repeats`` runs (a peak, not a median)."""
    rates = {f"{kind} {size}": _kernel_rate(kind, size, dtype, repeats) for kind, size in PEAK_KERNELS}
    return max(rates.values()), rates


def _median_time(fn, repeats, slow=30.0, between=lambda: None):
    """Median seconds of ``repeats`` calls after a warm-up call (tracing,
    compilation). A call slower than ``slow`` seconds is timed once: the
    warm-up itself is the measurement (its tracing is then a few % of it).
    ``between`` runs before and after every timed call (untimed)."""
    between()
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    between()
    if first > slow:
        return first
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        between()
    return statistics.median(times)


# The kernels timed between a model's calls, in its process: this CPU's rate
# drifts by up to 3x over minutes, so a peak measured at another moment can
# be off by that much; one measured between the model's own calls is not.
LOCAL_KERNELS = (("conv3x3", 64), ("conv3x3", 128))


def _local_peak(precision):
    """(probe, rates): each probe call appends the best rate (GFLOP/s) of
    ``LOCAL_KERNELS`` at that moment to ``rates``."""
    kernels = [_kernel(kind, size, precision) for kind, size in LOCAL_KERNELS]
    for fn, _ in kernels:
        fn()
    rates = []
    return (lambda: rates.append(max(_best_rate(fn, flop, 3) for fn, flop in kernels))), rates


def paths(model, model_bf16=None, litert_too=False):
    """Ways to run the model on one array (TensorFlow backend gets more);
    ``model_bf16``: the same network computing in bfloat16; ``litert_too``:
    also the LiteRT interpreter, float32 and int8 (two conversions)."""
    import keras

    out = {"predict_on_batch": model.predict_on_batch}  # output.py: tf.function on TensorFlow
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        spec = [tf.TensorSpec([1, None, None, model.input.shape[-1]], tf.float32)]
        fixed = tf.function(lambda x: model(x, training=False), input_signature=spec)
        out["tf.function"] = lambda x: fixed(x).numpy()
        xla = tf.function(lambda x: model(x, training=False), jit_compile=True)
        out["xla"] = lambda x: xla(tf.constant(x)).numpy()
        if model_bf16 is not None:
            half = tf.function(lambda x: model_bf16(x, training=False), input_signature=spec)
            out["tf.function bf16"] = lambda x: half(x).numpy()
    from . import exporting, litert

    if litert_too and litert.available() is None:
        out["litert"] = litert.runner(litert.convert(model, "float32"))
        out["litert int8"] = litert.runner(litert.convert(model, "int8"))
    if exporting.available() is None:  # else ONNX Runtime (or tf2onnx) is not installed: nothing to compare
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:  # the session holds the graph once created
            out["onnxruntime"] = exporting.runner(exporting.export_model(model, Path(tmp) / "model.onnx"))
    return out


def alternated(fns, arg, repeats):
    """{name: median seconds} of each callable in ``fns`` on ``arg``, called
    in turn within each of ``repeats`` rounds (after one warm-up round), so
    their ratios compare the same moments of this machine."""
    times = {name: [] for name in fns}
    for _ in range(repeats + 1):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn(arg)
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts[1:]) for name, ts in times.items()}


def _int8_rows(model, scale, upsampling, sizes, repeats, rows):
    """Rows of output.py's int8 path (``--precision int8``: the LiteRT int8
    model of this model), timed alternately with the path of ``rows`` so
    their ratio ("speedup") compares the same moments of this machine.
    ``int8_ranges``: full-integer at a quantization-aware model's ranges,
    else activations quantized per call."""
    from . import litert, qat, quantize
    from .inference import Upscaler

    engine = quantize.engine(litert.convert(model, "int8"), scale, upsampling)
    out = []
    for row in rows:
        side = row["out_size"]
        lr = np.random.default_rng(0).integers(0, 256, (side // scale, side // scale, 3), dtype=np.uint8)
        median = alternated({"ref": row["upscaler"], "int8": Upscaler(model, scale, upsampling, engine=engine)},
                            lr, repeats)
        ref_s, secs = median["ref"], median["int8"]
        mpix = (side // scale * scale) ** 2 / 1e6
        out.append({**{k: v for k, v in row.items() if k != "upscaler"}, "precision": "int8", "seconds": secs,
                    "int8_ranges": bool(qat.fake_quants(model)),
                    "rss_mb": None,
                    "mpix_per_s": mpix / secs, "gflops": row["gflop_per_mpix"] * mpix / secs,
                    "local_peak_gflops": None, "local_peak_ratio": None, "paired_seconds": ref_s,
                    "paired_precision": row["precision"], "speedup": ref_s / secs})
    return out


def _quantization_aware(name, args, model):
    """The ``fake_quant`` form of ``model`` (same weights), its ranges
    calibrated on a random input: what the int8 path of a quantization-aware
    checkpoint converts (full-integer; its speed does not depend on the ranges)."""
    from . import qat

    fq = qat.aware(model, name, args)
    qat.calibrate(fq, name, {**args, "fake_quant": True},
                  [np.random.default_rng(2).random((1, 64, 64, model.input.shape[-1]), dtype=np.float32)])
    return fq


def measure_one(name, scale, sizes, repeats, compare, precision="float32", model_args=None, int8=False):
    """Run in a child process: rows for one model at one scale, computing in
    ``precision`` (the other precision joins the path comparison); built with
    ``model_args`` besides its defaults (e.g. the deeper BALANCED x2 shipped).
    ``int8``: also rows of the int8 path (``_int8_rows``)."""
    from . import models
    from .inference import Upscaler

    builder = models.get_builder(name)
    args = dict(model_args or {}, **({"scale": scale} if builder.upsampling == "post" else {}))
    fake_quant = args.pop("fake_quant", False)  # a quantization-aware model's float paths run its plain network
    model = models.build(name, precision=precision, **args)
    gpm = flop_per_pixel(model, scale, builder.upsampling) / 1e3  # GFLOP per output MP
    probe, local = _local_peak(precision)
    rows = []
    for out_side in sizes:
        lr = np.random.default_rng(0).integers(0, 256, (out_side // scale, out_side // scale, 3), dtype=np.uint8)
        up = Upscaler(model, scale, builder.upsampling)
        local.clear()
        secs = _median_time(lambda: up(lr), repeats, between=probe)
        mpix = (out_side // scale * scale) ** 2 / 1e6
        gflops, local_peak = gpm * mpix / secs, statistics.median(local)
        rows.append({"model": name, "args": dict(model_args or {}), "scale": scale, "out_size": out_side,
                     "precision": precision, "seconds": secs,
                     "mpix_per_s": mpix / secs, "gflop_per_mpix": gpm, "gflops": gflops,
                     "local_peak_gflops": local_peak, "local_peak_ratio": gflops / local_peak, "upscaler": up})
    # peak RSS of output.py's path (plus up to ~120 MB, measured, for the local-peak kernels),
    # taken before the int8 rows and the comparison (XLA and the conversions take far more)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for row in rows:
        row["rss_mb"] = rss
    if int8:
        f32 = models.build(name, precision="float32", **args)
        f32.set_weights(model.get_weights())
        base = list(rows)
        if fake_quant:  # full-integer, and beside it the per-call kind the plain checkpoint would run
            rows += _int8_rows(_quantization_aware(name, args, f32), scale, builder.upsampling, sizes, repeats, base)
        rows += _int8_rows(f32, scale, builder.upsampling, sizes, repeats, base)
    for row in rows:
        row.pop("upscaler", None)
    if compare:  # raw paths on the whole model input at the smallest size, no tiling
        row = min((r for r in rows if r["precision"] == precision), key=lambda r: r["out_size"])
        side = row["out_size"] if builder.upsampling == "pre" else row["out_size"] // scale
        inp = np.random.default_rng(1).random((1, side, side, 3), dtype=np.float32)
        other = models.build(name, precision="bfloat16" if precision == "float32" else "float32", **args)
        other.set_weights(model.get_weights())
        f32, bf16 = (model, other) if precision == "float32" else (other, model)
        row["paths"] = {k: _median_time(lambda f=f: f(inp), repeats) for k, f in paths(f32, bf16, int8).items()}
    return rows


def run(names, sizes, repeats, compare, json_path=None, log=print, precision="auto", scales=(2, 3, 4), int8=False):
    """Rows through output.py's path, in the precision output.py would use
    (``precision="auto"``); achieved GFLOP/s is compared with the peak
    measured in that same precision. ``names`` holds registry names or
    (name, builder arguments) pairs for variants. ``int8``: also rows of
    ``--precision int8``, each timed alternately with its ``precision`` row."""
    from . import models
    from .inference import resolve_precision

    precision = resolve_precision(precision)
    # This CPU's rate drifts over time (the same kernels run up to 2x faster
    # for a while), so the peak is measured before and after the models and
    # the higher kept: rows then compare with the fast state.
    kernels = {dt: {} for dt in ("float32", "bfloat16")}

    def measure_peaks(when):
        for dt in kernels:
            _, rates = peak_gflops(dtype=dt)
            kernels[dt] = {k: max(v, kernels[dt].get(k, 0.0)) for k, v in rates.items()}
            log(f"peak {dt} ({when}): " + ", ".join(f"{k} {v:.1f}" for k, v in rates.items()) + " GFLOP/s")

    measure_peaks("before")
    log(f"models run in {precision}")
    results = []
    for entry in names:
        name, model_args = (entry, {}) if isinstance(entry, str) else entry
        builder = models.get_builder(name)
        for scale in ([s for s in scales if s in (2, 3, 4)] if builder.upsampling == "post" else [2]):
            cmd = [sys.executable, "-c", "import json,sys; from srkit.bench import measure_one; "
                   f"print('ROWS' + json.dumps(measure_one({name!r}, {scale}, {list(sizes)}, {repeats}, {compare}, "
                   f"{precision!r}, {dict(model_args)!r}, {bool(int8)})))"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            line = next((ln for ln in r.stdout.splitlines() if ln.startswith("ROWS")), None)
            if r.returncode or line is None:
                raise SRError(f"benchmark of {name} x{scale} failed: {r.stderr.strip().splitlines()[-1:]}")
            for row in json.loads(line[4:]):
                results.append(row)
                log(f"{models.label(name, model_args)} x{scale} {row['out_size']}px {row['precision']}: "
                    f"{row['seconds']:.3f} s, {row['mpix_per_s']:.3f} MP/s, {row['gflops']:.1f} GFLOP/s")
    measure_peaks("after")
    peaks = {dt: max(rates.values()) for dt, rates in kernels.items()}
    peak = peaks[precision]
    for row in results:
        row["peak_ratio"] = row["gflops"] / peak if row["precision"] == precision else None
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"peak_gflops": peak, "precision": precision, "peaks": peaks, "peak_kernels": kernels,
                       "results": results}, f, indent=2)
    return peak, results


def markdown(peak, results):
    from .models import label

    precision = results[0].get("precision", "float32") if results else "float32"
    lines = [f"Measured peak ({precision}, best of matmul and 3x3 convolution kernels, before and after the "
             f"models): {peak:.1f} GFLOP/s; "
             f"models run in {precision}", "",
             "| Model | Scale | Output | GFLOP/MP | Median s | MP/s | GFLOP/s | % of peak | Local peak | % of local "
             "| Peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in results if r["precision"] == precision):
        lines.append(f"| {label(r['model'], r.get('args', {}))} | x{r['scale']} | {r['out_size']}² | "
                     f"{r['gflop_per_mpix']:.0f} | "
                     f"{r['seconds']:.3f} | {r['mpix_per_s']:.3f} | {r['gflops']:.1f} | {r['peak_ratio']:.0%} | "
                     f"{r['local_peak_gflops']:.0f} | {r['local_peak_ratio']:.0%} | {r['rss_mb']:.0f} |")
    int8 = [r for r in results if r["precision"] == "int8"]
    if int8:
        lines += ["", f"int8 (`--precision int8`, LiteRT) against {precision}, timed alternately in one loop, "
                  "median seconds (activations: full-integer at a quantization-aware checkpoint's ranges, "
                  "or quantized per call):", "",
                  f"| Model | Scale | Output | Activations | {precision} s | int8 s | Speed-up |",
                  "|---|---|---|---|---|---|---|"]
        for r in int8:
            kind = "full-integer" if r.get("int8_ranges") else "per call"
            lines.append(f"| {label(r['model'], r.get('args', {}))} | x{r['scale']} | {r['out_size']}² | {kind} | "
                         f"{r['paired_seconds']:.3f} | {r['seconds']:.3f} | {r['speedup']:.2f}x |")
    compared = [r for r in results if "paths" in r]
    if compared:
        keys = list(compared[0]["paths"])
        lines += ["", "Execution paths, whole input, median seconds:", "",
                  "| Model | Scale | Output | " + " | ".join(keys) + " |", "|---|---|---|" + "---|" * len(keys)]
        for r in compared:
            lines.append(f"| {label(r['model'], r.get('args', {}))} | x{r['scale']} | {r['out_size']}² | "
                         + " | ".join(f"{r['paths'][k]:.3f}" for k in keys) + " |")
    return "\n".join(lines)
