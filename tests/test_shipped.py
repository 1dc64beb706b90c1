"""The checkpoints shipped in weights/: each has a card, loads on this
backend, gives its card's validation numbers with evaluate.py's code, and
loses < 0.02 dB on Set5 in bfloat16 (what makes output.py's bfloat16 path
acceptable)."""

import json
from pathlib import Path

import pytest

from conftest import ROOT
from srkit import checkpoints, evaluation

SHIPPED = sorted((ROOT / "weights").glob("*.h5"))


def test_something_is_shipped():
    assert SHIPPED, "weights/ holds no checkpoint"


@pytest.mark.slow  # every shipped model on full-size Set5, twice
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoint(path: Path, benchmark_root):
    card = json.loads(path.with_suffix(".json").read_text())
    info = checkpoints.read_info(path)
    assert card["architecture"] == info.model and card["scale"] == info.scales[0]
    assert card["validation"]["data"] == "Set5"
    scale = info.scales[0]
    methods = [evaluation.Method(p, "checkpoint", path, (scale,), precision=p) for p in ("float32", "bfloat16")]
    f32, bf16 = evaluation.evaluate(["Set5"], [scale], methods, benchmark_root, log=lambda m: None)
    assert abs(f32.psnr - card["validation"]["psnr"]) < 0.005, (f32.psnr, card["validation"])
    assert abs(f32.ssim - card["validation"]["ssim"]) < 1e-4
    assert f32.psnr - bf16.psnr < 0.02, (f32.psnr, bf16.psnr)
