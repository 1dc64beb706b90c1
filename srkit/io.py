"""Image files: listing, decoding with clear errors, atomic writes."""

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import deepimage
from .errors import SRError
from .safewrite import write_file

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"}  # GIF: read only
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
    """uint8 from uint16 (rounded, 65535 -> 255) or float in [0, 1]; uint8 passes through."""
    if a.dtype.kind == "f":
        return np.floor(np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.floor(a / 257.0 + 0.5).astype(np.uint8) if a.dtype == np.uint16 else a


def to_16bit(a):
    """uint16 from float in [0, 1] (rounded, clipped)."""
    return np.floor(np.clip(a, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)


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
    (H, W, 3) RGB, uint8, uint16 or float32 in [0, 1]; ``alpha`` (H, W) of
    the same dtype or None; the ICC profile and source format to carry over."""

    pixels: np.ndarray
    alpha: np.ndarray = None
    icc: bytes = None
    format: str = None

    @property
    def bits(self):
        return {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(self.pixels.dtype, 32)


def _is_deep(path, im):
    """Whether Pillow's 8-bit path would lose depth: 16-bit PNG, 16-bit or float TIFF."""
    if im.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(25)
        return len(header) == 25 and header[24] == 16  # IHDR bit depth
    if im.format == "TIFF":
        bits, sample_format = im.tag_v2.get(258, 8), im.tag_v2.get(339, 1)
        as_tuple = lambda v: v if isinstance(v, tuple) else (v,)  # noqa: E731
        return max(as_tuple(bits)) >= 16 or 3 in as_tuple(sample_format)  # 3: IEEE float
    return False


def _pixels(n):
    return f"{n / 1e6:.0f} MP" if n >= 1e6 else f"{n:,} pixels"


MULTI_FRAME_FORMATS = ("GIF", "PNG", "TIFF", "WEBP")  # where frames are content (an MPO JPEG's are previews)


def _allow_in_pillow(max_pixels):
    """Keep Pillow's decompression-bomb limit (one process-wide setting) at or above twice ours, so that
    our own check, with its clearer message, is the one that applies. Only ever raised: lowering it
    for one call would leak into later reads (a 40-pixel test limit once broke unrelated JPEG reads)
    and race with reads in other threads."""
    current = Image.MAX_IMAGE_PIXELS
    if current is not None and (not max_pixels or 2 * max_pixels > current):
        Image.MAX_IMAGE_PIXELS = 2 * max_pixels if max_pixels else None


def read_picture(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Decode any supported image for upscaling (see Picture): EXIF
    orientation applied; palette, CMYK and other modes converted; greyscale
    kept grey; 16-bit kept 16-bit, float TIFF kept float; alpha split off.
    Declared sizes above ``max_pixels`` are refused before decoding; an
    animation or multi-page file is refused (not cut to its first frame)."""
    path = Path(path)

    def too_large(w=None, h=None):
        size = f"declared size {w}x{h} ({_pixels(w * h)})" if w else "declared size"
        return f"{path}: {size} exceeds the limit of {_pixels(max_pixels)} (raise it with --max-pixels)"

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            _allow_in_pillow(max_pixels)
            with Image.open(path) as im:
                w, h = im.size
                if max_pixels and w * h > max_pixels:
                    raise SRError(too_large(w, h))
                frames = getattr(im, "n_frames", 1)
                if im.format in MULTI_FRAME_FORMATS and frames > 1:
                    raise SRError(f"{path}: {frames} frames (an animation or a multi-page file); only single-image "
                                  "files are supported (split it into one file per frame)")
                icc, fmt = im.info.get("icc_profile"), im.format
                if im.format == "TIFF" and _is_deep(path, im):
                    return Picture(*deepimage.read_tiff(path, max_pixels, too_large), format=fmt)
                if _is_deep(path, im):
                    pixels, alpha = deepimage.read_png16(path)
                    orientation = im.getexif().get(deepimage.ORIENTATION_TAG, 1)
                    pixels, alpha = (deepimage.orient(a, orientation) for a in (pixels, alpha))
                    return Picture(pixels, alpha, icc, fmt)
                im = ImageOps.exif_transpose(im)
                return Picture(*_split_mode(im), icc=icc, format=fmt)
    except SRError:
        raise
    except FileNotFoundError:
        raise SRError(f"{path}: file does not exist") from None
    except UnidentifiedImageError:
        if path.suffix.lower() in (".tif", ".tiff"):  # float RGB TIFF: Pillow cannot open it, tifffile can
            return Picture(*deepimage.read_tiff(path, max_pixels, too_large), format="TIFF")
        raise SRError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except Image.DecompressionBombError:  # Pillow's own check, at twice ours: its message would cite its limit
        raise SRError(too_large()) from None
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
    16-bit depth (PNG, TIFF), float samples (TIFF; 16-bit in PNG), alpha
    (PNG, WebP, TIFF) and the ICC profile where the format allows; says what
    it had to drop through ``log``."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower().lstrip("."))
    if fmt is None:
        raise SRError(f"{path}: unknown output format '{path.suffix}'")
    pixels, alpha = pic.pixels, pic.alpha
    if alpha is not None and fmt in ("JPEG", "BMP"):
        log and log(f"note: {path.name}: {fmt} has no alpha channel; transparency dropped")
        alpha = None
    if pic.bits == 32 and fmt != "TIFF":  # float samples: only TIFF holds them; PNG keeps 16 bits of them
        to = to_16bit if fmt == "PNG" else to_8bit
        log and log(f"note: {path.name}: {fmt} has no float samples; written as {16 if fmt == 'PNG' else 8}-bit")
        pixels, alpha = (None if a is None else to(a) for a in (pixels, alpha))
    if pixels.dtype != np.uint8 and fmt in ("PNG", "TIFF"):
        data = deepimage.encode(fmt, pixels, alpha, pic.icc)
        return write_file(path, data, "image")
    if pixels.dtype == np.uint16:
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
