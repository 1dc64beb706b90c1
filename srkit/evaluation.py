"""Benchmark evaluation: every method on every dataset x scale, scored with
``metrics`` under the papers' protocol (the LR input is ``bicubic_lr``)."""

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import benchdeg, benchmarks, degradations, metrics
from .errors import SRError
from .io import list_images, load_image
from .paths import project_root, shipped
from .safewrite import check_writable, write_file

BASELINES = ("nearest", "bicubic")
ROOT = project_root()  # default outputs and data: the checkout, else the current folder


@dataclass
class Result:
    dataset: str
    scale: int
    model: str
    psnr: float
    ssim: float
    seconds: float
    degrade: str = "clean"  # benchdeg's name of the LR input's degradation


@dataclass
class Method:
    label: str
    kind: str  # "nearest", "bicubic", "checkpoint", or "model" (in memory)
    path: Path = None
    scales: tuple = ()
    model: object = None  # kind "model": a keras.Model ...
    upsampling: str = "pre"  # ... and how it takes its input
    precision: str = "float32"  # kind "checkpoint": "bfloat16" to measure that inference path
    ensemble: bool = False  # x8 flip/rotate self-ensemble (output.py --ensemble), labelled "+" as in EDSR+


def default_data_root():
    return Path(os.environ.get("SR_DATA_ROOT") or ROOT / "evaluation")


def resolve_dataset(name, data_root):
    """(label, folder): a name under ``data_root``, or a path to a folder."""
    candidate = Path(data_root) / name
    if not candidate.exists() and (os.sep in str(name) or Path(name).exists()):
        candidate = Path(name)
    if not candidate.exists():
        hint = f"; fetch it with: {benchmarks.fetch_command(name, data_root)}" if name in benchmarks.SETS else ""
        raise SRError(f"{candidate}: dataset folder does not exist (data root: {data_root}){hint}")
    return Path(name).name or str(name), candidate


def resolve_methods(names, weights, weights_dir, precisions=("float32",), ensemble=False):
    """Methods to score: baselines by name, checkpoints by path, and names of
    checkpoints (file stem or architecture) found in ``weights_dir``; each
    checkpoint once per precision (labelled "@bf16" or "@int8" when not float32) and,
    with ``ensemble``, once more with self-ensemble (labelled "+")."""
    from . import checkpoints

    if names is None:
        names = list(BASELINES) + ([] if weights else [p.stem for p, _ in checkpoints.find(weights_dir)])
    methods, paths = [], []
    for name in names:
        if name.lower() in BASELINES:
            methods.append(Method(name.lower(), name.lower()))
            continue
        found = checkpoints.find(weights_dir, name)
        if not found:
            raise SRError(f"{name}: not a baseline ({', '.join(BASELINES)}) nor a checkpoint in {weights_dir}")
        paths += [p for p, _ in found]
    paths += [Path(w) for w in weights or []]
    paths = list(dict.fromkeys(paths))
    stems = [p.stem for p in paths]
    for path in paths:
        info = checkpoints.read_info(path)
        # two files of one name (a/REAL_x2.h5, b/REAL_x2.h5) are told apart by their folder
        name = f"{info.label}[{path.parent.name}]" if stems.count(path.stem) > 1 else info.label
        for precision in precisions:
            label = name + {"float32": "", "bfloat16": "@bf16", "int8": "@int8"}[precision]
            for ens in (False, True) if ensemble else (False,):
                methods.append(Method(label + ("+" if ens else ""), "checkpoint", path, tuple(info.scales),
                                      precision=precision, ensemble=ens))
    return methods


class _Runner:
    """Loads each checkpoint once and turns an LR image into an SR image
    through ``inference.Upscaler``, the path output.py uses."""

    def __init__(self, methods):
        self.models, self.upscalers = {}, {}
        for m in methods:
            if m.kind == "checkpoint" and (m.path, m.precision) not in self.models:  # Keras imported only if needed
                from .inference import Upscaler

                up, info = Upscaler.from_checkpoint(m.path, precision=m.precision)  # int8: converted (or cached)
                self.models[(m.path, m.precision)] = (up.model, info.upsampling, up._fn)

    def __call__(self, method, lr, scale):
        if method.kind == "nearest":
            return degradations.nearest_upscale(lr, scale)
        if method.kind == "bicubic":
            return degradations.bicubic_upscale(lr, scale)
        key = (method.label, scale)
        if key not in self.upscalers:  # one per model and scale: its compiled function is traced once
            from .inference import Upscaler

            model, upsampling, engine = ((method.model, method.upsampling, None) if method.kind == "model"
                                         else self.models[(method.path, method.precision)])
            self.upscalers[key] = Upscaler(model, scale, upsampling, ensemble=method.ensemble, engine=engine)
        return self.upscalers[key](lr)[0]


