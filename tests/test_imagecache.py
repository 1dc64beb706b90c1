"""The decoded-image cache behind PatchSampler: entries reused, a changed,
added or removed file never read stale, a damaged entry made again, and
memory that does not grow with the data set."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import random_image
from srkit import degradations
from srkit.data import PatchSampler
from srkit.imagecache import ImageCache


def npy(folder):
    return sorted(p.name for p in folder.glob("*.npy"))


def sampler(folder, cache, **kw):
    return PatchSampler(folder, [2], patch=24, batch=4, seed=1, workers=0, cache_dir=cache, log=lambda m: None, **kw)


def test_entries_are_reused_and_equal_the_decoded_images(tmp_path):
    (tmp_path / "d").mkdir()
    Image.fromarray(random_image(40, 50, seed=1)).save(tmp_path / "d" / "a.png")
    Image.fromarray(random_image(44, 30, 1, seed=2)).save(tmp_path / "d" / "g.png")
    cache = ImageCache(tmp_path / "c")
    first = [cache.entries(f, (0.8,)) for f in sorted((tmp_path / "d").iterdir())]
    assert cache.counts == {"built": 4, "reused": 0}
    again = ImageCache(tmp_path / "c")
    second = [again.entries(f, (0.8,)) for f in sorted((tmp_path / "d").iterdir())]
    assert again.counts == {"built": 0, "reused": 4}
    (_, (a, a8)), (_, (g, _)) = second
    assert [e.path for _, es in first for e in es] == [e.path for _, es in second for e in es]
    np.testing.assert_array_equal(a.load(), random_image(40, 50, seed=1))
    np.testing.assert_array_equal(g.load(), np.repeat(random_image(44, 30, 1, seed=2)[..., None], 3, 2))
    np.testing.assert_array_equal(a8.load(), degradations.imresize(random_image(40, 50, seed=1), 0.8))
    np.testing.assert_array_equal(a.rows(5, 9), a.load()[5:9])


def test_changed_added_and_removed_files_are_never_read_stale(tmp_path):
    d, cache = tmp_path / "d", tmp_path / "c"
    d.mkdir()
    Image.fromarray(random_image(40, 40, seed=1)).save(d / "a.png")
    Image.fromarray(random_image(40, 40, seed=2)).save(d / "b.png")
    s = sampler(d, cache)
    assert len(npy(cache)) == 2
    Image.fromarray(random_image(40, 40, seed=3)).save(d / "a.png")  # same size and name, new pixels
    os.utime(d / "a.png", ns=(1, 1))  # and a new modification time
    (d / "b.png").unlink()
    Image.fromarray(random_image(30, 32, seed=4)).save(d / "c.png")
    s = sampler(d, cache)
    assert [e.shape for e in s.entries] == [(40, 40, 3), (30, 32, 3)]
    np.testing.assert_array_equal(s.image(0), random_image(40, 40, seed=3))
    assert len(npy(cache)) == 3  # a's new entry (its old one removed), b's (left, never read), c's


def test_prune_frees_the_entries_of_deleted_and_changed_files_only(tmp_path, capsys):
    from srkit.cli.train import main

    d, cache = tmp_path / "d", tmp_path / "c"
    d.mkdir()
    for name, seed in (("a", 1), ("b", 2), ("c", 3)):
        Image.fromarray(random_image(40, 40, seed=seed)).save(d / f"{name}.png")
    ImageCache(cache).entries(d / "c.png", (0.5,))  # c has a rescaled copy too
    sampler(d, cache)
    assert len(npy(cache)) == 4 and len(list(cache.glob("*.src"))) == 3
    (d / "b.png").unlink()
    Image.fromarray(random_image(40, 40, seed=4)).save(d / "c.png")
    os.utime(d / "c.png", ns=(1, 1))  # changed: both of its entries are stale
    unrecorded = cache / "0123456789abcdef0123-000000000000-1.npy"  # as an older srkit made them: no record
    unrecorded.write_bytes(b"x" * 10)
    a_entry = os.path.basename(ImageCache(cache).entries(d / "a.png")[1][0].path)
    main(["--prune-cache", "--cache-dir", str(cache)])
    out = capsys.readouterr().out
    assert "removed 3 entries" in out and "kept 2 (1 of them made by an older srkit" in out
    assert npy(cache) == sorted([a_entry, unrecorded.name])
    assert len(list(cache.glob("*.src"))) == 2  # b's record went with its file; c's stays (the file exists)
    main(["--prune-cache", "--cache-dir", str(cache)])
    assert "removed 0 entries" in capsys.readouterr().out
    s = sampler(d, cache)  # c is decoded again, the pixels of its new version
    np.testing.assert_array_equal(s.image(1), random_image(40, 40, seed=4))


def test_a_damaged_entry_is_made_again(tmp_path):
    Image.fromarray(random_image(40, 40, seed=1)).save(tmp_path / "a.png")
    (_, (entry,)) = ImageCache(tmp_path / "c").entries(tmp_path / "a.png")
    with open(entry.path, "r+b") as f:
        f.truncate(os.path.getsize(entry.path) - 7)
    cache = ImageCache(tmp_path / "c")
    (_, (again,)) = cache.entries(tmp_path / "a.png")
    assert cache.counts["built"] == 1
    np.testing.assert_array_equal(again.load(), random_image(40, 40, seed=1))


def test_bytes_read_per_batch_do_not_grow_with_the_data_set(tmp_path):
    """A batch reads the rows of its patches' windows, whatever the number and size of the images."""
    per_batch = {}
    for n, side in ((2, 120), (12, 400)):
        d = tmp_path / f"set{n}"
        d.mkdir()
        for i in range(n):
            Image.fromarray(random_image(side, side, seed=i)).save(d / f"{i}.png")
        for kind in (dict(), dict(upsampling="post"), dict(degradation="seed")):
            s = sampler(d, tmp_path / "c", **kind)
            s.batch(0)
            s.bytes_read = 0
            for step in range(1, 6):
                s.batch(step)
            # at most the rows a patch needs (its window and the kernel's reach) in full, per patch
            rows = (24 // 2 + 2 * 3) * 2 + 8
            assert s.bytes_read / 5 <= 4 * rows * side * 3, (n, kind)
            per_batch[n, str(kind)] = s.bytes_read / 5 / side
    assert all(per_batch[12, k] <= 1.1 * per_batch[2, k] + 4 * 40 * 3 for _, k in per_batch)


@pytest.mark.slow
def test_peak_memory_stays_far_below_the_decoded_data_set(tmp_path):
    """A child process builds a sampler over 240 MB of decoded pixels and draws
    batches: its peak RSS grows by far less than the data set (the pixels
    stay on disk, in the page cache, not in the process)."""
    d = tmp_path / "big"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):  # BMP: cheap to write and to decode
        Image.fromarray(rng.integers(0, 256, (1600, 2500, 3), dtype=np.uint8)).save(d / f"{i}.bmp")
    code = (
        "import resource, sys\n"
        "from srkit.data import PatchSampler\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"s = PatchSampler({str(d)!r}, [2], patch=96, batch=16, workers=2, cache_dir={str(tmp_path / 'c')!r})\n"
        "stream = s.stream(0)\n"
        "for _ in range(30): next(stream)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    grown = int(r.stdout.split()[-1])
    print(f"peak RSS grew by {grown / 1e6:.0f} MB")
    assert grown < 100e6, f"peak RSS grew by {grown / 1e6:.0f} MB for 240 MB of pixels"
