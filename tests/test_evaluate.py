"""evaluate.py: the papers' bicubic rows, checkpoint rows, outputs, bad input."""

import json

import numpy as np
import pytest
from PIL import Image

from conftest import random_image, run_script, save_tiny_checkpoint
from srkit import evaluation
from srkit.errors import SRError

PUBLISHED_BICUBIC = {  # (dataset, scale): (PSNR, SSIM), as in SRCNN/VDSR/EDSR papers
    ("Set5", 2): (33.66, 0.9299), ("Set5", 3): (30.39, 0.8682), ("Set5", 4): (28.42, 0.8104),
    ("Set14", 2): (30.24, 0.8688), ("Set14", 3): (27.55, 0.7742), ("Set14", 4): (26.00, 0.7027),
}


@pytest.mark.slow
def test_reproduces_published_bicubic_rows(benchmark_root, tmp_path):
    out = tmp_path / "out.json"
    r = run_script("evaluate.py", "--models", "bicubic", "--datasets", "Set5", "Set14", "--scales", 2, 3, 4,
                   "--data-root", benchmark_root, "--json", out, "--no-plot", "--no-combined")
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())["results"]
    assert len(rows) == 6
    for row in rows:
        assert set(row) == {"dataset", "scale", "model", "psnr", "ssim", "seconds"}
        psnr, ssim = PUBLISHED_BICUBIC[(row["dataset"], row["scale"])]
        assert abs(row["psnr"] - psnr) <= 0.03, row
        assert abs(row["ssim"] - ssim) <= 0.002, row
    assert "| bicubic | 33.6" in r.stdout and "(published)" not in r.stdout


def test_published_rows_are_labelled_and_aligned():
    from srkit.evaluation import Result, pivot_table

    table = pivot_table([Result("Set5", 3, "bicubic", 30.4, 0.87, 0.1), Result("Set14", 2, "bicubic", 30.2, 0.87, 0.1)],
                        published=True)
    assert "| VDSR (published) | 33.66 / 0.9213 | 33.03 / 0.9124 |" in table
    assert "| EDSR-baseline (published) | - | 33.57 / 0.9175 |" in table


@pytest.fixture
def small_dataset(tmp_path):
    folder = tmp_path / "Tiny"
    folder.mkdir()
    Image.fromarray(random_image(36, 48, seed=1)).save(folder / "a.png")
    Image.fromarray(random_image(40, 36, 1, seed=2)).save(folder / "b_grey.png")
    (folder / "README.txt").write_text("not an image, ignored by extension\n")
    return folder


def test_checkpoint_rows_outputs_and_readme(tmp_path, small_dataset):
    ckpt = tmp_path / "VDSR_BEST.h5"
    save_tiny_checkpoint(ckpt, "VDSR", {"depth": 3}, scale=2)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nrest\n")
    results = evaluation.run(["Tiny"], [2, 3], ["nearest", "bicubic"], [ckpt], tmp_path / "noweights",
                             tmp_path, tmp_path / "r.json", tmp_path / "plot.png", tmp_path / "comb", readme,
                             log=lambda m: None)
    labels = [(r.scale, r.model) for r in results]
    # the x2 checkpoint is scored at x2 only
    assert labels == [(2, "nearest"), (2, "bicubic"), (2, "VDSR_BEST"), (3, "nearest"), (3, "bicubic")]
    assert all(np.isfinite(r.psnr) and 0 < r.ssim <= 1 for r in results)
    assert len(json.loads((tmp_path / "r.json").read_text())["results"]) == 5
    assert (tmp_path / "plot.png").stat().st_size > 1000
    combined = Image.open(tmp_path / "comb" / "Tiny_x2" / "a.png")
    assert combined.width >= 4 * 48  # HR | nearest | bicubic | model
    text = readme.read_text()
    assert "old" not in text and "| VDSR_BEST |" in text and text.endswith("rest\n")


def test_models_by_name_from_weights_dir(tmp_path, small_dataset):
    wdir = tmp_path / "weights"
    wdir.mkdir()
    save_tiny_checkpoint(wdir / "VDSR_x2.h5")
    methods = evaluation.resolve_methods(["bicubic", "vdsr"], None, wdir)
    assert [m.label for m in methods] == ["bicubic", "VDSR_x2"]
    assert [m.label for m in evaluation.resolve_methods(None, None, wdir)] == ["nearest", "bicubic", "VDSR_x2"]
    with pytest.raises(SRError, match="not a baseline"):
        evaluation.resolve_methods(["EDSR"], None, wdir)


