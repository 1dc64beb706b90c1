"""Model builders. `python network.py` lists every registered model with its
parameter count; `--plot` writes architecture diagrams to md_images/;
`--weights weights/` lists the shipped checkpoints from their model cards;
`--choice` writes the 'which model' table (quality beside speed);
`--presets` lists the presets (balanced_x2, real_x2, ...: srkit/presets.py);
`--onnx weights/FAST_x2.h5 --to fast_x2.onnx` exports a checkpoint to ONNX
(checked against Keras with ONNX Runtime); `--litert weights/FAST_x2.h5 --to fast_x2.tflite`
exports it to LiteRT (TFLite) for phones, float32 or int8 (`--mode`), checked against Keras
with the LiteRT interpreter, every tensor of rank 4 or less; `--int8-ranges weights/FAST_x2.h5 --to
weights/FAST_x2.h5` adds int8 ranges (from training patches) so `--precision int8` runs it full-integer.

From Python:  import network; model = network.build("VDSR")
"""

import argparse
import os

from ..paths import project_root
from ..summary import choice_table, model_table, plot_models, weights_table


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plot", action="store_true", help="write architecture diagrams (needs pydot + Graphviz)")
    p.add_argument("--out", default=str(project_root() / "md_images"))
    p.add_argument("--weights", metavar="DIR", help="instead: the shipped checkpoints in DIR, from their model cards")
    p.add_argument("--presets", action="store_true", help="instead: the presets with scale, parameters and Set5 PSNR "
                   "(from the model cards in --weights DIR, default the shipped weights)")
    p.add_argument("--choice", action="store_true", help="instead: the 'which model' table of the checkpoints in "
                   "--weights (default the shipped weights): Set5/Set14 PSNR from --results, seconds per MP from --bench")
    p.add_argument("--results", nargs="+", default=[str(project_root() / "evaluation" / "results.json")],
                   help="evaluate.py --json files (the first that has a checkpoint's score gives it)")
    p.add_argument("--bench", default=str(project_root() / "evaluation" / "bench_amd.json"), help="bench.py --json")
    p.add_argument("--readme", help="with --weights or --choice: also replace that table in this README")
    p.add_argument("--onnx", metavar="CHECKPOINT", help="instead: export this .h5 checkpoint to ONNX")
    p.add_argument("--litert", metavar="CHECKPOINT", help="instead: export this .h5 checkpoint to LiteRT (.tflite)")
    p.add_argument("--mode", default="float32", choices=["float32", "int8", "int8-static"],
                   help="with --litert: int8 is what --precision int8 runs (int8 weights, activations quantized at "
                        "run time); int8-static is full-integer, calibrated on training patches "
                        "($SRKIT_CALIBRATION_DATA, else train/ under $SR_DATA_ROOT)")
    p.add_argument("--int8-ranges", metavar="CHECKPOINT", help="instead: write the quantization-aware form of this "
                   "FAST or BALANCED checkpoint to --to (same weights, plus int8 ranges calibrated on training patches "
                   "as for --mode int8-static), which --precision int8 runs full-integer")
    p.add_argument("--to", help="with --onnx/--litert: output file (default: the checkpoint's name with "
                   ".onnx/.tflite); with --int8-ranges: required (may be the checkpoint itself)")
    a = p.parse_args(argv)
    if a.int8_ranges:
        from ..errors import SRError
        from ..quantize import calibrate_checkpoint

        if not a.to:
            raise SRError("--int8-ranges needs --to (the file to write)")
        print(f"wrote {calibrate_checkpoint(a.int8_ranges, a.to)} (int8 ranges from training patches; its model card "
              f"needs its int8 entry measured again: evaluate.py --precision float32 int8)")
        return
    if a.litert:
        from ..litert import export_checkpoint as export_litert

        out = a.to or os.path.splitext(a.litert)[0] + (".tflite" if a.mode == "float32" else f"_{a.mode}.tflite")
        path, diff, rank = export_litert(a.litert, out, a.mode)
        print(f"wrote {path} ({a.mode}; LiteRT vs Keras on a random input: max difference {diff:.1e}; "
              f"highest tensor rank {rank})")
        return
    if a.onnx:
        from ..exporting import export_checkpoint

        path, diff = export_checkpoint(a.onnx, a.to or os.path.splitext(a.onnx)[0] + ".onnx")
        print(f"wrote {path} (ONNX Runtime vs Keras on a random input: max difference {diff:.1e})")
        return
    if a.presets:
        from ..presets import table

        print(table(a.weights))
        return
    if a.weights or a.choice:
        if a.choice:
            from ..paths import shipped

            table = choice_table(a.weights or shipped("weights"), a.results, a.bench)
        else:
            table = weights_table(a.weights)
        print(table)
        if a.readme:
            from ..evaluation import update_readme

            update_readme(a.readme, table, tag="choice" if a.choice else "weights")
        return
    print(model_table())
    if a.plot:
        plot_models(a.out)