def evaluate(datasets, scales, methods, data_root, combined_dir=None, log=None, showcase=None, degrades=("clean",),
             failures=None):
    """Score ``methods`` on each dataset x scale x degradation of the LR input
    (``benchdeg``; "clean" is the standard protocol); returns a list of Result.

    Inputs are all checked (folders, images, checkpoints) before any work so
    a bad path fails in seconds. With ``combined_dir``, writes one labelled
    HR | method... comparison per image into ``combined_dir/<dataset>_x<s>/``.
    An unreadable image is reported, appended to ``failures`` (a list) and
    left out; the others are scored.
    ``showcase``: (folder, image stems, scales): zoomed crops of those images,
    HR | bicubic | checkpoints, as ``folder/compare_<stem>_x<s>.png`` (with
    ``_<degrade>`` and the degraded input for the other degradations).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    failures = [] if failures is None else failures
    loaded = []
    for name in datasets:
        label, folder = resolve_dataset(name, data_root)
        images = []
        for path in list_images(folder):
            try:
                images.append((path, load_image(path)))
            except SRError as exc:
                log(f"failed: {exc} (left out of {label})")
                failures.append(str(exc))
        if not images:
            raise SRError(f"{folder}: no readable image")
        loaded.append((label, images))
    for degrade in degrades:
        if degrade not in benchdeg.DEGRADES:
            raise SRError(f"unknown degradation '{degrade}' (use {', '.join(benchdeg.DEGRADES)})")
    runner = _Runner(methods)
    results = []
    for label, images in loaded:
        for scale in scales:
            for degrade in degrades:
                results += _score(runner, label, images, scale, degrade,
                                  [m for m in methods if m.kind in BASELINES or scale in m.scales],
                                  combined_dir, showcase, log)
    return results


def _score(runner, label, images, scale, degrade, active, combined_dir, showcase, log):
    from .visualize import save_side_by_side, save_zoomed_crops

    scores = {m.label: [] for m in active}
    seconds = {m.label: 0.0 for m in active}
    tag = "" if degrade == "clean" else f"_{degrade}"
    for path, hr in images:
        hr = degradations.modcrop(hr, scale)
        if min(hr.shape[:2]) < 11 + 2 * scale:
            raise SRError(f"{path}: image too small for x{scale} evaluation ({hr.shape[1]}x{hr.shape[0]})")
        lr = degradations.bicubic_lr(hr, scale) if degrade == "clean" else benchdeg.degraded_lr(
            hr, scale, degrade, path.stem)
        panels = [("HR", hr)]
        for m in active:
            start = time.perf_counter()
            sr = runner(m, lr, scale)
            seconds[m.label] += time.perf_counter() - start
            p, s = metrics.psnr_ssim(hr, sr, scale)
            scores[m.label].append((p, s))
            panels.append((f"{m.label} {p:.2f}/{s:.4f}", sr))
        if combined_dir is not None:
            save_side_by_side(Path(combined_dir) / f"{label}_x{scale}{tag}" / f"{path.stem}.png", panels)
        if showcase and path.stem in showcase[1] and scale in showcase[2]:
            # a degraded input is shown too (its pixels enlarged), so the reader sees what went in
            shown = [(f"HR, x{scale} crop", hr)] + [
                (f"{degrade} input" if m.kind == "nearest" else f"{m.label} {scores[m.label][-1][0]:.2f} dB", im)
                for m, (_, im) in zip(active, panels[1:]) if m.kind != "nearest" or degrade != "clean"]
            save_zoomed_crops(Path(showcase[0]) / f"compare_{path.stem}_x{scale}{tag}.png", shown)
    results = []
    for m in active:
        p, s = np.mean(scores[m.label], axis=0)
        results.append(Result(label, scale, m.label, float(p), float(s), seconds[m.label], degrade))
        log(f"{label} x{scale}{' ' + degrade if tag else ''} {m.label}: {p:.2f} dB / {s:.4f} "
            f"({seconds[m.label]:.1f} s)")
    return results


def degrade_table(results):
    """One row per dataset x scale x method, one PSNR / SSIM column per degradation."""
    degrades = list(dict.fromkeys(r.degrade for r in results))
    rows = list(dict.fromkeys((r.dataset, r.scale, r.model) for r in results))
    cell = {(r.dataset, r.scale, r.model, r.degrade): f"{r.psnr:.2f} / {r.ssim:.4f}" for r in results}
    lines = ["| Dataset | Scale | Model | " + " | ".join(degrades) + " |", "|---|---|---|" + "---|" * len(degrades)]
    for d, sc, m in rows:
        lines.append(f"| {d} | x{sc} | {m} | " + " | ".join(cell.get((d, sc, m, g), "-") for g in degrades) + " |")
    return "\n".join(lines)


def markdown_table(results):
    """Long table: one row per dataset x scale x method."""
    lines = [
        "| Dataset | Scale | Model | PSNR (dB) | SSIM | Time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        model = r.model if r.degrade == "clean" else f"{r.model} ({r.degrade})"
        lines.append(f"| {r.dataset} | x{r.scale} | {model} | {r.psnr:.2f} | {r.ssim:.4f} | {r.seconds:.2f} |")
    return "\n".join(lines)


def pivot_table(results, published=False):
    """Papers' layout: one row per method, one 'PSNR / SSIM' column per dataset
    x scale; with ``published``, reference rows from the papers, labelled so."""
    cols = list(dict.fromkeys((r.dataset, r.scale) for r in results))
    methods = list(dict.fromkeys(r.model for r in results))
    cell = {(r.dataset, r.scale, r.model): f"{r.psnr:.2f} / {r.ssim:.4f}" for r in results}
    lines = [
        "| Model | " + " | ".join(f"{d} x{s}" for d, s in cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for m in methods:
        lines.append(f"| {m} | " + " | ".join(cell.get((d, s, m), "-") for d, s in cols) + " |")
    if published:
        from .published import rows

        lines += rows(cols)
    return "\n".join(lines)


def write_json(results, path):
    # clean rows keep the layout of files written before --degrade existed
    rows = [{k: v for k, v in asdict(r).items() if k != "degrade" or v != "clean"} for r in results]
    write_file(path, (json.dumps({"results": rows}, indent=2) + "\n").encode(), "results")


def update_readme(path, text, tag="results"):
    """Replace what stands between ``<!-- tag:start -->`` and ``<!-- tag:end -->``."""
    path = Path(path)
    start, end = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
    content = path.read_text()
    if start not in content or end not in content:
        raise SRError(f"{path}: no '{start}' ... '{end}' markers to replace")
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    write_file(path, f"{head}{start}\n{text}\n{end}{tail}".encode(), "README")


def run(datasets, scales, models=None, weights=None, weights_dir=None, data_root=None,
        json_path=None, plot_path=None, combined_dir=None, readme=None, log=None, published=False,
        precisions=("float32",), showcase=None, ensemble=False, readme_tag="results", degrades=("clean",),
        failures=None):
    """evaluate.py's job: resolve inputs, score, print both tables, write the
    requested JSON / plot / comparisons / README section. Images that could
    not be read are listed in ``failures`` (see ``evaluate``); the outputs'
    paths are checked before any scoring."""
    for s in scales:
        if not 2 <= s <= 8:
            raise SRError(f"scale {s} not supported (use 2 to 8)")
    for path, what in ((json_path, "results"), (plot_path, "plot"), (readme, "README")):
        if path:
            check_writable(path, what)
    data_root = Path(data_root) if data_root else default_data_root()
    weights_dir = shipped("weights", required=False) if weights_dir is None else weights_dir
    methods = resolve_methods(models, weights, weights_dir, precisions, ensemble)
    results = evaluate(datasets, scales, methods, data_root, combined_dir, log=log, showcase=showcase,
                       degrades=degrades, failures=failures)
    if not results:
        raise SRError("nothing evaluated: no method supports the requested scales")
    table = pivot_table(results, published) if list(degrades) == ["clean"] else degrade_table(results)
    print(table)
    print()
    print(markdown_table(results))
    if json_path:
        write_json(results, json_path)
    if plot_path:
        from .visualize import plot_results

        plot_results(results, plot_path)
    if readme:
        update_readme(readme, table, readme_tag)
    return results
