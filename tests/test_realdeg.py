"""Real-world training degradations: each operation against what it claims
(kernel normalisation and spread, noise level, the JPEG quality really
used), alignment of the LR with the HR, and determinism."""

import dataclasses
import io
import math

import numpy as np
import pytest
from PIL import Image

from conftest import random_image
from srkit import degradations, realdeg


def _second_moments(k):
    r = k.shape[0] // 2
    ax = np.arange(-r, r + 1)
    xx, yy = np.meshgrid(ax, ax, indexing="xy")
    return (k * xx * xx).sum(), (k * yy * yy).sum(), (k * xx * yy).sum()


@pytest.mark.parametrize("size", [7, 13, 21])
def test_every_kernel_type_sums_to_one_and_is_point_symmetric(size):
    rng = np.random.default_rng(0)
    stage = realdeg.PRESETS["strong"].first
    kernels = [realdeg.random_kernel(rng, stage) for _ in range(60)]
    kernels += [realdeg.gaussian_kernel(size, 1.5, 0.7, 0.4, beta=b, plateau=p) for b in (0.5, 1, 3) for p in (0, 1)]
    kernels.append(realdeg.sinc_kernel(size, math.pi / 2))
    for k in kernels:
        assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
        assert k.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)


def test_gaussian_kernel_has_the_asked_covariance():
    # a wide enough window: the truncated Gaussian's second moments are the
    # covariance R diag(sx^2, sy^2) R^T
    sx, sy, theta = 2.0, 1.0, math.pi / 6
    k = realdeg.gaussian_kernel(31, sx, sy, theta)
    c, s = math.cos(theta), math.sin(theta)
    cov = np.array([[c, -s], [s, c]]) @ np.diag([sx**2, sy**2]) @ np.array([[c, s], [-s, c]])
    xx, yy, xy = _second_moments(k)
    np.testing.assert_allclose([xx, yy, xy], [cov[0, 0], cov[1, 1], cov[0, 1]], rtol=1e-3, atol=1e-4)


def test_sinc_kernel_passes_low_and_stops_high_frequencies():
    k = realdeg.sinc_kernel(21, math.pi / 3)
    spectrum = np.abs(np.fft.fft2(k, (64, 64)))
    assert spectrum[0, 0] == pytest.approx(1.0)
    assert spectrum[0, 4] > 0.9  # 0.39 rad/px, well inside the pi/3 cutoff
    assert spectrum[0, 20] < 0.1  # 1.96 rad/px, well outside


@pytest.mark.parametrize("sigma,gray", [(5, False), (15, False), (25, True)])
def test_gaussian_noise_has_the_asked_sigma(sigma, gray):
    img = np.full((128, 128, 3), 0.5, np.float32)
    noisy = realdeg.gaussian_noise(np.random.default_rng(1), img, sigma, gray)
    measured = (noisy - img).std() * 255
    assert abs(measured - sigma) < 0.1 * sigma
    channels_equal = np.allclose(noisy[..., 0], noisy[..., 1])
    assert channels_equal == gray


def test_poisson_noise_variance_follows_the_signal():
    # shot noise of 255 photons at white: var(255 * noise) = 255 * v * scale^2
    rng = np.random.default_rng(2)
    for v, scale in ((0.2, 1.0), (0.8, 2.0)):
        img = np.full((200, 200, 3), v, np.float32)
        noise = (realdeg.poisson_noise(rng, img, scale) - img) * 255
        assert noise.var() == pytest.approx(255 * v * scale**2, rel=0.1)
        assert abs(noise.mean()) < 0.1 * noise.std()


@pytest.mark.parametrize("quality", [30, 75, 95])
def test_jpeg_is_encoded_at_the_asked_quality(quality):
    # The IJG quality scaling fixes the quantization tables; Pillow computes
    # its own for the same quality, an independent reference.
    u8 = random_image(48, 40, seed=3)
    ours = Image.open(io.BytesIO(realdeg.jpeg_bytes(u8, quality)))
    ref = io.BytesIO()
    Image.fromarray(u8).save(ref, format="JPEG", quality=quality)
    assert ours.quantization == Image.open(ref).quantization
    assert ours.format == "JPEG" and ours.size == (40, 48)


def test_jpeg_round_trip_changes_the_image_less_at_higher_quality():
    img = random_image(64, 64, seed=4).astype(np.float32) / 255
    errors = [np.abs(realdeg.jpeg(img, q) - img).mean() for q in (30, 60, 95)]
    assert errors[0] > errors[1] > errors[2] > 0


def _only(preset, **stage_changes):
    off = dict(blur=0.0, noise=0.0, jpeg=0.0)
    first = dataclasses.replace(preset.first, **{**off, **stage_changes})
    return dataclasses.replace(preset, first=first, second_prob=0.0, final_sinc=0.0, final_jpeg=0.0, clean=0.0)


def test_clean_share_gives_exactly_the_matlab_bicubic_lr():
    hr = random_image(48, 36, seed=5)
    p = dataclasses.replace(realdeg.PRESETS["medium"], clean=1.0)
    lr = realdeg.degrade(np.random.default_rng(0), hr, 3, p)
    np.testing.assert_array_equal(lr, degradations.imresize(hr, output_shape=(16, 12)))


