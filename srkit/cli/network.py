"""Model builders. `python network.py` lists every registered model with its
parameter count; `--plot` writes architecture diagrams to md_images/;
`--weights weights/` lists the shipped checkpoints from their model cards;
`--presets` lists the presets (balanced_x2, real_x2, ...: srkit/presets.py);
`--onnx weights/FAST_x2.h5 --to fast_x2.onnx` exports a checkpoint to ONNX
(checked against Keras with ONNX Runtime).

From Python:  import network; model = network.build("VDSR")
"""

import argparse
import os

from ..paths import project_root
from ..summary import model_table, plot_models, weights_table


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plot", action="store_true", help="write architecture diagrams (needs pydot + Graphviz)")
    p.add_argument("--out", default=str(project_root() / "md_images"))
    p.add_argument("--weights", metavar="DIR", help="instead: the shipped checkpoints in DIR, from their model cards")
    p.add_argument("--presets", action="store_true", help="instead: the presets with scale, parameters and Set5 PSNR "
                   "(from the model cards in --weights DIR, default the shipped weights)")
    p.add_argument("--readme", help="with --weights: also replace that table in this README")
    p.add_argument("--onnx", metavar="CHECKPOINT", help="instead: export this .h5 checkpoint to ONNX")
    p.add_argument("--to", help="with --onnx: output file (default: the checkpoint's name with .onnx)")
    a = p.parse_args(argv)
    if a.onnx:
        from ..exporting import export_checkpoint

        path, diff = export_checkpoint(a.onnx, a.to or os.path.splitext(a.onnx)[0] + ".onnx")
        print(f"wrote {path} (ONNX Runtime vs Keras on a random input: max difference {diff:.1e})")
        return
    if a.presets:
        from ..presets import table

        print(table(a.weights))
        return
    if a.weights:
        table = weights_table(a.weights)
        print(table)
        if a.readme:
            from ..evaluation import update_readme

            update_readme(a.readme, table, tag="weights")
        return
    print(model_table())
    if a.plot:
        plot_models(a.out)
