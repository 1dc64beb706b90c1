"""The tables printed by network.py (registered models; shipped weights,
from their model cards) and the architecture diagrams."""

import json
import os
import shutil
from pathlib import Path

from .models import MODELS, build, label


def model_table():
    lines = ["| Model | Upsampling | Parameters | Layers |", "|---|---|---|---|"]
    for name, builder in MODELS.items():
        model = build(name)
        lines.append(f"| {name} | {builder.upsampling} | {model.count_params():,} | {len(model.layers)} |")
    return "\n".join(lines)


def plot_models(out_dir):
    """One PNG per model via keras.utils.plot_model; a clear message and no
    files when pydot or Graphviz's ``dot`` is missing."""
    import keras

    try:
        import pydot  # noqa: F401
    except ImportError:
        print("skipping diagrams: pydot is not installed (pip install pydot)")
        return []
    if shutil.which("dot") is None:
        print("skipping diagrams: Graphviz is not installed (apt-get install graphviz)")
        return []
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name in MODELS:
        path = os.path.join(out_dir, f"model_{name}.png")
        keras.utils.plot_model(build(name), to_file=path, show_shapes=True, dpi=60)
        written.append(path)
        print(f"wrote {path}")
    return written


def _training(card):
    """How a card's steps ran: '4,548 float32 + 3,900 mixed_bfloat16' style."""
    segments = card.get("segments") or [{"from_step": 0, "precision": card.get("precision")}]
    bounds = [seg["from_step"] for seg in segments[1:]] + [card["steps"]]
    parts, merged = [], []
    for seg, end in zip(segments, bounds):
        if end > seg["from_step"]:
            if merged and merged[-1][0] == seg["precision"]:
                merged[-1][1] += end - seg["from_step"]
            else:
                merged.append([seg["precision"], end - seg["from_step"]])
    for precision, steps in merged:
        parts.append(f"{steps:,} {precision}")
    return " + ".join(parts) or "0"


def weights_table(weights_dir):
    """One row per model card in ``weights_dir`` (``NAME.json`` beside ``NAME.h5``)."""
    lines = ["| File | Model | Params | Scale | Steps (precision) | Batch x patch, data | Loss | From | Wall time | "
             "Hardware, backend | Set5 val PSNR / SSIM |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(Path(weights_dir).glob("*.h5")):
        card_path = path.with_suffix(".json")
        if not card_path.exists():
            lines.append(f"| {path.name} | (no model card) | | | | | | | | | |")
            continue
        c = json.loads(card_path.read_text())
        parent = c.get("initialised_from")
        origin = _origin(parent, c["arguments"]) if parent else "scratch"
        rescale = (c.get("training_data") or {}).get("rescale")
        data = f", rescale {'/'.join(f'{f:g}' for f in rescale)}" if rescale else ""
        if c.get("degradation") == "real":  # the other LR synthesis, and what its validation averaged
            data += f", real degradation ({(c.get('degradation_settings') or {}).get('strength', '?')})"
        ema = f", EMA {c['weight_average_decay']:g}" if c.get("weight_average_decay") else ""
        teacher = c.get("distilled_from")
        distil = f" + distilled from {Path(teacher['path']).name}" if teacher else ""
        val = c["validation"]
        over = f", mean of {'/'.join(val['degrade'])}" if val.get("degrade") else ""
        scored = (f"{val['psnr']:.2f} / {val['ssim']:.4f} (step {val['step']:,}{over})" if val.get("psnr") is not None
                  else "not validated")
        lines.append(
            f"| {path.name} | {label(c['architecture'], c['arguments'])} | {c['parameters']:,} | "
            f"x{c['scale']} | {_training(c)} | {c['batch']} x {c['patch']}{data} | {c['loss']}{distil}{ema} | {origin} | "
            f"{c['wall_time_s'] / 3600:.1f} h | {c['hardware']}, {c['backend']} | "
            f"{scored} |")
    return "\n".join(lines)


def _origin(parent, args):
    """"BALANCED_x2.h5 (blocks=24, x2, step 3,500)": the parent's file and, where
    they differ from this model's, its arguments (the file may since hold another model)."""
    other = {k: v for k, v in (parent.get("args") or {}).items() if k != "scale" and args.get(k) != v}
    shown = "".join(f"{k}={v}, " for k, v in other.items())
    return f"{_source(parent['path'])} ({shown}x{parent['scale']}, step {parent['step']:,})"


def _source(path):
    """A parent checkpoint's name; a run's last.h5/best.h5 keeps its run folder."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}" if path.name in ("last.h5", "best.h5") else path.name


def choice_table(weights_dir, results_jsons, bench_json):
    """"Which model": one row per shipped checkpoint with its Set5/Set14 PSNR
    (from evaluate.py's JSON) beside its measured seconds per output
    megapixel (from bench.py's JSON, same architecture, arguments and scale;
    int8 from its --int8 rows of the card's kind, full-integer or per call,
    "not offered" where the card refuses it)
    and parameters: quality and speed in one place, from the files that hold them."""
    paths = [results_jsons] if isinstance(results_jsons, (str, Path)) else list(results_jsons)
    results = [r for p in reversed(paths) for r in json.loads(Path(p).read_text())["results"]]  # first file wins
    bench = json.loads(Path(bench_json).read_text())
    psnr = {(r["model"], r["dataset"], r["scale"]): r["psnr"] for r in results if r.get("degrade", "clean") == "clean"}
    lines = ["| Checkpoint | Model | Scale | Params | Set5 PSNR | Set14 PSNR | s per output MP | int8 s per MP |",
             "|---|---|---|---|---|---|---|---|"]
    for path in sorted(Path(weights_dir).glob("*.h5"), key=lambda p: (_card(p).get("scale", 0), p.stem)):
        c = _card(path)
        if not c:
            continue
        # the float network's arguments: a quantization-aware checkpoint's float paths run the same network
        args = {k: v for k, v in c["arguments"].items() if k not in ("scale", "fake_quant")}
        rows = [r for r in bench["results"] if r["model"] == c["architecture"] and r["scale"] == c["scale"]
                and r["out_size"] == 1000
                and {k: v for k, v in (r.get("args") or {}).items() if k not in ("scale", "fake_quant")} == args]
        secs = [r["seconds"] for r in rows if r.get("precision") != "int8"]
        ranges = bool(c["arguments"].get("fake_quant"))  # full-integer int8, else quantized per call
        int8 = [r["seconds"] for r in rows if r.get("precision") == "int8" and bool(r.get("int8_ranges")) == ranges]
        offered = (c.get("int8") or {}).get("offered", True)
        cells = [f"{psnr[(path.stem, d, c['scale'])]:.2f}" if (path.stem, d, c["scale"]) in psnr else "-"
                 for d in ("Set5", "Set14")]
        speed = f"{secs[0]:.2f}" if secs else "-"
        real = " (real photos)" if c.get("degradation") == "real" else ""
        lines.append(f"| {path.stem}{real} | {label(c['architecture'], c['arguments'])} | x{c['scale']} | "
                     f"{c['parameters']:,} | {cells[0]} | {cells[1]} | {speed} | "
                     f"{'not offered' if not offered else f'{int8[0]:.2f}' if int8 else '-'} |")
    return "\n".join(lines)


def _card(path):
    card = Path(path).with_suffix(".json")
    return json.loads(card.read_text()) if card.exists() else {}
