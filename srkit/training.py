"""The trainer behind train.py: Keras ``fit`` driven in chunks between
events (validation, periodic save, time budget, SIGTERM/Ctrl-C), so every
backend and distribution strategy trains the same way, and a run resumes
exactly: weights, optimizer state (its step drives the schedule), plateau
state and the data stream (a function of seed and step) are all restored.
As one worker of a multi-worker job (srkit.cluster) it trains on its share
of each batch; only the chief validates and writes the run folder.
"""

import json
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import keras
import numpy as np

from . import checkpoints, cluster, evaluation, realdeg, rundir
from .devices import hardware, setup_devices
from .errors import SRError
from .interrupts import StopRequests
from .io import file_sha256
from .paths import project_root
from .safewrite import remove_stale_temp_files, write_file
from .transfer import fixed_args, transfer_layers

ROOT = project_root()  # the checkout, else the current folder


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class AveragingAdam(keras.optimizers.Adam):
    """Adam keeping an exponential moving average of the weights (``use_ema``)
    beside them. Keras copies the average over the weights at the end of every
    fit(); the trainer calls fit() in chunks, so that copy is skipped here and
    the average is read only for validation and best.h5."""

    def finalize_variable_values(self, var_list):
        pass


class _Events(keras.callbacks.Callback):
    """Counts steps inside a fit() call and stops it when an event is due."""

    def __init__(self, trainer):
        super().__init__()
        self.t = trainer

    def on_train_begin(self, logs=None):
        self.count, self.loss_sum = 0, 0.0

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1 - self.count  # > 1 with steps_per_execution
        self.count = batch + 1
        if logs and "loss" in logs:
            self.loss_sum = float(logs["loss"]) * self.count  # logs hold the running mean
        self.t.on_step(self, done)


