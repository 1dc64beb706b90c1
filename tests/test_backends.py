"""The model, checkpoint, re-parameterisation and distillation tests again,
under Keras's JAX backend (CPU)."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_model_and_checkpoint_tests_pass_under_jax():
    pytest.importorskip("jax")
    if os.environ.get("KERAS_BACKEND") == "jax":
        pytest.skip("already running under jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_models.py", "tests/test_checkpoints.py", "tests/test_reparam.py", "tests/test_distill.py"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=900,
    )
    tail = r.stdout[-3000:]
    assert r.returncode == 0, tail
    summary = tail.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed(, \d+ warnings?)? in .*", summary), summary
