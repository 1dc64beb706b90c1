"""network.py's table and the top-level re-exports."""

import pytest

from conftest import run_script


@pytest.mark.slow
def test_network_cli_prints_every_model_with_its_parameter_count():
    r = run_script("network.py")
    assert r.returncode == 0, r.stderr
    for row in ("| SRCNN | pre | 20,099 |", "| VDSR | pre | 668,227 |", "| SMALL | pre | 2,012,611 |",
                "| LARGE | pre | 7,091,075 |"):
        assert row in r.stdout


def test_network_module_exposes_registry():
    import network

    assert network.build("large", blocks=1, filters=4).count_params() > 0
    assert network.MODELS["VDSR"] is network.get_builder("vdsr")


def test_weights_table_rows_come_from_the_model_cards(tmp_path):
    import json

    from srkit.summary import weights_table

    base = {"architecture": "FAST", "arguments": {"scale": 2}, "parameters": 1234, "scale": 2, "steps": 500,
            "batch": 16, "patch": 96, "loss": "l1", "wall_time_s": 7200.0, "hardware": "cpu", "backend": "jax",
            "precision": "float32", "segments": [{"from_step": 0, "precision": "float32"}],
            "validation": {"psnr": 37.123, "ssim": 0.95678, "step": 400}}
    tuned = {**base, "weight_average_decay": 0.999, "distilled_from": {"path": "weights/BALANCED_x2.h5", "weight": 1.0},
             "training_data": {"images": 490, "rescale": [0.9, 0.8, 0.7, 0.6]},
             "initialised_from": {"path": "runs/FAST_x2/last.h5", "scale": 2, "step": 34133},
             "validation": {"psnr": None, "ssim": None, "step": None}}
    grown = {**base, "arguments": {"blocks": 32, "scale": 2},
             "initialised_from": {"path": "weights/BALANCED_x2.h5", "scale": 2, "step": 3500,
                                  "args": {"blocks": 24, "scale": 2}}}
    real = {**base, "degradation": "real", "degradation_settings": {"strength": "medium"},
            "validation": {"psnr": 32.5, "ssim": 0.87, "step": 900, "degrade": ["clean", "jpeg75"]}}
    for name, card in (("A", base), ("B", tuned), ("B2", grown), ("B3", real)):
        (tmp_path / f"{name}.h5").write_bytes(b"")
        (tmp_path / f"{name}.json").write_text(json.dumps(card))
    (tmp_path / "C.h5").write_bytes(b"")
    rows = weights_table(tmp_path).splitlines()[2:]
    assert rows[0] == ("| A.h5 | FAST | 1,234 | x2 | 500 float32 | 16 x 96 | l1 | scratch | 2.0 h | cpu, jax | "
                       "37.12 / 0.9568 (step 400) |")
    assert ("| 16 x 96, rescale 0.9/0.8/0.7/0.6 | l1 + distilled from BALANCED_x2.h5, EMA 0.999 | FAST_x2/last.h5 (x2, step 34,133) |" in rows[1]
            and rows[1].endswith("| not validated |"))
    assert "| FAST (blocks=32) |" in rows[2] and "| BALANCED_x2.h5 (blocks=24, x2, step 3,500) |" in rows[2]
    assert "| 16 x 96, real degradation (medium) |" in rows[3]
    assert rows[3].endswith("| 32.50 / 0.8700 (step 900, mean of clean/jpeg75) |")
    assert rows[4].startswith("| C.h5 | (no model card) |")


def test_choice_table_joins_cards_results_and_bench(tmp_path):
    import json

    from srkit.summary import choice_table

    card = {"architecture": "FAST", "arguments": {"blocks": 3, "scale": 4}, "parameters": 999, "scale": 4}
    (tmp_path / "F_x4.h5").write_bytes(b"")
    (tmp_path / "F_x4.json").write_text(json.dumps(card))
    (tmp_path / "R_x4.h5").write_bytes(b"")
    (tmp_path / "R_x4.json").write_text(json.dumps({**card, "degradation": "real",
                                                    "int8": {"offered": False, "why": "x"}}))
    (tmp_path / "r.json").write_text(json.dumps({"results": [
        {"dataset": "Set5", "scale": 4, "model": "F_x4", "psnr": 31.234},
        {"dataset": "Set14", "scale": 4, "model": "F_x4", "psnr": 28.0},
        {"dataset": "Set14", "scale": 4, "model": "R_x4", "psnr": 27.0, "degrade": "jpeg50"}]}))
    (tmp_path / "b.json").write_text(json.dumps({"results": [
        {"model": "FAST", "args": {}, "scale": 4, "out_size": 1000, "seconds": 9.0},
        {"model": "FAST", "args": {"blocks": 3}, "scale": 4, "out_size": 256, "seconds": 0.1},
        {"model": "FAST", "args": {"blocks": 3}, "scale": 4, "out_size": 1000, "seconds": 0.126},
        {"model": "FAST", "args": {"blocks": 3}, "scale": 4, "out_size": 1000, "seconds": 0.071, "precision": "int8"}]}))
    rows = choice_table(tmp_path, tmp_path / "r.json", tmp_path / "b.json").splitlines()
    # int8 from bench.py --int8's rows; "not offered" where the card refuses it
    assert rows[2] == "| F_x4 | FAST (blocks=3) | x4 | 999 | 31.23 | 28.00 | 0.13 | 0.07 |"
    assert rows[3] == "| R_x4 (real photos) | FAST (blocks=3) | x4 | 999 | - | - | 0.13 | not offered |"
    # a quantization-aware card: the same float network's seconds, the full-integer int8 row
    aware = {"blocks": 3, "scale": 4, "fake_quant": True}
    (tmp_path / "F_x4.json").write_text(json.dumps({**card, "arguments": aware}))
    (tmp_path / "b.json").write_text(json.dumps({"results": [
        {"model": "FAST", "args": {"blocks": 3, "fake_quant": True}, "scale": 4, "out_size": 1000, "seconds": 0.126},
        {"model": "FAST", "args": {"blocks": 3, "fake_quant": True}, "scale": 4, "out_size": 1000, "seconds": 0.05,
         "precision": "int8", "int8_ranges": True},
        {"model": "FAST", "args": {"blocks": 3, "fake_quant": True}, "scale": 4, "out_size": 1000, "seconds": 0.08,
         "precision": "int8", "int8_ranges": False}]}))
    rows = choice_table(tmp_path, tmp_path / "r.json", tmp_path / "b.json").splitlines()
    assert rows[2] == "| F_x4 | FAST (blocks=3, fake_quant=True) | x4 | 999 | 31.23 | 28.00 | 0.13 | 0.05 |"
    assert rows[3] == "| R_x4 (real photos) | FAST (blocks=3) | x4 | 999 | - | - | 0.13 | not offered |"
