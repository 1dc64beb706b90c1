"""The command line: one ``srkit`` command (installed by ``pip install .``)
whose subcommands are the checkout's scripts, which call the same code:

  srkit upscale ...              python output.py ...
  srkit train ...                python train.py ...
  srkit evaluate ...             python evaluate.py ...
  srkit network ...              python network.py ...
  srkit bench ...                python bench.py ...
  srkit download-div2k ...       python data/download_div2k.py ...
  srkit download-benchmarks ...  python data/download_benchmarks.py ...

Each subcommand's module has ``main(argv)``; ``srkit NAME --help`` shows its options.
"""

import importlib
import os
import sys

from .. import __version__
from ..errors import SRError, run_cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any subcommand imports TensorFlow

# subcommand -> (module in srkit.cli, function, one-line summary)
COMMANDS = {
    "upscale": ("upscale", "main", "upscale images (default: the sample images) with a shipped or given model"),
    "train": ("train", "main", "train, resume, export or plot a model"),
    "evaluate": ("evaluate", "main", "PSNR / SSIM tables on Set5, Set14, ... under the papers' protocol"),
    "network": ("network", "main", "list models, shipped weights and presets; ONNX export"),
    "bench": ("bench", "main", "inference speed of every model on this machine"),
    "download-div2k": ("fetch", "div2k_main", "download DIV2K (checksummed, resumable)"),
    "download-benchmarks": ("fetch", "benchmarks_main", "download Set5, Set14, B100, Urban100 HR images"),
}


def usage():
    width = max(map(len, COMMANDS))
    rows = "\n".join(f"  {name:<{width}}  {summary}" for name, (_, _, summary) in COMMANDS.items())
    return f"usage: srkit COMMAND [options]   (srkit COMMAND --help for its options)\n\ncommands:\n{rows}"


def main(argv=None):
    """Run the subcommand named by ``argv[0]`` with the rest; its exit code."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] == "--version":
        print(f"srkit {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        raise SRError(f"unknown command '{argv[0]}' (one of: {', '.join(COMMANDS)})")
    module, function, _ = COMMANDS[argv[0]]
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)(argv[1:])


def entry():
    """The console script: ``srkit NAME`` as the program name in help and errors."""
    if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
        sys.argv[0] = f"srkit {sys.argv[1]}"
    run_cli(main)
