"""The hardware line that checkpoints and model cards record."""

import platform
from pathlib import Path

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
