"""srkit.download and data/download_div2k.py against a local HTTP server (never
the internet): verify, resume with Range, servers that ignore Range, corrupt
downloads and zip-slip refused, the CLI end to end."""

import hashlib
import http.server
import io
import socket
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import random_image, run_script
from srkit import download
from srkit.errors import SRError

NAME = "DIV2K_train_HR"


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.blobs[path]``; honours ``Range: bytes=N-`` with 206 unless
    ``server.honor_range`` is False; logs each (path, Range header)."""

    def do_GET(self):
        srv = self.server
        srv.log.append((self.path, self.headers.get("Range")))
        body = srv.blobs.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start, rng = 0, self.headers.get("Range")
        if rng and srv.honor_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.blobs, srv.log, srv.honor_range = {}, [], True
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/"
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


def png_bytes(seed):
    buf = io.BytesIO()
    Image.fromarray(random_image(12, 10, seed=seed)).save(buf, format="PNG")
    return buf.getvalue()


def make_zip(extra=()):
    """A little DIV2K_train_HR.zip (three PNGs plus any ``extra`` member names); bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{NAME}/", "")
        for i in range(1, 4):
            zf.writestr(f"{NAME}/{i:04d}.png", png_bytes(i))
        for name in extra:
            zf.writestr(name, b"pwned")
    return buf.getvalue()


def table(blob):
    return {NAME: (len(blob), hashlib.sha256(blob).hexdigest())}


def assert_unpacked(dest):
    for i in range(1, 4):
        img = np.asarray(Image.open(dest / NAME / f"{i:04d}.png"))
        assert np.array_equal(img, random_image(12, 10, seed=i))
    assert (dest / f"{NAME}.zip").is_file()
    assert not list(dest.glob("*.part")) and not list(dest.glob("*unpacking*"))


def test_download_verifies_and_unpacks(server, tmp_path):
    blob = make_zip()
    server.blobs[f"/{NAME}.zip"] = blob
    download.download([NAME], tmp_path, server.url, table(blob))
    assert_unpacked(tmp_path)
    assert server.log == [(f"/{NAME}.zip", None)]
    download.download([NAME], tmp_path, server.url, table(blob))  # verified zip: not fetched again
    assert len(server.log) == 1


def test_corrupt_download_is_rejected(server, tmp_path):
    blob = make_zip()
    server.blobs[f"/{NAME}.zip"] = bytes(b ^ 0xFF for b in blob)
    with pytest.raises(SRError, match="checksum mismatch") as info:
        download.download([NAME], tmp_path, server.url, table(blob))
    assert hashlib.sha256(blob).hexdigest() in str(info.value) and f"{NAME}.zip" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no .zip, no .part, nothing unpacked


@pytest.mark.parametrize("honor_range", [True, False])
def test_resume_with_range(server, tmp_path, honor_range):
    blob = make_zip()
    half = len(blob) // 2
    server.blobs[f"/{NAME}.zip"], server.honor_range = blob, honor_range
    # a server ignoring Range sends the whole file: the partial bytes (junk here) must be dropped
    (tmp_path / f"{NAME}.zip.part").write_bytes(blob[:half] if honor_range else b"\0" * half)
    download.download([NAME], tmp_path, server.url, table(blob))
    assert server.log == [(f"/{NAME}.zip", f"bytes={half}-")]
    assert (tmp_path / f"{NAME}.zip").read_bytes() == blob
    assert_unpacked(tmp_path)


@pytest.mark.parametrize("evil", ["../evil.txt", "/abs/evil.txt", f"{NAME}/../../evil.txt"])
def test_zip_slip_is_refused(server, tmp_path, evil):
    blob = make_zip(extra=[evil])
    server.blobs[f"/{NAME}.zip"] = blob
    dest = tmp_path / "dest"
    with pytest.raises(SRError, match="unsafe member path"):
        download.download([NAME], dest, server.url, table(blob))
    assert not (dest / NAME).exists() and not list(tmp_path.rglob("evil.txt"))
    assert not list(dest.glob("*unpacking*"))


def test_http_and_network_errors(server, tmp_path):
    with pytest.raises(SRError, match=f"{NAME}.zip: HTTP 404"):
        download.download([NAME], tmp_path, server.url, {NAME: (10, None)})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(SRError, match="network error"):
        download.download([NAME], tmp_path, f"http://127.0.0.1:{port}/", {NAME: (10, None)})
    with pytest.raises(SRError, match="DIV2K_nope: unknown file"):
        download.download(["DIV2K_nope"], tmp_path, server.url)


@pytest.mark.slow
def test_cli_end_to_end(server, tmp_path):
    blob = make_zip()
    server.blobs[f"/{NAME}.zip"] = blob
    size, sha = table(blob)[NAME]
    sums = tmp_path / "sums.txt"
    sums.write_text(f"# a local mirror\n{server.url}{NAME}.zip {size} {sha}\n")
    dest = tmp_path / "data"
    args = ["--dest", dest, "--splits", "train", "--base-url", server.url, "--checksums", sums]
    env = {"no_proxy": "127.0.0.1"}
    r = run_script("data/download_div2k.py", *args, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert_unpacked(dest)

    sums.write_text(f"{NAME} {size} {'0' * 64}\n")
    (dest / f"{NAME}.zip").unlink()
    r = run_script("data/download_div2k.py", *args, env=env, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "checksum mismatch" in r.stderr
    assert "Traceback" not in r.stderr and not (dest / f"{NAME}.zip").exists()
