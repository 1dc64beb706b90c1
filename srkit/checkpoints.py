"""The project's one checkpoint format: an HDF5 file holding the weights as
plain arrays plus a JSON description (architecture name, builder arguments,
scale, how the model takes its input, training metadata) in root attributes.

Loading rebuilds the model from the registry by name and copies the arrays
into it: nothing stored in the file is ever executed or deserialized as a
layer, so a crafted file can at worst be refused. Files written by
``model.save``/``save_weights`` or anything else are refused with a message.
"""

import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SRError
from .safewrite import write_file

FORMAT = "srkit-checkpoint"
VERSION = 1
UPSAMPLINGS = ("pre", "post")


@dataclass
class CheckpointInfo:
    """Everything a checkpoint says about itself (no weights)."""

    path: Path
    model: str
    args: dict
    scale: object  # int, or list of ints for multi-scale training
    metadata: dict = field(default_factory=dict)
    stored_upsampling: str | None = None  # the description's; None in files written before it was stored

    @property
    def upsampling(self):
        """"pre" (the model takes the bicubic-enlarged image) or "post" (the
        LR image): the description's, else (an older file) the registry's."""
        return self.stored_upsampling or registry_upsampling(self.model)

    @property
    def scales(self):
        return list(self.scale) if isinstance(self.scale, (list, tuple)) else [int(self.scale)]

    @property
    def label(self):
        return self.path.stem

    @property
    def float_args(self):
        """The arguments of the float network: a quantization-aware file's
        (``fake_quant``, see ``qat``) without it, as its float paths build it."""
        return {k: v for k, v in self.args.items() if k != "fake_quant"}


def registry_upsampling(name):
    """The registered model ``name``'s upsampling; Keras is imported only here."""
    from . import models

    return models.get_builder(name).upsampling


def _h5py():
    import h5py

    return h5py


def save(path, model, name, args=None, scale=2, metadata=None, optimizer_variables=None):
    """Write ``model``'s weights and description to ``path`` atomically.

    ``name`` and ``args`` must rebuild the same architecture through
    ``models.build(name, **args)``; ``metadata`` is any JSON-serializable dict
    (step, best PSNR, degradation, data, ...). The description names the
    model's upsampling, so readers need not look it up in the registry.
    """
    import keras

    h5py = _h5py()
    desc = {
        "model": name,
        "args": args or {},
        "scale": scale,
        "upsampling": registry_upsampling(name),
        "metadata": metadata or {},
    }
    payload = json.dumps(desc, sort_keys=True)  # fails early if not serializable
    # Built in memory, then written by write_file: HDF5's C library crashed the process (SIGSEGV) on a
    # full disk, where a plain write raises ENOSPC, which leaves the previous file and no temporary one.
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = VERSION
        f.attrs["description"] = payload
        f.attrs["keras_version"] = keras.__version__
        f.attrs["backend"] = keras.backend.backend()
        _write_arrays(f.create_group("weights"), model.weights)
        if optimizer_variables is not None:
            _write_arrays(f.create_group("optimizer"), optimizer_variables)
    return write_file(path, buf.getbuffer(), "checkpoint")


def _write_arrays(group, variables):
    for i, var in enumerate(variables):
        data = var.numpy() if hasattr(var, "numpy") else np.asarray(var)
        ds = group.create_dataset(f"{i:05d}", data=data)
        ds.attrs["path"] = getattr(var, "path", getattr(var, "name", ""))


def _read_arrays(group):
    return [group[key][()] for key in sorted(group.keys())]


def _open(path):
    path = Path(path)
    if not path.exists():
        raise SRError(f"{path}: checkpoint does not exist")
    if not path.is_file():
        raise SRError(f"{path}: checkpoint is not a file")
    h5py = _h5py()
    try:
        return h5py.File(path, "r")
    except OSError:
        raise SRError(f"{path}: not a checkpoint (not an HDF5 file)") from None


