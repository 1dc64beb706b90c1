#!/usr/bin/env python
"""Download DIV2K (HR images, optionally the bicubic LR zips), verify each zip's
size and SHA-256, and unpack it here (data/DIV2K_train_HR/0001.png, ...).
An interrupted download resumes when run again; verified zips are not fetched twice.

  python data/download_div2k.py                      # train + valid HR, ~4 GB
  python data/download_div2k.py --splits valid --lr-scales 2 4
  python data/download_div2k.py --base-url http://mirror/DIV2K/ --checksums sums.txt
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repo root, since this script lives in data/

from srkit import download  # noqa: E402
from srkit.errors import run_cli  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dest", default=str(HERE), help="where the zips and folders go (default: %(default)s)")
    p.add_argument("--splits", nargs="+", choices=["train", "valid"], default=["train", "valid"])
    p.add_argument("--lr-scales", nargs="*", type=int, choices=[2, 3, 4], default=[],
                   help="also the bicubic LR images at these scales")
    p.add_argument("--base-url", default=download.OFFICIAL, help="server folder holding the zips")
    p.add_argument("--checksums", help="file of 'name size sha256' lines that add to or replace "
                                       "the built-in table (for a mirror with other files)")
    a = p.parse_args(argv)
    files = dict(download.FILES)
    if a.checksums:
        files.update(download.read_checksums(a.checksums))
    download.download(download.file_names(a.splits, a.lr_scales), a.dest, a.base_url, files)


if __name__ == "__main__":
    run_cli(main)
