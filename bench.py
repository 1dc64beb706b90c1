#!/usr/bin/env python
"""Inference speed of every model (same as `srkit bench`): see srkit/cli/bench.py, or --help."""

from srkit.cli.bench import main
from srkit.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
