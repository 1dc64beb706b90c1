"""The model and optimizer a run trains: the registry's model holding a
resumed checkpoint's weights, --init-from's (the layers that match, for
another scale or a grown model) or fresh ones; Adam on the learning-rate
schedule, with the weights' moving average for --ema, compiled with the
loss and given a resumed run's optimizer state."""

import keras

from . import checkpoints, distill, losses, models, qat, trainstate
from .calibration import calibration_patches
from .errors import SRError
from .schedules import Schedule
from .transfer import fixed_args, transfer_layers


class AveragingAdam(keras.optimizers.Adam):
    """Adam keeping an exponential moving average of the weights (``use_ema``)
    beside them. Keras copies the average over the weights at the end of every
    fit(); the trainer calls fit() in chunks, so that copy is skipped here and
    the average is read only for validation and best.h5."""

    def finalize_variable_values(self, var_list):
        pass


def build(cfg, saved_weights, log):
    """(model, record): the TrainConfig's model holding ``saved_weights``
    (a resumed run's, or None), else --init-from's; ``record`` is the state's
    record of the --init-from checkpoint (None without one)."""
    model = models.build(cfg.model, **cfg.model_args)
    record = None
    if cfg.init_from and not cfg.resume:  # a resumed run continues from its own weights
        src, info = checkpoints.load(cfg.init_from, quantized=bool(cfg.model_args.get("fake_quant")))
        if info.model != cfg.model or fixed_args(info.model, info.args) != fixed_args(cfg.model, cfg.model_args):
            raise SRError(f"{cfg.init_from}: holds {info.model}{info.args}, not {cfg.model}{dict(cfg.model_args)}")
        if info.args == cfg.model_args:
            saved_weights = src.get_weights()
        else:  # another scale, larger kernels or more blocks: matching layers transfer, the rest start fresh
            fresh, grown = transfer_layers(src, model)
            log(f"initialised from {cfg.init_from} (x{info.scale}); "
                f"kernels grown: {', '.join(grown) or 'none'}; new layers: {', '.join(fresh) or 'none'}")
        record = trainstate.init_from_record(cfg.init_from, info)
    if saved_weights is not None:
        model.set_weights(saved_weights)
    if not qat.calibrated(model):  # a quantization-aware form's new ranges start at the float tensors'
        scale = cfg.model_args.get("scale", 2)
        try:
            patches = calibration_patches(scale, "post", folders=cfg.data)
        except SRError:  # no image holds calibration's 96-pixel LR patch: the training patch's size then
            patches = calibration_patches(scale, "post", folders=cfg.data, side=cfg.patch // scale)
        qat.calibrate(model, cfg.model, cfg.model_args, patches)
        log(f"int8 ranges calibrated on {len(patches)} training patches")
    return model, record


def compile_model(model, cfg, *, factor, opt_arrays=None, source=None):
    """Compile ``model`` for training; returns (schedule, optimizer).
    ``factor``: the plateau's learning-rate factor; ``opt_arrays``: a resumed
    run's optimizer state, read from ``source`` (named when it does not fit)."""
    schedule = Schedule(lr=cfg.lr, kind=cfg.schedule, total_steps=cfg.steps, decay_every=cfg.decay_every,
                        decay_rate=cfg.decay_rate, min_lr=cfg.min_lr, warmup=cfg.warmup, factor=factor)
    # without --ema this is plain Adam: use_ema off, the same updates and optimizer variables
    opt = AveragingAdam(schedule, clipnorm=cfg.clipnorm or None, use_ema=bool(cfg.ema),
                        ema_momentum=cfg.ema or 0.99, name="adam")
    loss = losses.get(cfg.loss)
    if cfg.teacher:  # targets then carry the teacher's output beside HR (distill.TeacherSampler)
        loss = distill.distilled(loss, cfg.distill_weight)
    model.compile(optimizer=opt, loss=loss, steps_per_execution=cfg.steps_per_execution)
    opt.build(model.trainable_variables)
    if opt_arrays is not None:
        if [tuple(a.shape) for a in opt_arrays] != [tuple(v.shape) for v in opt.variables]:
            raise SRError(f"{source}: optimizer state does not fit this run")
        for var, arr in zip(opt.variables, opt_arrays):
            var.assign(arr)
    return schedule, opt
