#!/usr/bin/env python
"""PSNR/SSIM tables (same as `srkit evaluate`): see srkit/cli/evaluate.py, or --help."""

from srkit.cli.evaluate import main
from srkit.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
