#!/usr/bin/env python
"""Download Set5, Set14, B100, Urban100 HR images (same as `srkit download-benchmarks`):
see srkit/cli/fetch.py, or --help.

srkit must be importable: installed (`pip install -e .` in the repository, as
requirements-dev.txt does), or run as `python -m data.download_benchmarks` from the repository.
"""

import sys

try:
    from srkit.cli.fetch import benchmarks_main
    from srkit.errors import run_cli
except ModuleNotFoundError as exc:
    if exc.name != "srkit":
        raise
    sys.exit("error: srkit is not installed here: run `pip install -e .` in the repository "
             "(or `python -m data.download_benchmarks` from it)")

if __name__ == "__main__":
    run_cli(benchmarks_main)
