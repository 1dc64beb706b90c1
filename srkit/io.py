"""Image files: listing, decoding with clear errors, atomic writes."""

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import SRError
from .safewrite import write_file

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_MAX_PIXELS = 200_000_000  # refuse larger declared sizes (decompression bombs)


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


def to_8bit(a):
    """uint8 from uint16 (rounded, 65535 -> 255); uint8 passes through."""
    return np.floor(a / 257.0 + 0.5).astype(np.uint8) if a.dtype == np.uint16 else a


def load_image(path):
    """Decode an image as uint8 for evaluation and training: (H, W) for
    greyscale, (H, W, 3) otherwise; alpha dropped, 16-bit rounded to 8."""
    return to_8bit(read_picture(path, max_pixels=None).pixels)


def file_sha256(path, chunk=1 << 20):
    """Hex SHA-256 of the file at ``path``, read in chunks (downloads are GBs)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def save_image(path, img):
    """Write a uint8 (H, W) or (H, W, 3) array atomically; format from suffix."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise SRError(f"{path}: unknown image format '{path.suffix}'")
    return write_file(path, _encode(Image.fromarray(np.asarray(img)), fmt), "image")


def _encode(im, fmt, **options):
    """The file's bytes, encoded in memory: the write itself is then one
    plain ``write_file``, whose OS errors (a full disk) are clean SRErrors."""
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getbuffer()


@dataclass
class Picture:
    """A decoded image ready for upscaling: ``pixels`` (H, W) grey or
    (H, W, 3) RGB, uint8 or uint16; ``alpha`` (H, W) of the same dtype or
    None; the ICC profile and source format to carry over."""

    pixels: np.ndarray
    alpha: np.ndarray = None
    icc: bytes = None
    format: str = None

    @property
    def bits(self):
        return 16 if self.pixels.dtype == np.uint16 else 8


def _is_16bit(path, im):
    if im.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(25)
        return len(header) == 25 and header[24] == 16  # IHDR bit depth
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, 8)
        return max(bits if isinstance(bits, tuple) else (bits,)) >= 16
    return False


def _read_16bit(path):
    import cv2

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise SRError(f"{path}: cannot decode 16-bit image")
    arr = arr.astype(np.uint16)
    if arr.ndim == 2:
        return Picture(arr)
    alpha = arr[..., 3] if arr.shape[2] == 4 else None
    if arr.shape[2] == 2:  # grey + alpha
        return Picture(arr[..., 0], arr[..., 1])
    return Picture(np.ascontiguousarray(arr[..., 2::-1]), alpha)


def read_picture(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Decode any supported image for upscaling (see Picture): EXIF
    orientation applied; palette, CMYK and other modes converted; greyscale
    kept grey; 16-bit kept 16-bit; alpha split off. Declared sizes above
    ``max_pixels`` are refused before decoding."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = 2 * max_pixels if max_pixels else None  # our own check below is the limit
            with Image.open(path) as im:
                w, h = im.size
                if max_pixels and w * h > max_pixels:
                    raise SRError(f"{path}: declared size {w}x{h} ({w * h / 1e6:.0f} MP) exceeds the limit of "
                                  f"{max_pixels / 1e6:.0f} MP (raise it with --max-pixels)")
                icc, fmt = im.info.get("icc_profile"), im.format
                if _is_16bit(path, im):
                    pic = _read_16bit(path)
                    pic.icc, pic.format = icc, fmt
                    return pic
                im = ImageOps.exif_transpose(im)
                return Picture(*_split_mode(im), icc=icc, format=fmt)
    except SRError:
        raise
    except FileNotFoundError:
        raise SRError(f"{path}: file does not exist") from None
    except UnidentifiedImageError:
        raise SRError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except Image.DecompressionBombError as exc:
        raise SRError(f"{path}: refused, image too large ({exc})") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise SRError(f"{path}: cannot decode image ({exc})") from None


def _split_mode(im):
    """(pixels, alpha) arrays from a decoded 8-bit (or 16-bit grey) PIL image."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("1", "F"):
        im = im.convert("L")
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(im)
        return np.clip(arr, 0, 65535).astype(np.uint16), None
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
    arr = np.array(im)
    if im.mode in ("LA", "RGBA"):
        return np.ascontiguousarray(arr[..., :-1].squeeze(-1) if im.mode == "LA" else arr[..., :3]), arr[..., -1]
    return arr, None


FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "tif": "TIFF", "tiff": "TIFF", "bmp": "BMP"}


def write_picture(path, pic, log=None):
    """Write a Picture atomically in the format of ``path``'s suffix, keeping
    16-bit depth (PNG, TIFF), alpha (PNG, WebP, TIFF) and the ICC profile
    where the format allows; says what it had to drop through ``log``."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower().lstrip("."))
    if fmt is None:
        raise SRError(f"{path}: unknown output format '{path.suffix}'")
    pixels, alpha = pic.pixels, pic.alpha
    if alpha is not None and fmt in ("JPEG", "BMP"):
        log and log(f"note: {path.name}: {fmt} has no alpha channel; transparency dropped")
        alpha = None
    if pic.bits == 16 and fmt in ("PNG", "TIFF"):
        import cv2

        arr = pixels if pixels.ndim == 2 else pixels[..., ::-1]  # OpenCV wants BGR
        if alpha is not None:
            arr = np.dstack([arr if arr.ndim == 3 else np.dstack([arr] * 3), alpha])
        ok, data = cv2.imencode(path.suffix.lower(), np.ascontiguousarray(arr))
        if not ok:
            raise SRError(f"{path}: could not encode 16-bit {fmt}")
        return write_file(path, data, "image")
    if pic.bits == 16:
        log and log(f"note: {path.name}: {fmt} is 8-bit only; 16-bit output reduced to 8 bits")
        pixels = to_8bit(pixels)
        alpha = None if alpha is None else to_8bit(alpha)
    arr = pixels if alpha is None else np.dstack([pixels, alpha])
    im = Image.fromarray(np.ascontiguousarray(arr))
    if fmt == "WEBP" and im.mode == "LA":
        im = im.convert("RGBA")
    options = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}.get(fmt, {})
    if pic.icc and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        options["icc_profile"] = pic.icc
    return write_file(path, _encode(im, fmt, **options), "image")
