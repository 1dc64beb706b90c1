"""The hardware line that checkpoints and model cards record."""

import platform
from pathlib import Path

import keras
import pytest

from srkit import devices


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="no /proc/cpuinfo on this OS")
def test_hardware_names_the_cpu_model_from_proc_cpuinfo():
    names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")]
    if not names:
        pytest.skip("/proc/cpuinfo has no 'model name' line here")
    assert devices.cpu_model() == " ".join(names[0].split())
    line = devices.hardware()
    assert line.startswith(f"{platform.machine()} ") and f"({devices.cpu_model()})" in line


def test_hardware_falls_back_when_proc_cpuinfo_cannot_be_read(monkeypatch):
    def refuse(*a, **k):
        raise OSError("no such file")

    monkeypatch.setattr("builtins.open", refuse)
    monkeypatch.setattr(platform, "processor", lambda: "")
    assert devices.cpu_model() == ""
    assert "()" not in devices.hardware() and " cpus; devices: " in devices.hardware()


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="auto is float32 off TensorFlow")
def test_bfloat16_is_native_only_with_the_cpu_flags_that_run_it(monkeypatch):
    import tensorflow as tf

    from srkit import inference

    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: [])  # as on a CPU-only machine
    for flags, native in (("fpu sse avx512f amx_bf16", True), ("fpu avx512f avx512_bf16", True),
                          ("fpu sse avx2 avx512f", False), ("", False)):  # "": no /proc/cpuinfo
        monkeypatch.setattr(devices, "cpuinfo_field", lambda key, flags=flags: flags if key == "flags" else "")
        assert inference.native_bfloat16() is native, flags
