"""Image files: listing, decoding with clear errors, atomic writes."""

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import SRError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def is_image_path(path):
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder, recursive=False):
    """Sorted image files (by extension) in ``folder``; SRError when the folder
    is missing, not a folder, or holds no image file. Other files (checksums,
    notes) are ignored."""
    folder = Path(folder)
    if not folder.exists():
        raise SRError(f"{folder}: folder does not exist")
    if not folder.is_dir():
        raise SRError(f"{folder}: not a folder")
    pattern = "**/*" if recursive else "*"
    files = sorted(p for p in folder.glob(pattern) if p.is_file() and is_image_path(p))
    if not files:
        exts = " ".join(sorted(IMAGE_EXTENSIONS))
        raise SRError(f"{folder}: no image files found (looked for {exts})")
    return files


def load_image(path):
    """Decode an image as uint8: (H, W) for greyscale, (H, W, 3) for anything
    else (palette, CMYK, alpha dropped). EXIF orientation is applied."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("1", "L", "LA", "I;16", "I;16B", "I;16L", "I", "F"):
                if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                    arr = np.asarray(im, dtype=np.float64)
                    return np.floor(arr / 257.0 + 0.5).clip(0, 255).astype(np.uint8)
                im = im.convert("L")
            else:
                im = im.convert("RGB")
            return np.array(im, dtype=np.uint8)
    except FileNotFoundError:
        raise SRError(f"{path}: file does not exist") from None
    except UnidentifiedImageError:
        raise SRError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise SRError(f"{path}: cannot decode image ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise SRError(f"{path}: refused, image too large ({exc})") from None


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it onto
    ``path`` (atomic on one file system), on failure remove it. A killed
    process never leaves a half-written ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_image(path, img):
    """Write a uint8 (H, W) or (H, W, 3) array atomically; format from suffix."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise SRError(f"{path}: unknown image format '{path.suffix}'")
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(img)).save(tmp, format=fmt)
    return path
