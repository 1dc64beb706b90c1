"""Shared fixtures. The benchmark images are found through $SR_DATA_ROOT or
../shared/datasets beside the repository; tests that need them are skipped
with the reason when absent, or fail when SR_REQUIRE_DATA=1 (as in CI)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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


def run_script(script, *args, env=None, timeout=600):
    """Run a top-level script as a user would; returns CompletedProcess."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
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


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts several processes (tests/test_multiworker.py); "
                            "deselect with -m 'not slow'")
