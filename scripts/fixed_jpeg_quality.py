"""Diagnostic, not a shipped recipe: train.py with one more degradation
preset, ``q<Q>``, the ``jpeg`` specialist's diet (MATLAB-bicubic LR, one JPEG)
at a single known quality Q and no clean share. A model fine-tuned on it is
what knowing the input's JPEG quality could give at most on that quality's
benchmark rows (docs/training.md, "Does knowing the JPEG quality help?").

  python -m scripts.fixed_jpeg_quality 75 [train.py arguments, with --degradation-strength q75]
"""

import sys
from dataclasses import replace

from srkit import realdeg
from srkit.errors import run_cli


def main():
    quality = int(sys.argv.pop(1))
    realdeg.PRESETS[f"q{quality}"] = replace(realdeg.PRESETS["jpeg"], final_quality=(quality, quality), clean=0.0)
    from srkit.cli.train import main as train  # its parser lists the presets, the new one included

    run_cli(train)


if __name__ == "__main__":
    main()
