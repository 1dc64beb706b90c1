"""Model builders and the registry.

The four classic networks of the original project are pre-upsampling models:
the input is the low-resolution image already enlarged to the output size by
MATLAB-style bicubic (``degradations.pre_upscale``), the output has the same
size. All are fully convolutional (any height and width), RGB in [0, 1] in and
out. Layer names are explicit so weight paths never depend on Keras's global
name counters.

``global_residual`` adds the (bicubic) input to the last convolution's output,
so the network learns only the missing detail (VDSR's residual learning). It
has no parameters; SRCNN keeps its paper's plain form by default.
"""

import contextvars

import keras
from keras import layers

from .errors import SRError
from .layers import DepthToSpace, FakeQuant, NarrowConv2D, NearestUpsample, Scale
from .reparam import ParamFreeAttention, RepConv3x3, fold_into

MODELS = {}  # canonical name -> builder function
# Dtype of the last convolution when its output is a residual added to the
# (float32) input: float32 for training, the compute dtype for bfloat16
# inference. A residual is small, so bfloat16's 2^-9 relative error stays far
# below one 8-bit level (shipped models lose <= 0.002 dB on Set5), while the
# float32 version of that conv ran on slow non-AMX kernels (~10% of FAST's time).
_RESIDUAL_DTYPE = contextvars.ContextVar("residual_dtype", default="float32")


def register(name, upsampling, arrays, residual_blocks=False, training_args=None):
    """Add a builder to ``MODELS``; ``upsampling`` is "pre" (input already at
    output size) or "post" (input at LR size, takes a ``scale`` argument).
    ``arrays(**args)``: how many weight arrays the builder makes with these
    arguments (checked against a checkpoint before building, see
    ``ckptcheck``; tests check it against real builds).
    ``residual_blocks``: its ``blocks`` are added to their input, so one whose
    last conv is zero is the identity (what lets --init-from add blocks).
    ``training_args``: arguments a fresh training run adds (a
    re-parameterisable model's multi-branch form); ``deployed`` folds a model
    built with them back into the default, plain form."""

    def wrap(builder):
        builder.upsampling = upsampling
        builder.arrays = arrays
        builder.residual_blocks = residual_blocks
        builder.training_args = dict(training_args or {})
        builder.model_name = name
        MODELS[name] = builder
        return builder

    return wrap


def label(name, args):
    """"BALANCED (blocks=24)": a model and its builder arguments besides the
    scale, as tables name it."""
    shown = ", ".join(f"{k}={v}" for k, v in args.items() if k != "scale")
    return f"{name} ({shown})" if shown else name


def canonical_name(name):
    """Registry key for ``name``, matched case-insensitively."""
    lookup = {key.lower(): key for key in MODELS}
    try:
        return lookup[str(name).lower()]
    except KeyError:
        known = ", ".join(MODELS)
        raise SRError(f"unknown model '{name}' (known: {known})") from None


def get_builder(name):
    return MODELS[canonical_name(name)]


def build(name, precision=None, **kwargs):
    """Build the registered model ``name`` (case-insensitive) with ``kwargs``.
    ``precision`` "bfloat16" (inference) computes in bfloat16 with float32
    weights; only a layer that produces the image itself (not a residual
    added to the input) stays float32. None keeps Keras's current dtype
    policy, with every image-producing layer in float32 (training)."""
    builder = get_builder(name)
    policy = {None: None, "float32": "float32", "bfloat16": "mixed_bfloat16"}.get(precision, "?")
    if policy == "?":
        raise SRError(f"unknown precision '{precision}' (float32 or bfloat16)")
    saved = keras.config.dtype_policy()
    token = _RESIDUAL_DTYPE.set(None if precision == "bfloat16" else "float32")
    try:
        if policy:
            keras.config.set_dtype_policy(policy)
        return builder(**kwargs)
    except (TypeError, ValueError) as exc:  # Keras's own refusals of a value (ValueError) included
        raise SRError(f"bad arguments for model {builder.model_name}: {exc}") from None
    finally:
        keras.config.set_dtype_policy(saved)
        _RESIDUAL_DTYPE.reset(token)


