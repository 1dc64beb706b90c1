"""srkit.benchmarks and data/download_benchmarks.py against a local HTTP server
(never the internet): a set is placed only once its images match the content
checksum, a rerun checks what is there, archives with links or ``..`` are
refused, Manga109 needs a mirror; and evaluate.py finds what was fetched, or
names the command when nothing is there."""

import hashlib
import io
import tarfile

import pytest

from conftest import run_script
from srkit import benchmarks, evaluation
from srkit.errors import SRError
import test_download
from test_download import png_bytes

server = test_download.server  # the loopback HTTP server fixture

ARCHIVE = "Set5_HR.tar.gz"


def make_tar(files, folder="Set5_HR", extra=None):
    """A gzipped tar of ``folder/<name>`` for each (name, bytes); ``extra``(tar) may add members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files:
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if extra:
            extra(tf)
    return buf.getvalue()


def published_md5(files):
    """deepinv's folder checksum, written out independently of benchmarks.content_md5."""
    hexes = "".join(hashlib.md5(data).hexdigest() for _, data in sorted(files))
    return hashlib.md5(hexes.encode()).hexdigest()


FILES = [(f"img{i}.png", png_bytes(i)) for i in range(3)]


def table(files=FILES):
    return {"Set5": benchmarks.Benchmark(ARCHIVE, "Set5_HR", content_md5=published_md5(files)),
            "Manga109": benchmarks.SETS["Manga109"]}


def test_fetch_verifies_places_and_evaluate_finds_it(server, tmp_path):
    server.blobs[f"/{ARCHIVE}"] = make_tar(FILES)
    benchmarks.download_sets(["Set5"], tmp_path, server.url, table())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Set5"]  # no archive, .part or unpacking folder left
    for name, data in FILES:
        assert (tmp_path / "Set5" / name).read_bytes() == data
    benchmarks.download_sets(["Set5"], tmp_path, server.url, table())  # there and checked: not fetched again
    assert len(server.log) == 1
    assert evaluation.resolve_dataset("Set5", tmp_path) == ("Set5", tmp_path / "Set5")


def test_wrong_images_are_not_placed(server, tmp_path):
    server.blobs[f"/{ARCHIVE}"] = make_tar([*FILES[:2], ("img2.png", png_bytes(9))])
    with pytest.raises(SRError, match="not the published set.*download deleted"):
        benchmarks.download_sets(["Set5"], tmp_path, server.url, table())
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_checked_and_left_alone(server, tmp_path):
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "mine.png").write_bytes(png_bytes(5))
    with pytest.raises(SRError, match="existing .*Set5 .*move it away"):
        benchmarks.download_sets(["Set5"], tmp_path, server.url, table())
    assert server.log == [] and [p.name for p in (tmp_path / "Set5").iterdir()] == ["mine.png"]


def test_an_interrupted_download_resumes(server, tmp_path):
    blob = make_tar(FILES)
    server.blobs[f"/{ARCHIVE}"] = blob
    (tmp_path / f"{ARCHIVE}.part").write_bytes(blob[:100])
    benchmarks.download_sets(["Set5"], tmp_path, server.url, table())
    assert server.log == [(f"/{ARCHIVE}", "bytes=100-")]
    assert (tmp_path / "Set5" / "img1.png").read_bytes() == FILES[1][1]


def _symlink(tf):
    info = tarfile.TarInfo("Set5_HR/link.png")
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    tf.addfile(info)


def _dotdot(tf):
    info = tarfile.TarInfo("Set5_HR/../../evil.txt")
    info.size = 5
    tf.addfile(info, io.BytesIO(b"pwned"))


@pytest.mark.parametrize("extra, message", [(_symlink, "is a link or special file"), (_dotdot, "unsafe member path")])
def test_unsafe_archives_are_refused(server, tmp_path, extra, message):
    server.blobs[f"/{ARCHIVE}"] = make_tar(FILES, extra=extra)
    dest = tmp_path / "dest"
    with pytest.raises(SRError, match=message):
        benchmarks.download_sets(["Set5"], dest, server.url, table())
    assert not (dest / "Set5").exists() and not list(tmp_path.rglob("evil.txt"))
    assert not list(dest.glob(".*unpacking*"))


def test_manga109_needs_a_mirror_and_unknown_sets_are_named(tmp_path):
    with pytest.raises(SRError, match="Manga109: no public download.*--base-url"):
        benchmarks.download_sets(["Manga109"], tmp_path)
    with pytest.raises(SRError, match="Set6: unknown benchmark"):
        benchmarks.download_sets(["Set6"], tmp_path)


def test_the_table_covers_the_usual_sets():
    for name in benchmarks.DEFAULT:
        entry = benchmarks.SETS[name]
        assert entry.url.startswith("https://") and entry.url.endswith(entry.archive)
        assert len(entry.content_md5) == 32  # every set with a public source is verified by its content


@pytest.mark.slow
def test_cli_fetches_the_real_set5_and_evaluate_scores_it(server, tmp_path, benchmark_root):
    # the built-in Set5 checksum must accept the real images (served here from ../shared/datasets)
    real = [(p.name, p.read_bytes()) for p in sorted((benchmark_root / "Set5").glob("*.png"))]
    server.blobs[f"/{ARCHIVE}"] = make_tar(real)
    env = {"no_proxy": "127.0.0.1"}
    r = run_script("data/download_benchmarks.py", "--sets", "Set5", "--dest", tmp_path, "--base-url", server.url,
                   env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr and sorted(p.name for p in (tmp_path / "Set5").iterdir()) == [n for n, _ in real]
    r = run_script("evaluate.py", "--models", "bicubic", "--datasets", "Set5", "--scales", "2", "--data-root", tmp_path,
                   "--no-plot", "--no-combined")
    assert r.returncode == 0, r.stderr
    assert "| Set5 | x2 | bicubic | 33.67 |" in r.stdout  # the protocol's bicubic score on the real Set5

    server.blobs[f"/{ARCHIVE}"] = make_tar(real[:4])  # one image short: refused by the same table
    r = run_script("data/download_benchmarks.py", "--sets", "Set5", "--dest", tmp_path / "b", "--base-url", server.url,
                   env=env, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "not the published set" in r.stderr


@pytest.mark.slow
def test_evaluate_without_data_names_the_download_command(tmp_path):
    r = run_script("evaluate.py", "--models", "bicubic", "--data-root", tmp_path, "--no-plot", "--no-combined")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"error: {tmp_path / 'Set5'}: dataset folder does not exist")
    assert r.stderr.strip().endswith(f"fetch it with: python data/download_benchmarks.py --dest {tmp_path}")

