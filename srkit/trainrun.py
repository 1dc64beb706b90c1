"""What train.py's modes do: turn arguments into a training config (fresh or
resumed), export a run's checkpoint into weights/, plot its curves, and the
training-throughput benchmark."""

import sys
import time
from pathlib import Path

from . import checkpoints, evaluation, rundir
from .errors import SRError
from .paths import project_root
from .safewrite import write_file

ROOT = project_root()  # the checkout, else the current folder
# Options a resumed run may change; everything else comes from the checkpoint.
RESUMABLE_OVERRIDES = ("steps", "minutes", "precision", "data", "val_data", "data_root", "val_every", "save_every_min",
                       "workers", "log_every", "lr", "patience", "rescale")
DEFAULTS = {"model": "VDSR", "steps": 10000, "val_every": 500, "log_every": 100, "save_every_min": 5.0,
            "val_data": "Set5", "data": [str(ROOT / "data" / "DIV2K_train_HR")], "lr": 1e-4, "patience": 5,
            "rescale": []}


def _precision(a):
    """The dtype policy asked for on the command line; None when not given
    (a resumed run then keeps its own)."""
    return "mixed_bfloat16" if a.mixed_precision else a.precision


def train_from_args(a, model_args):
    from . import training

    steps = a.steps
    if a.epochs or a.steps_per_epoch:
        if not (a.epochs and a.steps_per_epoch) or a.steps:
            raise SRError("give --steps, or both --epochs and --steps-per-epoch")
        steps = a.epochs * a.steps_per_epoch
    given = {"steps": steps, "minutes": a.minutes, "data": a.data, "val_data": a.val_data, "data_root": a.data_root,
             "val_every": a.val_every, "save_every_min": a.save_every_min, "workers": a.workers,
             "log_every": a.log_every, "model": a.model, "lr": a.lr, "patience": a.patience,
             "precision": _precision(a), "rescale": a.rescale}
    if not 0.0 <= a.ema < 1.0:
        raise SRError(f"--ema {a.ema}: the decay must be in [0, 1), e.g. 0.999")
    if a.resume:
        if a.force:
            raise SRError("--force starts a fresh run in a folder that holds one; it does not go with --resume")
        if not (Path(a.resume) / "last.h5").exists():
            raise SRError(f"{a.resume}: no last.h5 to resume from")
        cfg = resume_config(a.resume, given)
        if a.ema and a.ema != cfg["ema"]:
            raise SRError(f"{a.resume}: --ema is fixed for a run (this one has {cfg['ema']}); to average "
                          "from here on, start a new run with --init-from RUN/last.h5 --ema DECAY")
    else:
        if a.run_dir:  # refused now rather than after the data has loaded
            rundir.check_free(a.run_dir, a.force)
        cfg = {k: (v if v is not None else DEFAULTS.get(k)) for k, v in given.items()}
        cfg["data_root"] = cfg["data_root"] or str(evaluation.default_data_root())
        for folder in cfg["data"]:
            if not Path(folder).exists():
                raise SRError(f"{folder}: training data folder does not exist (pass --data DIR, "
                              "or download DIV2K with python data/download_div2k.py)")
        from . import benchdeg

        for name in a.val_degrade or ():
            if name not in benchdeg.DEGRADES:
                raise SRError(f"--val-degrade {name}: unknown (use {', '.join(benchdeg.DEGRADES)})")
        cfg.update(model_args=model_args, scale=a.scale, patch=a.patch, batch=a.batch, degradation=a.degradation,
                   strength=a.degradation_strength, val_degrade=a.val_degrade or ["clean"],
                   augment=a.augment, seed=a.seed, loss=a.loss, schedule=a.schedule,
                   decay_every=a.decay_every, decay_rate=a.decay_rate, min_lr=a.min_lr, warmup=a.warmup,
                   plateau=a.plateau, clipnorm=a.clipnorm, ema=a.ema,
                   precision=cfg["precision"] or "float32",
                   distribute=a.distribute, steps_per_execution=a.steps_per_execution,
                   run_dir=a.run_dir, init_from=a.init_from, resume=None)
    if a.no_val:
        cfg["val_data"] = None
    # where this process sits in a multi-worker job: not part of the run (a resume may use other workers)
    cfg["cluster"] = {"coordinator": a.coordinator, "num_processes": a.num_processes, "process_id": a.process_id,
                      "worker_timeout": a.worker_timeout}
    cfg["cache_dir"] = a.cache_dir  # likewise: where this machine keeps decoded images
    return training.train(cfg, force=a.force)


