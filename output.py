#!/usr/bin/env python
"""Upscale images (same as `srkit upscale`): see srkit/cli/upscale.py, or --help."""

from srkit.cli.upscale import main
from srkit.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