def test_random_resizes_keep_lr_pixels_on_their_hr_positions():
    # Only the random resizes on: whatever the intermediate sizes, every resize
    # spans the whole crop, so the LR must not be shifted against bicubic_lr.
    yy, xx = np.mgrid[0:96, 0:96]
    hr = np.clip(127 + 90 * np.sin(xx / 6.0 + 0.3) * np.cos(yy / 9.0), 0, 255).astype(np.uint8)
    hr = np.repeat(hr[..., None], 3, 2)
    ref = degradations.bicubic_lr(hr, 2).astype(np.float64)[8:-8, 8:-8]
    p = _only(realdeg.PRESETS["strong"], resize_range=(0.6, 1.4))
    for k in range(12):
        lr = realdeg.degrade(np.random.default_rng([7, k]), hr, 2, p).astype(np.float64)
        shifts = {}
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                crop = lr[8 + di:40 + di, 8 + dj:40 + dj]
                shifts[(di, dj)] = np.abs(crop - ref).mean()
        assert min(shifts, key=shifts.get) == (0, 0)
        assert shifts[(0, 0)] < 4.0


def test_resize_modes_pick_the_downscale_filter():
    # The photo preset downscales in its second stage; with all weight on
    # "matlab" (and nothing else on) that is the benchmarks' LR (to the
    # rounding of its float path), with all weight on "area" OpenCV's 2x2 mean.
    hr = random_image(48, 48, seed=8)
    base = realdeg.PRESETS["photo"]
    quiet = dict(blur=0.0, noise=0.0, jpeg=0.0)
    p = dataclasses.replace(base, first=dataclasses.replace(base.first, **quiet), final_jpeg=0.0, clean=0.0)

    def with_modes(modes):
        return dataclasses.replace(p, second=dataclasses.replace(p.second, resize_modes=modes, **quiet))

    matlab = realdeg.degrade(np.random.default_rng(3), hr, 2, with_modes((0, 0, 0, 1)))
    reference = degradations.imresize(hr, output_shape=(24, 24)).astype(np.float64)
    assert np.abs(matlab - reference).max() <= 1
    area = realdeg.degrade(np.random.default_rng(3), hr, 2, with_modes((1, 0, 0, 0)))
    expected = hr.reshape(24, 2, 24, 2, 3).mean(axis=(1, 3))
    assert np.abs(area.astype(np.float64) - expected).max() <= 0.5 + 1e-9
    assert np.abs(area - reference).mean() > 3 * np.abs(matlab - reference).mean() + 1


def test_every_preset_is_offered_by_train_py():
    from srkit.cli import train as cli

    action = next(a for a in cli.parser()._actions if a.dest == "degradation_strength")
    assert sorted(action.choices) == sorted(realdeg.PRESETS)


def test_degrade_is_a_pure_function_of_its_generator():
    hr = random_image(96, 96, seed=6)
    for strength in realdeg.PRESETS:
        a = realdeg.degrade(np.random.default_rng([1, 2, 3]), hr, 2, strength)
        b = realdeg.degrade(np.random.default_rng([1, 2, 3]), hr, 2, strength)
        np.testing.assert_array_equal(a, b)
        assert a.shape == (48, 48, 3) and a.dtype == np.uint8
    outs = {realdeg.degrade(np.random.default_rng([1, 2, k]), hr, 4, "strong").tobytes() for k in range(6)}
    assert len(outs) == 6


def test_describe_names_every_range_and_unknown_strength_is_refused():
    d = realdeg.describe("medium")
    assert d["strength"] == "medium" and d["first"]["jpeg_quality"] == (50, 95) and "clean" in d
    with pytest.raises(Exception, match="unknown degradation strength 'harsh'"):
        realdeg.preset("harsh")


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 90, 95, 100])
def test_jpeg_quality_is_read_back_from_files_of_two_encoders(tmp_path, quality):
    from srkit import jpegq

    img = random_image(32, 32, seed=8)
    Image.fromarray(img).save(tmp_path / "p.jpg", quality=quality)
    (tmp_path / "c.jpg").write_bytes(realdeg.jpeg_bytes(img, quality))
    assert jpegq.estimate_quality(tmp_path / "p.jpg") == quality
    assert jpegq.estimate_quality(tmp_path / "c.jpg") == quality
    Image.fromarray(img).save(tmp_path / "p.png")
    assert jpegq.estimate_quality(tmp_path / "p.png") is None
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff junk")
    assert jpegq.estimate_quality(tmp_path / "bad.jpg") is None


@pytest.mark.parametrize("name", sorted(realdeg.PRESETS))
def test_every_preset_is_a_valid_table(name):
    p = realdeg.PRESETS[name]
    for share in (p.second_prob, p.final_sinc, p.final_jpeg, p.clean):
        assert 0.0 <= share <= 1.0
    assert 1 <= p.final_quality[0] <= p.final_quality[1] <= 100
    for stage in (p.first, p.second):
        assert sum(stage.kernel_probs) == pytest.approx(1.0) and len(stage.kernel_probs) == len(realdeg.KERNEL_TYPES)
        assert sum(stage.resize_probs) == pytest.approx(1.0)
        if stage.resize_modes:
            assert sum(stage.resize_modes) == pytest.approx(1.0)
            assert len(stage.resize_modes) == len(realdeg.RESIZE_MODES) + 1
        for lo, hi in (stage.sigma, stage.noise_sigma, stage.jpeg_quality, stage.resize_range):
            assert lo <= hi