def _describe(path, f):
    fmt = f.attrs.get("format")
    if fmt != FORMAT:
        if "model_config" in f.attrs or "keras_version" in f.attrs or "layer_names" in f.attrs:
            raise SRError(
                f"{path}: a Keras model/weights file, not an srkit checkpoint; refused "
                "(it is never deserialized, as it may carry code)"
            )
        raise SRError(f"{path}: not an srkit checkpoint (no '{FORMAT}' marker)")
    version = int(f.attrs.get("format_version", -1))
    if version > VERSION:
        raise SRError(f"{path}: checkpoint format v{version} is newer than this srkit (v{VERSION})")
    try:
        desc = json.loads(f.attrs["description"])
        info = CheckpointInfo(
            Path(path), str(desc["model"]), dict(desc["args"]), desc["scale"], dict(desc["metadata"]),
            desc.get("upsampling"),
        )
    except (KeyError, TypeError, ValueError):
        raise SRError(f"{path}: damaged checkpoint description") from None
    if info.stored_upsampling is not None and info.stored_upsampling not in UPSAMPLINGS:
        raise SRError(f"{path}: stored upsampling {info.stored_upsampling!r} is not 'pre' or 'post'")
    scales = info.scale if isinstance(info.scale, list) and info.scale else [info.scale]
    if not all(isinstance(s, int) and not isinstance(s, bool) and 2 <= s <= 8 for s in scales):
        raise SRError(f"{path}: stored scale {info.scale!r} is not a scale (2 to 8)")
    if "weights" not in f:
        raise SRError(f"{path}: checkpoint holds no weights")
    return info


def read_info(path):
    """The description of the checkpoint at ``path`` (validated, no weights)."""
    with _open(path) as f:
        return _describe(path, f)


def load(path, with_optimizer=False, precision="float32", quantized=False):
    """Rebuild the model described by ``path`` and load its weights.

    Returns ``(model, info)``, or ``(model, info, optimizer_arrays)`` with
    ``with_optimizer`` (``None`` when the file has no optimizer state).
    ``precision="bfloat16"`` builds it to compute in bfloat16 (weights stay
    float32, the image-producing layers too): see ``inference.resolve_precision``.
    A quantization-aware checkpoint (``fake_quant``, see ``qat``) gives its
    float network unless ``quantized`` (training, and the int8 conversion,
    which need its ranges).
    """
    from . import ckptcheck, models

    with _open(path) as f:
        info = _describe(path, f)
        group = f["weights"]
        ckptcheck.check(path, info, [group[key].shape for key in sorted(group.keys())])  # before any build
        arrays = _read_arrays(group)
        opt = _read_arrays(f["optimizer"]) if with_optimizer and "optimizer" in f else None
    model = models.build(info.model, precision=precision, **info.args)
    expected = [tuple(w.shape) for w in model.weights]
    found = [tuple(a.shape) for a in arrays]
    if expected != found:
        raise SRError(
            f"{path}: weights do not fit {info.model}{info.args or ''} "
            f"({len(found)} arrays stored, {len(expected)} expected)"
        )
    model.set_weights(arrays)
    if info.args.get("fake_quant") and not quantized:
        from . import qat

        model = qat.plain(model, info.model, info.args, precision=precision)
    return (model, info, opt) if with_optimizer else (model, info)


def find(weights_dir, name=None, scale=None, log=None):
    """Checkpoints in ``weights_dir`` as (path, info), optionally only those
    whose file stem or architecture is ``name`` (case-insensitive) and that
    were trained for ``scale``. A file that is not a readable checkpoint is
    skipped with a warning through ``log``: one damaged file must not hide
    every other."""
    weights_dir = Path(weights_dir)
    log = log or (lambda msg: print(msg, file=sys.stderr))
    found = []
    for path in sorted(weights_dir.glob("*.h5")) if weights_dir.is_dir() else []:
        try:
            info = read_info(path)
        except SRError as exc:
            log(f"warning: skipping {exc}")
            continue
        if name and name.lower() not in (path.stem.lower(), info.model.lower()):
            continue
        if scale and int(scale) not in info.scales:
            continue
        found.append((path, info))
    return found
