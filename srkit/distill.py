"""Distillation from a frozen teacher checkpoint (train.py --teacher):
the loss becomes base(student, HR) + weight * L1(student, teacher(LR)).

The teacher runs in inference mode on each training batch's LR input
before the batch reaches the trainer, and its output travels beside the HR
target (channels concatenated), so the student model, its checkpoints and
every backend's training step stay as they are, and the teacher's output is
a constant of the step: no gradient reaches the teacher. The batch stream
stays a function of seed and step, so a resumed run sees the same targets.
"""

import numpy as np
from keras import ops

from . import checkpoints
from .errors import SRError
from .io import file_sha256


def check_teacher(path, upsampling, scales):
    """SRError unless the checkpoint at ``path`` takes the student's input
    (the same upsampling) at its one training scale; returns its info."""
    info = checkpoints.read_info(path)
    if len(scales) != 1:
        raise SRError("--teacher: distillation trains one scale at a time")
    if info.upsampling != upsampling:
        raise SRError(f"--teacher {path}: a {info.upsampling}-upsampling model cannot teach a "
                      f"{upsampling}-upsampling one (they take different inputs)")
    if scales[0] not in info.scales:
        raise SRError(f"--teacher {path}: trained for x{info.scale}, not x{scales[0]}")
    return info


def record(path, info):
    """The run state's record of its teacher (what a resume checks)."""
    return {"path": str(path), "model": info.model, "args": info.args, "scale": info.scale,
            "sha256": file_sha256(path)}


def check_unchanged(path, stored):
    """SRError when the teacher file no longer holds what the run was taught by:
    another file, unless it is that file with int8 ranges added (``network.py
    --int8-ranges``: the same weights, so the same teacher)."""
    if not stored or stored.get("sha256") == file_sha256(path):
        return
    from .checkpoints import read_info

    if read_info(path).metadata.get("int8_calibration", {}).get("source_sha256") != stored.get("sha256"):
        raise SRError(f"--teacher {path}: the file changed since this run started (sha256 differs); "
                      "a resumed run must see the same teacher")


class TeacherSampler:
    """A PatchSampler's batches with the teacher's output appended to each
    target's channels: (lr, concat(hr, teacher(lr))). Everything else is the
    wrapped sampler's."""

    def __init__(self, sampler, teacher):
        self.sampler, self.teacher = sampler, teacher
        self.target_channels = 2 * int(teacher.output.shape[-1])

    def __getattr__(self, name):
        return getattr(self.sampler, name)

    def _with_teacher(self, pair):
        lr, hr = pair
        taught = np.asarray(self.teacher.predict_on_batch(lr), np.float32)
        if taught.shape != hr.shape:
            raise SRError(f"teacher output {taught.shape} does not match the target {hr.shape}")
        return lr, np.concatenate([hr, taught], axis=-1)

    def batch(self, step):
        return self._with_teacher(self.sampler.batch(step))

    def stream(self, start, lookahead=None):
        for pair in self.sampler.stream(start, lookahead):
            yield self._with_teacher(pair)


def distilled(base, weight):
    """Loss on targets concatenated as (HR, teacher output) along channels:
    base(HR, prediction) + weight * per-sample mean |prediction - teacher|."""
    weight = float(weight)

    def loss(y_true, y_pred):
        c = y_pred.shape[-1]
        hr, taught = y_true[..., :c], y_true[..., c:]
        diff = ops.cast(y_pred, "float32") - ops.cast(taught, "float32")
        # |diff| written so its gradient at 0 is 0 on every backend (jax.numpy.abs takes 1 there)
        term = ops.mean(diff * ops.sign(diff), axis=(1, 2, 3))
        return base(hr, y_pred) + weight * term

    loss.__name__ = f"{getattr(base, '__name__', 'loss')}_distilled"
    return loss
