"""Where and in what precision training runs: the dtype policy, data-parallel
distribution (TensorFlow MirroredStrategy or JAX DataParallel) and the
hardware line recorded in checkpoints and model cards."""

import os
import platform

import keras

from .errors import SRError


def setup_devices(*, precision, batch, distribute, log, job=None):
    """Mixed precision (the dtype policy ``precision``) and data-parallel
    distribution (``distribute``: over this machine's devices, which must
    divide ``batch``); returns a TF strategy scope (or a null context) and
    the number of replicas. Must run before any model is built. A
    multi-worker ``job`` (srkit.cluster) spreads over every worker's
    devices, with or without ``distribute``."""
    import contextlib

    backend = keras.backend.backend()
    virtual = int(os.environ.get("SRKIT_VIRTUAL_DEVICES", "0"))  # tests: N virtual CPUs
    if backend == "tensorflow" and virtual:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * virtual)
    if precision != "float32":
        keras.config.set_dtype_policy(precision)
    if job is not None and job.multi:
        scope, n = job.distribute(log)
        if batch % n:
            raise SRError(f"batch {batch} is not divisible by the {n} devices of the {job.count} workers")
        return scope, n
    if not distribute:
        return contextlib.nullcontext(), 1
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
        n = strategy.num_replicas_in_sync
    elif backend == "jax":
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        strategy, n = None, len(devices)
    else:
        raise SRError(f"--distribute is not supported on the {backend} backend")
    if batch % n:
        raise SRError(f"batch {batch} is not divisible by the {n} devices")
    log(f"data parallel over {n} devices ({backend})")
    return (strategy.scope() if strategy else contextlib.nullcontext()), n


def cpuinfo_field(key):
    """The value of the first ``key`` line of /proc/cpuinfo, whitespace
    collapsed ("model name" -> "AMD EPYC"); "" where the OS has no such file
    or line (non-Linux, some ARM kernels)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(key):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return ""


def cpu_model():
    """The CPU's marketing name ("AMD EPYC", "Intel(R) Xeon(R) ...") where the
    OS tells it, so wall times in cards can be compared across machines."""
    return cpuinfo_field("model name") or platform.processor() or ""


def hardware():
    devices = []
    try:
        devices = keras.distribution.list_devices()
    except Exception:  # some backends cannot list devices
        pass
    cpu = cpu_model()
    cpu = f" ({cpu})" if cpu else ""
    return f"{platform.machine()} {os.cpu_count()} cpus{cpu}; devices: {', '.join(map(str, devices)) or 'cpu'}"
