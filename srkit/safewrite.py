"""Atomic file writes that lose nothing: a temporary file beside the target,
renamed over it only when complete, and removed on any failure.

Each temporary file is named after its owner (``.<name>.<pid>-<random>.srkit.tmp``)
and holds an advisory lock until renamed, so a second process writing into
the same folder tells a live run's file (left alone) from one a killed run
left behind (removed). Bytes are written with ``os.write``, so a full disk or
another OS error is an ordinary exception; ``write_file`` turns it into a
one-line SRError naming the file.
"""

import contextlib
import os
import re
import secrets
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, the owner's PID alone decides
    fcntl = None

from .errors import SRError

TMP_SUFFIX = ".srkit.tmp"
NAME_MAX = 255  # bytes in one path component on Linux, macOS and Windows file systems
_OWNER = re.compile(r"\.(\d+)-[0-9a-f]{8}" + re.escape(TMP_SUFFIX) + "$")


def temp_path(path):
    """The temporary name for ``path``: hidden, tagged with this process's
    PID, and short enough for the file system even when ``path``'s own name
    is near the limit (the name part is cut, never the tag)."""
    path = Path(path)
    tag = f".{os.getpid()}-{secrets.token_hex(4)}{TMP_SUFFIX}"
    room = NAME_MAX - 1 - len(tag.encode())
    name = path.name.encode()[:room].decode(errors="ignore")
    return path.parent / f".{name}{tag}"


def _lock(fd, blocking=False):
    """Take the advisory lock on ``fd``; False when another process holds it."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it onto
    ``path`` (atomic on one file system), on failure remove it. A killed
    process never leaves a half-written ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    # os.open with 0o666 lets the umask decide the final permissions (mkstemp would make them 0600)
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        _lock(fd, blocking=True)  # held until the rename: marks the file as in use
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)


def write_all(fd, data):
    """Write every byte of ``data`` to ``fd`` (os.write may write fewer)."""
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view):]


def write_file(path, data, what="file"):
    """Write ``data`` (bytes) to ``path`` atomically and durably (fsync before
    the rename). Any OS error (disk full, a file where a folder should be, a
    folder at ``path``, a name too long) is an SRError naming ``path``; the
    temporary file is removed and whatever ``path`` held before is intact."""
    try:
        with atomic_path(path) as tmp:
            fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
            try:
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
    except (FileExistsError, NotADirectoryError) as exc:  # from making the folders above ``path``
        raise SRError(f"{path}: cannot write {what} (a file stands where a folder should be: {exc.filename})") from None
    except OSError as exc:
        raise SRError(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
    return Path(path)


def check_writable(path, what="file"):
    """SRError now, before hours of work, when ``path`` could not be written
    later: a folder at its name, a file where one of its folders should be,
    or a folder this process may not write in."""
    path = Path(path)
    if path.is_dir():
        raise SRError(f"{path}: cannot write {what} (a folder stands at that name)")
    folder = next(p for p in [path.parent, *path.parent.parents] if p.exists())
    if not folder.is_dir():
        raise SRError(f"{path}: cannot write {what} (a file stands where a folder should be: {folder})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SRError(f"{path}: cannot write {what} ({folder} is not writable)")


def owner_pid(tmp):
    """The PID in a temporary file's name; None for names without one
    (written before names carried it)."""
    match = _OWNER.search(Path(tmp).name)
    return int(match.group(1)) if match else None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def is_stale(tmp):
    """Whether a temporary file was left by a process that is gone: its
    owner's PID is not running (or not named) and nobody holds its lock."""
    pid = owner_pid(tmp)
    # a live owner's file, or one it has made and not yet locked; this process's own PID in a name is a
    # dead predecessor's where PIDs restart (containers) unless the lock below is held
    if pid is not None and pid != os.getpid() and _alive(pid):
        return False
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return False  # already gone, or not ours to judge
    try:
        return _lock(fd)
    finally:
        os.close(fd)


def remove_stale_temp_files(folder, log):
    """Remove the temporary files under ``folder`` that dead processes left
    (a killed run's); those of live runs stay."""
    folder = Path(folder)
    for tmp in folder.rglob(f".*{TMP_SUFFIX}") if folder.is_dir() else []:
        if is_stale(tmp):
            tmp.unlink(missing_ok=True)
            log(f"removed unfinished temporary file {tmp} (from an interrupted run)")
