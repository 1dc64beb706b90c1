#!/usr/bin/env python
"""Peak memory and speed of output.py, each case in a fresh process:

  python -m scripts.measure_output --weights weights/VDSR_x2.h5 --case big    # 4000x3000 x2
  python -m scripts.measure_output --case large-memory                        # LARGE 250x250 vs 1000x750
  python -m scripts.measure_output --case throughput                          # 1 MP output, every model

Inputs are made from scikit-image's astronaut photo (resized); models
without a checkpoint given get random weights (speed and memory do not
depend on the values). Prints a markdown table. Run it from the repository
(python -m, as above) or with srkit installed (pip install -e .).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout, whose output.py is measured

CHILD = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": r.returncode, "seconds": time.perf_counter() - t,
                  "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "tail": r.stderr[-400:]}))
"""


def make_input(folder, w, h):
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).resize((w, h), Image.Resampling.BICUBIC).save(folder / f"img_{w}x{h}.png")
    return folder


def random_checkpoint(name, path):
    from srkit import checkpoints, models

    checkpoints.save(path, models.build(name), name=name, args={}, scale=2,
                     metadata={"note": "random weights, for timing only"})
    return path


def run(weights, folder, out, extra=()):
    cmd = [sys.executable, str(ROOT / "output.py"), "--input", str(folder), "--output", str(out),
           "--weights", str(weights), "--overwrite", *extra]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = json.loads(subprocess.run([sys.executable, "-c", CHILD, *cmd], capture_output=True, text=True,
                                    env=env).stdout)
    if res["rc"] != 0:
        raise SystemExit(f"output.py failed: {res['tail']}")
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", choices=["big", "large-memory", "throughput"], required=True)
    p.add_argument("--weights", help="checkpoint for --case big (default: random VDSR)")
    p.add_argument("--models", nargs="+", help="for --case throughput (default: all registered)")
    a = p.parse_args()
    from srkit import models

    tmp = Path(tempfile.mkdtemp(prefix="srkit-measure-"))
    rows = []
    if a.case == "big":
        w = Path(a.weights) if a.weights else random_checkpoint("VDSR", tmp / "VDSR.h5")
        res = run(w, make_input(tmp / "big", 4000, 3000), tmp / "out")
        rows.append((w.name, "4000x3000 -> 8000x6000", res))
    elif a.case == "large-memory":
        w = random_checkpoint("LARGE", tmp / "LARGE.h5")
        for size in ((250, 250), (1000, 750)):
            rows.append(("LARGE", f"{size[0]}x{size[1]} -> x2", run(w, make_input(tmp / f"l{size[0]}", *size),
                                                                       tmp / "out")))
    else:
        folder = make_input(tmp / "mp", 500, 500)  # x2: a 1000x1000 (1 MP) output
        for name in a.models or list(models.MODELS):
            res = run(random_checkpoint(name, tmp / f"{name}.h5"), folder, tmp / "out")
            # output.py's own rate: model time, without interpreter and TensorFlow start-up
            res["mpix_per_s"] = float(re.search(r"([\d.]+) output MP/s", res["tail"]).group(1))
            rows.append((name, "500x500 -> 1000x1000", res))
    print("| Model | Image | Wall s (incl. start-up) | Peak RSS MB | Output MP/s |")
    print("|---|---|---|---|---|")
    for name, what, res in rows:
        mps = f"{res['mpix_per_s']:.3f}" if "mpix_per_s" in res else "-"
        print(f"| {name} | {what} | {res['seconds']:.1f} | {res['rss_mb']:.0f} | {mps} |")


if __name__ == "__main__":
    main()