def test_two_checkpoints_of_one_name_get_two_labels(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        save_tiny_checkpoint(tmp_path / folder / "VDSR_x2.h5")
    methods = evaluation.resolve_methods([], [tmp_path / "a" / "VDSR_x2.h5", tmp_path / "b" / "VDSR_x2.h5"],
                                         tmp_path)
    assert [m.label for m in methods] == ["VDSR_x2[a]", "VDSR_x2[b]"]


def test_self_ensemble_rows_score_what_output_ensemble_writes(tmp_path, small_dataset):
    from srkit import checkpoints, degradations, metrics
    from srkit.inference import upscale
    from srkit.io import list_images, load_image

    ckpt = tmp_path / "VDSR_BEST.h5"
    model = save_tiny_checkpoint(ckpt, "VDSR", {"depth": 3}, scale=2)
    rng = np.random.default_rng(3)  # random everywhere: the zero-initialised output conv would make an identity
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    checkpoints.save(ckpt, model, "VDSR", {"depth": 3}, 2, {"step": 0})
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\nkept\n<!-- results:end -->\n<!-- ensemble:start -->\n<!-- ensemble:end -->\n")
    results = evaluation.run(["Tiny"], [2], ["bicubic"], [ckpt], tmp_path / "noweights", tmp_path,
                             readme=readme, readme_tag="ensemble", log=lambda m: None, ensemble=True)
    by_label = {r.model: r for r in results}
    assert list(by_label) == ["bicubic", "VDSR_BEST", "VDSR_BEST+"]
    expected = []  # what output.py --ensemble would write for each LR image, scored by the one metric
    for path in list_images(small_dataset):
        hr = degradations.modcrop(load_image(path), 2)
        expected.append(metrics.psnr_ssim(hr, upscale(degradations.bicubic_lr(hr, 2), ckpt, ensemble=True), 2))
    assert by_label["VDSR_BEST+"].psnr == pytest.approx(np.mean([e[0] for e in expected]), abs=1e-9)
    assert by_label["VDSR_BEST+"].psnr != by_label["VDSR_BEST"].psnr
    text = readme.read_text()
    assert "kept" in text and "| VDSR_BEST+ |" in text.split("<!-- ensemble:start -->")[1]


def _assert_one_line_error(r, *needles):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert str(needle) in lines[0], lines[0]


@pytest.mark.slow
def test_bad_input_gives_one_line_errors(tmp_path, small_dataset):
    base = ["--no-plot", "--no-combined", "--data-root", tmp_path, "--scales", "2", "--models", "bicubic"]
    r = run_script("evaluate.py", *base, "--datasets", "Missing")
    _assert_one_line_error(r, tmp_path / "Missing", "does not exist")

    (tmp_path / "Empty").mkdir()
    r = run_script("evaluate.py", *base, "--datasets", "Empty")
    _assert_one_line_error(r, tmp_path / "Empty", "no image files")

    (small_dataset / "broken.png").write_bytes(b"this is text, not a PNG")
    r = run_script("evaluate.py", *base, "--datasets", "Tiny")  # reported, the others scored, exit 1
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert f"failed: {small_dataset / 'broken.png'}: not a readable image" in r.stderr and "| bicubic |" in r.stdout
    (small_dataset / "broken.png").unlink()

    r = run_script("evaluate.py", *base, "--datasets", "Tiny", "--weights", tmp_path / "none.h5")
    _assert_one_line_error(r, tmp_path / "none.h5", "does not exist")

    fake = tmp_path / "fake.h5"
    fake.write_text("text renamed to .h5")
    r = run_script("evaluate.py", *base, "--datasets", "Tiny", "--weights", fake)
    _assert_one_line_error(r, fake, "not a checkpoint")


def test_an_unreadable_image_is_reported_and_the_rest_scored(tmp_path, small_dataset):
    (small_dataset / "c_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    failures, logs = [], []
    results = evaluation.run([str(small_dataset)], [2], ["bicubic"], log=logs.append, failures=failures)
    assert len(failures) == 1 and "c_broken.png" in failures[0]
    assert any(m.startswith("failed:") and "c_broken.png" in m for m in logs)
    (small_dataset / "c_broken.png").unlink()
    again = evaluation.run([str(small_dataset)], [2], ["bicubic"], log=lambda m: None)
    assert [r.psnr for r in results] == [r.psnr for r in again]  # the two readable images, scored as ever


def test_output_paths_are_checked_before_scoring(tmp_path, small_dataset, monkeypatch):
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: pytest.fail("scored before checking the outputs"))
    (tmp_path / "file").write_text("")
    (tmp_path / "folder").mkdir()
    for path, reason in ((tmp_path / "file" / "out.json", "a file stands where a folder should be"),
                         (tmp_path / "folder", "a folder stands at that name")):
        with pytest.raises(SRError, match=f"{path}: cannot write results .{reason}"):
            evaluation.run([str(small_dataset)], [2], ["bicubic"], json_path=path, log=lambda m: None)


def test_dataset_given_as_path(tmp_path, small_dataset):
    results = evaluation.run([str(small_dataset)], [2], ["bicubic"], data_root=tmp_path / "elsewhere",
                             log=lambda m: None)
    assert [(r.dataset, r.model) for r in results] == [("Tiny", "bicubic")]


@pytest.mark.slow
def test_showcase_crops_where_bicubic_misses_most(tmp_path):
    from srkit.visualize import busiest_window

    hr = np.zeros((40, 50), np.uint8)
    sr = hr.copy()
    sr[22:30, 31:39] = 200  # the only error: an 8x8 block
    assert busiest_window(hr, sr, 8) == (22, 31)
    folder = tmp_path / "Tiny"
    folder.mkdir()
    Image.fromarray(random_image(36, 48, seed=1)).save(folder / "a.png")
    Image.fromarray(random_image(36, 48, seed=2)).save(folder / "b.png")
    r = run_script("evaluate.py", "--models", "nearest", "bicubic", "--datasets", folder, "--scales", 2, 3,
                   "--no-plot", "--no-combined", "--showcase", tmp_path / "show", "--showcase-images", "b",
                   "--showcase-scales", 3)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in (tmp_path / "show").iterdir()] == ["compare_b_x3.png"]
    shown = np.asarray(Image.open(tmp_path / "show" / "compare_b_x3.png"))
    assert shown.shape[1] == 2 * 36 * 3 + 4  # HR and bicubic (nearest left out), 36-px crops zoomed 3x


