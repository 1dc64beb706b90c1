"""Learning-rate schedules as a function of the optimizer step, evaluated
inside the compiled train step (so they work the same on every backend and
resume exactly), times a plateau factor halved by the trainer when
validation PSNR stops improving (the original project's schedule)."""

import math

import keras
from keras import ops

from .errors import SRError

KINDS = ("constant", "step", "cosine")


@keras.saving.register_keras_serializable(package="srkit")
class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, lr, kind="constant", total_steps=1, *, decay_every=0, decay_rate=0.5,
                 min_lr=0.0, warmup=0, factor=1.0):
        if kind not in KINDS:
            raise SRError(f"unknown schedule '{kind}' (known: {', '.join(KINDS)})")
        self.lr, self.kind, self.total_steps = float(lr), kind, max(1, int(total_steps))
        self.decay_every, self.decay_rate = int(decay_every) or max(1, self.total_steps // 2), float(decay_rate)
        self.min_lr, self.warmup, self.factor = float(min_lr), int(warmup), float(factor)

    def _shape(self, s, floor, cos, minimum):
        if self.kind == "step":
            value = self.lr * self.decay_rate ** floor(s / self.decay_every)
        elif self.kind == "cosine":
            t = minimum(s, float(self.total_steps)) / self.total_steps
            value = self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + cos(math.pi * t))
        else:
            value = self.lr + 0 * s
        if self.warmup:
            value = value * minimum(1.0, (s + 1) / self.warmup)
        return value * self.factor

    def __call__(self, step):
        s = ops.cast(step, "float32")
        return self._shape(s, ops.floor, ops.cos, ops.minimum)

    def value(self, step):
        """The same schedule in plain Python, for logs."""
        return float(self._shape(float(step), math.floor, math.cos, min))

    def get_config(self):
        return {"lr": self.lr, "kind": self.kind, "total_steps": self.total_steps,
                "decay_every": self.decay_every, "decay_rate": self.decay_rate, "min_lr": self.min_lr,
                "warmup": self.warmup, "factor": self.factor}


class Plateau:
    """Halve the learning rate when validation PSNR has not improved by
    ``min_delta`` for ``patience`` validations; state survives resume."""

    def __init__(self, patience=5, min_delta=1e-3, best=None, wait=0):
        self.patience, self.min_delta, self.best, self.wait = patience, min_delta, best, wait

    def update(self, psnr):
        """Record a validation; True when the learning rate should be halved."""
        if self.best is None or psnr > self.best + self.min_delta:
            self.best, self.wait = psnr, 0
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.wait = 0
            return True
        return False

    def state(self):
        return {"best": self.best, "wait": self.wait}