def deployed(name, model, args):
    """(model, args) of the inference form: a model built with
    ``reparam=True`` (SPAN's training form, FAST's and BALANCED's on request)
    folded into the plain form (same function, plain convolutions only, see
    ``reparam``), anything else as given."""
    if not args.get("reparam"):
        return model, dict(args)
    plain = {k: v for k, v in args.items() if k != "reparam"}
    return fold_into(model, build(name, **plain)), plain


def _conv(filters, kernel, name, activation=None, layer=layers.Conv2D, **kwargs):
    return layer(filters, kernel, padding="same", activation=activation, name=name, **kwargs)


def _finish(inputs, features, channels, name, global_residual, kernel=3):
    # The image-producing layers stay float32 under a mixed-precision policy:
    # bfloat16's 8-bit mantissa cannot even represent one 8-bit pixel level
    # near 1.0, which would cap PSNR (a residual may compute in bfloat16 at
    # inference, see _RESIDUAL_DTYPE).
    # With the global residual, a zero output kernel makes a fresh model start
    # exactly at the bicubic baseline instead of adding random noise to it.
    init = "zeros" if global_residual else "glorot_uniform"
    dtype = _RESIDUAL_DTYPE.get() if global_residual else "float32"
    out = _conv(channels, kernel, "conv_out", layer=NarrowConv2D, dtype=dtype, kernel_initializer=init)(features)
    if global_residual:
        out = layers.Add(name="global_residual", dtype="float32")([inputs, out])
    return keras.Model(inputs, out, name=name)


def _input(channels):
    return keras.Input((None, None, channels), name="lr_upscaled")


def _convs(n):
    """Weight arrays of ``n`` convolutions: a kernel and a bias each."""
    return 2 * n


@register("SRCNN", upsampling="pre", arrays=lambda **a: _convs(3))
def srcnn(channels=3, filters=(64, 32), kernels=(9, 1, 5), global_residual=False):
    """SRCNN 9-1-5 (Dong et al. 2014): patch extraction, non-linear mapping,
    reconstruction. 20,099 parameters with the defaults."""
    inputs = _input(channels)
    x = _conv(filters[0], kernels[0], "conv_1", "relu")(inputs)
    x = _conv(filters[1], kernels[1], "conv_2", "relu")(x)
    return _finish(inputs, x, channels, "SRCNN", global_residual, kernels[2])


@register("VDSR", upsampling="pre", arrays=lambda depth, **a: _convs(2 + max(depth - 2, 0)))
def vdsr(channels=3, filters=64, depth=20, global_residual=True):
    """VDSR (Kim et al. 2016): ``depth`` 3x3 convolutions; the first and last
    feature maps are joined by a skip connection before the output conv.
    668,227 parameters with the defaults."""
    inputs = _input(channels)
    first = _conv(filters, 3, "conv_in", "relu")(inputs)
    x = first
    for i in range(depth - 2):
        x = _conv(filters, 3, f"conv_{i + 1}", "relu")(x)
    x = layers.Add(name="feature_skip")([first, x])
    return _finish(inputs, x, channels, "VDSR", global_residual)


@register("SMALL", upsampling="pre", arrays=lambda blocks, **a: _convs(2 + 2 * blocks))
def small(channels=3, filters=64, blocks=9, global_residual=True):
    """The original project's SMALL: blocks of [conv-relu, conv] whose output is
    concatenated to their input (features grow by ``filters`` per block), then
    concatenated with the first features. 2,012,611 parameters by default."""
    inputs = _input(channels)
    first = _conv(filters, 3, "conv_in", "relu")(inputs)
    x = first
    for i in range(blocks):
        y = _conv(filters, 3, f"block{i}_conv1", "relu")(x)
        y = _conv(filters, 3, f"block{i}_conv2")(y)
        x = layers.Concatenate(name=f"block{i}_concat")([x, y])
    x = layers.Concatenate(name="feature_skip")([x, first])
    return _finish(inputs, x, channels, "SMALL", global_residual)


