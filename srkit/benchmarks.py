"""The benchmark test sets' HR images (Set5, Set14, B100, Urban100, Manga109):
where they come from, what verifies them, and ``download`` into
``DEST/<set>/`` so that ``evaluate.py --data-root DEST`` finds them.

Nobody publishes a size or SHA-256 of these archives. What is published is
a checksum of their *content*: deepinv (PyPI ``deepinv`` 0.5.0,
``deepinv/datasets/{set5,set14,bsd100,urban100}.py``, ``_checksums``)
gives, for each unpacked folder, the MD5 of the concatenated hex MD5s of
its files in name order (``content_md5`` here). A set is moved into place
only once its images match it; the archive is then deleted (the folder is
what a rerun checks). The Set5 and Set14 values also match the copies in
``../shared/datasets`` that the repository's results were measured on.
Manga109 has no public download (its images are licensed for academic use
on application at manga109.org): it is fetched only from a ``base_url``
mirror you hold, unverified, with a warning, like any entry whose value is None.
"""

import hashlib
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import download
from .errors import SRError
from .paths import checkout

HF = "https://huggingface.co/datasets/eugenesiow/{repo}/resolve/main/data/{archive}"


@dataclass(frozen=True)
class Benchmark:
    archive: str  # file name of the archive (also its name under a --base-url mirror)
    folder: str  # the folder of HR images inside it
    url: str = None  # the usual public source; None: none exists
    size: int = None  # archive bytes and SHA-256: None, as none is published
    sha256: str = None
    content_md5: str = None  # deepinv's folder checksum of the unpacked images


def _hf(repo, archive, content_md5):
    return Benchmark(archive, archive.split(".")[0], HF.format(repo=repo, archive=archive), content_md5=content_md5)


# evaluate.py dataset name -> source. Sources: the eugenesiow/<repo> data sets on the Hugging Face Hub, the
# archives deepinv downloads; content_md5 values from deepinv 0.5.0 (see the module docstring).
SETS = {
    "Set5": _hf("Set5", "Set5_HR.tar.gz", "e128ede786dabb7ebeee99e5fa1ad985"),
    "Set14": _hf("Set14", "Set14_HR.tar.gz", "3fce01c3dfe9760194e8a22f6bc032c5"),
    "B100": _hf("BSD100", "BSD100_HR.tar.gz", "2288d442262c1c26343fda3b36f05b03"),
    "Urban100": _hf("Urban100", "Urban100_HR.tar.gz", "6e0640850d436a359e0a9baf5eabd27b"),
    "Manga109": Benchmark("Manga109_HR.tar.gz", "Manga109_HR"),
}
DEFAULT = ("Set5", "Set14", "B100", "Urban100")  # the ones with a public source


def fetch_command(name, dest):
    """The command line that downloads set ``name`` into ``dest`` (with the
    other default sets when it is one of them): the checkout's script when
    srkit runs from one, else the installed command."""
    program = "python data/download_benchmarks.py" if checkout() else "srkit download-benchmarks"
    return f"{program}{'' if name in DEFAULT else ' --sets ' + name} --dest {dest}"


def content_md5(folder):
    """deepinv's folder checksum: MD5 of the hex MD5s of the folder's files, in name order."""
    total = hashlib.md5()
    for path in sorted(Path(folder).iterdir(), key=lambda p: p.name):
        total.update(hashlib.md5(path.read_bytes()).hexdigest().encode())
    return total.hexdigest()


def _check(folder, name, expected, source):
    """SRError unless ``folder``'s content checksum is ``expected`` (None: a warning)."""
    if expected is None:
        print(f"warning: {name}: no published checksum, {source} could not be verified", file=sys.stderr)
        return
    got = content_md5(folder)
    if got != expected:
        raise SRError(f"{name}: {source} is not the published set (content md5 expected {expected}, got {got})")


def fetch_set(name, dest, base_url=None, sets=None):
    """Make ``dest/name`` hold the set's verified HR images: already there
    (checked again) or downloaded, unpacked in a temporary folder, checked, then
    renamed into place. A folder there that fails the check is left alone."""
    entry = (SETS if sets is None else sets)[name]
    target = Path(dest) / name
    if target.is_dir():
        _check(target, name, entry.content_md5, f"the existing {target} (move it away to download it again)")
        return target
    if base_url:
        url = base_url.rstrip("/") + "/" + entry.archive
    elif entry.url:
        url = entry.url
    else:
        raise SRError(f"{name}: no public download (licensed on application at manga109.org); put its HR images in "
                      f"{target}/ yourself, or give --base-url of a mirror holding {entry.archive}")
    target.parent.mkdir(parents=True, exist_ok=True)
    archive = download.fetch(url, target.parent / entry.archive, entry.size, entry.sha256,
                             warn=entry.content_md5 is None)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.unpacking-", dir=target.parent))
    try:
        download.unpack(archive, tmp)
        images = tmp / entry.folder
        if not images.is_dir():
            archive.unlink()
            raise SRError(f"{url}: the archive holds no folder {entry.folder}/; download deleted")
        try:
            _check(images, name, entry.content_md5, url)
        except SRError as exc:
            archive.unlink()
            raise SRError(f"{exc}; download deleted") from None
        images.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    archive.unlink()
    return target


def download_sets(names, dest, base_url=None, sets=None):
    """``fetch_set`` for each name (checked against the table first)."""
    sets = SETS if sets is None else sets
    for name in names:
        if name not in sets:
            raise SRError(f"{name}: unknown benchmark (known: {', '.join(sets)})")
    for name in names:
        print(f"{name}: ready in {fetch_set(name, dest, base_url, sets)}", file=sys.stderr)
