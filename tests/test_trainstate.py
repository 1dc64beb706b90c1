"""The trainer's state in checkpoint metadata: each field stored once, and
checkpoints that stored step and best_* twice (every shipped one) read the
same."""

import pytest

from conftest import ROOT
from srkit import checkpoints, trainstate
from srkit.trainconfig import TrainConfig

SHIPPED = sorted((ROOT / "weights").glob("*.h5"))


def _state():
    return {**trainstate.fresh(), "step": 40, "best_psnr": 30.5, "best_ssim": 0.9, "best_step": 30,
            "wall_time_s": 12.0, "segments": [{"from_step": 0}]}


def test_each_state_field_is_stored_once():
    meta = trainstate.metadata(_state(), TrainConfig(), {"path": "x", "images": 1})
    assert (meta["step"], meta["best_psnr"], meta["best_ssim"]) == (40, 30.5, 0.9)
    assert not set(trainstate.TOP) & set(meta["state"]) and meta["state"]["best_step"] == 30
    assert meta["config"] == TrainConfig().to_dict() and "degradation_settings" not in meta
    assert trainstate.read(meta) == _state()
    real = trainstate.metadata(_state(), TrainConfig(degradation="real", strength="strong"), {})
    assert real["degradation_settings"]["strength"] == "strong"


def test_the_older_layout_with_step_and_best_twice_reads_the_same():
    meta = trainstate.metadata(_state(), TrainConfig(), {})
    old = {**meta, "state": _state()}
    assert trainstate.read(old) == trainstate.read(meta) == _state()


def test_a_checkpoint_from_before_segments_gets_one():
    state = trainstate.read({"step": 5, "precision": "float32", "backend": "jax", "hardware": "h",
                             "state": {"step": 5, "factor": 0.5}})
    assert state["segments"] == [{"from_step": 0, "precision": "float32", "backend": "jax", "hardware": "h"}]
    assert state["factor"] == 0.5 and state["plateau"] == {"best": None, "wait": 0}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_checkpoint_reads_as_it_stores(path):
    meta = checkpoints.read_info(path).metadata
    state = trainstate.read(meta)
    assert {k: state[k] for k in trainstate.TOP} == {k: meta[k] for k in trainstate.TOP}
    assert {k: state[k] for k in meta["state"]} == meta["state"]  # stored twice there, and the same
