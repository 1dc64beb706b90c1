"""What a plain ``output.py`` run (no --model, --weights or --denoise) does
with JPEG inputs: a JPEG saved at quality ``REAL_AT_OR_BELOW`` or lower is
upscaled with the shipped real-degradation model of the scale, everything
else with the best clean one. Compression artefacts are the one
degradation a file announces about itself (its quantization table, see
``jpegq``); the threshold is where the real model starts to beat the clean
one on Set5 (the validation set), measured with ``evaluate.py --degrade
clean jpeg95 jpeg90 jpeg75 jpeg50`` (the README's Real photos section).
"""

from . import jpegq

REAL_AT_OR_BELOW = 90


def wants_real(path, threshold=REAL_AT_OR_BELOW):
    """(use the real model, JPEG quality or None) for the input file ``path``."""
    q = jpegq.estimate_quality(path)
    return q is not None and q <= threshold, q
