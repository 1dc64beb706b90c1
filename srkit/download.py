"""Downloading data sets: ``fetch`` gets one file resumably and verifies it
(size + SHA-256) before it takes its name; ``unpack`` extracts a zip or tar
archive safely; ``download`` does both for the DIV2K zips, into the usual
layout (``dest/DIV2K_train_HR/0001.png``, ...). ``benchmarks`` uses the same
for the test sets.

A file becomes ``<name>`` only once verified; until then it is
``<name>.part`` and a rerun resumes it with an HTTP Range request.
"""

import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from .errors import SRError
from .io import file_sha256

OFFICIAL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
CHUNK = 1 << 20

# name -> (size in bytes, sha256). Every value is from tensorflow/datasets,
# tensorflow_datasets/url_checksums/div2k.txt (commit 333639b37af6c6fedf3610a4a2d42f1c6ef6f7d5;
# the HR and X2 rows agree with commit 1054f22dfd67025f459c5735206ab404dbb12a6e).
# Use None for a value nobody has published: the file is then used unverified, with a warning.
FILES = {
    "DIV2K_train_HR": (3530603713, "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335"),
    "DIV2K_valid_HR": (448993893, "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc"),
    "DIV2K_train_LR_bicubic_X2": (925390592, "a53a424317575838dadce4bcd97cf7b744d6855f43740ed5f0245af3cf4bd850"),
    "DIV2K_train_LR_bicubic_X3": (427847282, "ad5c8e5507e2765823d3c2c5bd0934842efcd487c5370604c224090898b3163a"),
    "DIV2K_train_LR_bicubic_X4": (246914039, "f006b837f4eb52b82909aa01478e6d6d199eefce932179491d0c9dbb706dde3a"),
    "DIV2K_valid_LR_bicubic_X2": (117763600, "60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57"),
    "DIV2K_valid_LR_bicubic_X3": (54513392, "04b9a2ed3b4a0715d3924d3ae8514830c3328fac8d30512ce716d6f419e052a3"),
    "DIV2K_valid_LR_bicubic_X4": (31505881, "a50a5d1c4b88de4e8d300d8fb2b904c52fe93b2b298a4899697760d7cbb6d553"),
}


def file_names(splits=("train", "valid"), lr_scales=()):
    """Zip names (no suffix) for the HR images and bicubic LR scales of each split."""
    return [f"DIV2K_{s}_HR" for s in splits] + [f"DIV2K_{s}_LR_bicubic_X{x}" for s in splits for x in lr_scales]


