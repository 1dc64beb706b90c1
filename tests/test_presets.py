"""Presets: short names for the shipped checkpoints and their cards
(Upscaler.from_preset, upscale(image, NAME), network.py --presets), and the
one-line refusals for unknown names and files not shipped yet."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, random_image, run_script, save_tiny_checkpoint
from srkit import presets
from srkit.cli import network as network_cli
from srkit.errors import SRError
from srkit.inference import Upscaler, upscale

WEIGHTS = ROOT / "weights"


def test_every_preset_is_shipped_with_its_card():
    assert set(presets.PRESETS) == {"srcnn_x2", "vdsr_x2", "small_x2", "large_x2", "fast_x2", "fast_x3", "fast_x4",
                                    "balanced_x2", "balanced_x3", "balanced_x4", "real_x2", "real_x4"}
    for name in presets.PRESETS:
        card = presets.card(name, WEIGHTS)
        assert presets.path(name, WEIGHTS).stem == presets.PRESETS[name][0]
        assert f"_x{card['scale']}" in name  # the name's scale is the checkpoint's


def test_table_shows_scale_parameters_and_set5_psnr_from_the_cards(tmp_path):
    table = presets.table(WEIGHTS)
    card = json.loads((WEIGHTS / "BALANCED_x2.json").read_text())
    assert (f"| balanced_x2 | BALANCED_x2.h5 | x2 | {card['parameters']:,} | {card['validation']['psnr']:.2f} dB |"
            in table)
    # in a folder without the real models, those rows say so
    for name in ("FAST_x2.h5", "FAST_x2.json"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    rows = presets.table(tmp_path).splitlines()[2:]
    assert len(rows) == len(presets.PRESETS)
    assert rows[4].startswith("| fast_x2 | FAST_x2.h5 | x2 |")
    assert all("not shipped yet" in row for row in rows if not row.startswith("| fast_x2 "))


def test_unknown_and_missing_presets_are_one_line_errors(tmp_path):
    with pytest.raises(SRError, match="unknown preset 'balanced_x9' \\(presets: srcnn_x2, "):
        Upscaler.from_preset("balanced_x9")
    with pytest.raises(SRError, match=f"preset real_x2: {tmp_path / 'REAL_x2.h5'} is not shipped yet"):
        Upscaler.from_preset("real_x2", weights_dir=tmp_path)
    with pytest.raises(SRError, match="unknown preset 'nope'"):
        upscale(random_image(8, 8), "nope")


def test_from_preset_and_upscale_by_name_run_the_preset_checkpoint(tmp_path):
    save_tiny_checkpoint(tmp_path / "FAST_x3.h5", "FAST", {"blocks": 1, "filters": 8, "scale": 3}, scale=3)
    img = random_image(10, 12)
    up = Upscaler.from_preset("FAST_X3", weights_dir=tmp_path)  # names are case-insensitive
    assert up.scale == 3 and up.info.path == tmp_path / "FAST_x3.h5"
    by_path, _ = Upscaler.from_checkpoint(tmp_path / "FAST_x3.h5")
    np.testing.assert_array_equal(up(img)[0], by_path(img)[0])
    shipped = upscale(img, "fast_x2")  # the shipped file, found without a path
    np.testing.assert_array_equal(shipped, upscale(img, str(WEIGHTS / "FAST_x2.h5")))
    assert shipped.shape == (20, 24, 3) and shipped.dtype == np.uint8


def test_network_presets_lists_them(capsys):
    network_cli.main(["--presets"])
    out = capsys.readouterr().out
    assert out.strip() == presets.table()


@pytest.mark.slow
def test_output_preset_runs_it_and_refuses_a_missing_one(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(random_image(16, 16)).save(src / "a.png")
    r = run_script("output.py", "--preset", "fast_x2", "--input", src, "--output", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "x2 with FAST_x2.h5" in r.stderr and (tmp_path / "out" / "a_x2.png").is_file()
    r = run_script("output.py", "--preset", "real_x4", "--weights-dir", tmp_path, "--input", src)
    assert r.returncode == 2 and r.stderr.strip() == (f"error: preset real_x4: {tmp_path / 'REAL_x4.h5'} "
                                                      "is not shipped yet (see python network.py --presets)")
