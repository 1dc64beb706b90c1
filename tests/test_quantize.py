"""The int8 path: built from the checkpoint, cached under its SHA-256 (a
changed checkpoint is rebuilt, never served a stale model), refused where a
model card says so, close to float32 through output.py's path."""

import json

import numpy as np
import pytest

from conftest import save_tiny_checkpoint
from srkit import litert, quantize
from srkit.errors import SRError
from srkit.inference import Upscaler
from srkit.io import file_sha256

pytestmark = pytest.mark.skipif(litert.available() is not None, reason=str(litert.available()))
FAST16 = {"scale": 2, "blocks": 1, "filters": 16}  # kernels big enough to be quantized


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SRKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "int8"


def _noisy_checkpoint(path, seed, name="FAST", args=FAST16, scale=2):
    from srkit import checkpoints

    model = save_tiny_checkpoint(path, name, args, scale)
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])
    checkpoints.save(path, model, name, args, scale, {"step": seed})


def test_int8_model_is_cached_under_the_checkpoints_hash_and_rebuilt_when_it_changes(tmp_path, cache, monkeypatch):
    ckpt = tmp_path / "m.h5"
    _noisy_checkpoint(ckpt, 1)
    first = quantize.int8_model(ckpt)
    entries = list(cache.iterdir())
    assert len(entries) == 1 and entries[0].name.startswith(file_sha256(ckpt))
    calls = []
    real = litert.convert
    monkeypatch.setattr(litert, "convert", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert quantize.int8_model(ckpt) == first and not calls  # served from the cache
    _noisy_checkpoint(ckpt, 2)  # same file name, other weights
    second = quantize.int8_model(ckpt)
    assert calls and second != first and len(list(cache.iterdir())) == 2
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # written atomically


@pytest.mark.parametrize("name,args,scale", [("FAST", FAST16, 2), ("VDSR", {"depth": 3, "filters": 16}, 3)])
def test_int8_upscaler_stays_close_to_float32(tmp_path, cache, name, args, scale):
    """Post- and pre-upsampling (whose bicubic enlargement stays float32, outside the int8 model)."""
    ckpt = tmp_path / "m.h5"
    _noisy_checkpoint(ckpt, 3, name, args, scale)
    lr = np.random.default_rng(0).integers(0, 256, (37, 45, 3), dtype=np.uint8)
    f32, _ = Upscaler.from_checkpoint(ckpt, precision="float32")
    q, info = Upscaler.from_checkpoint(ckpt, precision="int8", tile=16)  # tiled, as output.py runs it
    a, b = f32(lr)[0].astype(np.float64), q(lr)[0].astype(np.float64)
    assert a.shape == b.shape == (37 * scale, 45 * scale, 3) and info.model == name
    assert 0 < np.abs(a - b).max() and 10 * np.log10(255**2 / np.mean((a - b) ** 2)) > 35


def test_a_card_that_does_not_offer_int8_refuses_it_with_its_reason(tmp_path, cache):
    ckpt = tmp_path / "m.h5"
    save_tiny_checkpoint(ckpt, "FAST", FAST16)
    ckpt.with_suffix(".json").write_text(json.dumps({"int8": {"offered": False, "why": "Set5 drop 0.09 dB"}}))
    with pytest.raises(SRError, match=r"m\.h5: not offered in int8: Set5 drop 0\.09 dB"):
        Upscaler.from_checkpoint(ckpt, precision="int8")
    assert not cache.exists()
    ckpt.with_suffix(".json").write_text(json.dumps({"int8": {"offered": True, "set5_psnr_drop": 0.01}}))
    assert quantize.refusal(ckpt) is None
    with pytest.raises(SRError, match=r"missing\.h5: checkpoint does not exist"):
        quantize.int8_model(tmp_path / "missing.h5")


def test_output_py_path_runs_int8_and_refuses_it_with_denoise(tmp_path, cache):
    from PIL import Image

    from conftest import random_image
    from srkit import upscaler

    ckpt = tmp_path / "m.h5"
    _noisy_checkpoint(ckpt, 4)
    (tmp_path / "in").mkdir()
    Image.fromarray(random_image(30, 26)).save(tmp_path / "in" / "a.png")
    logs = []
    counts = upscaler.upscale_files(tmp_path / "in", tmp_path / "out", weights=ckpt, precision="int8", log=logs.append)
    assert counts == {"done": 1, "skipped": 0, "failed": 0} and any("(FAST, int8" in m for m in logs), logs
    assert Image.open(tmp_path / "out" / "a_x2.png").size == (52, 60)
    with pytest.raises(SRError, match="--denoise"):
        upscaler.upscale_files(tmp_path / "in", tmp_path / "o2", weights=ckpt, precision="int8", denoise=0.5)