def read_checksums(path):
    """A table like FILES from a text file of ``name-or-URL size sha256`` lines
    (the url_checksums format; ``#`` starts a comment), e.g. for a mirror."""
    table = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise SRError(f"{path}: cannot read checksum file ({exc.strerror or exc})") from None
    for n, line in enumerate(lines, 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 3 or not fields[1].isdigit() or len(fields[2]) != 64:
            raise SRError(f"{path}:{n}: expected 'name size sha256', got {line.strip()!r}")
        name = fields[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".zip")
        table[name] = (int(fields[1]), fields[2].lower())
    return table


def _progress(total, initial, desc):
    """A tqdm bar on a terminal, else a stand-in that ignores updates."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is None or not sys.stderr.isatty():
        return _NoBar()
    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _fetch(url, part, size):
    """Append ``url`` to ``part`` from its current length (Range); restart from
    zero when the server answers 200 instead of 206."""
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have >= size:
        return  # complete (or too long: verification rejects it)
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            return  # nothing past what we hold; verification decides
        raise SRError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SRError(f"{url}: network error ({getattr(exc, 'reason', exc)})") from None
    with resp:
        if have and resp.status != 206:
            have = 0  # Range ignored: the body is the whole file
        elif have and not resp.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
            raise SRError(f"{url}: server resumed at the wrong offset ({resp.headers.get('Content-Range')})")
        length = resp.headers.get("Content-Length")
        bar = _progress(have + int(length) if length else size, have, part.name.removesuffix(".part"))
        try:
            with open(part, "ab" if have else "wb") as f:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as exc:
            raise SRError(f"{url}: download interrupted ({exc}); run again to resume") from None
        finally:
            bar.close()


def _verify(part, url, size, sha256, warn=True):
    """SRError unless ``part`` has the expected size and SHA-256; a wrong file is deleted,
    a short one kept so a rerun resumes it. No SHA-256 known: a warning, unless not ``warn``."""
    got = part.stat().st_size
    if size is not None and got < size:
        raise SRError(f"{url}: incomplete download ({got} of {size} bytes); run again to resume")
    if size is not None and got > size:
        part.unlink()
        raise SRError(f"{url}: size mismatch (expected {size} bytes, got {got}); download deleted")
    if sha256 is None:
        if warn:
            print(f"warning: {url}: no published checksum, the file could not be verified", file=sys.stderr)
        return
    digest = file_sha256(part, CHUNK)
    if digest != sha256.lower():
        part.unlink()
        raise SRError(f"{url}: checksum mismatch (sha256 expected {sha256}, got {digest}); download deleted")


def _move_into(src, dst):
    """Rename ``src`` onto ``dst``; where both are folders, merge child by child
    (the LR zips share ``DIV2K_<split>_LR_bicubic/``). Existing files are kept."""
    if not dst.exists():
        os.replace(src, dst)
    elif src.is_dir() and dst.is_dir():
        for child in src.iterdir():
            _move_into(child, dst / child.name)


def _open_archive(path):
    """(member names, extractall(folder)) of a zip or (compressed) tar file;
    tar members other than files and folders (links, devices) are refused."""
    if zipfile.is_zipfile(path):
        zf = zipfile.ZipFile(path)
        return zf, [m.filename for m in zf.infolist()], zf.extractall
    tf = tarfile.open(path)
    members = tf.getmembers()
    for m in members:
        if not (m.isfile() or m.isdir()):
            tf.close()
            raise SRError(f"{path}: refused, member {m.name!r} is a link or special file")
    extract = (lambda d: tf.extractall(d, filter="data")) if hasattr(tarfile, "data_filter") else tf.extractall
    return tf, [m.name for m in members], extract


def unpack(archive, dest_dir):
    """Extract ``archive`` (zip or tar, gzip/bz2/xz too) into ``dest_dir`` via
    a temporary folder, so an interrupted unpack leaves no half folder. Members
    with absolute paths or ``..`` are refused before anything is written.
    Already unpacked: no-op."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    try:
        handle, names, extractall = _open_archive(archive)
        with handle:
            for name in names:
                p = PurePosixPath(name.replace("\\", "/"))
                if p.is_absolute() or ".." in p.parts or ":" in "".join(p.parts[:1]):
                    raise SRError(f"{archive}: refused, unsafe member path {name!r}")
            if all((dest_dir / name).exists() for name in names):
                return
            dest_dir.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f"{archive.name.split('.')[0]}.unpacking-", dir=dest_dir))
            try:
                extractall(tmp)
                for child in tmp.iterdir():
                    _move_into(child, dest_dir / child.name)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except zipfile.BadZipFile as exc:
        raise SRError(f"{archive}: bad zip file ({exc})") from None
    except tarfile.TarError as exc:
        raise SRError(f"{archive}: not a zip or tar archive, or a damaged one ({exc})") from None
    except OSError as exc:
        raise SRError(f"{archive}: cannot unpack ({exc})") from None


def fetch(url, path, size=None, sha256=None, warn=True):
    """Download ``url`` to ``path`` unless a file of the expected ``size`` is
    there: via ``<path>.part`` (resumed by a rerun), verified before it is
    renamed. ``size`` / ``sha256`` None: not checked (``warn``: say so)."""
    path = Path(path)
    if not path.exists() or (size is not None and path.stat().st_size != size):
        part = path.with_name(path.name + ".part")
        _fetch(url, part, size)
        _verify(part, url, size, sha256, warn)
        os.replace(part, path)
    return path


def download(names, dest_dir, base_url=OFFICIAL, files=None):
    """Download, verify and unpack each named zip (see ``file_names``) from
    ``base_url`` into ``dest_dir``; ``files`` maps name -> (size, sha256) and
    defaults to FILES. Verified zips already in ``dest_dir`` are not fetched again."""
    files = FILES if files is None else files
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    for name in names:
        if name not in files:
            raise SRError(f"{name}: unknown file (known: {', '.join(sorted(files))})")
    for name in names:
        size, sha256 = files[name]
        zip_path = fetch(f"{base_url}{name}.zip", dest_dir / f"{name}.zip", size, sha256)
        unpack(zip_path, dest_dir)
        print(f"{name}: ready in {dest_dir}", file=sys.stderr)
