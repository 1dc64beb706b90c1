"""Atomic writes: temporary names that fit the file system, a full disk as a
one-line error with the old file intact and no temporary file left, and the
temporary files of live runs told apart from those a killed run left."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from srkit import safewrite
from srkit.errors import SRError
from srkit.safewrite import TMP_SUFFIX, atomic_path, remove_stale_temp_files, write_file


def test_a_name_near_the_limit_still_gets_a_temporary_file(tmp_path):
    path = tmp_path / ("n" * 240 + "_x2.png")
    write_file(path, b"data")
    assert path.read_bytes() == b"data" and os.listdir(tmp_path) == [path.name]
    assert len(safewrite.temp_path(tmp_path / ("é" * 127)).name.encode()) <= 255  # bytes, not characters


def test_write_errors_are_one_line_and_leave_the_old_file(tmp_path, full_disk):
    old = full_disk.folder / "a.bin"
    old.write_bytes(b"the good old version")
    full_disk.fill()
    with pytest.raises(SRError, match=r"a.bin: cannot write checkpoint \(No space left on device\)"):
        write_file(old, b"x" * 100_000, "checkpoint")
    assert old.read_bytes() == b"the good old version"
    assert not list(full_disk.folder.glob(f"*{TMP_SUFFIX}"))
    (tmp_path / "file").write_text("")
    with pytest.raises(SRError, match="file/b.png: cannot write image"):
        write_file(tmp_path / "file" / "b.png", b"x", "image")  # under a regular file
    (tmp_path / "folder").mkdir()
    with pytest.raises(SRError, match="folder: cannot write image"):
        write_file(tmp_path / "folder", b"x", "image")  # a folder at the name
    assert not list(tmp_path.glob(f".*{TMP_SUFFIX}"))


@pytest.mark.slow
def test_only_temporary_files_of_dead_runs_are_removed(tmp_path):
    legacy = tmp_path / f".a.png.abc123{TMP_SUFFIX}"  # from before names carried a PID: no lock, removed
    legacy.write_bytes(b"")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".b.png.{int(dead.stdout)}-0123abcd{TMP_SUFFIX}"
    stale.write_bytes(b"")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        unlocked_live = tmp_path / f".c.png.{sleeper.pid}-0123abcd{TMP_SUFFIX}"  # made, not yet locked
        unlocked_live.write_bytes(b"")
        removed = []
        with atomic_path(tmp_path / "d.png") as mine:  # in progress here: locked
            remove_stale_temp_files(tmp_path, removed.append)
            assert mine.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([unlocked_live.name, "d.png"])
        assert len(removed) == 2 and all("removed unfinished" in m for m in removed)
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.slow
def test_a_lock_held_by_another_process_keeps_its_file(tmp_path):
    # a live run's file whose PID this process cannot judge (another PID namespace, a reused PID)
    # run from the checkout, where srkit imports (it is also installed by requirements.txt)
    child = subprocess.Popen([sys.executable, "-c", f"""
import sys
from srkit.safewrite import atomic_path
with atomic_path({str(tmp_path / 'e.png')!r}) as tmp:
    print(tmp, flush=True); sys.stdin.readline()
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        tmp = tmp_path / os.path.basename(child.stdout.readline().strip())
        renamed = tmp.with_name(tmp.name.replace(f".{child.pid}-", f".{os.getpid()}-"))
        os.rename(tmp, renamed)  # this process's own PID in the name, the lock still held by the child
        remove_stale_temp_files(tmp_path, lambda m: None)
        assert renamed.exists()
    finally:
        child.stdin.close()
        child.wait()
