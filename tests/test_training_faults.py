"""train.py under faults, in process: a folder that holds a run, SIGTERM
during the final save, a second signal during a checkpoint write, a full
disk. Whatever happens, the last good checkpoint is intact and no temporary
file is left."""

import os
import signal

import pytest

import train as train_script
from conftest import TINY_TRAIN
from srkit import checkpoints
from srkit.errors import SRError
from srkit.interrupts import StopRequests
from srkit.io import file_sha256
from srkit.safewrite import TMP_SUFFIX


def _train(data, run, *extra):
    args = [*TINY_TRAIN, "--data", data / "train", "--no-val", "--log-every", "0", "--run-dir", run, *extra]
    return train_script.main(list(map(str, args)))


def _temp_files(folder):
    return [p for p in folder.rglob("*") if p.name.endswith(TMP_SUFFIX)]


def test_a_fresh_run_never_replaces_the_run_in_its_folder(data, tmp_path):
    run = tmp_path / "run"
    assert _train(data, run, "--steps", "3") == 0
    kept = {name: file_sha256(run / name) for name in ("last.h5", "best.h5", "log.csv", "config.json")}
    with pytest.raises(SRError, match=f"{run}: already holds a training run .*--resume {run}.*--force"):
        _train(data, run, "--steps", "2")
    assert {name: file_sha256(run / name) for name in kept} == kept
    with pytest.raises(SRError, match="does not go with --resume"):
        train_script.main(["--resume", str(run), "--force"])
    assert _train(data, run, "--steps", "2", "--force") == 0  # the old run moved aside, whole
    (aside,) = tmp_path.glob("run.replaced-*")
    assert {name: file_sha256(aside / name) for name in kept} == kept
    assert checkpoints.read_info(run / "last.h5").metadata["step"] == 2
    assert checkpoints.read_info(aside / "last.h5").metadata["step"] == 3


def test_sigterm_during_the_final_save_is_handled_by_the_run(data, tmp_path, monkeypatch):
    # the handlers used to be restored before the last save: a SIGTERM there killed the process
    outside = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: outside.append(signum))
    save = checkpoints.save

    def signalled_save(path, *args, **kwargs):
        if path.name == "last.h5":  # the run's one save of it: the final one (no validation, no periodic save)
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while it is being written
        return save(path, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "save", signalled_save)
    try:
        code = _train(data, tmp_path / "run", "--steps", "2", "--save-every-min", "100")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert outside == [] and code == 128 + signal.SIGTERM
    assert checkpoints.read_info(tmp_path / "run" / "last.h5").metadata["step"] == 2
    assert not _temp_files(tmp_path)


def test_a_second_signal_waits_until_the_checkpoint_is_written():
    done = []
    with StopRequests() as stops:
        with pytest.raises(KeyboardInterrupt):
            with stops.protected():
                os.kill(os.getpid(), signal.SIGINT)  # the first: stop at the end of the step
                os.kill(os.getpid(), signal.SIGINT)  # the second: at once, but not inside a write
                done.append("written")
        assert stops.signum == signal.SIGINT and done == ["written"]
        with pytest.raises(KeyboardInterrupt):  # outside a write, a second signal stops at once
            os.kill(os.getpid(), signal.SIGINT)


def test_a_full_disk_stops_training_with_the_last_checkpoint_intact(data, full_disk, monkeypatch):
    run = full_disk.folder / "run"
    save = checkpoints.save

    saved = []

    def save_then_fill(path, *args, **kwargs):
        out = save(path, *args, **kwargs)
        saved.append(checkpoints.read_info(path).metadata["step"])
        full_disk.fill()  # the disk is full from the first checkpoint on
        return out

    monkeypatch.setattr(checkpoints, "save", save_then_fill)
    with pytest.raises(SRError, match="cannot (write checkpoint|append to the log).*No space left on device"):
        _train(data, run, "--steps", "6", "--log-every", "2", "--save-every-min", "0")
    assert len(saved) == 1 and checkpoints.read_info(run / "last.h5").metadata["step"] == saved[0]
    assert checkpoints.load(run / "last.h5", with_optimizer=True)[2] is not None
    assert not _temp_files(full_disk.folder)
