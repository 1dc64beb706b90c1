#!/usr/bin/env python
"""Upscale every image in inference/original into inference/output.

  python output.py                                  # default shipped x2 model
  python output.py --weights weights/VDSR_x2.h5 --input photos/ --output big/
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from srkit.errors import run_cli  # noqa: E402
from srkit.upscaler import ROOT, upscale_files  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", default=str(ROOT / "inference" / "original"), help="image file or folder")
    p.add_argument("--output", default=str(ROOT / "inference" / "output"), help="output folder")
    p.add_argument("--weights", help="checkpoint (.h5); default: best shipped one for the scale")
    p.add_argument("--scale", type=int, default=None)
    p.add_argument("--recursive", action="store_true", help="also images in sub-folders (tree mirrored)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: skip)")
    a = p.parse_args(argv)
    counts = upscale_files(a.input, a.output, a.weights, a.scale, a.overwrite, a.recursive)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    run_cli(main)
