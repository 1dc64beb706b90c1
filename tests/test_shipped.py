"""The checkpoints shipped in weights/: each has a card, loads on this
backend, gives its card's validation numbers with evaluate.py's code, and
loses < 0.02 dB on Set5 in bfloat16 (what makes output.py's bfloat16 path
acceptable); each card says whether int8 is offered, with the Set5 drop that
decides it (at most quantize.MAX_DROP_DB), re-measured here for FAST_x2; a
checkpoint with int8 ranges (full-integer int8) says they come from training images."""

import json
from pathlib import Path

import pytest

from conftest import ROOT
from srkit import checkpoints, evaluation, litert, quantize

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
    # a real-degradation model was validated on the mean over degraded inputs (its card names them)
    degrades = card["validation"].get("degrade") or ["clean"]
    rows = evaluation.evaluate(["Set5"], [scale], methods, benchmark_root, log=lambda m: None, degrades=degrades)
    f32 = [r for r in rows if r.model == "float32"]
    bf16 = [r for r in rows if r.model == "bfloat16"]
    psnr, ssim = sum(r.psnr for r in f32) / len(f32), sum(r.ssim for r in f32) / len(f32)
    assert abs(psnr - card["validation"]["psnr"]) < 0.005, (psnr, card["validation"])
    assert abs(ssim - card["validation"]["ssim"]) < 1e-4
    for a, b in zip(f32, bf16):
        assert a.degrade == b.degrade and a.psnr - b.psnr < 0.02, (a, b)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_card_says_whether_int8_is_offered_and_why(path: Path):
    entry = json.loads(path.with_suffix(".json").read_text()).get("int8")
    assert entry and isinstance(entry["set5_psnr_drop"], float), "card has no measured int8 entry"
    if entry["offered"]:
        assert entry["set5_psnr_drop"] <= quantize.MAX_DROP_DB and quantize.refusal(path) is None
    else:
        assert entry["why"] and quantize.refusal(path) == entry["why"]
    card = json.loads(path.with_suffix(".json").read_text())
    if checkpoints.read_info(path).args.get("fake_quant"):  # full-integer int8: ranges from training images only
        calibration = card["int8_calibration"]
        assert calibration["data"] and not any(b in d for d in calibration["data"] for b in ("Set5", "Set14"))
        assert card["arguments"]["fake_quant"] and "full-integer" in entry["activations"]


@pytest.mark.slow  # one conversion and Set5 twice
@pytest.mark.skipif(litert.available() is not None, reason=str(litert.available()))
def test_int8_of_fast_x2_loses_at_most_the_bound_on_set5(benchmark_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SRKIT_CACHE_DIR", str(tmp_path))  # converted here, not read from a cache
    path = ROOT / "weights" / "FAST_x2.h5"
    methods = [evaluation.Method(p, "checkpoint", path, (2,), precision=p) for p in ("float32", "int8")]
    f32, int8 = evaluation.evaluate(["Set5"], [2], methods, benchmark_root, log=lambda m: None)
    drop = f32.psnr - int8.psnr
    card = json.loads(path.with_suffix(".json").read_text())["int8"]
    assert drop <= quantize.MAX_DROP_DB and abs(drop - card["set5_psnr_drop"]) < 0.005, (drop, card)
