"""train.py end to end on tiny models and images: exact resume, validation
equal to evaluate.py, SIGTERM, both backends, data parallel, bad input,
export, plots and the GPU run script (on CPU with a tiny budget)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, TINY_TRAIN, random_image, run_script, save_tiny_checkpoint
from srkit import checkpoints
from srkit.io import file_sha256
from srkit.trainlog import read_log

TINY = TINY_TRAIN


def train(data, run_dir, *extra, env=None):
    args = [*TINY, "--data", data / "train", "--data-root", data, "--val-data", "Val", "--run-dir", run_dir, *extra]
    r = run_script("train.py", *args, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def full_run(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "full"
    train(data, run, "--steps", "20")
    return run


def _weights(path):
    model, info = checkpoints.load(path)
    return model.get_weights(), info


@pytest.mark.slow
def test_resume_equals_uninterrupted(data, full_run, tmp_path):
    run = tmp_path / "split"
    train(data, run, "--steps", "7")
    r = run_script("train.py", "--resume", run, "--steps", "20")
    assert r.returncode == 0, r.stderr[-3000:]
    a, info_a = _weights(full_run / "last.h5")
    b, info_b = _weights(run / "last.h5")
    assert info_a.metadata["step"] == info_b.metadata["step"] == 20
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)) < 1e-6
    rows = read_log(run / "log.csv")
    assert [int(r["step"]) for r in rows] == [5, 7, 10, 15, 20]
    assert float(rows[-1]["val_psnr"]) == pytest.approx(float(read_log(full_run / "log.csv")[-1]["val_psnr"]), abs=1e-4)


@pytest.mark.slow
def test_validation_psnr_equals_evaluate_py(data, full_run, tmp_path):
    info = checkpoints.read_info(full_run / "best.h5")
    out = tmp_path / "e.json"
    r = run_script("evaluate.py", "--datasets", "Val", "--scales", "2", "--weights", full_run / "best.h5",
                   "--data-root", data, "--json", out, "--no-plot", "--no-combined")
    assert r.returncode == 0, r.stderr
    (row,) = [r for r in json.loads(out.read_text())["results"] if r["model"] == "best"]
    assert row["psnr"] == pytest.approx(info.metadata["best_psnr"], abs=1e-9)
    assert row["ssim"] == pytest.approx(info.metadata["best_ssim"], abs=1e-9)


@pytest.mark.slow
def test_run_folder_contents_export_and_plot(full_run, tmp_path):
    for name in ("last.h5", "best.h5", "log.csv", "config.json", "curves.png"):
        assert (full_run / name).exists(), name
    assert list((full_run / "tensorboard").iterdir())
    rows = read_log(full_run / "log.csv")
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[0]
    dst = tmp_path / "VDSR_x2.h5"
    r = run_script("train.py", "--export", full_run, "--to", dst)
    assert r.returncode == 0, r.stderr
    model_a, _ = _weights(full_run / "best.h5")
    model_b, info = _weights(dst)
    assert all(np.array_equal(x, y) for x, y in zip(model_a, model_b))
    assert info.metadata["data"]["images"] == 4 and info.scales == [2]
    _, _, opt = checkpoints.load(dst, with_optimizer=True)
    assert opt is None  # weights/ stays lean
    card = json.loads(dst.with_suffix(".json").read_text())
    assert card["architecture"] == "VDSR" and card["steps"] == 20 and card["batch"] == 4
    assert card["parameters"] == sum(w.size for w in model_b)
    assert card["validation"]["psnr"] == pytest.approx(info.metadata["best_psnr"])


@pytest.mark.slow
def test_sigterm_leaves_a_loadable_checkpoint(data, tmp_path):
    run = tmp_path / "term"
    args = [*TINY, "--data", data / "train", "--no-val", "--run-dir", run, "--steps", "100000", "--log-every", "2"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not ((run / "log.csv").exists() and read_log(run / "log.csv")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "SIGTERM" in err
    _, info = _weights(run / "last.h5")
    assert 2 <= info.metadata["step"] < 100000


@pytest.mark.slow
def test_jax_backend_trains(data, tmp_path):
    pytest.importorskip("jax")
    run = tmp_path / "jax"
    train(data, run, "--steps", "10", "--log-every", "1", env={"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"})
    _, info = _weights(run / "last.h5")
    assert info.metadata["backend"] == "jax" and info.metadata["step"] == 10
    assert np.isfinite(info.metadata["best_psnr"])


@pytest.mark.slow
def test_mixed_precision_and_clipping_run_under_jax(data, tmp_path):
    pytest.importorskip("jax")
    run = tmp_path / "mp"
    train(data, run, "--steps", "4", "--log-every", "2", "--mixed-precision", "--clipnorm", "1.0",
          env={"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"})
    model, info = checkpoints.load(run / "last.h5")
    assert info.metadata["precision"] == "mixed_bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)  # float32 master weights
    losses = [float(r["loss"]) for r in read_log(run / "log.csv")]
    assert all(np.isfinite(losses)) and losses[-1] < 0.5


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_data_parallel_on_two_virtual_cpus(data, tmp_path, backend):
    if backend == "jax":
        pytest.importorskip("jax")
    env = {"KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    single = tmp_path / "single"
    train(data, single, "--steps", "3", "--log-every", "1", "--no-val", env=env)
    dist_env = {**env, "SRKIT_VIRTUAL_DEVICES": "2", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    dist = tmp_path / "dist"
    r = train(data, dist, "--steps", "3", "--log-every", "1", "--no-val", "--distribute", env=dist_env)
    assert "data parallel over 2 devices" in r.stderr
    # same batches, same starting weights: the first step's loss is the same
    # number whether computed on one device or averaged over two
    first = [float(read_log(run / "log.csv")[0]["loss"]) for run in (single, dist)]
    assert first[1] == pytest.approx(first[0], rel=1e-5)
    a, _ = _weights(single / "last.h5")
    b, _ = _weights(dist / "last.h5")
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)) < 5e-3  # 3 Adam steps of lr 1e-3
    # the weight average runs inside the distributed step and leaves training itself unchanged
    averaged = tmp_path / "dist_ema"
    train(data, averaged, "--steps", "3", "--log-every", "1", "--no-val", "--distribute", "--ema", "0.5", env=dist_env)
    c, _ = _weights(averaged / "last.h5")
    avg, _ = _weights(averaged / "best.h5")
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(b, c)) < 1e-6
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(c, avg)) > 1e-5


def _one_line_error(r, *needles):
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    (line,) = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    for n in needles:
        assert str(n) in line, line


@pytest.mark.slow
def test_bad_input(data, tmp_path, full_run):
    empty = tmp_path / "empty"
    empty.mkdir()
    Image.fromarray(random_image(8, 8)).save(empty / "small.png")
    base = [*TINY, "--steps", "2", "--no-val", "--run-dir", tmp_path / "x"]
    _one_line_error(run_script("train.py", *base, "--data", empty), empty, "no usable training image")
    assert not (tmp_path / "x").exists()  # a refused call leaves no run folder behind
    _one_line_error(run_script("train.py", *base, "--data", tmp_path / "nope"), tmp_path / "nope", "does not exist")
    _one_line_error(run_script("train.py", *base, "--data", data / "train", "--model", "EDSR9"), "unknown model")
    _one_line_error(run_script("train.py", "--resume", full_run, "--model", "LARGE"), "resume checkpoint is VDSR")
    other = tmp_path / "large.h5"
    save_tiny_checkpoint(other, "LARGE", {"filters": 4, "blocks": 1})
    _one_line_error(run_script("train.py", *base, "--data", data / "train", "--init-from", other), "holds LARGE")


@pytest.mark.slow
def test_corrupt_image_is_skipped_and_training_goes_on(data, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for p in (data / "train").iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    r = train(data, tmp_path / "run", "--steps", "2", "--no-val", "--data", folder)
    assert "warning: skipping" in r.stderr and "zz_broken.jpg" in r.stderr


@pytest.mark.slow
def test_gpu_script_on_cpu_with_tiny_budget(data, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "MINUTES": "0.02", "RUN": str(tmp_path / "gpurun"), "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [*TINY, "--data", data / "train", "--data-root", data, "--val-data", "Val", "--steps", "100000"]
    r = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_train.sh"), *map(str, args)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "backend jax" in r.stdout
    assert r.stdout.strip().splitlines()[-1].startswith("final validation PSNR: ")
    assert "None" not in r.stdout.strip().splitlines()[-1]
    assert all(p.stat().st_size < 16 * 2**20 for p in out.iterdir())
    from srkit import pieces

    joined = pieces.join(out / "best.h5.pieces.json", tmp_path / "best.h5")
    _, info = _weights(joined)
    assert info.metadata["backend"] == "jax"


@pytest.mark.slow  # eight short training runs in this process
def test_a_budget_run_ends_validated_wherever_the_clock_runs_out(data, tmp_path, monkeypatch):
    # The budget ran out between two clock checks on a slow CI machine and the run ended unvalidated. Let the
    # clock run out at the k-th check, for every k around the first log row and the first validation.
    import train as train_script
    from srkit import training

    for k in range(2, 10):
        calls = iter(range(1, 10**6))
        monkeypatch.setattr(training.Trainer, "_budget_over", lambda self: next(calls) > k)
        run = tmp_path / f"k{k}"
        args = [*TINY, "--data", data / "train", "--data-root", data, "--val-data", "Val", "--steps", "1000",
                "--minutes", "1", "--run-dir", run]
        assert train_script.main(list(map(str, args))) == 0
        meta = checkpoints.read_info(run / "best.h5").metadata
        assert meta["best_psnr"] is not None and meta["state"]["best_step"] == meta["step"], (k, meta["step"])


@pytest.mark.slow
def test_post_upsampling_model_trains_at_its_scale(data, tmp_path):
    run = tmp_path / "fast"
    args = ["--model", "FAST", "--model-args", '{"blocks": 1, "filters": 8}', "--patch", "24", "--batch", "4",
            "--steps", "4", "--val-every", "4", "--log-every", "2", "--data", data / "train", "--data-root", data,
            "--val-data", "Val"]
    r = run_script("train.py", *args, "--scale", "3", "--run-dir", run)
    assert r.returncode == 0, r.stderr[-2000:]
    model, info = _weights(run / "best.h5")
    assert info.args["scale"] == 3 and info.scales == [3]
    assert np.isfinite(info.metadata["best_psnr"])
    _one_line_error(run_script("train.py", *args, "--scale", "2", "3", "--run-dir", tmp_path / "x"),
                    "one scale at a time")


@pytest.mark.slow
def test_rescale_is_recorded_and_kept_on_resume(data, tmp_path):
    train(data, tmp_path / "r", "--steps", "2", "--no-val", "--rescale", "0.9", "0.8")
    meta = checkpoints.read_info(tmp_path / "r" / "last.h5").metadata
    assert meta["data"]["rescale"] == [0.9, 0.8] and meta["data"]["rescaled_copies"] == 8
    r = run_script("train.py", "--resume", tmp_path / "r", "--steps", "3")
    assert r.returncode == 0, r.stderr[-2000:]
    assert checkpoints.read_info(tmp_path / "r" / "last.h5").metadata["data"]["rescale"] == [0.9, 0.8]
    bad = tmp_path / "bad"
    _one_line_error(run_script("train.py", *TINY, "--data", data / "train", "--no-val", "--rescale", "2",
                               "--run-dir", bad), "rescale factors")
    assert not bad.exists()


@pytest.mark.slow
def test_resume_of_a_fine_tuning_run_keeps_its_own_weights(data, tmp_path):
    start = tmp_path / "start.h5"
    save_tiny_checkpoint(start, "VDSR", {"depth": 3, "filters": 8})
    common = ["--init-from", start, "--no-val", "--log-every", "3"]
    train(data, tmp_path / "whole", "--steps", "6", *common)
    train(data, tmp_path / "split", "--steps", "3", *common)
    r = run_script("train.py", "--resume", tmp_path / "split", "--steps", "6")
    assert r.returncode == 0, r.stderr[-2000:]
    a, _ = _weights(tmp_path / "whole" / "last.h5")
    b, _ = _weights(tmp_path / "split" / "last.h5")
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)) < 1e-6


@pytest.mark.slow
def test_resume_may_change_precision_and_the_card_says_so(data, tmp_path):
    run = tmp_path / "prec"
    train(data, run, "--steps", "3", "--no-val")
    r = run_script("train.py", "--resume", run, "--steps", "6", "--precision", "mixed_bfloat16")
    assert r.returncode == 0, r.stderr[-2000:]
    _, info = _weights(run / "last.h5")
    assert info.metadata["step"] == 6 and info.metadata["precision"] == "mixed_bfloat16"
    segments = info.metadata["state"]["segments"]
    assert [(s["from_step"], s["schedule_steps"], s["precision"]) for s in segments] == [
        (0, 3, "float32"), (3, 6, "mixed_bfloat16")]
    assert run_script("train.py", "--export", run, "--which", "last", "--to", tmp_path / "w.h5").returncode == 0
    card = json.loads((tmp_path / "w.json").read_text())
    assert [s["precision"] for s in card["segments"]] == ["float32", "mixed_bfloat16"]
    table = run_script("network.py", "--weights", tmp_path)
    assert table.returncode == 0, table.stderr[-2000:]
    assert "| w.h5 | VDSR (depth=3, filters=8) |" in table.stdout and "| 3 float32 + 3 mixed_bfloat16 |" in table.stdout


@pytest.mark.slow
def test_resume_may_restart_the_learning_rate(data, tmp_path):
    run = tmp_path / "lr"
    train(data, run, "--steps", "3", "--no-val", "--lr", "1e-3", "--log-every", "1")
    r = run_script("train.py", "--resume", run, "--steps", "5", "--lr", "2e-4", "--patience", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    _, info = _weights(run / "last.h5")
    assert info.metadata["config"]["lr"] == 2e-4 and info.metadata["config"]["patience"] == 2
    assert "restart_lr" not in info.metadata["config"]
    assert [s["lr"] for s in info.metadata["state"]["segments"]] == [1e-3, 2e-4]
    rows = (run / "log.csv").read_text().splitlines()[1:]
    assert [float(r.split(",")[2]) for r in rows] == [1e-3] * 3 + [2e-4] * 2


@pytest.mark.slow
def test_x3_fine_tunes_from_x2_weights(data, tmp_path):
    base = ["--model", "FAST", "--model-args", '{"blocks": 1, "filters": 8}', "--patch", "24", "--batch", "4",
            "--no-val", "--log-every", "2", "--data", data / "train"]
    train_x2 = run_script("train.py", *base, "--scale", "2", "--steps", "2", "--run-dir", tmp_path / "x2")
    assert train_x2.returncode == 0, train_x2.stderr[-2000:]
    r = run_script("train.py", *base, "--scale", "3", "--steps", "1", "--lr", "0", "--run-dir", tmp_path / "x3",
                   "--init-from", tmp_path / "x2" / "last.h5")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "new layers: upsample0_conv" in r.stderr
    x2, _ = checkpoints.load(tmp_path / "x2" / "last.h5")
    x3, info = checkpoints.load(tmp_path / "x3" / "last.h5")
    assert info.metadata["state"]["init_from"]["scale"] == 2
    assert info.metadata["state"]["init_from"]["step"] == 2
    for name in ("conv_in", "block0_conv1", "conv_body"):  # lr 0: the transferred body is unchanged
        for a, b in zip(x2.get_layer(name).get_weights(), x3.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert x3.get_layer("upsample0_conv").get_weights()[0].shape[-1] == 27


@pytest.mark.slow
def test_a_deeper_model_grows_from_trained_weights_and_starts_where_they_ended(data, tmp_path):
    base = ["--model", "BALANCED", "--scale", "2", "--patch", "24", "--batch", "4", "--no-val", "--log-every", "2",
            "--data", data / "train"]
    small = run_script("train.py", *base, "--model-args", '{"blocks": 1, "filters": 8}', "--steps", "2",
                       "--run-dir", tmp_path / "b1")
    assert small.returncode == 0, small.stderr[-2000:]
    r = run_script("train.py", *base, "--model-args", '{"blocks": 2, "filters": 8}', "--steps", "1", "--lr", "0",
                   "--run-dir", tmp_path / "b2", "--init-from", tmp_path / "b1" / "last.h5")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "new layers: block1_conv1, block1_conv2" in r.stderr
    b1, _ = checkpoints.load(tmp_path / "b1" / "last.h5")
    b2, info = checkpoints.load(tmp_path / "b2" / "last.h5")
    parent = info.metadata["state"]["init_from"]
    assert info.args["blocks"] == 2 and parent["step"] == 2
    # the record names what the path held then, so it survives the path later holding the grown model
    assert parent["args"] == {"blocks": 1, "filters": 8, "scale": 2} and parent["from"] is None
    assert parent["sha256"] == file_sha256(tmp_path / "b1" / "last.h5")
    x = np.random.default_rng(1).random((1, 9, 11, 3)).astype("float32")
    np.testing.assert_allclose(b2.predict(x, verbose=0), b1.predict(x, verbose=0), atol=1e-6)
    shrink = run_script("train.py", *base, "--model-args", '{"blocks": 1, "filters": 8}', "--steps", "1",
                        "--run-dir", tmp_path / "b0", "--init-from", tmp_path / "b2" / "last.h5")
    assert shrink.returncode == 2 and "added, not removed" in shrink.stderr


@pytest.mark.slow
def test_quantization_aware_training_calibrates_resumes_exactly_and_exports_its_ranges(data, tmp_path):
    base = ["--model", "FAST", "--scale", "2", "--patch", "24", "--batch", "4", "--log-every", "2",
            "--data", data / "train", "--data-root", data, "--val-data", "Val", "--val-every", "4"]
    plain = run_script("train.py", *base, "--model-args", '{"blocks": 1, "filters": 8}', "--steps", "2",
                       "--run-dir", tmp_path / "plain")
    assert plain.returncode == 0, plain.stderr[-2000:]
    qat_args = [*base, "--model-args", '{"blocks": 1, "filters": 8, "fake_quant": true}',
                "--init-from", tmp_path / "plain" / "last.h5", "--lr", "1e-3"]
    r = run_script("train.py", *qat_args, "--steps", "4", "--run-dir", tmp_path / "full")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "new layers: conv_in_fq, block0_conv1_fq" in r.stderr and "int8 ranges calibrated" in r.stderr
    r = run_script("train.py", *qat_args, "--steps", "2", "--run-dir", tmp_path / "split")
    assert r.returncode == 0, r.stderr[-2000:]
    r = run_script("train.py", "--resume", tmp_path / "split", "--steps", "4")
    assert r.returncode == 0 and "calibrated" not in r.stderr, r.stderr[-2000:]  # the run's own ranges go on
    a, _ = checkpoints.load(tmp_path / "full" / "last.h5", quantized=True)
    b, _ = checkpoints.load(tmp_path / "split" / "last.h5", quantized=True)
    assert len(a.weights) == len(b.weights) == 10 + 2 * 6  # five convs (weights, bias), six ranges
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(a.get_weights(), b.get_weights())) < 1e-6
    r = run_script("train.py", "--export", tmp_path / "full", "--to", tmp_path / "w.h5")
    assert r.returncode == 0, r.stderr[-2000:]
    shipped, info = checkpoints.load(tmp_path / "w.h5", quantized=True)
    assert info.args["fake_quant"] and len(shipped.weights) == len(a.weights)
    card = json.loads((tmp_path / "w.json").read_text())
    assert card["parameters"] == checkpoints.load(tmp_path / "w.h5")[0].count_params()  # the ranges are not counted


def test_ema_validates_and_keeps_the_average_while_training_goes_on_raw(data, tmp_path, monkeypatch):
    import train as train_script
    from srkit import training

    raw = {}  # the training weights after each step, as saved in last.h5 (one chunk per step here)
    save = training.Trainer.save

    def recording_save(self, name, with_optimizer=True, model=None):
        if name == "last.h5" and model is None:
            raw[self.state["step"]] = self.model.get_weights()
        return save(self, name, with_optimizer, model)

    monkeypatch.setattr(training.Trainer, "save", recording_save)
    run, decay = tmp_path / "ema", 0.6
    args = [*TINY, "--data", data / "train", "--data-root", data, "--val-data", "Val", "--steps", "5",
            "--val-every", "5", "--log-every", "1", "--save-every-min", "0", "--ema", str(decay), "--run-dir", run]
    assert train_script.main(list(map(str, args))) == 0
    assert sorted(raw) == [1, 2, 3, 4, 5]
    average = raw[1]  # Keras starts the average at the first step's weights
    for step in (2, 3, 4, 5):
        average = [decay * a + (1 - decay) * w for a, w in zip(average, raw[step])]
    best, info = _weights(run / "best.h5")
    last, _ = _weights(run / "last.h5")
    assert info.metadata["state"]["best_step"] == 5 and info.metadata["config"]["ema"] == decay
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(best, average)) < 1e-6
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(last, raw[5])) == 0  # training goes on from raw weights
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(best, last)) > 1e-4
    # the validation number belongs to the average: evaluate.py's code on best.h5 gives it back
    from srkit import evaluation

    model, _ = checkpoints.load(run / "best.h5")
    method = evaluation.Method("best", "model", scales=(2,), model=model)
    (r,) = evaluation.evaluate(["Val"], [2], [method], data, log=lambda m: None)
    assert r.psnr == pytest.approx(info.metadata["best_psnr"], abs=1e-9)


@pytest.mark.slow
def test_resume_without_validation_keeps_the_validated_best(full_run, tmp_path):
    import shutil

    run = shutil.copytree(full_run, tmp_path / "copy")
    r = run_script("train.py", "--resume", run, "--steps", "22", "--no-val")
    assert r.returncode == 0, r.stderr[-2000:]
    a, _ = _weights(full_run / "best.h5")
    b, info = _weights(run / "best.h5")
    assert checkpoints.read_info(run / "last.h5").metadata["step"] == 22
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and info.metadata["step"] == 20


@pytest.mark.slow
def test_a_run_folder_without_best_h5_gets_one_whose_metadata_matches_it(full_run, tmp_path):
    # committed run folders hold only last.h5; a --no-val resume must not label its weights with the old best
    import shutil

    run = shutil.copytree(full_run, tmp_path / "copy")
    (run / "best.h5").unlink()
    r = run_script("train.py", "--resume", run, "--steps", "22", "--no-val")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "no best.h5 beside last.h5" in r.stderr
    best, info = _weights(run / "best.h5")
    last, _ = _weights(run / "last.h5")
    assert info.metadata["step"] == 22 and info.metadata["best_psnr"] is None
    assert all(np.allclose(x, y) for x, y in zip(best, last))


@pytest.mark.slow
def test_ema_resumes_exactly_under_jax(data, tmp_path):
    pytest.importorskip("jax")
    env = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    common = ["--no-val", "--log-every", "2", "--ema", "0.7"]
    train(data, tmp_path / "whole", "--steps", "4", *common, env=env)
    train(data, tmp_path / "split", "--steps", "2", *common, env=env)
    r = run_script("train.py", "--resume", tmp_path / "split", "--steps", "4", env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("best.h5", "last.h5"):
        a, info = _weights(tmp_path / "whole" / name)
        b, _ = _weights(tmp_path / "split" / name)
        assert info.metadata["backend"] == "jax"
        assert max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)) < 1e-6, name
    _one_line_error(run_script("train.py", "--resume", tmp_path / "split", "--steps", "6", "--ema", "0.9", env=env),
                    "--ema is fixed for a run")
    _one_line_error(run_script("train.py", *TINY, "--data", data / "train", "--ema", "1.5"), "--ema 1.5")


@pytest.mark.slow
def test_real_degradation_resumes_exactly_and_the_card_names_its_settings(data, tmp_path):
    args = ["--model", "FAST", "--model-args", '{"blocks": 1, "filters": 8}', "--patch", "24", "--batch", "4",
            "--log-every", "3", "--val-every", "6", "--data", data / "train", data / "Val", "--data-root", data,
            "--val-data", "Val", "--degradation", "real", "--degradation-strength", "strong",
            "--val-degrade", "clean", "jpeg50", "--lr", "1e-3"]
    r = run_script("train.py", *args, "--steps", "6", "--run-dir", tmp_path / "full")
    assert r.returncode == 0, r.stderr[-2000:]
    r = run_script("train.py", *args, "--steps", "3", "--run-dir", tmp_path / "split")
    assert r.returncode == 0, r.stderr[-2000:]
    r = run_script("train.py", "--resume", tmp_path / "split", "--steps", "6")
    assert r.returncode == 0, r.stderr[-2000:]
    a, info = _weights(tmp_path / "full" / "last.h5")
    b, _ = _weights(tmp_path / "split" / "last.h5")
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)) < 1e-6
    meta = info.metadata
    assert meta["degradation"] == "real" and meta["degradation_settings"]["strength"] == "strong"
    assert meta["data"]["path"] == [str(data / "train"), str(data / "Val")] and meta["data"]["images"] == 6
    # validation is the mean over the asked degradations, through evaluate's own code
    from srkit import evaluation

    found = evaluation.evaluate(["Val"], [2], [evaluation.Method("m", "checkpoint", tmp_path / "full" / "best.h5",
                                                                 (2,))], data, degrades=["clean", "jpeg50"])
    assert meta["best_psnr"] == pytest.approx(np.mean([f.psnr for f in found]), abs=1e-4)
    r = run_script("train.py", "--export", tmp_path / "full", "--to", tmp_path / "w.h5")
    assert r.returncode == 0, r.stderr[-2000:]
    card = json.loads((tmp_path / "w.json").read_text())
    assert card["degradation"] == "real" and card["degradation_settings"]["first"]["sigma"] == [0.2, 3.0]
    assert card["validation"]["degrade"] == ["clean", "jpeg50"]
    _one_line_error(run_script("train.py", *TINY, "--data", data / "train", "--degradation", "real", "--no-val",
                               "--run-dir", tmp_path / "pre"), "post-upsampling models only")
    assert not (tmp_path / "pre").exists()


def test_benchmark_reports_data_time_against_model_time_with_real_degradation(data):
    r = run_script("train.py", "--benchmark", "--bench-models", "FAST", "--model-args", '{"blocks": 1, "filters": 8}',
                   "--bench-steps", "2", "--batch", "2", "--patch", "24", "--data", data / "train",
                   "--degradation", "real", "--workers", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "degradation real (medium)" in r.stdout
    (row,) = [ln for ln in r.stdout.splitlines() if ln.startswith("| FAST |")]
    cells = [float(c) for c in row.strip("|").split("|")[1:]]
    assert len(cells) == 8 and all(c > 0 for c in cells)
    # data s/batch over model s/step, within what printing 4 and 3 decimals can change
    bound = 0.5e-4 / cells[6] + 0.5e-4 / cells[0] + 0.5e-3 / cells[7]
    assert cells[7] == pytest.approx(cells[6] / cells[0], rel=bound)
    # the pipeline alone with 1, 2 and 4 threads, against what the model consumes (batch / model step)
    assert "post-upsampling input pipeline alone; its fastest model here, FAST, consumes" in r.stdout
    sweep = [[float(c) for c in ln.strip("|").split("|")] for ln in r.stdout.splitlines()
             if ln[:4] in ("| 1 ", "| 2 ", "| 4 ")]
    assert [row[0] for row in sweep] == [1, 2, 4] and all(row[1] > 0 for row in sweep)
    need = float(re.search(r"consumes ([\d.]+) patches/s", r.stdout)[1])
    assert need == pytest.approx(2 / cells[0], rel=0.5e-4 / cells[0] + 0.05 / need)  # batch 2 per model step
    for _, rate, ratio in sweep:  # within what printing 2 decimals, and 1 for both rates, can change
        assert abs(ratio - rate / need) <= 0.005 + 1.01 * rate / need * (0.05 / need + 0.05 / rate)
