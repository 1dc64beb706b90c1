"""Upscale every image in inference/original into inference/output.

  python output.py                                  # best shipped x2 model
  python output.py --model VDSR --input photos/ --output big/ --recursive
  python output.py --weights weights/LARGE_BEST.h5 --input photo.jpg --format same --compare

Outputs are named <name>_x<scale>.<ext>. Any image works: 8/16-bit, greyscale,
RGBA (alpha upscaled bicubically), palette, CMYK; EXIF orientation applied,
ICC profile kept where the format allows. A bad file is reported and skipped;
the exit code is 1 when any file failed.
"""

from ..cliargs import SCALE, Parser, count, number
from ..inference import PRECISIONS
from ..io import DEFAULT_MAX_PIXELS
from ..paths import project_root, shipped
from ..upscaler import upscale_files


def main(argv=None):
    p = Parser(__doc__)
    p.add_argument("--input", default=None, help="image file or folder (default: the shipped sample images)")
    p.add_argument("--output", default=str(project_root() / "inference" / "output"), help="output folder")
    p.add_argument("--weights", help="checkpoint (.h5); the model is rebuilt from the file")
    p.add_argument("--model", help="a shipped checkpoint in weights/ by file stem or architecture name")
    p.add_argument("--preset", help="a shipped checkpoint by preset name: balanced_x2, real_x2, ... "
                   "(python network.py --presets lists them)")
    p.add_argument("--scale", type=SCALE, default=None, help="default: 2, or the checkpoint's scale")
    p.add_argument("--recursive", action="store_true", help="also images in sub-folders (tree mirrored)")
    p.add_argument("--format", default="png", help="png, jpg, webp, tif, bmp, or same (as the input)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: skip them)")
    p.add_argument("--compare", action="store_true", help="also write nearest | bicubic | model side by side")
    p.add_argument("--ensemble", action="store_true", help="x8 flip/rotate self-ensemble (8x slower)")
    p.add_argument("--tile", type=count(0), default=None, help="tile side in input pixels (0: whole image; "
                   "default: chosen from image size and memory)")
    p.add_argument("--tile-overlap", type=count(0), default=None, help="input pixels of overlap (default: the "
                   "model's receptive field, which makes tiled output equal whole-image output)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto: bfloat16 where the hardware runs it natively "
                        "(GPU; CPU with AMX or AVX512_BF16), else float32; int8: a LiteRT int8 model built from "
                        "the checkpoint (cached; shipped checkpoints whose card does not offer it are refused)")
    p.add_argument("--denoise", type=float, default=None, metavar="S",
                   help="0..1: strength of the real-photo restoration, by mixing the weights of the REAL model "
                        "(1) and its clean twin of the same architecture (0)")
    p.add_argument("--denoise-pair", default=None, metavar="FILE",
                   help="with --denoise: the other checkpoint of the pair (default: found in --weights-dir)")
    p.add_argument("--weights-dir", default=None, help="where --model looks (default: the shipped weights)")
    p.add_argument("--max-pixels", type=number(float, 1), default=DEFAULT_MAX_PIXELS,
                   help="refuse inputs declaring more pixels than this (decompression bombs)")
    a = p.parse_args(argv)
    a.input = a.input or shipped("samples")
    if a.preset:
        from ..presets import path

        a.weights = a.weights or path(a.preset, a.weights_dir)
    counts = upscale_files(a.input, a.output, weights=a.weights, model_name=a.model, scale=a.scale,
                           fmt=a.format.lower(), overwrite=a.overwrite, recursive=a.recursive, compare=a.compare,
                           ensemble=a.ensemble, tile=a.tile, overlap=a.tile_overlap, max_pixels=int(a.max_pixels),
                           weights_dir=a.weights_dir, precision=a.precision, denoise=a.denoise,
                           denoise_pair=a.denoise_pair)
    return 1 if counts["failed"] else 0
