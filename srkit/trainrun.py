"""What train.py's modes do: train (the TrainConfig of its options, see
``trainconfig``), export a run's checkpoint into weights/, plot its curves,
and the training-throughput benchmark."""

import sys
import time
from pathlib import Path

from . import checkpoints, rundir, trainconfig
from .errors import SRError
from .paths import project_root
from .safewrite import write_file

ROOT = project_root()  # the checkout, else the current folder


def train_from_args(a, model_args):
    """Train the TrainConfig of train.py's options ``a``."""
    from . import training

    if a.run_dir and not a.resume:  # refused now rather than after the data has loaded
        rundir.check_free(a.run_dir, a.force)
    cfg = trainconfig.from_args(a, model_args)
    # where this process sits in a multi-worker job: not part of the run (a resume may use other workers)
    place = {"coordinator": a.coordinator, "num_processes": a.num_processes, "process_id": a.process_id,
             "worker_timeout": a.worker_timeout}
    # a new base rate given to a resume replaces the plateau's halvings too; the image cache is this
    # machine's, not the run's
    return training.train(cfg, force=a.force, cluster_options=place, restart_lr=bool(a.resume and a.lr is not None),
                          cache_dir=a.cache_dir)


def export(run, to=None, which="best"):
    """Copy RUN's best/last checkpoint without optimizer state (lean weights/),
    a re-parameterisable model folded into its plain form, and write its
    model card beside it (``NAME.json``)."""
    import dataclasses
    import json

    from . import models

    src = Path(run) / f"{which}.h5"
    info = checkpoints.read_info(src)
    dst = Path(to) if to else ROOT / "weights" / f"{info.model}_x{'_'.join(map(str, info.scales))}.h5"
    model, info = checkpoints.load(src, quantized=True)  # a quantization-aware model keeps its int8 ranges
    model, args = models.deployed(info.model, model, info.args)  # a multi-branch form folds to plain convs
    checkpoints.save(dst, model, name=info.model, args=args, scale=info.scale, metadata=info.metadata)
    card = model_card(model, dataclasses.replace(info, args=args), src)
    write_file(dst.with_suffix(".json"), (json.dumps(card, indent=2) + "\n").encode(), "model card")
    print(f"exported {src} -> {dst} (step {info.metadata.get('step')}, best val PSNR {info.metadata.get('best_psnr')})")
    return 0


def model_card(model, info, source):
    """What a user needs to judge a shipped checkpoint, from its own metadata."""
    from .layers import FakeQuant  # a quantization-aware model's ranges are not parameters

    meta, cfg, state = info.metadata, info.metadata.get("config", {}), info.metadata.get("state", {})
    return {
        "architecture": info.model, "arguments": info.args,
        "parameters": sum(int(layer.count_params()) for layer in model.layers if not isinstance(layer, FakeQuant)),
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
        **({"int8_calibration": meta["int8_calibration"]} if meta.get("int8_calibration") else {}),
        **({"distilled_from": {**state["teacher"], "weight": cfg.get("distill_weight")}} if state.get("teacher") else {}),
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

    data = a.data or trainconfig.DEFAULT.data
    names = a.bench_models or list(models.MODELS)
    precision = trainconfig.precision_option(a) or "float32"
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
            samplers[builder.upsampling] = PatchSampler(
                folder=data, scales=a.scale[:1], patch=a.patch, batch=a.batch, upsampling=builder.upsampling,
                degradation=a.degradation, seed=a.seed, augment=a.augment, workers=a.workers,
                log=lambda m: print(m, file=sys.stderr), strength=a.degradation_strength, cache_dir=a.cache_dir)
        sampler = samplers[builder.upsampling]
        t = time.perf_counter()
        for i in range(20):
            sampler.batch(i)
        pipe = 20 / (time.perf_counter() - t)
        model = models.build(name, **builder.training_args, **(model_args if len(names) == 1 else {}))
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
