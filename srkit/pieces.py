"""Split a file into pieces under a size limit and join them back, checked by
SHA-256 (the device machine returns files of at most 16 MiB).

  python -m srkit.pieces split FILE OUTDIR [--max-mib 15]
  python -m srkit.pieces join OUTDIR/FILE.pieces.json DEST
"""

import argparse
import json
from pathlib import Path

from .errors import SRError, run_cli
from .io import file_sha256
from .safewrite import atomic_path


def split(path, out_dir, max_bytes=15 * 2**20):
    """Write ``path`` as ``NAME.partNN`` files plus ``NAME.pieces.json``."""
    path, out_dir = Path(path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    with open(path, "rb") as f:
        for i, chunk in enumerate(iter(lambda: f.read(max_bytes), b"")):
            name = f"{path.name}.part{i:02d}"
            (out_dir / name).write_bytes(chunk)
            names.append(name)
    manifest = out_dir / f"{path.name}.pieces.json"
    manifest.write_text(json.dumps({"name": path.name, "sha256": file_sha256(path), "pieces": names}) + "\n")
    return manifest


def join(manifest, dest):
    """Reassemble from a ``.pieces.json`` manifest; SRError unless the SHA-256 matches."""
    manifest = Path(manifest)
    try:
        info = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise SRError(f"{manifest}: cannot read pieces manifest ({exc})") from None
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as out:
            for name in info["pieces"]:
                piece = manifest.parent / name
                if not piece.exists():
                    raise SRError(f"{piece}: missing piece")
                out.write(piece.read_bytes())
        if file_sha256(tmp) != info["sha256"]:
            raise SRError(f"{manifest}: reassembled file does not match its SHA-256")
    return Path(dest)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("file")
    s.add_argument("out_dir")
    s.add_argument("--max-mib", type=float, default=15)
    j = sub.add_parser("join")
    j.add_argument("manifest")
    j.add_argument("dest")
    a = p.parse_args(argv)
    if a.cmd == "split":
        print(split(a.file, a.out_dir, int(a.max_mib * 2**20)))
    else:
        print(join(a.manifest, a.dest))


if __name__ == "__main__":
    run_cli(main)
