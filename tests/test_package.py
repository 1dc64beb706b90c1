"""The installable package: the srkit command's dispatch, where srkit.paths
finds shipped files, no sys.path edits, and (slow) a wheel built from this
checkout that upscales the sample images away from it."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from srkit import cli, paths
from srkit.errors import SRError


def test_srkit_command_dispatches_to_the_scripts_mains(capsys):
    assert cli.main([]) == 0 and "download-benchmarks" in capsys.readouterr().out
    cli.main(["network", "--presets"])
    assert "| balanced_x2 | BALANCED_x2.h5 | x2 |" in capsys.readouterr().out
    with pytest.raises(SRError, match="unknown command 'upscal' \\(one of: upscale, train, "):
        cli.main(["upscal"])


def test_shipped_files_come_from_the_variable_the_package_or_the_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("SRKIT_WEIGHTS", raising=False)
    assert paths.shipped("weights") == ROOT / "weights" and paths.checkout() == ROOT  # this checkout
    package, checkout = tmp_path / "site" / "srkit", tmp_path / "nowhere"
    (package / "weights").mkdir(parents=True)
    monkeypatch.setattr(paths, "PACKAGE", package)
    monkeypatch.setattr(paths, "_CHECKOUT", checkout)
    assert paths.shipped("weights") == package / "weights" and paths.checkout() is None
    assert paths.project_root() == Path.cwd()
    with pytest.raises(SRError, match=r"no shipped samples found \(looked in .*samples and .*inference/original\); "
                                      r"set \$SRKIT_SAMPLES"):
        paths.shipped("samples")
    monkeypatch.setenv("SRKIT_SAMPLES", str(tmp_path))
    assert paths.shipped("samples") == tmp_path


def test_no_file_edits_sys_path():
    files = [p for top in ("srkit", "tests", "scripts", "data") for p in (ROOT / top).glob("**/*.py")]
    files = [p for p in files + list(ROOT.glob("*.py")) if p.resolve() != Path(__file__).resolve()]
    assert len(files) > 50
    assert [p.name for p in files if "sys.path" in p.read_text()] == []


@pytest.mark.slow
def test_a_wheel_of_this_checkout_upscales_the_samples_elsewhere(tmp_path):
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")  # building without network: no isolated build environment
    src = tmp_path / "src"
    for name in ("srkit", "weights", "inference/original"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        tmp_path / "dist", src], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    (whl,) = (tmp_path / "dist").glob("srkit-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert {f"srkit/weights/{p.name}" for p in (ROOT / "weights").glob("*.h5")} <= set(names)
    assert {f"srkit/samples/{p.name}" for p in (ROOT / "inference" / "original").glob("*.png")} <= set(names)
    entry_points = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "srkit = srkit.cli:entry" in entry_points

    site, work = tmp_path / "site", tmp_path / "work"
    work.mkdir()
    zipfile.ZipFile(whl).extractall(site)  # what pip install puts in site-packages
    r = subprocess.run([sys.executable, "-m", "srkit", "upscale", "--preset", "fast_x2"], cwd=work,
                       capture_output=True, text=True, env={**env, "PYTHONPATH": str(site)}, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "x2 with FAST_x2.h5" in r.stderr
    assert sorted(p.name for p in (work / "inference" / "output").iterdir()) == sorted(
        f"{p.stem}_x2.png" for p in (ROOT / "inference" / "original").glob("*.png"))
