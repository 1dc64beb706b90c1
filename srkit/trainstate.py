"""The trainer's own record of a run (step, best validation, learning-rate
factor, plateau, wall time, segments, where its weights came from) and how
checkpoint metadata holds it: each field once. ``step``, ``best_psnr`` and
``best_ssim`` stand at the top of the metadata, where output.py, evaluate.py,
model cards and older srkit versions read them; the rest under ``state``.
Checkpoints written before this stored those three in both places; they
read the same."""

import keras

from . import realdeg
from .devices import hardware
from .io import file_sha256

TOP = ("step", "best_psnr", "best_ssim")  # the state fields the metadata holds at its top


def fresh():
    """The state of a run at step 0."""
    return {"step": 0, "best_psnr": None, "best_ssim": None, "best_step": None, "wall_time_s": 0.0,
            "factor": 1.0, "plateau": {"best": None, "wait": 0}}


def read(metadata):
    """The state a checkpoint's ``metadata`` holds, whichever layout it has."""
    state = {**fresh(), **(metadata.get("state") or {}), **{k: metadata[k] for k in TOP if k in metadata}}
    if "segments" not in state:  # a checkpoint from before segments were recorded
        state["segments"] = [{"from_step": 0, "precision": metadata.get("precision"),
                              "backend": metadata.get("backend"), "hardware": metadata.get("hardware")}]
    return state


def metadata(state, cfg, data):
    """What a checkpoint of a run says about it: the state (each field once),
    the description model cards and the tables read (``data``: the patch
    sampler's), and the TrainConfig as a dict (what a resume reads back)."""
    return {**{k: state[k] for k in TOP}, "degradation": cfg.degradation, "data": data, "val_data": cfg.val_data,
            **({"degradation_settings": realdeg.describe(cfg.strength)} if cfg.degradation == "real" else {}),
            "batch": cfg.batch, "patch": cfg.patch, "loss": cfg.loss, "backend": keras.backend.backend(),
            "hardware": hardware(), "precision": cfg.precision,
            "state": {k: v for k, v in state.items() if k not in TOP}, "config": cfg.to_dict()}


def init_from_record(path, info):
    """The state's record of the checkpoint a run started from: the path may
    later hold another model (a grown one is shipped under the same name),
    so it names what was read there, its digest and where that file came
    from in turn."""
    return {"path": str(path), "model": info.model, "scale": info.scale, "args": info.args,
            "step": info.metadata.get("step"), "sha256": file_sha256(path),
            "from": (info.metadata.get("state") or {}).get("init_from")}