def resume_config(run_dir, overrides):
    """The stored config of ``run_dir/last.h5`` with the allowed overrides applied."""
    path = Path(run_dir) / "last.h5"
    info = checkpoints.read_info(path)
    cfg = dict(info.metadata.get("config") or {})
    if not cfg:
        raise SRError(f"{path}: no training configuration stored; cannot resume")
    for key in RESUMABLE_OVERRIDES:
        if overrides.get(key) is not None:
            cfg[key] = overrides[key]
    if overrides.get("lr") is not None:  # a new base rate replaces the plateau's halvings too
        cfg["restart_lr"] = True
    model = overrides.get("model")
    if model and model.lower() != cfg["model"].lower():
        raise SRError(f"{path}: resume checkpoint is {cfg['model']}, not {model}")
    cfg.setdefault("ema", 0.0)  # runs from before --ema existed
    cfg.setdefault("rescale", [])  # ... and before --rescale
    cfg.setdefault("strength", "medium")  # ... and before --degradation real
    cfg.setdefault("val_degrade", ["clean"])
    if isinstance(cfg.get("data"), str):  # ... and before several --data folders
        cfg["data"] = [cfg["data"]]
    cfg["resume"] = str(run_dir)
    return cfg


def export(run, to=None, which="best"):
    """Copy RUN's best/last checkpoint without optimizer state (lean weights/)
    and write its model card beside it (``NAME.json``)."""
    import json

    src = Path(run) / f"{which}.h5"
    info = checkpoints.read_info(src)
    dst = Path(to) if to else ROOT / "weights" / f"{info.model}_x{'_'.join(map(str, info.scales))}.h5"
    model, info = checkpoints.load(src)
    checkpoints.save(dst, model, info.model, info.args, info.scale, info.metadata)
    card = model_card(model, info, src)
    write_file(dst.with_suffix(".json"), (json.dumps(card, indent=2) + "\n").encode(), "model card")
    print(f"exported {src} -> {dst} (step {info.metadata.get('step')}, best val PSNR {info.metadata.get('best_psnr')})")
    return 0


def model_card(model, info, source):
    """What a user needs to judge a shipped checkpoint, from its own metadata."""
    meta, cfg, state = info.metadata, info.metadata.get("config", {}), info.metadata.get("state", {})
    return {
        "architecture": info.model, "arguments": info.args, "parameters": int(model.count_params()),
        "scale": info.scale, "degradation": meta.get("degradation"),
        **({"degradation_settings": meta["degradation_settings"]} if meta.get("degradation_settings") else {}),
        "training_data": meta.get("data"), "steps": meta.get("step"), "batch": meta.get("batch"),
        "patch": meta.get("patch"), "loss": meta.get("loss"), "optimizer": "Adam",
        "learning_rate": {k: cfg.get(k) for k in ("lr", "schedule", "plateau", "patience", "warmup")},
        "plateau_factor": state.get("factor"), "weight_average_decay": cfg.get("ema") or None,
        "precision": meta.get("precision"),
        "wall_time_s": round(float(state.get("wall_time_s", 0.0)), 1), "hardware": meta.get("hardware"),
        "backend": meta.get("backend"),
        "segments": state.get("segments"), "initialised_from": state.get("init_from"),
        "validation": {"data": meta.get("val_data"), "psnr": meta.get("best_psnr"), "ssim": meta.get("best_ssim"),
                       **({"degrade": cfg["val_degrade"]} if cfg.get("val_degrade", ["clean"]) != ["clean"] else {}),
                       "step": state.get("best_step"),
                       "protocol": "Y channel, scale px shaved, MATLAB-bicubic LR (evaluate.py)"},
        "source": str(source),
    }


