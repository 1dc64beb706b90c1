"""The model table printed by network.py and the architecture diagrams."""

import os
import shutil

from .models import MODELS, build


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
