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

from . import checkpoints, cluster, evaluation, rundir, trainmodel, trainstate
from .devices import hardware, setup_devices
from .interrupts import StopRequests
from .paths import project_root
from .safewrite import remove_stale_temp_files, write_file
from .schedules import Plateau

ROOT = project_root()  # the checkout, else the current folder


def log(msg):
    print(msg, file=sys.stderr, flush=True)


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
    """One training run of a TrainConfig, which it only reads. ``stops``: the
    run's StopRequests (signal handlers), installed by ``train`` before the
    data loads; ``force``: a fresh run may move an old run in its folder
    aside (see ``rundir``); ``cluster_options``: this process's place in a
    multi-worker job (``cluster.join``); ``restart_lr``: a resume restarts
    the learning rate at the config's (its plateau halvings dropped);
    ``cache_dir``: where this machine keeps the decoded training images."""

    def __init__(self, cfg, *, stops=None, force=False, cluster_options=None, restart_lr=False, cache_dir=None):
        from . import models

        cfg.validate()  # train.py's config is validated already; another caller's may not be
        self.cfg, self.stops = cfg, stops or StopRequests(log)
        self.builder = models.get_builder(cfg.model)
        self.run_dir = Path(cfg.resume or cfg.run_dir or self._default_run_dir())
        self.job = cluster.join(cluster_options, log)  # first: JAX's runtime precedes all JAX work
        scope, self.devices = setup_devices(precision=cfg.precision, batch=cfg.batch, distribute=cfg.distribute,
                                            log=log, job=self.job)
        self.sampler = self._load_data(cache_dir)
        self._prepare_run_dir(force)  # only once the data loaded: a bad call leaves no folder
        keras.utils.set_random_seed(cfg.seed)
        self.state, saved_weights, opt_arrays = self._restore_state(restart_lr)
        if cfg.teacher:
            self._add_teacher()
        with scope:
            self.model, record = trainmodel.build(cfg, saved_weights, log)
            if record:
                self.state["init_from"] = record
            self.schedule, self._adam = trainmodel.compile_model(self.model, cfg, factor=self.state["factor"],
                                                                 opt_arrays=opt_arrays,
                                                                 source=self.run_dir / "last.h5")
        self.job.prepare(self.model)
        self.plateau = Plateau(patience=cfg.patience, **self.state["plateau"])
        self._start_segment()
        self._val_model = None

    def _default_run_dir(self):
        scales = "".join(str(s) for s in self.cfg.scale)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return ROOT / "runs" / f"{self.cfg.model.upper()}_x{scales}_{stamp}"

    def _load_data(self, cache_dir):
        from .data import PatchSampler

        c = self.cfg
        return PatchSampler(folder=c.data, scales=c.scale, patch=c.patch, batch=c.batch,
                            upsampling=self.builder.upsampling, degradation=c.degradation, seed=c.seed,
                            augment=c.augment, workers=c.workers, log=log, rescale=c.rescale, strength=c.strength,
                            shard=(self.job.index, self.job.count), cache_dir=cache_dir)

    def _add_teacher(self):
        """Targets carry the frozen teacher's output (``distill``), computed
        in bfloat16 when the run trains in mixed bfloat16 (as output.py runs
        where that is native), else float32; a resume must find the teacher
        file it started with."""
        from . import distill

        distill.check_unchanged(self.cfg.teacher, self.state.get("teacher"))
        precision = "bfloat16" if self.cfg.precision == "mixed_bfloat16" else "float32"
        with self.job.local():
            teacher, info = checkpoints.load(self.cfg.teacher, precision=precision)
        self.state["teacher"] = distill.record(self.cfg.teacher, info)
        self.sampler = distill.TeacherSampler(self.sampler, teacher)
        log(f"distilling from {self.cfg.teacher} ({info.model}, {precision}), weight {self.cfg.distill_weight:g}")

    def _prepare_run_dir(self, force):
        """The chief's run folder: a fresh run's made (an old run there moved
        aside with ``force``), a killed save's temporary files removed; the
        other workers of a job write nothing there."""
        if not self.job.is_chief:
            return
        if not self.cfg.resume:
            rundir.check_free(self.run_dir, force)
            if rundir.held_run(self.run_dir):
                rundir.move_aside(self.run_dir, log)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(self.run_dir, log)  # a killed save's, e.g.; a live process's stay

    def _restore_state(self, restart_lr):
        """(state, weights, optimizer arrays): a fresh run's state (no
        weights, no arrays), or the resumed checkpoint's."""
        if not self.cfg.resume:
            return trainstate.fresh(), None, None
        saved, info, opt_arrays = checkpoints.load(self.run_dir / "last.h5", with_optimizer=True, quantized=True)
        st = trainstate.read(info.metadata)
        if st["best_psnr"] is not None and not (self.run_dir / "best.h5").exists():
            # e.g. a committed run folder holds only last.h5: best.h5 and its metadata must agree, so the
            # best is tracked afresh (log.csv keeps the earlier validations)
            log(f"{self.run_dir}: no best.h5 beside last.h5; the earlier best ({st['best_psnr']:.3f} dB "
                f"at step {st['best_step']}) is forgotten and best.h5 is kept from this invocation on")
            st.update(best_psnr=None, best_ssim=None, best_step=None)
        if restart_lr:
            st.update(factor=1.0, plateau={"best": st["plateau"]["best"], "wait": 0})
        return st, saved.get_weights(), opt_arrays

    def _start_segment(self):
        # One entry per invocation: a card can then say which steps ran where and how. A resume may move
        # the schedule's horizon (a cosine then bends from this step on); the card's own "steps" counts
        # the steps trained, hence a distinct name.
        self.state.setdefault("segments", []).append(
            {"from_step": self.state["step"], "schedule_steps": self.cfg.steps, "precision": self.cfg.precision,
             "lr": self.schedule.value(self.state["step"]), "backend": keras.backend.backend(), "hardware": hardware(),
             **({"workers": self.job.count} if self.job.multi else {})})

    # -- events -------------------------------------------------------------
    def on_step(self, cb, done):
        step = self.state["step"] + cb.count
        self.bar.update(done)
        self.bar.set_postfix(loss=f"{cb.loss_sum / cb.count:.4g}", val=self._last_val, refresh=False)
        # workers of a job end a chunk only at steps they all know; clocks and signals are agreed on there
        if not self.job.multi and (self.stops.signum or self._budget_over() or self._save_due()):
            self.model.stop_training = True
        every = self.cfg.log_every or (cluster.SYNC_EVERY if self.job.multi else 0)
        if every and step % every == 0:
            self.model.stop_training = True  # the chunk ends here so the row is exact

    def _run_over(self):  # steps done, signalled or out of budget; read once per chunk, see run()
        signum, budget = self.job.agree([self.stops.signum or 0, self._budget_over()])  # any worker's, for all
        if signum and not self.stops.signum:  # another worker was signalled: this one stops with it
            self.stops.signum = int(signum)
        return self.state["step"] >= self.cfg.steps or bool(self.stops.signum) or bool(budget)

    def _save_due(self):
        return time.monotonic() - self._last_save > self._save_interval

    def _budget_over(self):  # --minutes: wall-clock budget for this invocation
        minutes = self.cfg.minutes
        return bool(minutes) and time.monotonic() - self._start > 60 * minutes

    # -- validation and checkpoints -----------------------------------------
    def shipped_model(self):
        """A float32 single-device copy (what evaluate.py rebuilds from the
        file) holding what validation scores and best.h5 keeps: the weights'
        moving average with --ema, else the weights themselves."""
        from . import models

        if self._val_model is None:
            with self.job.local():
                self._val_model = models.build(self.cfg.model, precision="float32", **self.cfg.model_args)
        if self.cfg.ema:
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
        method = evaluation.Method("val", "model", scales=tuple(self.cfg.scale), model=self.shipped_model(),
                                   upsampling=self.builder.upsampling)
        scale = self.cfg.scale[0]
        with self.job.local():
            found = evaluation.evaluate([self.cfg.val_data], [scale], [method], self.cfg.data_root,
                                        log=lambda m: None, degrades=list(self.cfg.val_degrade))
        return float(np.mean([r.psnr for r in found])), float(np.mean([r.ssim for r in found]))

    def save(self, name, with_optimizer=True, model=None):
        self._last_save = time.monotonic()  # on every worker: they agree on when the next save is due
        if not self.job.is_chief:
            return
        meta = trainstate.metadata(self.state, self.cfg, self.sampler.description)
        opt = self.model.optimizer.variables if with_optimizer else None
        with self.stops.protected():  # a second Ctrl-C waits until the file is complete and renamed
            checkpoints.save(self.run_dir / name, model or self.model, name=self.cfg.model,
                             args=dict(self.cfg.model_args), scale=self.cfg.checkpoint_scale, metadata=meta,
                             optimizer_variables=opt)

    # -- the loop -----------------------------------------------------------
    def run(self):
        from tqdm import tqdm

        from .trainlog import TrainLog, plot_curves

        cfg, st, chief = self.cfg, self.state, self.job.is_chief
        if chief:
            write_file(self.run_dir / "config.json", (json.dumps(cfg.to_dict(), indent=2) + "\n").encode(),
                       "config")
        tlog = TrainLog(self.run_dir, st["step"] if cfg.resume else None) if chief else None
        self._start = self._last_save = time.monotonic()
        self._save_interval = 60 * cfg.save_every_min
        self._last_val = f"{st['best_psnr']:.2f}" if st["best_psnr"] else "-"
        events = _Events(self)
        self.bar = tqdm(total=cfg.steps, initial=st["step"], unit="step", dynamic_ncols=True,
                        disable=None if chief else True, file=sys.stderr)
        log(f"{cfg.model} x{list(cfg.scale)} from step {st['step']} to {cfg.steps}; run dir {self.run_dir}")
        # One decision ends the run, and the same one makes its last chunk validate: checking the clock twice
        # let a budget run out between the checks and end unvalidated.
        ending = self._run_over()
        try:
            while not ending:
                val_every = cfg.val_every if cfg.val_data else 0
                bound = cfg.steps if not val_every else min(cfg.steps, (st["step"] // val_every + 1) * val_every)
                chunk = bound - st["step"]
                t0 = time.monotonic()
                with self.job.fit_scope():
                    self.model.fit(self.job.batches(self.sampler, st["step"], chunk), steps_per_epoch=chunk,
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
            if self.cfg.plateau and self.job.from_chief(0):
                self._halve_lr()
            return
        psnr, ssim = self.validate()
        row.update(val_psnr=round(psnr, 6), val_ssim=round(ssim, 6))
        self._last_val = f"{psnr:.2f}"
        if st["best_psnr"] is None or psnr > st["best_psnr"]:
            st.update(best_psnr=psnr, best_ssim=ssim, best_step=st["step"])
            self.save("best.h5", with_optimizer=False, model=self._val_model)  # what was just validated
        if self.cfg.plateau:
            halve = self.plateau.update(psnr) and st["factor"] * self.cfg.lr > self.cfg.min_lr
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


def train(cfg, *, force=False, cluster_options=None, restart_lr=False, cache_dir=None):
    """Run a TrainConfig (the keywords: see ``Trainer``); the signal handlers
    cover all of it, from loading the data to the last checkpoint (see
    ``interrupts``)."""
    with StopRequests(log) as stops:
        return Trainer(cfg, stops=stops, force=force, cluster_options=cluster_options, restart_lr=restart_lr,
                       cache_dir=cache_dir).run()
