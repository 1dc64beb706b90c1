"""paths.cache: one cache root for every kind of entry: $SRKIT_CACHE_DIR, else
$XDG_CACHE_HOME/srkit, else ~/.cache/srkit; images and int8 models below it."""

from pathlib import Path

from srkit import imagecache, paths, quantize


def test_the_variable_names_the_root_of_both_caches(monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_CACHE_DIR", str(tmp_path / "c"))
    assert imagecache.default_dir() == tmp_path / "c" / "images"
    assert quantize.cache_dir() == tmp_path / "c" / "int8"


def test_without_it_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("SRKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert paths.cache("images") == tmp_path / "x" / "srkit" / "images"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert quantize.cache_dir() == Path(tmp_path / "h" / ".cache" / "srkit" / "int8")
