"""Train an SR model on random patches from a folder of images (DIV2K-style).

  python train.py --model VDSR --data data/DIV2K_train_HR --scale 2 --steps 100000
  python train.py --resume runs/VDSR_x2_20261127-101500          # continue exactly
  python train.py --export runs/VDSR_x2_20261127-101500 --to weights/VDSR_x2.h5
  python train.py --plot runs/VDSR_x2_20261127-101500             # curves into md_images/
  python train.py --benchmark --data DIR                           # steps/s per model
  python train.py --prune-cache                                    # free cache entries of deleted images

Ctrl-C or SIGTERM saves last.h5 before exiting. Set KERAS_BACKEND=jax to train on JAX.
One worker of a multi-worker job: TF_CONFIG=... python train.py ..., or on JAX
python train.py --coordinator HOST:PORT --num-processes N --process-id I ... (README).
"""

import json

from .. import realdeg
from ..cliargs import NON_NEGATIVE, POSITIVE, SCALE, Parser, count
from ..errors import SRError
from ..trainconfig import DEFAULT as D


def parser():
    p = Parser(__doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last.h5")
    mode.add_argument("--export", metavar="RUN", help="copy RUN's best.h5 (weights only) into weights/")
    mode.add_argument("--plot", metavar="RUN", help="write RUN's loss / val PSNR curves into md_images/")
    mode.add_argument("--benchmark", action="store_true", help="measure steps/s and data throughput")
    mode.add_argument("--prune-cache", action="store_true", help="free the image cache (--cache-dir) of entries "
                      "whose image files were deleted or changed since")
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default=None, help=f"registered model name (default {D.model})")
    g.add_argument("--model-args", default="{}", help='builder arguments as JSON, e.g. \'{"depth": 10}\'')
    g.add_argument("--data", default=None, nargs="+", metavar="DIR", help="folders of training images, searched "
                   "recursively (default data/DIV2K_train_HR)")
    g.add_argument("--scale", type=SCALE, nargs="+", default=list(D.scale),
                   help="one scale, or several to mix per batch")
    g.add_argument("--patch", type=count(), default=D.patch, help="HR patch side")
    g.add_argument("--batch", type=count(), default=D.batch)
    g.add_argument("--degradation", choices=["bicubic", "seed", "real"], default=D.degradation,
                   help="LR synthesis: MATLAB bicubic (the benchmarks'), the original project's 'seed', or "
                   "'real' (Real-ESRGAN-style blur, resize, noise and JPEG per patch; post-upsampling models)")
    g.add_argument("--degradation-strength", default=D.strength, choices=list(realdeg.PRESETS),
                   help="with --degradation real: the preset of ranges in srkit/realdeg.py (strong: Real-ESRGAN's)")
    g.add_argument("--no-augment", dest="augment", action="store_false")
    g.add_argument("--rescale", type=float, nargs="+", metavar="F",
                   help="also train on every image shrunk by these factors (MATLAB bicubic), e.g. 0.9 0.8 0.7 0.6")
    g.add_argument("--workers", type=count(0), default=D.workers, help="threads building batches ahead")
    g.add_argument("--cache-dir", default=None, help="where training images are kept decoded (default "
                   "$SRKIT_CACHE_DIR, else ~/.cache/srkit/images); safe to delete")
    g.add_argument("--seed", type=count(0), default=D.seed)
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=count(), default=None, help=f"total training steps (default {D.steps})")
    g.add_argument("--epochs", type=count(), help="with --steps-per-epoch: steps = epochs x steps-per-epoch")
    g.add_argument("--steps-per-epoch", type=count())
    g.add_argument("--loss", default=D.loss, help="l1, mse, ssim_l1 (0.84 (1 - SSIM) + 0.16 L1) or l1_luma (L1 on "
                   "BT.601 luma + 0.1 x L1 on chroma)")
    g.add_argument("--lr", type=NON_NEGATIVE, default=None,
                   help=f"base learning rate (default {D.lr:g}); with --resume, restarts the LR at this value")
    g.add_argument("--schedule", choices=["constant", "step", "cosine"], default=D.schedule)
    g.add_argument("--decay-every", type=count(0), default=D.decay_every,
                   help="step decay interval (default steps / 2)")
    g.add_argument("--decay-rate", type=POSITIVE, default=D.decay_rate)
    g.add_argument("--min-lr", type=NON_NEGATIVE, default=D.min_lr)
    g.add_argument("--warmup", type=count(0), default=D.warmup, help="linear warm-up steps")
    g.add_argument("--plateau", action="store_true", help="halve the LR when val PSNR stalls")
    g.add_argument("--patience", type=count(), default=None,
                   help=f"validations without improvement before halving (default {D.patience})")
    g.add_argument("--ema", type=float, default=D.ema, help="validate and keep as best.h5 an exponential moving "
                   "average of the weights with this decay per step, e.g. 0.999 (0: off; fixed for a run)")
    g.add_argument("--clipnorm", type=NON_NEGATIVE, default=D.clipnorm,
                   help="gradient clipping by global norm (0: off)")
    g.add_argument("--precision", choices=["float32", "mixed_bfloat16", "mixed_float16"])
    g.add_argument("--mixed-precision", action="store_true", help="shorthand for --precision mixed_bfloat16")
    g.add_argument("--distribute", action="store_true", help="data parallel over all devices")
    g.add_argument("--steps-per-execution", type=count(), default=D.steps_per_execution)
    g = p.add_argument_group("several machines (see the README; TensorFlow workers are configured by TF_CONFIG)")
    g.add_argument("--coordinator", metavar="HOST:PORT", help="JAX: process 0's address, the same for every "
                   "process (default $KERAS_DISTRIBUTION_JOB_ADDRESSES, $JAX_COORDINATOR_ADDRESS)")
    g.add_argument("--num-processes", type=count(), help="JAX: processes in the job "
                   "($KERAS_DISTRIBUTION_NUM_PROCESSES)")
    g.add_argument("--process-id", type=count(0), help="JAX: this process, 0 .. N-1; 0 is the chief "
                   "($KERAS_DISTRIBUTION_PROCESS_ID)")
    g.add_argument("--worker-timeout", type=count(), default=100, metavar="S", help="JAX: seconds without a "
                   "heartbeat after which a process counts as dead and the job stops (TensorFlow's runtime has its own)")
    g = p.add_argument_group("validation, checkpoints, logs")
    g.add_argument("--val-data", default=None, help=f"benchmark folder name or path (default {D.val_data})")
    g.add_argument("--val-degrade", nargs="+", default=None, metavar="NAME",
                   help="validate on the mean PSNR over these evaluate.py --degrade inputs (default: clean)")
    g.add_argument("--data-root", default=None, help="where --val-data lives (default $SR_DATA_ROOT, else evaluation/)")
    g.add_argument("--val-every", type=count(), default=None, help=f"steps between validations (default {D.val_every})")
    g.add_argument("--no-val", action="store_true")
    g.add_argument("--log-every", type=count(0), default=None, help=f"steps between log rows (default {D.log_every})")
    g.add_argument("--save-every-min", type=NON_NEGATIVE, default=None,
                   help=f"minutes between last.h5 saves (default {D.save_every_min:g})")
    g.add_argument("--minutes", type=POSITIVE, default=None, help="stop (and save) after this wall-clock budget")
    g.add_argument("--run-dir", default=None, help="default runs/<MODEL>_x<scale>_<timestamp>; a folder that holds "
                   "a run is refused (continue it with --resume)")
    g.add_argument("--force", action="store_true", help="with a --run-dir that holds a run: move that run aside to "
                   "RUN.replaced-<time> (nothing is deleted) and start afresh")
    g.add_argument("--init-from", default=None, help="start from this checkpoint's weights (fresh optimizer)")
    g.add_argument("--teacher", default=None, metavar="CKPT", help="distil from this checkpoint (frozen, run on "
                   "each LR batch): loss + W * L1(model, teacher), W from --distill-weight; fixed for a run")
    g.add_argument("--distill-weight", type=POSITIVE, default=D.distill_weight, metavar="W",
                   help=f"with --teacher (default {D.distill_weight:g})")
    g.add_argument("--to", default=None, help="with --export: destination (default weights/<MODEL>_x<scale>.h5)")
    g.add_argument("--which", choices=["best", "last"], default="best", help="with --export")
    g.add_argument("--bench-models", nargs="+", default=None, help="with --benchmark (default: all)")
    g.add_argument("--bench-steps", type=count(), default=10, help="with --benchmark")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    from .. import trainrun

    if a.export:
        return trainrun.export(a.export, a.to, a.which)
    if a.plot:
        return trainrun.plot(a.plot)
    if a.prune_cache:
        from ..imagecache import default_dir, prune

        removed, freed, kept, unrecorded = prune(a.cache_dir)
        older = f" ({unrecorded} of them made by an older srkit and not used since)" if unrecorded else ""
        print(f"image cache {a.cache_dir or default_dir()}: removed {removed} entries of deleted or changed images "
              f"({freed / 1e6:.1f} MB), kept {kept}{older}")
        return None
    try:
        model_args = json.loads(a.model_args)
    except json.JSONDecodeError as exc:
        raise SRError(f"--model-args is not valid JSON ({exc})") from None
    if a.benchmark:
        return trainrun.benchmark(a, model_args)
    return trainrun.train_from_args(a, model_args)
