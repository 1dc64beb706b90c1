"""Training logs: a CSV row per log interval / validation, TensorBoard scalars
(when TensorFlow is importable), and the loss / validation-PSNR curves."""

import csv
import sys
from pathlib import Path

from .errors import SRError
from .safewrite import atomic_path

FIELDS = ["step", "loss", "lr", "val_psnr", "val_ssim", "elapsed_s", "steps_per_s"]


class TrainLog:
    def __init__(self, run_dir, resume_step=None):
        self.path = Path(run_dir) / "log.csv"
        rows = read_log(self.path) if self.path.exists() else []
        if resume_step is not None:
            # Rows written after the checkpoint we resume from are replayed; drop them.
            rows = [r for r in rows if int(r["step"]) <= resume_step]
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        self._tb = None
        try:
            import tensorboard  # noqa: F401  (tf.summary needs it)
            import tensorflow as tf

            self._tb = tf.summary.create_file_writer(str(Path(run_dir) / "tensorboard"))
        except ImportError:  # e.g. a JAX-only GPU machine: the CSV is the log
            print("note: TensorFlow/TensorBoard not installed, no TensorBoard files (log.csv has everything)",
                  file=sys.stderr)

    def write(self, **row):
        try:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, FIELDS).writerow({k: row.get(k, "") for k in FIELDS})
        except OSError as exc:  # a full disk: the run stops with its last checkpoint intact
            raise SRError(f"{self.path}: cannot append to the log ({exc.strerror or exc})") from None
        if self._tb is not None:
            import tensorflow as tf

            with self._tb.as_default():
                for key in ("loss", "lr", "val_psnr", "val_ssim", "steps_per_s"):
                    if row.get(key) not in (None, ""):
                        tf.summary.scalar(key, float(row[key]), step=int(row["step"]))
            self._tb.flush()


def read_log(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_curves(run_dir, out_path, title=None):
    """Loss and validation PSNR against step, from the run's log.csv."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(Path(run_dir) / "log.csv")
    loss = [(int(r["step"]), float(r["loss"])) for r in rows if r["loss"]]
    val = [(int(r["step"]), float(r["val_psnr"])) for r in rows if r["val_psnr"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    if loss:
        ax1.plot(*zip(*loss), lw=1)
    ax1.set(xlabel="step", ylabel="training loss", yscale="log")
    if val:
        ax2.plot(*zip(*val), marker="o", ms=3)
    ax2.set(xlabel="step", ylabel="validation PSNR (dB, Y)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.suptitle(title or Path(run_dir).name)
    fig.tight_layout()
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(out_path)
