"""The quality a JPEG file was saved at, read from its quantization table.

Encoders built on libjpeg (Pillow, OpenCV, GIMP, most web tools) scale the
standard luminance table of the JPEG specification (Annex K.1) by the IJG
quality formula, so the table in a file gives its quality back; for other
encoders (many cameras) the nearest IJG quality is a fair summary of how
hard the file was compressed. output.py uses it to decide how much
restoration a JPEG input needs.
"""

from pathlib import Path

import numpy as np

# ITU-T T.81 Annex K.1, natural (row-major) order
STANDARD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
])


def ijg_table(quality):
    """libjpeg's luminance table for ``quality`` (1..100), baseline-clipped to 1..255."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((STANDARD_LUMA * scale + 50) // 100, 1, 255)


def table_quality(table):
    """The IJG quality whose luminance table is nearest to ``table`` (64 values)."""
    table = np.asarray(list(table), np.int64)
    errors = [np.abs(ijg_table(q) - table).sum() for q in range(1, 101)]
    return int(np.argmin(errors)) + 1


def estimate_quality(path):
    """The file's JPEG quality (1..100), or None when it is not a JPEG or
    carries no readable table; reads the header only."""
    from PIL import Image

    try:
        with Image.open(Path(path)) as im:
            if im.format != "JPEG" or not getattr(im, "quantization", None):
                return None
            return table_quality(im.quantization[min(im.quantization)])
    except (OSError, ValueError, SyntaxError):
        return None
