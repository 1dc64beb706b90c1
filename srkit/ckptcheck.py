"""Bounded checks of a checkpoint's description against the arrays it
stores, run before any model is built: building is the expensive step, and a
crafted description could make it unbounded (``depth: 200000`` built a
200,000-layer model, 2.7 GB and still going after a minute, before the
weights were ever compared). Each check reads only names, numbers and the
arrays' shapes."""

import inspect
import math

from . import models
from .errors import SRError

# Arguments that give a layer's width or kernel size: each must appear as a dimension of some stored array
# (a huge value would allocate huge weights). Layer counts (depth, blocks) are checked by the array count.
WIDTH_ARGS = ("filters", "channels", "kernels")


def check(path, info, shapes):
    """SRError naming ``path`` unless ``info.args`` are plain positive values
    that agree with the stored scale and imply exactly ``len(shapes)`` weight
    arrays, none wider than the stored arrays allow."""
    builder = models.get_builder(info.model)
    try:
        bound = inspect.signature(builder).bind(**info.args)
    except TypeError as exc:
        raise SRError(f"{path}: bad arguments for model {builder.model_name}: {exc}") from None
    bound.apply_defaults()
    args = bound.arguments
    for key, value in args.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, bool) or v is None:
                continue
            if not isinstance(v, (int, float)) or not math.isfinite(v) or (isinstance(v, int) and v < 1):
                raise SRError(f"{path}: argument {key}: {value!r} is not a positive number")
    if info.stored_upsampling not in (None, builder.upsampling):
        raise SRError(f"{path}: the description says {info.stored_upsampling}-upsampling, but "
                      f"{builder.model_name} is a {builder.upsampling}-upsampling model")
    if builder.upsampling == "post" and args.get("scale") != info.scale:
        raise SRError(f"{path}: arguments say x{args.get('scale')} but the checkpoint's scale is {info.scale}")
    expected = builder.arrays(**args)
    if expected != len(shapes):
        raise SRError(f"{path}: weights do not fit {info.model}{info.args}: its arguments imply {expected} weight "
                      f"arrays, the file holds {len(shapes)}")
    widest = max((max(s) for s in shapes if s), default=0)
    for key in WIDTH_ARGS:
        value = args.get(key)
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, int) and v > widest:
                raise SRError(f"{path}: argument {key}: {value!r} is wider than any stored array ({widest})")
