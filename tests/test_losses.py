"""Losses and learning-rate schedules."""

import keras
import numpy as np
import pytest

from srkit import losses, metrics
from srkit.errors import SRError
from srkit.schedules import Plateau, Schedule


def _np(t):
    return float(np.mean(keras.ops.convert_to_numpy(t)))


def test_l1_mse_values_per_sample():
    a = np.zeros((2, 12, 12, 3), np.float32)
    b = np.stack([np.full((12, 12, 3), 0.5), np.full((12, 12, 3), 0.25)]).astype(np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(losses.l1(a, b)), [0.5, 0.25])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(losses.mse(a, b)), [0.25, 0.0625])
    assert keras.ops.convert_to_numpy(losses.ssim_l1(a, b)).shape == (2,)


def test_l1_luma_scores_luma_as_the_metric_and_chroma_at_its_weight():
    rng = np.random.default_rng(3)
    a, b = rng.random((2, 2, 9, 10, 3), dtype=np.float32)
    w = losses.CHROMA_WEIGHT
    dy = np.abs(metrics.rgb_to_y(a * 255) - metrics.rgb_to_y(b * 255)) / 255.0  # the metric's luma, in [0, 1] units
    cb = np.abs((a - b) @ np.array([-37.797, -74.203, 112.0])) / 255.0
    cr = np.abs((a - b) @ np.array([112.0, -93.786, -18.214])) / 255.0
    expected = ((dy + w * cb + w * cr) / (1 + 2 * w)).mean(axis=(1, 2))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(losses.l1_luma(a, b)), expected, rtol=1e-5)
    grey = np.full((1, 4, 4, 3), 0.1, np.float32)  # the same luma shift costs 1 / (1 + 2w) per unit ...
    luma = _np(losses.l1_luma(np.zeros_like(grey), grey))
    assert luma == pytest.approx(0.1 * (65.481 + 128.553 + 24.966) / 255 / (1 + 2 * w), rel=1e-5)
    no_luma = np.array([0.1, -0.1 * 65.481 / 128.553, 0.0], np.float32)  # ... a chroma-only change w times its chroma
    assert abs(float(metrics.rgb_to_y(no_luma * 255) - 16.0)) < 1e-4
    cb = abs(no_luma @ np.array([-37.797, -74.203, 112.0])) / 255
    cr = abs(no_luma @ np.array([112.0, -93.786, -18.214])) / 255
    shifted = np.broadcast_to(no_luma, grey.shape).astype(np.float32)
    assert _np(losses.l1_luma(np.zeros_like(grey), shifted)) == pytest.approx(w * (cb + cr) / (1 + 2 * w), rel=1e-4)
    assert losses.get("l1_luma") is losses.l1_luma


def test_ssim_loss_matches_the_metric():
    rng = np.random.default_rng(0)
    a = rng.random((1, 24, 20, 1)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    ref = metrics.ssim_planes(a[0, ..., 0].astype(np.float64) * 255, b[0, ..., 0].astype(np.float64) * 255)
    assert _np(losses.ssim(a, b)) == pytest.approx(ref, abs=1e-5)
    assert _np(losses.ssim(a, a)) == pytest.approx(1.0, abs=1e-6)
    mix = 0.84 * (1 - _np(losses.ssim(a, b))) + 0.16 * _np(losses.l1(a, b))
    assert _np(losses.ssim_l1(a, b)) == pytest.approx(mix, rel=1e-5)
    with pytest.raises(SRError, match="unknown loss"):
        losses.get("perceptual")


def test_schedules_in_ops_match_python():
    for sched in (Schedule(1e-3, "step", 100, decay_every=30, decay_rate=0.5),
                  Schedule(1e-3, "cosine", 100, min_lr=1e-5, warmup=10),
                  Schedule(1e-3, "constant", 100, factor=0.25)):
        for step in (0, 9, 29, 30, 61, 99, 150):
            assert _np(sched(step)) == pytest.approx(sched.value(step), rel=1e-5)
    assert Schedule(1e-3, "step", 100, decay_every=30).value(61) == pytest.approx(2.5e-4)
    assert Schedule(1e-3, "cosine", 100, min_lr=0).value(100) == pytest.approx(0, abs=1e-12)
    assert Schedule.from_config(Schedule(1e-3, "cosine", 50).get_config()).value(25) == pytest.approx(5e-4)
    with pytest.raises(SRError):
        Schedule(1e-3, "exponential")


def test_plateau_halves_after_patience():
    p = Plateau(patience=2)
    assert [p.update(v) for v in (30.0, 30.5, 30.5, 30.4, 30.6, 30.6, 30.6)] == [
        False, False, False, True, False, False, True]
    again = Plateau(patience=2, **p.state())
    assert again.best == pytest.approx(30.6) and again.wait == 0


def test_one_training_step_changes_weights_and_loss_falls_on_a_repeated_batch():
    from srkit import models

    keras.utils.set_random_seed(0)
    model = models.build("VDSR", depth=3, filters=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.l1)
    rng = np.random.default_rng(0)
    x = rng.random((4, 16, 16, 3)).astype(np.float32)
    y = (0.6 * x + 0.2).astype(np.float32)  # a mapping the residual can learn in a few steps
    before = [w.copy() for w in model.get_weights()]
    first = model.train_on_batch(x, y)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    for _ in range(30):
        last = model.train_on_batch(x, y)
    assert last < 0.8 * first
