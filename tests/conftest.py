"""Shared fixtures. The benchmark images are found through $SR_DATA_ROOT or
../shared/datasets beside the repository; tests that need them are skipped
with the reason when absent, or fail when SR_REQUIRE_DATA=1 (as in CI)."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    # the slow tier: tests that start subprocesses (each imports TensorFlow, 5-10 s); -m "not slow" skips them
    config.addinivalue_line("markers", "slow: starts subprocesses (deselect with -m 'not slow')")


@pytest.fixture(autouse=True, scope="session")
def _image_cache(tmp_path_factory):
    """Training samplers (and train.py subprocesses) keep decoded images in a
    temporary folder, not the user's ~/.cache."""
    os.environ["SRKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("image-cache"))


def data_root():
    env = os.environ.get("SR_DATA_ROOT")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


@pytest.fixture
def benchmark_root():
    root = data_root()
    if not (root / "Set5").is_dir() or not (root / "Set14").is_dir():
        msg = f"benchmark data not found under {root} (set SR_DATA_ROOT to a folder holding Set5/ and Set14/)"
        if os.environ.get("SR_REQUIRE_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return root


TINY_TRAIN = ["--model", "VDSR", "--model-args", '{"depth": 3, "filters": 8}', "--patch", "24", "--batch", "4",
              "--log-every", "5", "--val-every", "10", "--lr", "1e-3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Training images in train/ and a validation set Val/ (train.py's --data, --data-root and --val-data)."""
    return training_folders(tmp_path_factory.mktemp("data"))


def run_script(script, *args, env=None, timeout=600):
    """Run a top-level script as a user would; returns CompletedProcess.
    srkit is imported from this checkout (PYTHONPATH), installed or not."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=timeout,
    )


def random_image(h, w, channels=3, seed=0):
    """A smooth-ish random uint8 image (noise plus gradients), so SR scores are finite."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 127 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    img = base[..., None] + rng.normal(0, 20, (h, w, channels))
    img = np.clip(img, 0, 255).astype(np.uint8)
    return img[..., 0] if channels == 1 else img


def training_folders(root, val_images=2):
    """``root/train`` (4 small images) and ``root/Val`` (``val_images``): data for tiny training runs."""
    from PIL import Image

    (root / "train").mkdir()
    (root / "Val").mkdir()
    for i in range(4):
        Image.fromarray(random_image(48 + 8 * i, 56, seed=i)).save(root / "train" / f"im{i}.png")
    for i in range(val_images):
        Image.fromarray(random_image(40, 44, seed=10 + i)).save(root / "Val" / f"v{i}.png")
    return root


def save_tiny_checkpoint(path, name="VDSR", args=None, scale=2, seed=0, metadata=None):
    """A small randomly initialised model saved in our format; returns the model."""
    import keras

    from srkit import checkpoints, models

    keras.utils.set_random_seed(seed)
    args = args if args is not None else {"depth": 3}
    model = models.build(name, **args)
    checkpoints.save(path, model, name, args, scale, metadata or {"step": 0})
    return model


class FullDisk:
    """A folder whose file system has no space left once ``fill()`` is called:
    a small tmpfs filled to the last byte where this process may mount one
    (root), else ENOSPC injected into os.write for files under the folder."""

    def __init__(self, folder, monkeypatch):
        self.folder, self._monkeypatch = folder, monkeypatch
        folder.mkdir()
        self.real = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)],
                                   capture_output=True).returncode == 0

    def fill(self):
        if self.real:
            with open(self.folder / ".filler", "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
            return
        real_write, prefix = os.write, str(self.folder.resolve()) + os.sep

        def write(fd, data):
            if os.readlink(f"/proc/self/fd/{fd}").startswith(prefix):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, data)

        self._monkeypatch.setattr(os, "write", write)

    def close(self):
        if self.real:
            subprocess.run(["umount", str(self.folder)], check=True)


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    disk = FullDisk(tmp_path / "full", monkeypatch)
    yield disk
    disk.close()
