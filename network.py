#!/usr/bin/env python
"""Model builders and listings (same as `srkit network`): see srkit/cli/network.py, or --help.

From Python:  import network; model = network.build("VDSR")
"""

from srkit.cli.network import main
from srkit.errors import run_cli
from srkit.models import MODELS, build, canonical_name, get_builder  # noqa: F401 (import network; network.build)

if __name__ == "__main__":
    run_cli(main)
