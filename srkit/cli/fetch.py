"""The downloaders: ``div2k_main`` is data/download_div2k.py (srkit
download-div2k), ``benchmarks_main`` data/download_benchmarks.py (srkit
download-benchmarks). Both resume an interrupted download when run again and
put nothing in place that failed its check."""

import argparse
import dataclasses

from .. import benchmarks, download
from ..paths import project_root

DIV2K = """Download DIV2K (HR images, optionally the bicubic LR zips), verify each zip's
size and SHA-256, and unpack it into data/ (data/DIV2K_train_HR/0001.png, ...).
An interrupted download resumes when run again; verified zips are not fetched twice.

  python data/download_div2k.py                      # train + valid HR, ~4 GB
  python data/download_div2k.py --splits valid --lr-scales 2 4
  python data/download_div2k.py --base-url http://mirror/DIV2K/ --checksums sums.txt
"""

BENCHMARKS = """Download the benchmark test sets' HR images into DEST/Set5/, DEST/Set14/, ...
where evaluate.py looks (DEST: --dest, default $SR_DATA_ROOT, else evaluation/;
evaluate.py --data-root DEST finds them anywhere else).

  python data/download_benchmarks.py                       # Set5, Set14, B100 and Urban100
  python data/download_benchmarks.py --sets Set5 --dest ~/sr-data
  python data/download_benchmarks.py --sets Manga109 --base-url http://mirror/sr/

Sources: the eugenesiow/<set> archives on the Hugging Face Hub (what deepinv
downloads). No size or SHA-256 of those archives is published, so each archive
is checked by the content checksum deepinv publishes for the unpacked images
(the MD5 of their MD5s): a set is moved into place only when every image matches.
Manga109 has no public download (licensed on application at manga109.org): it is
fetched only from a --base-url mirror holding Manga109_HR.tar.gz, unverified (a
warning says so) unless --checksums gives its size and SHA-256.
"""


def _checksums_arg(p):
    p.add_argument("--checksums", help="file of 'name size sha256' lines that add to or replace the built-in "
                                       "table (for a mirror with other files)")


def _parse(doc, argv, add):
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add(p)
    _checksums_arg(p)
    a = p.parse_args(argv)
    return a, download.read_checksums(a.checksums) if a.checksums else {}


def div2k_main(argv=None):
    def add(p):
        p.add_argument("--dest", default=str(project_root() / "data"),
                       help="where the zips and folders go (default: %(default)s)")
        p.add_argument("--splits", nargs="+", choices=["train", "valid"], default=["train", "valid"])
        p.add_argument("--lr-scales", nargs="*", type=int, choices=[2, 3, 4], default=[],
                       help="also the bicubic LR images at these scales")
        p.add_argument("--base-url", default=download.OFFICIAL, help="server folder holding the zips")

    a, table = _parse(DIV2K, argv, add)
    download.download(download.file_names(a.splits, a.lr_scales), a.dest, a.base_url, {**download.FILES, **table})


def benchmarks_main(argv=None):
    from ..evaluation import default_data_root

    def add(p):
        p.add_argument("--sets", nargs="+", default=list(benchmarks.DEFAULT), choices=list(benchmarks.SETS),
                       help="default: %(default)s")
        p.add_argument("--dest", default=None, help=f"data root to fill (default: {default_data_root()})")
        p.add_argument("--base-url", default=None, help="a mirror folder holding the archives under their names "
                                                        "(Set5_HR.tar.gz, ...) instead of the usual sources")

    a, table = _parse(BENCHMARKS, argv, add)
    sets = {name: dataclasses.replace(entry, size=table[entry.archive][0], sha256=table[entry.archive][1])
            if entry.archive in table else entry for name, entry in benchmarks.SETS.items()}
    benchmarks.download_sets(a.sets, a.dest or default_data_root(), a.base_url, sets)
