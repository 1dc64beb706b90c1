"""The training configuration: one frozen, typed record of what a run was
asked to do, with its defaults, the fields a resume may change and its
validation in one place. train.py builds it (``from_args``: a fresh run from
the options, a resumed one from the checkpoint's stored copy); the trainer
only reads it. It is stored as a plain dict in config.json and in each
checkpoint (``to_dict``), and read back from either, older ones included,
which lack the keys added since (``from_dict``).

What is found out while running (the run folder chosen, the step resumed
from, this process's place in a multi-worker job) is the trainer's state,
never written back here.
"""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .errors import SRError
from .paths import project_root

ROOT = project_root()  # the checkout, else the current folder
# Fields a resumed run may change (given options replace the stored values); every other one is the run's own.
RESUMABLE = ("steps", "minutes", "precision", "data", "val_data", "data_root", "val_every", "save_every_min",
             "workers", "log_every", "lr", "patience", "rescale")


@dataclass(frozen=True)
class TrainConfig:
    """A training run's settings (train.py's options of the same names).
    Sequences are tuples and ``model_args`` a read-only mapping, so nothing
    downstream can change a run's configuration in place; a resume makes a
    new one (``dataclasses.replace``). Its dict form is ``to_dict`` (the
    read-only mapping does not deep-copy, so not ``dataclasses.asdict``)."""

    steps: int = 10000
    minutes: float | None = None  # wall-clock budget of one invocation; None: none
    data: tuple[str, ...] = (str(ROOT / "data" / "DIV2K_train_HR"),)
    val_data: str | None = "Set5"  # None: no validation
    data_root: str | None = None  # where val_data lives; None: evaluation.default_data_root() (from_args fills it)
    val_every: int = 500
    save_every_min: float = 5.0
    workers: int = 2
    log_every: int = 100
    model: str = "VDSR"
    lr: float = 1e-4
    patience: int = 5
    precision: str = "float32"
    rescale: tuple[float, ...] = ()
    model_args: Mapping = field(default_factory=dict)
    scale: tuple[int, ...] = (2,)
    patch: int = 64
    batch: int = 8
    degradation: str = "bicubic"
    strength: str = "medium"  # the realdeg preset of --degradation real
    val_degrade: tuple[str, ...] = ("clean",)
    augment: bool = True
    seed: int = 0
    loss: str = "l1"
    schedule: str = "constant"
    decay_every: int = 0
    decay_rate: float = 0.5
    min_lr: float = 1e-6
    warmup: int = 0
    plateau: bool = False
    clipnorm: float = 0.0
    ema: float = 0.0
    distribute: bool = False
    steps_per_execution: int = 1
    run_dir: str | None = None  # --run-dir as given; None: the trainer chooses runs/<MODEL>_x<scale>_<time>
    init_from: str | None = None
    teacher: str | None = None  # a checkpoint to distil from; None: no distillation
    distill_weight: float = 1.0  # with a teacher: loss = base + distill_weight * L1(student, teacher)
    resume: str | None = None  # the run folder resumed from

    def __post_init__(self):
        # the types a run stores, whatever sequence or mapping it was given (argparse's lists, JSON's)
        data = [self.data] if isinstance(self.data, str) else self.data  # runs before several --data folders
        scale = [self.scale] if isinstance(self.scale, int) else self.scale
        fixed = {"data": tuple(map(str, data)), "scale": tuple(int(s) for s in scale),
                 "rescale": tuple(float(f) for f in self.rescale or ()),
                 "val_degrade": tuple(self.val_degrade or ("clean",)),
                 "model_args": MappingProxyType(dict(self.model_args or {}))}
        for name, value in fixed.items():
            object.__setattr__(self, name, value)

    @property
    def checkpoint_scale(self):
        """The scale as checkpoints describe it: an int, or a list when training several."""
        return self.scale[0] if len(self.scale) == 1 else list(self.scale)

    def to_dict(self):
        """Plain JSON types: what config.json and a checkpoint's ``config`` hold."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out.update({k: list(out[k]) for k in ("data", "scale", "rescale", "val_degrade")},
                   model_args=dict(self.model_args))
        return out

    @classmethod
    def from_dict(cls, stored):
        """A stored config (config.json, a checkpoint's); keys a run from before
        a field existed lacks take the default, which is what such a run did
        (no --ema, --rescale, --degradation-strength, --val-degrade); keys
        this version does not know are left out."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in names})

    def resumed(self, overrides):
        """This config with the RESUMABLE fields that ``overrides`` gives (not
        None) replaced; any other key of ``overrides`` is ignored."""
        return dataclasses.replace(self, **{k: overrides[k] for k in RESUMABLE if overrides.get(k) is not None})

    def validate(self):
        """SRError (one line) for a setting that cannot train; returns self."""
        from . import benchdeg, evaluation, models

        _check_ema(self.ema)
        for folder in self.data:
            if not Path(folder).exists():
                raise SRError(f"{folder}: training data folder does not exist (pass --data DIR, "
                              "or download DIV2K with python data/download_div2k.py)")
        for name in self.val_degrade:
            if name not in benchdeg.DEGRADES:
                raise SRError(f"--val-degrade {name}: unknown (use {', '.join(benchdeg.DEGRADES)})")
        if self.val_data:
            evaluation.resolve_dataset(self.val_data, self.data_root)
        builder = models.get_builder(self.model)
        if self.teacher:
            from .distill import check_teacher

            if not self.distill_weight > 0:
                raise SRError(f"--distill-weight {self.distill_weight}: must be positive with --teacher")
            check_teacher(self.teacher, builder.upsampling, self.scale)
        if builder.model_name != self.model:
            raise SRError(f"model '{self.model}': the registry spells it '{builder.model_name}'")
        if builder.upsampling == "post":  # the scale is part of the architecture
            if len(self.scale) > 1:
                raise SRError(f"{self.model} is a post-upsampling model: train one scale at a time")
            if self.model_args.get("scale") != self.scale[0]:
                raise SRError(f"--model-args scale {self.model_args.get('scale')} differs from --scale {self.scale[0]}")
        return self


DEFAULT = TrainConfig()


def _check_ema(decay):
    if not 0.0 <= decay < 1.0:
        raise SRError(f"--ema {decay}: the decay must be in [0, 1), e.g. 0.999")


def precision_option(a):
    """The dtype policy asked for on the command line; None when not given
    (a resumed run then keeps its own)."""
    return "mixed_bfloat16" if a.mixed_precision else a.precision


def from_args(a, model_args):
    """The validated TrainConfig of train.py's options ``a`` (and its parsed
    --model-args): a fresh run's, or with --resume the stored one with the
    options a resume may change applied."""
    steps = a.steps
    if a.epochs or a.steps_per_epoch:
        if not (a.epochs and a.steps_per_epoch) or a.steps:
            raise SRError("give --steps, or both --epochs and --steps-per-epoch")
        steps = a.epochs * a.steps_per_epoch
    _check_ema(a.ema)  # before a resume compares it with the run's
    given = {"steps": steps, "minutes": a.minutes, "data": a.data, "val_data": a.val_data, "data_root": a.data_root,
             "val_every": a.val_every, "save_every_min": a.save_every_min, "workers": a.workers,
             "log_every": a.log_every, "lr": a.lr, "patience": a.patience, "precision": precision_option(a),
             "rescale": a.rescale}
    if a.resume:
        if a.force:
            raise SRError("--force starts a fresh run in a folder that holds one; it does not go with --resume")
        cfg = resume_config(a.resume, given, model=a.model)
        if a.teacher and a.teacher != cfg.teacher:
            raise SRError(f"{a.resume}: --teacher is fixed for a run (this one has {cfg.teacher})")
        if a.ema and a.ema != cfg.ema:
            raise SRError(f"{a.resume}: --ema is fixed for a run (this one has {cfg.ema}); to average "
                          "from here on, start a new run with --init-from RUN/last.h5 --ema DECAY")
    else:
        cfg = _fresh(a, model_args, given)
    if a.no_val:
        cfg = dataclasses.replace(cfg, val_data=None)
    return cfg.validate()


def _fresh(a, model_args, given):
    from . import evaluation, models

    builder = models.get_builder(a.model or DEFAULT.model)
    if builder.upsampling == "post" and len(a.scale) == 1:  # the scale is a builder argument
        model_args = {"scale": a.scale[0], **model_args}
    model_args = {**builder.training_args, **model_args}  # e.g. the multi-branch form it trains in
    fields = {k: v for k, v in given.items() if v is not None and k != "data_root"}
    return TrainConfig(**fields, model=builder.model_name, model_args=model_args, scale=a.scale, patch=a.patch,
                       batch=a.batch, degradation=a.degradation, strength=a.degradation_strength,
                       val_degrade=a.val_degrade or DEFAULT.val_degrade, augment=a.augment, seed=a.seed,
                       loss=a.loss, schedule=a.schedule, decay_every=a.decay_every, decay_rate=a.decay_rate,
                       min_lr=a.min_lr, warmup=a.warmup, plateau=a.plateau, clipnorm=a.clipnorm, ema=a.ema,
                       distribute=a.distribute, steps_per_execution=a.steps_per_execution, run_dir=a.run_dir,
                       init_from=a.init_from, teacher=a.teacher, distill_weight=a.distill_weight, resume=None,
                       data_root=given["data_root"] or str(evaluation.default_data_root()))


def resume_config(run_dir, overrides, model=None):
    """The config stored in ``run_dir/last.h5`` with the RESUMABLE fields of
    ``overrides`` applied; ``model``, when given, must be the run's."""
    from . import checkpoints

    path = Path(run_dir) / "last.h5"
    if not path.exists():
        raise SRError(f"{run_dir}: no last.h5 to resume from")
    stored = checkpoints.read_info(path).metadata.get("config")
    if not stored:
        raise SRError(f"{path}: no training configuration stored; cannot resume")
    cfg = TrainConfig.from_dict(stored)
    if model and model.lower() != cfg.model.lower():
        raise SRError(f"{path}: resume checkpoint is {cfg.model}, not {model}")
    return dataclasses.replace(cfg.resumed(overrides), resume=str(run_dir))