def plot(run):
    from .trainlog import plot_curves

    out = ROOT / "md_images" / f"train_{Path(run).name}.png"
    if not (Path(run) / "log.csv").exists():
        raise SRError(f"{run}: no log.csv (not a training run folder)")
    print(f"wrote {plot_curves(run, out)}")
    return 0


def _median_fit_step(model, batches, steps):
    """Median seconds per step of ``model.fit`` on a batch generator: the
    trainer's own path (first steps excluded: tracing and warm-up)."""
    import keras

    stamps = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            stamps.append(time.perf_counter())

    model.fit(batches, steps_per_epoch=steps + 3, epochs=1, verbose=0, callbacks=[Clock()], shuffle=False)
    gaps = sorted(b - a for a, b in zip(stamps[3:], stamps[4:]))
    return gaps[len(gaps) // 2]


def _repeat(batch):
    while True:  # a generator: what Keras's fit accepts as a stream
        yield batch


def benchmark(a, model_args):
    """Per model: median training step time with one repeated in-memory batch
    vs with the real pipeline (the stream training uses, built ahead in
    threads), both through model.fit; and the pipeline alone in batches/s."""
    import keras

    from . import losses, models
    from .data import PatchSampler

    data = a.data or DEFAULTS["data"]
    names = a.bench_models or list(models.MODELS)
    precision = _precision(a) or "float32"
    keras.config.set_dtype_policy(precision)
    strength = f" ({a.degradation_strength})" if a.degradation == "real" else ""
    print(f"backend {keras.backend.backend()}, {precision}, batch {a.batch}, patch {a.patch}, x{a.scale[0]}, "
          f"{a.bench_steps} steps, degradation {a.degradation}{strength}, data {' '.join(map(str, data))}")
    print("| Model | step s (repeated batch) | step s (pipeline) | ratio | steps/s | HR MP/s | pipeline batches/s "
          "| data s/batch, 1 thread | data / model time |")
    print("|---|---|---|---|---|---|---|---|---|")
    samplers, consumed = {}, {}
    for name in names:
        builder = models.get_builder(name)
        if builder.upsampling not in samplers:
            samplers[builder.upsampling] = PatchSampler(data, a.scale[:1], a.patch, a.batch, builder.upsampling,
                                                        a.degradation, a.seed, a.augment, a.workers,
                                                        log=lambda m: print(m, file=sys.stderr),
                                                        strength=a.degradation_strength, cache_dir=a.cache_dir)
        sampler = samplers[builder.upsampling]
        t = time.perf_counter()
        for i in range(20):
            sampler.batch(i)
        pipe = 20 / (time.perf_counter() - t)
        model = models.build(name, **(model_args if len(names) == 1 else {}))
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=losses.get(a.loss))
        repeated = _median_fit_step(model, _repeat(sampler.batch(0)), a.bench_steps)
        real = _median_fit_step(model, sampler.stream(1000), a.bench_steps)
        mp = a.batch * (a.patch // a.scale[0] * a.scale[0]) ** 2 / 1e6
        print(f"| {builder.model_name} | {repeated:.4f} | {real:.4f} | {real / repeated:.3f} | {1 / real:.2f} "
              f"| {mp / real:.3f} | {pipe:.1f} | {1 / pipe:.4f} | {1 / pipe / repeated:.3f} |", flush=True)
        consumed.setdefault(builder.upsampling, []).append((a.batch / repeated, builder.model_name))
    for upsampling, sampler in samplers.items():
        need, fastest = max(consumed[upsampling])
        print(f"\n{upsampling}-upsampling input pipeline alone; its fastest model here, {fastest}, consumes "
              f"{need:.1f} patches/s\n| workers | patches/s | x fastest model |\n|---|---|---|")
        for n, rate in sampler.patch_rates().items():
            print(f"| {n} | {rate:.1f} | {rate / need:.2f} |", flush=True)
    return 0
