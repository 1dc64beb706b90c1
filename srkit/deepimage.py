"""Images deeper than 8 bits: 16-bit PNG (OpenCV) and 16-bit or floating-point
TIFF (tifffile), read and written at their own depth and range, with their
ICC profile and EXIF orientation treated as the 8-bit path treats them
(Pillow, which handles 8 bits, cannot hold 16-bit colour or float RGB).

Float images must hold values in [0, 1], the range every model works in;
others (HDR, NaN) are refused with a message rather than clipped silently.
"""

import io
import struct
import zlib

import numpy as np

from .errors import SRError

ICC_TAG, ORIENTATION_TAG = 34675, 274  # TIFF tags; 274 is EXIF's orientation too


def orient(arr, orientation):
    """``arr`` (H, W[, C]) as displayed under EXIF ``orientation`` 1-8, the
    same transposes as Pillow's ``ImageOps.exif_transpose``."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
           8: lambda a: np.rot90(a, 1)}
    op = ops.get(orientation)
    return arr if op is None or arr is None else np.ascontiguousarray(op(arr))


def _swap_rb(arr):
    """RGB(A) <-> BGR(A), OpenCV's channel order; grey passes through."""
    return np.concatenate([arr[..., 2::-1], arr[..., 3:]], axis=2) if arr.ndim == 3 and arr.shape[2] >= 3 else arr


def _split(arr):
    """(pixels, alpha) from (H, W), (H, W, 1|2|3|4) in RGB(A) order."""
    if arr.ndim == 2:
        return arr, None
    channels = arr.shape[2]
    if channels in (1, 2):
        return np.ascontiguousarray(arr[..., 0]), (arr[..., 1] if channels == 2 else None)
    return np.ascontiguousarray(arr[..., :3]), (np.ascontiguousarray(arr[..., 3]) if channels > 3 else None)


def read_png16(path):
    """(pixels, alpha) of a 16-bit PNG, uint16."""
    import cv2

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise SRError(f"{path}: cannot decode 16-bit image")
    return _split(_swap_rb(arr.astype(np.uint16)))


def read_tiff(path, max_pixels, limit_message):
    """(pixels, alpha, icc) of a single-page 16-bit or float TIFF: uint16, or
    float32 in [0, 1]; EXIF orientation applied."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if len(tif.pages) > 1:
                raise SRError(f"{path}: {len(tif.pages)} pages (a multi-page TIFF); only single-image files are "
                              "supported (split it into one file per page)")
            page = tif.pages[0]
            h, w = page.imagelength, page.imagewidth
            if max_pixels and w * h > max_pixels:
                raise SRError(limit_message(w, h))
            icc = page.tags[ICC_TAG].value if ICC_TAG in page.tags else None
            orientation = page.tags[ORIENTATION_TAG].value if ORIENTATION_TAG in page.tags else 1
            arr = _decode_page(path, page)
    except SRError:
        raise
    except Exception as exc:  # tifffile raises its own types and ValueErrors for damaged files
        raise SRError(f"{path}: cannot decode TIFF ({exc})") from None
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise SRError(f"{path}: float samples span [{np.nanmin(arr):g}, {np.nanmax(arr):g}] or are not finite; "
                          "only float images in [0, 1] are supported")
    elif arr.dtype not in (np.uint8, np.uint16):
        raise SRError(f"{path}: {arr.dtype} samples are not supported (8-bit, 16-bit or float)")
    pixels, alpha = _split(arr)
    return orient(pixels, orientation), orient(alpha, orientation), bytes(icc) if icc else None


def _decode_page(path, page):
    """The page's samples as (H, W[, C]) RGB(A); through OpenCV where tifffile
    lacks the codec (LZW, which OpenCV writes, needs the optional imagecodecs)."""
    try:
        arr = page.asarray()
    except ValueError:  # "<COMPRESSION.LZW: 5> requires the 'imagecodecs' package"
        import cv2

        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise
        return _swap_rb(arr)
    return np.moveaxis(arr, 0, -1) if page.axes.startswith("S") else arr  # planar: one plane per sample


def _png_icc_chunk(icc):
    body = b"ICC Profile\0\0" + zlib.compress(icc)  # name, null, compression method 0 (deflate)
    return struct.pack(">I", len(body)) + b"iCCP" + body + struct.pack(">I", zlib.crc32(b"iCCP" + body))


def encode(fmt, pixels, alpha=None, icc=None):
    """PNG (16-bit) or TIFF (16-bit or float32, zlib) bytes of uint16 or float
    ``pixels`` and ``alpha``, with ``icc`` embedded. Float values are clipped
    to [0, 1], the range they were read in (a model may overshoot a little)."""
    arr = pixels if alpha is None else np.dstack([pixels, alpha])
    if arr.dtype.kind == "f":
        arr = np.clip(arr, 0.0, 1.0).astype(np.float32)
    if fmt == "TIFF":
        import tifffile

        buf = io.BytesIO()
        extratags = [(ICC_TAG, 7, len(icc), icc, True)] if icc else []  # 7: UNDEFINED bytes
        rgb = arr.ndim == 3 and arr.shape[2] >= 3
        tifffile.imwrite(buf, arr, photometric="rgb" if rgb else "minisblack", compression="zlib",
                         extrasamples=[2] if alpha is not None else None, extratags=extratags)  # 2: unassociated alpha
        return buf.getvalue()
    import cv2

    if arr.ndim == 3 and arr.shape[2] == 2:  # grey + alpha: OpenCV's PNG writer takes 1, 3 or 4 channels
        arr = np.dstack([arr[..., :1]] * 3 + [arr[..., 1:]])
    arr = _swap_rb(arr)
    ok, data = cv2.imencode(".png", np.ascontiguousarray(arr))
    if not ok:
        raise SRError("could not encode 16-bit PNG")
    data = data.tobytes()
    if icc:  # iCCP must come before the image data; right after the 33 bytes of signature + IHDR is valid
        data = data[:33] + _png_icc_chunk(icc) + data[33:]
    return data