def test_degraded_inputs_score_like_an_independent_computation(small_dataset, tmp_path):
    import io

    from srkit import degradations, metrics

    methods = [evaluation.Method("bicubic", "bicubic")]
    res = evaluation.evaluate([str(small_dataset)], [2], methods, tmp_path, degrades=["clean", "jpeg50"])
    clean = evaluation.evaluate([str(small_dataset)], [2], methods, tmp_path)
    assert [(r.degrade, r.model) for r in res] == [("clean", "bicubic"), ("jpeg50", "bicubic")]
    assert res[0].psnr == clean[0].psnr
    scores = []
    for name in ("a.png", "b_grey.png"):
        hr = degradations.modcrop(np.asarray(Image.open(small_dataset / name)), 2)
        buf = io.BytesIO()
        Image.fromarray(degradations.bicubic_lr(hr, 2)).save(buf, format="JPEG", quality=50)
        lr = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
        scores.append(metrics.psnr_ssim(hr, degradations.bicubic_upscale(lr, 2), 2)[0])
    assert res[1].psnr == pytest.approx(np.mean(scores), abs=1e-9)
    assert res[1].psnr < res[0].psnr


@pytest.mark.slow
def test_degrade_table_and_json_keep_clean_rows_as_before(small_dataset, tmp_path):
    out = tmp_path / "d.json"
    r = run_script("evaluate.py", "--models", "bicubic", "nearest", "--datasets", small_dataset, "--scales", 2,
                   "--degrade", "clean", "noise10", "camera", "--json", out, "--no-plot", "--no-combined",
                   "--showcase", tmp_path / "show", "--showcase-images", "a", "--showcase-scales", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| Dataset | Scale | Model | clean | noise10 | camera |" in r.stdout
    rows = json.loads(out.read_text())["results"]
    assert [row.get("degrade", "clean") for row in rows] == ["clean"] * 2 + ["noise10"] * 2 + ["camera"] * 2
    assert all("degrade" not in row for row in rows[:2])
    assert sorted(p.name for p in (tmp_path / "show").iterdir()) == [
        "compare_a_x2.png", "compare_a_x2_camera.png", "compare_a_x2_noise10.png"]
    bad = run_script("evaluate.py", "--models", "bicubic", "--datasets", small_dataset, "--degrade", "jpeg10")
    assert bad.returncode != 0 and "invalid choice: 'jpeg10'" in bad.stderr


def test_a_plot_is_written_only_when_asked(monkeypatch, tmp_path):
    from srkit.cli import evaluate as cli

    seen = []
    monkeypatch.setattr(evaluation, "run", lambda *a, **k: seen.append(k["plot_path"]))
    cli.main(["--models", "bicubic"])
    cli.main(["--models", "bicubic", "--plot", str(tmp_path / "p.png")])
    cli.main(["--models", "bicubic", "--plot", str(tmp_path / "p.png"), "--no-plot"])
    assert seen == [None, str(tmp_path / "p.png"), None]