class Trainer:
    """One training run. ``stops``: the run's StopRequests (signal handlers),
    installed by ``train`` before the data loads; ``force``: a fresh run may
    move an old run in its folder aside (see ``rundir``)."""

    def __init__(self, cfg, stops=None, force=False):
        from . import losses, models
        from .data import PatchSampler
        from .schedules import Plateau, Schedule

        self.cfg, self.stops = cfg, stops or StopRequests(log)
        evaluation.resolve_dataset(cfg["val_data"], cfg["data_root"]) if cfg["val_data"] else None
        resume = cfg.get("resume")
        self.run_dir = Path(resume or cfg.get("run_dir") or self._default_run_dir())
        self.builder = models.get_builder(cfg["model"])
        cfg["model"] = self.builder.model_name
        if self.builder.upsampling == "post":  # the scale is part of the architecture
            if len(cfg["scale"]) > 1:
                raise SRError(f"{cfg['model']} is a post-upsampling model: train one scale at a time")
            cfg["model_args"].setdefault("scale", cfg["scale"][0])
            if cfg["model_args"]["scale"] != cfg["scale"][0]:
                raise SRError(f"--model-args scale {cfg['model_args']['scale']} differs from --scale {cfg['scale'][0]}")
        self.job = cluster.join(cfg.pop("cluster", None), log)  # first: JAX's runtime precedes all JAX work
        scope, self.devices = setup_devices(cfg, log, self.job)
        self.sampler = PatchSampler(cfg["data"], cfg["scale"], cfg["patch"], cfg["batch"], self.builder.upsampling,
                                    cfg["degradation"], cfg["seed"], cfg["augment"], cfg["workers"], log,
                                    cfg["rescale"], strength=cfg.get("strength", "medium"),
                                    shard=(self.job.index, self.job.count), cache_dir=cfg.pop("cache_dir", None))
        # only once the data loaded: a bad call leaves no folder, and --force moves nothing aside for it;
        # the other workers of a job write nothing into the run folder
        if self.job.is_chief:
            if not resume:
                rundir.check_free(self.run_dir, force)
                if rundir.held_run(self.run_dir):
                    rundir.move_aside(self.run_dir, log)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(self.run_dir, log)  # a killed save's, e.g.; a live process's stay
        keras.utils.set_random_seed(cfg["seed"])
        self.state = {"step": 0, "best_psnr": None, "best_ssim": None, "best_step": None, "wall_time_s": 0.0,
                      "factor": 1.0, "plateau": {"best": None, "wait": 0}}
        init_weights = opt_arrays = None
        if resume:
            saved, info, opt_arrays = checkpoints.load(self.run_dir / "last.h5", with_optimizer=True)
            self.state.update(info.metadata["state"])
            if "segments" not in self.state:  # a checkpoint from before segments were recorded
                self.state["segments"] = [{"from_step": 0, "precision": info.metadata.get("precision"),
                                           "backend": info.metadata.get("backend"),
                                           "hardware": info.metadata.get("hardware")}]
            init_weights = saved.get_weights()
            if self.state["best_psnr"] is not None and not (self.run_dir / "best.h5").exists():
                # e.g. a committed run folder holds only last.h5: best.h5 and its metadata must agree, so the
                # best is tracked afresh (log.csv keeps the earlier validations)
                log(f"{self.run_dir}: no best.h5 beside last.h5; the earlier best ({self.state['best_psnr']:.3f} dB "
                    f"at step {self.state['best_step']}) is forgotten and best.h5 is kept from this invocation on")
                self.state.update(best_psnr=None, best_ssim=None, best_step=None)
            if cfg.pop("restart_lr", False):
                self.state.update(factor=1.0, plateau={"best": self.state["plateau"]["best"], "wait": 0})
        with scope:
            self.model = models.build(cfg["model"], **cfg["model_args"])
            if cfg.get("init_from") and not resume:  # a resumed run continues from its own weights
                src, info = checkpoints.load(cfg["init_from"])
                if (info.model != cfg["model"]
                        or fixed_args(info.model, info.args) != fixed_args(cfg["model"], cfg["model_args"])):
                    raise SRError(f"{cfg['init_from']}: holds {info.model}{info.args}, not "
                                  f"{cfg['model']}{cfg['model_args']}")
                if info.args == cfg["model_args"]:
                    init_weights = src.get_weights()
                else:  # another scale, larger kernels or more blocks: matching layers transfer, the rest start fresh
                    fresh, grown = transfer_layers(src, self.model)
                    log(f"initialised from {cfg['init_from']} (x{info.scale}); "
                        f"kernels grown: {', '.join(grown) or 'none'}; new layers: {', '.join(fresh) or 'none'}")
                # the path may later hold another model (a grown one is shipped under the same name), so
                # the record names what was read there, its digest and where that file came from in turn
                self.state["init_from"] = {"path": str(cfg["init_from"]), "model": info.model, "scale": info.scale,
                                           "args": info.args, "step": info.metadata.get("step"),
                                           "sha256": file_sha256(cfg["init_from"]),
                                           "from": (info.metadata.get("state") or {}).get("init_from")}
            if init_weights is not None:
                self.model.set_weights(init_weights)
            self.schedule = Schedule(cfg["lr"], cfg["schedule"], cfg["steps"], cfg["decay_every"],
                                     cfg["decay_rate"], cfg["min_lr"], cfg["warmup"], self.state["factor"])
            # without --ema this is plain Adam: use_ema off, the same updates and optimizer variables
            opt = AveragingAdam(self.schedule, clipnorm=cfg["clipnorm"] or None, use_ema=bool(cfg["ema"]),
                                ema_momentum=cfg["ema"] or 0.99, name="adam")
            self._adam = opt
            self.model.compile(optimizer=opt, loss=losses.get(cfg["loss"]),
                               steps_per_execution=cfg["steps_per_execution"])
            opt.build(self.model.trainable_variables)
            if opt_arrays is not None:
                if [tuple(a.shape) for a in opt_arrays] != [tuple(v.shape) for v in opt.variables]:
                    raise SRError(f"{self.run_dir / 'last.h5'}: optimizer state does not fit this run")
                for var, arr in zip(opt.variables, opt_arrays):
                    var.assign(arr)
        self.job.prepare(self.model)
        self.plateau = Plateau(cfg["patience"], **self.state["plateau"])
        # One entry per invocation: a card can then say which steps ran where and how. A resume may move
        # the schedule's horizon (a cosine then bends from this step on); the card's own "steps" counts
        # the steps trained, hence a distinct name.
        self.state.setdefault("segments", []).append(
            {"from_step": self.state["step"], "schedule_steps": cfg["steps"], "precision": cfg["precision"],
             "lr": self.schedule.value(self.state["step"]), "backend": keras.backend.backend(), "hardware": hardware(),
             **({"workers": self.job.count} if self.job.multi else {})})
        self._val_model = None

    def _default_run_dir(self):
        scales = "".join(str(s) for s in self.cfg["scale"])
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return ROOT / "runs" / f"{self.cfg['model'].upper()}_x{scales}_{stamp}"

    # -- events -------------------------------------------------------------
    def on_step(self, cb, done):
        step = self.state["step"] + cb.count
        self.bar.update(done)
        self.bar.set_postfix(loss=f"{cb.loss_sum / cb.count:.4g}", val=self._last_val, refresh=False)
        # workers of a job end a chunk only at steps they all know; clocks and signals are agreed on there
        if not self.job.multi and (self.stops.signum or self._budget_over() or self._save_due()):
            self.model.stop_training = True
        every = self.cfg["log_every"] or (cluster.SYNC_EVERY if self.job.multi else 0)
        if every and step % every == 0:
            self.model.stop_training = True  # the chunk ends here so the row is exact

    def _run_over(self):  # steps done, signalled or out of budget; read once per chunk, see run()
        signum, budget = self.job.agree([self.stops.signum or 0, self._budget_over()])  # any worker's, for all
        if signum and not self.stops.signum:  # another worker was signalled: this one stops with it
            self.stops.signum = int(signum)
        return self.state["step"] >= self.cfg["steps"] or bool(self.stops.signum) or bool(budget)

    def _save_due(self):
        return time.monotonic() - self._last_save > self._save_interval

    def _budget_over(self):  # --minutes: wall-clock budget for this invocation
        minutes = self.cfg.get("minutes")
        return bool(minutes) and time.monotonic() - self._start > 60 * minutes

    # -- validation and checkpoints -----------------------------------------
    def shipped_model(self):
        """A float32 single-device copy (what evaluate.py rebuilds from the
        file) holding what validation scores and best.h5 keeps: the weights'
        moving average with --ema, else the weights themselves."""
        from . import models

        if self._val_model is None:
            with self.job.local():
                self._val_model = models.build(self.cfg["model"], precision="float32", **self.cfg["model_args"])
        if self.cfg["ema"]:
            raw = self.model.get_weights()
            # the public way to read the average: copy it over the weights (Adam's own method, which
            # AveragingAdam skips during fit), read them, and put the training weights back
            keras.optimizers.Adam.finalize_variable_values(self._adam, self.model.trainable_variables)
            self._val_model.set_weights(self.model.get_weights())
            self.model.set_weights(raw)
        else:
            self._val_model.set_weights(self.model.get_weights())
        return self._val_model

    def validate(self):
        """Validation PSNR/SSIM of shipped_model(), through evaluate.py's own code path."""
        method = evaluation.Method("val", "model", scales=tuple(self.cfg["scale"]), model=self.shipped_model(),
                                   upsampling=self.builder.upsampling)
        scale = self.cfg["scale"][0]
        with self.job.local():
            found = evaluation.evaluate([self.cfg["val_data"]], [scale], [method], self.cfg["data_root"],
                                        log=lambda m: None, degrades=self.cfg.get("val_degrade") or ["clean"])
        return float(np.mean([r.psnr for r in found])), float(np.mean([r.ssim for r in found]))

    def save(self, name, with_optimizer=True, model=None):
        self._last_save = time.monotonic()  # on every worker: they agree on when the next save is due
        if not self.job.is_chief:
            return
        meta = {"step": self.state["step"], "best_psnr": self.state["best_psnr"],
                "best_ssim": self.state["best_ssim"], "degradation": self.cfg["degradation"],
                "data": self.sampler.description, "val_data": self.cfg["val_data"],
                **({"degradation_settings": realdeg.describe(self.cfg["strength"])}
                   if self.cfg["degradation"] == "real" else {}),
                "batch": self.cfg["batch"], "patch": self.cfg["patch"], "loss": self.cfg["loss"],
                "backend": keras.backend.backend(), "hardware": hardware(),
                "precision": self.cfg["precision"], "state": self.state, "config": self.cfg}
        scale = self.cfg["scale"][0] if len(self.cfg["scale"]) == 1 else self.cfg["scale"]
        opt = self.model.optimizer.variables if with_optimizer else None
        with self.stops.protected():  # a second Ctrl-C waits until the file is complete and renamed
            checkpoints.save(self.run_dir / name, model or self.model, self.cfg["model"], self.cfg["model_args"],
                             scale, meta, opt)

    # -- the loop -----------------------------------------------------------
    def run(self):
        from tqdm import tqdm

        from .trainlog import TrainLog, plot_curves

        cfg, st, chief = self.cfg, self.state, self.job.is_chief
        if chief:
            write_file(self.run_dir / "config.json", (json.dumps(cfg, indent=2, default=str) + "\n").encode(),
                       "config")
        tlog = TrainLog(self.run_dir, st["step"] if cfg.get("resume") else None) if chief else None
        self._start = self._last_save = time.monotonic()
        self._save_interval = 60 * cfg["save_every_min"]
        self._last_val = f"{st['best_psnr']:.2f}" if st["best_psnr"] else "-"
        events = _Events(self)
        self.bar = tqdm(total=cfg["steps"], initial=st["step"], unit="step", dynamic_ncols=True,
                        disable=None if chief else True, file=sys.stderr)
        log(f"{cfg['model']} x{cfg['scale']} from step {st['step']} to {cfg['steps']}; run dir {self.run_dir}")
        # One decision ends the run, and the same one makes its last chunk validate: checking the clock twice
        # let a budget run out between the checks and end unvalidated.
        ending = self._run_over()
        try:
            while not ending:
                val_every = cfg["val_every"] if cfg["val_data"] else 0
                bound = cfg["steps"] if not val_every else min(cfg["steps"], (st["step"] // val_every + 1) * val_every)
                t0 = time.monotonic()
                with self.job.fit_scope():
                    self.model.fit(self.job.batches(self.sampler, st["step"]), steps_per_epoch=bound - st["step"],
                                   epochs=1, verbose=0, callbacks=[events], shuffle=False)
                st["step"] += events.count
                st["wall_time_s"] += time.monotonic() - t0
                row = {"step": st["step"], "loss": events.loss_sum / max(1, events.count),
                       "lr": self.schedule.value(st["step"]),
                       "elapsed_s": round(st["wall_time_s"], 2),
                       "steps_per_s": round(events.count / max(1e-9, time.monotonic() - t0), 4)}
                ending = self._run_over()
                # a run that ends by steps or budget ends validated; a signal asks to stop quickly
                validated = val_every and (st["step"] % val_every == 0 or (ending and not self.stops.signum))
                if validated:
                    self._after_validation(row)
                if tlog:
                    tlog.write(**row)
                if validated or self.job.agree([self._save_due()])[0]:
                    self.save("last.h5")
        finally:
            self.bar.close()
        self.save("last.h5")
        # never validated (--no-val, or stopped before the first validation): the latest weights are the best
        if self.job.from_chief(st["best_psnr"] is None):
            self.save("best.h5", with_optimizer=False, model=self.shipped_model())
        if chief:
            plot_curves(self.run_dir, self.run_dir / "curves.png")
        signum = self.stops.signum
        how = f"stopped by {signal.Signals(signum).name}" if signum else "done"
        best = f"{st['best_psnr']:.3f} dB at step {st['best_step']}" if st["best_psnr"] else "not validated"
        log(f"{how} at step {st['step']} ({st['wall_time_s']:.0f} s); best val PSNR {best}; "
            f"resume with: python train.py --resume {self.run_dir}")
        print(f"final_val_psnr={st['best_psnr'] if st['best_psnr'] is not None else 'nan'}")
        return 128 + signum if signum else 0

    def _after_validation(self, row):
        st = self.state
        if not self.job.is_chief:  # validation is the chief's; its copy of the average touches every worker's weights
            self.shipped_model()
            if self.cfg["plateau"] and self.job.from_chief(0):
                self._halve_lr()
            return
        psnr, ssim = self.validate()
        row.update(val_psnr=round(psnr, 6), val_ssim=round(ssim, 6))
        self._last_val = f"{psnr:.2f}"
        if st["best_psnr"] is None or psnr > st["best_psnr"]:
            st.update(best_psnr=psnr, best_ssim=ssim, best_step=st["step"])
            self.save("best.h5", with_optimizer=False, model=self._val_model)  # what was just validated
        if self.cfg["plateau"]:
            halve = self.plateau.update(psnr) and st["factor"] * self.cfg["lr"] > self.cfg["min_lr"]
            if self.job.from_chief(halve):
                self._halve_lr()
        st["plateau"] = self.plateau.state()
        log(f"step {st['step']}: val PSNR {psnr:.3f} dB, SSIM {ssim:.4f} (best {st['best_psnr']:.3f})")

    def _halve_lr(self):
        st = self.state
        st["factor"] *= 0.5
        self.schedule.factor = st["factor"]
        self.model.make_train_function(force=True)  # the factor is traced into the step
        log(f"plateau: learning rate factor now {st['factor']}")


def train(cfg, force=False):
    """Run a training config; the signal handlers cover all of it, from
    loading the data to the last checkpoint (see ``interrupts``)."""
    with StopRequests(log) as stops:
        return Trainer(cfg, stops, force).run()
