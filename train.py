#!/usr/bin/env python
"""Train, resume, export or plot a model (same as `srkit train`): see srkit/cli/train.py, or --help."""

from srkit.cli.train import main, parser  # noqa: F401 (tests drive train.main)
from srkit.errors import run_cli

if __name__ == "__main__":
    run_cli(main)
