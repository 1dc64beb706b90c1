"""Inference speed of every registered model on this machine (x2, plus x3 and
x4 for post-upsampling models): analytic GFLOP per output megapixel, median
seconds and MP/s through output.py's path for a 1 MP and a 256x256 output,
achieved GFLOP/s against the measured peak (best of matmul and conv kernels) and against a
local peak measured between the model's own calls (this CPU's speed drifts), peak RSS, and
predict_on_batch vs tf.function vs XLA vs tf.function in bfloat16 vs LiteRT (float32, int8) vs ONNX
Runtime; with --int8, output.py's int8 path beside its default one.

  python bench.py --json b.json
"""

import argparse
import json

from ..errors import SRError


def main(argv=None):
    from .. import bench, models
    from ..inference import PRECISIONS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=None, help="registry names (default: all, unless --variant)")
    p.add_argument("--variant", nargs=2, action="append", default=[], metavar=("MODEL", "JSON"),
                   help='also time MODEL built with these arguments, e.g. --variant BALANCED \'{"blocks": 24}\'')
    p.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4],
                   help="scales of post-upsampling models (pre-upsampling ones run at x2)")
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 256], help="output sides in pixels")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-compare", action="store_true", help="skip the execution-path comparison")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="as output.py: auto is bfloat16 where native (GPU; CPU with AMX or AVX512_BF16), else float32")
    p.add_argument("--int8", action="store_true", help="also time --precision int8 (LiteRT int8), alternately with "
                   "--precision, and report the speed-up")
    p.add_argument("--json", dest="json_path")
    a = p.parse_args(argv)
    names = [models.canonical_name(n) for n in (a.models or ([] if a.variant else models.MODELS))]
    for name, text in a.variant:
        try:
            args = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SRError(f"--variant {name}: {text!r} is not JSON: {exc}") from None
        if not isinstance(args, dict) or "scale" in args:
            raise SRError(f"--variant {name}: takes a JSON object of builder arguments; the scale comes from --scales")
        names.append((models.canonical_name(name), args))
    peak, results = bench.run(names, a.sizes, a.repeats, not a.no_compare, a.json_path,
                               precision=a.precision, scales=a.scales, int8=a.int8)
    print(bench.markdown(peak, results))
