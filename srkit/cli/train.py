"""Train an SR model on random patches from a folder of images (DIV2K-style).

  python train.py --model VDSR --data data/DIV2K_train_HR --scale 2 --steps 100000
  python train.py --resume runs/VDSR_x2_20261127-101500          # continue exactly
  python train.py --export runs/VDSR_x2_20261127-101500 --to weights/VDSR_x2.h5
  python train.py --plot runs/VDSR_x2_20261127-101500             # curves into md_images/
  python train.py --benchmark --data DIR                           # steps/s per model

Ctrl-C or SIGTERM saves last.h5 before exiting. Set KERAS_BACKEND=jax to train on JAX.
One worker of a multi-worker job: TF_CONFIG=... python train.py ..., or on JAX
python train.py --coordinator HOST:PORT --num-processes N --process-id I ... (README).
"""

import json

from ..cliargs import NON_NEGATIVE, POSITIVE, SCALE, Parser, count
from ..errors import SRError


def parser():
    p = Parser(__doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last.h5")
    mode.add_argument("--export", metavar="RUN", help="copy RUN's best.h5 (weights only) into weights/")
    mode.add_argument("--plot", metavar="RUN", help="write RUN's loss / val PSNR curves into md_images/")
    mode.add_argument("--benchmark", action="store_true", help="measure steps/s and data throughput")
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default=None, help="registered model name (default VDSR)")
    g.add_argument("--model-args", default="{}", help='builder arguments as JSON, e.g. \'{"depth": 10}\'')
    g.add_argument("--data", default=None, nargs="+", metavar="DIR", help="folders of training images, searched "
                   "recursively (default data/DIV2K_train_HR)")
    g.add_argument("--scale", type=SCALE, nargs="+", default=[2], help="one scale, or several to mix per batch")
    g.add_argument("--patch", type=count(), default=64, help="HR patch side")
    g.add_argument("--batch", type=count(), default=8)
    g.add_argument("--degradation", choices=["bicubic", "seed", "real"], default="bicubic",
                   help="LR synthesis: MATLAB bicubic (the benchmarks'), the original project's 'seed', or "
                   "'real' (Real-ESRGAN-style blur, resize, noise and JPEG per patch; post-upsampling models)")
    g.add_argument("--degradation-strength", default="medium", choices=["light", "medium", "strong", "photo"],
                   help="with --degradation real: the preset of ranges in srkit/realdeg.py (strong: Real-ESRGAN's)")
    g.add_argument("--no-augment", dest="augment", action="store_false")
    g.add_argument("--rescale", type=float, nargs="+", metavar="F",
                   help="also train on every image shrunk by these factors (MATLAB bicubic), e.g. 0.9 0.8 0.7 0.6")
    g.add_argument("--workers", type=count(0), default=2, help="threads building batches ahead")
    g.add_argument("--cache-dir", default=None, help="where training images are kept decoded (default "
                   "$SRKIT_CACHE_DIR, else ~/.cache/srkit/images); safe to delete")
    g.add_argument("--seed", type=count(0), default=0)
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=count(), default=None, help="total training steps (default 10000)")
    g.add_argument("--epochs", type=count(), help="with --steps-per-epoch: steps = epochs x steps-per-epoch")
    g.add_argument("--steps-per-epoch", type=count())
    g.add_argument("--loss", default="l1", help="l1, mse or ssim_l1 (0.84 (1 - SSIM) + 0.16 L1)")
    g.add_argument("--lr", type=NON_NEGATIVE, default=None,
                   help="base learning rate (default 1e-4); with --resume, restarts the LR at this value")
    g.add_argument("--schedule", choices=["constant", "step", "cosine"], default="constant")
    g.add_argument("--decay-every", type=count(0), default=0, help="step decay interval (default steps / 2)")
    g.add_argument("--decay-rate", type=POSITIVE, default=0.5)
    g.add_argument("--min-lr", type=NON_NEGATIVE, default=1e-6)
    g.add_argument("--warmup", type=count(0), default=0, help="linear warm-up steps")
    g.add_argument("--plateau", action="store_true", help="halve the LR when val PSNR stalls")
    g.add_argument("--patience", type=count(), default=None,
                   help="validations without improvement before halving (default 5)")
    g.add_argument("--ema", type=float, default=0.0, help="validate and keep as best.h5 an exponential moving "
                   "average of the weights with this decay per step, e.g. 0.999 (0: off; fixed for a run)")
    g.add_argument("--clipnorm", type=NON_NEGATIVE, default=0.0, help="gradient clipping by global norm (0: off)")
    g.add_argument("--precision", choices=["float32", "mixed_bfloat16", "mixed_float16"])
    g.add_argument("--mixed-precision", action="store_true", help="shorthand for --precision mixed_bfloat16")
    g.add_argument("--distribute", action="store_true", help="data parallel over all devices")
    g.add_argument("--steps-per-execution", type=count(), default=1)
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
    g.add_argument("--val-data", default=None, help="benchmark folder name or path (default Set5)")
    g.add_argument("--val-degrade", nargs="+", default=None, metavar="NAME",
                   help="validate on the mean PSNR over these evaluate.py --degrade inputs (default: clean)")
    g.add_argument("--data-root", default=None, help="where --val-data lives (default $SR_DATA_ROOT, else evaluation/)")
    g.add_argument("--val-every", type=count(), default=None, help="steps between validations (default 500)")
    g.add_argument("--no-val", action="store_true")
    g.add_argument("--log-every", type=count(0), default=None, help="steps between log rows (default 100)")
    g.add_argument("--save-every-min", type=NON_NEGATIVE, default=None,
                   help="minutes between last.h5 saves (default 5)")
    g.add_argument("--minutes", type=POSITIVE, default=None, help="stop (and save) after this wall-clock budget")
    g.add_argument("--run-dir", default=None, help="default runs/<MODEL>_x<scale>_<timestamp>; a folder that holds "
                   "a run is refused (continue it with --resume)")
    g.add_argument("--force", action="store_true", help="with a --run-dir that holds a run: move that run aside to "
                   "RUN.replaced-<time> (nothing is deleted) and start afresh")
    g.add_argument("--init-from", default=None, help="start from this checkpoint's weights (fresh optimizer)")
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
    try:
        model_args = json.loads(a.model_args)
    except json.JSONDecodeError as exc:
        raise SRError(f"--model-args is not valid JSON ({exc})") from None
    if a.benchmark:
        return trainrun.benchmark(a, model_args)
    return trainrun.train_from_args(a, model_args)
