"""Training images decoded once into uncompressed files on disk, read back a
few rows at a time.

Decoding a photograph costs far more than a training patch, and keeping a
large set decoded in memory grows without bound; so each source image (and
each ``--rescale`` copy of it) is written once as a ``.npy`` file, and a patch
reads only the rows it needs with a positioned read. The process holds no
pixels between patches, and the page cache (not the process) keeps hot files.

An entry's name is made of a hash of the source's resolved path, a hash of
its size and modification time (and of ``VERSION``), and the copy's factor:
a changed file gets new entries and its old ones are removed, an added file is
decoded, a removed one is no longer listed, so nothing stale is read. Each
source's path is recorded beside its entries (``<hash>.src``), so ``prune``
can free the entries of files deleted or changed since. Entries
are written atomically (``safewrite``), so a killed run leaves none half
written; one whose length disagrees with its header is made again.
"""

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from . import degradations, paths
from .errors import SRError
from .io import load_image
from .safewrite import atomic_path, remove_stale_temp_files, write_file

VERSION = 1  # part of every entry's name: bump when decoding or the file layout changes


def default_dir():
    """``images`` under srkit's cache root (``paths.cache``: ``$SRKIT_CACHE_DIR``, else ``~/.cache/srkit``)."""
    return paths.cache("images")


def _hash(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _state(st):
    """The part of an entry's name that changes with its source file."""
    return _hash(f"{st.st_size}:{st.st_mtime_ns}:{VERSION}")[:12]


class Entry:
    """One decoded image on disk: (H, W, 3) uint8 at byte ``offset`` of ``path``."""

    __slots__ = ("path", "shape", "offset")

    def __init__(self, path, shape, offset):
        self.path, self.shape, self.offset = str(path), tuple(shape), int(offset)

    def rows(self, r0, r1):
        """Rows r0:r1 as a read-only (r1 - r0, W, 3) array: one positioned read."""
        row = self.shape[1] * self.shape[2]
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            raise SRError(f"{self.path}: image cache entry was removed while in use (run again)") from None
        try:
            data = os.pread(fd, (r1 - r0) * row, self.offset + r0 * row)
        finally:
            os.close(fd)
        if len(data) != (r1 - r0) * row:
            raise SRError(f"{self.path}: image cache entry is truncated (delete it and run again)")
        return np.frombuffer(data, np.uint8).reshape(r1 - r0, self.shape[1], self.shape[2])

    def load(self):
        """The whole image."""
        return self.rows(0, self.shape[0])


def _open(path):
    """The Entry at ``path``; None when it is missing or not a complete
    (H, W, 3) uint8 array (then it is made again)."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}[version]
            shape, fortran, dtype = read_header(f)
            offset, size = f.tell(), os.fstat(f.fileno()).st_size
    except (OSError, ValueError, KeyError):
        return None
    if fortran or dtype != np.uint8 or len(shape) != 3 or shape[2] != 3 or size != offset + int(np.prod(shape)):
        return None
    return Entry(path, shape, offset)


def _write(path, img):
    """Write ``img`` as a .npy file atomically and durably, straight from the array (no copy in memory)."""
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(img))
            f.flush()
            os.fsync(f.fileno())
            offset = f.tell() - img.nbytes
    except OSError as exc:
        raise SRError(f"{path}: cannot write image cache entry ({exc.strerror or exc})") from None
    return Entry(path, img.shape, offset)


class ImageCache:
    """The entries of one cache folder (``default_dir()`` when None)."""

    def __init__(self, folder=None, log=None):
        self.folder = Path(folder) if folder else default_dir()
        self.log = log or (lambda msg: None)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SRError(f"{self.folder}: cannot make the image cache folder ({exc.strerror or exc})") from None
        remove_stale_temp_files(self.folder, self.log)  # a killed run's half-written entries
        self.by_source = {}  # source hash -> entry names on disk, to remove those of changed files
        for name in os.listdir(self.folder):
            if name.endswith(".npy") and name.count("-") == 2:
                self.by_source.setdefault(name.split("-")[0], []).append(name)
        self.counts = {"built": 0, "reused": 0}
        self._lock = threading.Lock()  # entries() runs in threads

    def entries(self, path, factors=(), min_side=1):
        """(warning, [Entry]) for the image at ``path``: the image, then its
        copies shrunk by ``factors`` (MATLAB bicubic), each decoded or
        shrunk only when no valid entry exists. An unreadable image, or one
        with a side under ``min_side``, gives (warning, None)."""
        try:
            st = os.stat(path)
        except OSError as exc:
            return f"{path}: cannot read ({exc.strerror or exc})", None
        resolved = str(Path(path).resolve())
        source, state = _hash(resolved)[:20], _state(st)
        for stale in self.by_source.get(source, ()):
            if stale.split("-")[1] != state:  # the source changed since: never read again
                (self.folder / stale).unlink(missing_ok=True)
        names = [self.folder / f"{source}-{state}-{tag}.npy" for tag in ["1", *(f"r{f!r}" for f in factors)]]
        self._record(source, resolved)
        img, found = None, []
        for k, name in enumerate(names):
            entry = _open(name)
            made = entry is None
            if made:
                if img is None:
                    img = self._decode(path) if k == 0 else found[0].load()
                    if isinstance(img, str):
                        return img, None
                entry = _write(name, img if k == 0 else degradations.imresize(img, factors[k - 1]))
            with self._lock:
                self.counts["built" if made else "reused"] += 1
            found.append(entry)
            if k == 0 and min(entry.shape[:2]) < min_side:
                return f"{path}: {entry.shape[1]}x{entry.shape[0]} is smaller than a {min_side} patch", None
        return None, found

    def _record(self, source, resolved):
        """Write which file ``source`` is (for ``prune``), also for entries an
        older srkit made; best effort, since a read-only cache still serves."""
        record = self.folder / f"{source}.src"
        if not record.exists():
            try:
                write_file(record, resolved.encode(), "image cache record")
            except SRError:
                pass

    @staticmethod
    def _decode(path):
        """(H, W, 3) uint8 (grey repeated), or the error message."""
        try:
            img = load_image(path)
        except SRError as exc:
            return str(exc)
        return np.repeat(img[..., None], 3, 2) if img.ndim == 2 else img


def prune(folder=None):
    """Remove the entries of ``folder`` (``default_dir()`` when None) that no
    run can read again: those whose recorded source file was deleted or has
    changed since. It is a cache: a removed entry is decoded again if its
    file is used again. Entries whose source was never recorded (made by an
    older srkit and not used since) are kept, since a running training may
    read them. Returns (entries removed, bytes freed, entries kept, of which
    unrecorded)."""
    cache = ImageCache(folder)
    removed = freed = kept = unrecorded = 0
    for source in sorted(set(cache.by_source) | {p.stem for p in cache.folder.glob("*.src")}):
        record = cache.folder / f"{source}.src"
        names = cache.by_source.get(source, ())
        try:
            path = record.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            kept, unrecorded = kept + len(names), unrecorded + len(names)
            continue
        try:
            state = _state(os.stat(path))
        except (OSError, ValueError):  # the file is gone
            state = None
        for name in names:
            if name.split("-")[1] == state:
                kept += 1
                continue
            try:
                size = (cache.folder / name).stat().st_size
                (cache.folder / name).unlink()
            except FileNotFoundError:
                continue
            removed, freed = removed + 1, freed + size
        if state is None:
            record.unlink(missing_ok=True)
    return removed, freed, kept, unrecorded