@register("LARGE", upsampling="pre", residual_blocks=True, arrays=lambda blocks, **a: _convs(2 + 2 * blocks))
def large(channels=3, filters=128, blocks=24, res_scale=0.1, global_residual=True):
    """The original project's LARGE (EDSR-style): residual blocks of
    [conv-relu, conv, x res_scale] added to their input, then added to the
    first features. 7,091,075 parameters by default."""
    inputs = _input(channels)
    first = _conv(filters, 3, "conv_in")(inputs)
    x = first
    for i in range(blocks):
        y = _conv(filters, 3, f"block{i}_conv1", "relu")(x)
        y = _conv(filters, 3, f"block{i}_conv2")(y)
        y = Scale(res_scale, name=f"block{i}_scale")(y)
        x = layers.Add(name=f"block{i}_add")([x, y])
    x = layers.Add(name="feature_skip")([first, x])
    return _finish(inputs, x, channels, "LARGE", global_residual)


# -- post-upsampling models: features at LR resolution, sub-pixel upsampler ----

def _upsampler(x, scale, filters, channels):
    """Sub-pixel convolution stages: x2 and x3 in one, x4 as two x2 stages.
    The last conv is zero-initialised so a fresh model equals its anchor."""
    stages = {2: [2], 3: [3], 4: [2, 2]}.get(scale)
    if stages is None:
        raise SRError(f"post-upsampling models support x2, x3 and x4, not x{scale}")
    for i, r in enumerate(stages):
        last = i == len(stages) - 1
        out_ch = channels if last else filters
        dtype = _RESIDUAL_DTYPE.get() if last else None  # the last stage's output is added to the anchor
        x = _conv(out_ch * r * r, 3, f"upsample{i}_conv", dtype=dtype,
                  kernel_initializer="zeros" if last else "glorot_uniform")(x)
        x = DepthToSpace(r, name=f"upsample{i}_shuffle", dtype=dtype)(x)
    return x


def _post_arrays(blocks, scale, reparam=False, fake_quant=False, **a):
    """conv_in, two per block, conv_body (four times the arrays each in the
    multi-branch form), and one per upsampling stage; with ``fake_quant`` a
    range (two scalars) per int8 tensor."""
    ranges = 2 * (3 * blocks + 3) if fake_quant else 0
    return _convs(2 + 2 * blocks) * (4 if reparam else 1) + _convs(2 if scale == 4 else 1) + ranges


def _post_model(name, scale, channels, filters, blocks, res_scale, reparam=False, gain=2, fake_quant=False):
    """EDSR-style body at LR resolution (residual blocks without batch norm,
    long skip), sub-pixel upsampler, plus the nearest-neighbour enlarged
    input as anchor, so the network learns only the residual detail.
    ``reparam``: the training form whose body convolutions are multi-branch
    ``RepConv3x3`` of expansion ``gain`` (ECBSR/SPAN-style), same layer
    names, folded into this plain model by ``deployed``. ``fake_quant``: the
    quantization-aware form, a ``FakeQuant`` (``NAME_fq``) after every tensor
    the full-integer int8 model holds in int8 (the body; the first conv, the
    upsampler and the anchor stay float), see ``qat``."""
    if fake_quant and (reparam or res_scale != 1):
        raise ValueError("fake_quant needs the plain form (reparam=False) and res_scale=1")

    def q(t, name):
        return FakeQuant(name=f"{name}_fq")(t) if fake_quant else t

    def conv3(t, name, activation=None):
        if not reparam:
            return q(_conv(filters, 3, name, activation)(t), name)
        t = RepConv3x3(filters, gain, name=name)(t)
        return t if activation is None else layers.Activation(activation, name=f"{name}_act")(t)

    inputs = keras.Input((None, None, channels), name="lr")
    first = conv3(inputs, "conv_in")
    x = first
    for i in range(blocks):
        y = conv3(x, f"block{i}_conv1", "relu")
        y = conv3(y, f"block{i}_conv2")
        if res_scale != 1:
            y = Scale(res_scale, name=f"block{i}_scale")(y)
        x = q(layers.Add(name=f"block{i}_add")([x, y]), f"block{i}_add")
    x = conv3(x, "conv_body")
    x = q(layers.Add(name="feature_skip")([first, x]), "feature_skip")
    x = _upsampler(x, scale, filters, channels)
    anchor = NearestUpsample(scale, name="anchor", dtype="float32")(inputs)
    out = layers.Add(name="global_residual", dtype="float32")([anchor, x])
    return keras.Model(inputs, out, name=name)


