"""train.py as two worker processes of one job on 127.0.0.1, on TensorFlow
(TF_CONFIG) and JAX (--coordinator ...): the job trains as one process with
the same global batch would, only the chief writes, a multi-worker run
resumes in one process, and a killed worker ends the job in bounded time."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, run_script, training_folders
from srkit import checkpoints
from srkit.trainlog import read_log

TINY = ["--model", "VDSR", "--model-args", '{"depth": 3, "filters": 8}', "--patch", "24", "--batch", "4",
        "--log-every", "2", "--val-every", "4", "--lr", "1e-3", "--workers", "0"]
LIMIT = 300  # seconds any one process may take (about 20 on an idle 2-core machine): a stuck job fails the test


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return training_folders(tmp_path_factory.mktemp("data"), val_images=1)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture
def workers():
    """Starts two train.py processes forming one job (worker i writes, if at all, into run_dirs[i]);
    whatever still runs when the test ends is killed."""
    started = []

    def start(backend, data, run_dirs, *extra):
        procs = start_workers(backend, data, run_dirs, *extra)
        started.extend(procs)
        return procs

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def start_workers(backend, data, run_dirs, *extra):
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    ports = free_ports(2)
    procs = []
    for i, run in enumerate(run_dirs):
        flags, wenv = [], dict(env)
        if backend == "tensorflow":
            wenv["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                            "task": {"type": "worker", "index": i}})
        else:
            flags = ["--coordinator", f"127.0.0.1:{ports[0]}", "--num-processes", "2", "--process-id", str(i),
                     "--worker-timeout", "10"]
        args = [*TINY, "--data", data / "train", "--data-root", data, "--val-data", "Val", "--run-dir", run,
                *flags, *extra]
        procs.append(subprocess.Popen([sys.executable, str(ROOT / "train.py"), *map(str, args)], cwd=ROOT, env=wenv,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def finish(proc, timeout=LIMIT):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"a worker ran past {timeout} s:\n{err[-3000:]}")
    return proc.returncode, err


def single(backend, data, run, *extra):
    env = {"KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    args = [*TINY, "--data", data / "train", "--data-root", data, "--val-data", "Val", "--run-dir", run, *extra]
    r = run_script("train.py", *args, env=env, timeout=LIMIT)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def weights(path):
    model, info = checkpoints.load(path)
    return model.get_weights(), info


def max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


@pytest.fixture(params=["tensorflow", "jax"])
def backend(request):
    if request.param == "jax":
        pytest.importorskip("jax")
    return request.param


@pytest.mark.slow
def test_two_workers_train_as_one_process_and_resume_in_one(backend, data, tmp_path, workers):
    chief, other = tmp_path / "job", tmp_path / "other"
    procs = workers(backend, data, [chief, other], "--steps", "4")
    # meanwhile: one process, the same global batches, two steps further (resumed below to meet it)
    reference = tmp_path / "one"
    single(backend, data, reference, "--steps", "6")
    results = [finish(p) for p in procs]
    for rc, err in results:
        assert rc == 0, err[-3000:]
    assert "worker 0 of 2 (chief)" in results[0][1] and "worker 1 of 2" in results[1][1]
    assert not other.exists()  # the other worker writes nothing
    for name in ("last.h5", "best.h5", "log.csv", "config.json", "curves.png"):
        assert (chief / name).exists(), name
    _, info = weights(chief / "last.h5")
    assert info.metadata["step"] == 4 and info.metadata["state"]["segments"][-1]["workers"] == 2
    # a run of two workers resumed by one process: batches, weights and optimizer state carry over exactly
    r = run_script("train.py", "--resume", chief, "--steps", "6", env={"KERAS_BACKEND": backend,
                                                                       "JAX_PLATFORMS": "cpu"}, timeout=LIMIT)
    assert r.returncode == 0, r.stderr[-3000:]
    a, info_a = weights(chief / "last.h5")
    b, info_b = weights(reference / "last.h5")
    assert info_a.metadata["step"] == info_b.metadata["step"] == 6
    diff = max_diff(a, b)
    print(f"{backend}: max |weight difference| two workers (+ resumed) vs one process: {diff:.3g}")
    assert diff < 1e-5
    job, one = read_log(chief / "log.csv"), read_log(reference / "log.csv")
    assert [int(row["step"]) for row in job] == [int(row["step"]) for row in one] == [2, 4, 6]
    for x, y in zip(job, one):  # the logged loss is the mean over the global batch, validation is the chief's
        assert float(x["loss"]) == pytest.approx(float(y["loss"]), rel=1e-5)
    assert float(job[1]["val_psnr"]) == pytest.approx(float(one[1]["val_psnr"]), abs=1e-4)


@pytest.mark.slow
def test_a_killed_worker_ends_the_job_and_leaves_last_h5_intact(backend, data, tmp_path, workers):
    chief = tmp_path / "job"
    procs = workers(backend, data, [chief, tmp_path / "other"], "--steps", "100000", "--no-val",
                    "--save-every-min", "0")
    t0 = time.monotonic()
    while not (chief / "last.h5").exists():
        if time.monotonic() - t0 > LIMIT or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            pytest.fail("the job did not save a checkpoint:\n" + "\n".join(p.communicate()[1][-2000:] for p in procs))
        time.sleep(0.2)
    time.sleep(1.0)  # training on, past the first save
    procs[1].kill()
    killed = time.monotonic()
    rc, err = finish(procs[0], timeout=90)
    took = time.monotonic() - killed
    print(f"{backend}: the chief stopped {took:.1f} s after its peer was killed (exit {rc})")
    assert rc != 0
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert "the job lost a worker" in line, err[-2000:]
    model, info, opt = checkpoints.load(chief / "last.h5", with_optimizer=True)
    assert info.metadata["step"] >= 2 and opt is not None
    step = info.metadata["step"]
    r = run_script("train.py", "--resume", chief, "--steps", str(step + 2),
                   env={"KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}, timeout=LIMIT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert checkpoints.read_info(chief / "last.h5").metadata["step"] == step + 2
