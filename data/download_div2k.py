#!/usr/bin/env python
"""Download DIV2K into data/ (same as `srkit download-div2k`): see srkit/cli/fetch.py, or --help.

srkit must be importable: installed (`pip install -e .` in the repository, as
requirements-dev.txt does), or run as `python -m data.download_div2k` from the repository.
"""

import sys

try:
    from srkit.cli.fetch import div2k_main
    from srkit.errors import run_cli
except ModuleNotFoundError as exc:
    if exc.name != "srkit":
        raise
    sys.exit("error: srkit is not installed here: run `pip install -e .` in the repository "
             "(or `python -m data.download_div2k` from it)")

if __name__ == "__main__":
    run_cli(div2k_main)