@register("FAST", upsampling="post", arrays=_post_arrays, residual_blocks=True)
def fast(scale=2, channels=3, filters=48, blocks=6, res_scale=1.0, reparam=False, gain=2, fake_quant=False):
    """Compact post-upsampling model for speed: 6 residual blocks of 48
    filters at LR resolution (0.28M parameters at x2); ``reparam`` trains it
    with multi-branch convolutions (see ``_post_model``)."""
    return _post_model("FAST", scale, channels, filters, blocks, res_scale, reparam, gain, fake_quant)


@register("BALANCED", upsampling="post", arrays=_post_arrays, residual_blocks=True)
def balanced(scale=2, channels=3, filters=64, blocks=16, res_scale=1.0, reparam=False, gain=2, fake_quant=False):
    """EDSR-baseline-sized post-upsampling model: 16 residual blocks of 64
    filters at LR resolution (1.23M parameters at x2); ``reparam`` as FAST's."""
    return _post_model("BALANCED", scale, channels, filters, blocks, res_scale, reparam, gain, fake_quant)


def _span_arrays(blocks=6, reparam=False, **a):
    """conv_in, three per block and conv_body (8 arrays each in the
    multi-branch form, else 2), conv_cat and the upsampler conv."""
    return (2 + 3 * blocks) * (8 if reparam else 2) + _convs(2)


# DIV2K's mean colour and SPAN's 0-255 feature range: the attention's
# sigmoid then sees features of the size it was designed for
_SPAN_MEAN, _SPAN_RANGE = (0.4488, 0.4371, 0.4040), 255.0


@register("SPAN", upsampling="post", arrays=_span_arrays, training_args={"reparam": True})
def span(scale=2, channels=3, filters=48, blocks=6, reparam=False, gain=2):
    """SPAN-style post-upsampling model (Wan et al., NTIRE 2024): blocks of
    three 3x3 convs (SiLU between) closed by parameter-free attention; the
    input features, the last block's output (after conv_body), the first
    block's output and the last block's first conv are concatenated and
    mixed by a 1x1 conv; one sub-pixel stage (x2, x3 or x4), plus the
    nearest-neighbour anchor. ``reparam`` builds the training form, each 3x3
    conv a ``RepConv3x3`` of expansion ``gain``; the default is the plain
    form it folds into (``deployed``): 0.41M parameters, 205 GFLOP per
    output MP at x2."""
    if scale not in (2, 3, 4) or blocks < 1:
        raise SRError(f"SPAN needs x2, x3 or x4 and at least one block, not x{scale} with {blocks}")

    def conv3(n, name):
        return RepConv3x3(n, gain, name=name) if reparam else _conv(n, 3, name)

    inputs = keras.Input((None, None, channels), name="lr")
    mean = [-m * _SPAN_RANGE for m in _SPAN_MEAN[:channels]] if channels == 3 else -0.5 * _SPAN_RANGE
    x = layers.Rescaling(_SPAN_RANGE, offset=mean, name="normalize")(inputs)
    first = x = conv3(filters, "conv_in")(x)
    for i in range(blocks):
        y = conv3(filters, f"block{i}_conv1")(x)
        entry = y
        y = layers.Activation("silu", name=f"block{i}_act1")(y)
        y = conv3(filters, f"block{i}_conv2")(y)
        y = layers.Activation("silu", name=f"block{i}_act2")(y)
        y = conv3(filters, f"block{i}_conv3")(y)
        x = ParamFreeAttention(name=f"block{i}_attention")([y, x])
        if i == 0:
            first_block = x
    body = conv3(filters, "conv_body")(x)
    x = layers.Concatenate(name="concat")([first, body, first_block, entry])
    x = _conv(filters, 1, "conv_cat")(x)
    x = Scale(1 / _SPAN_RANGE, name="feature_scale")(x)  # the upsampler (zero at first) sees features of size ~1
    dtype = _RESIDUAL_DTYPE.get()  # its output is added to the anchor
    x = _conv(channels * scale * scale, 3, "upsample0_conv", dtype=dtype, kernel_initializer="zeros")(x)
    x = DepthToSpace(scale, name="upsample0_shuffle", dtype=dtype)(x)
    anchor = NearestUpsample(scale, name="anchor", dtype="float32")(inputs)
    out = layers.Add(name="global_residual", dtype="float32")([anchor, x])
    return keras.Model(inputs, out, name="SPAN")
