"""The fixed benchmark degradations of evaluate.py --degrade, against
independent computations of what each one is documented to be."""

import io

import numpy as np
import pytest
from PIL import Image

from conftest import random_image
from srkit import benchdeg, degradations
from srkit.errors import SRError


def _pillow_round_trip(img, quality):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def test_clean_is_the_standard_lr():
    hr = random_image(50, 46, seed=1)
    np.testing.assert_array_equal(benchdeg.degraded_lr(hr, 2, "clean", "a"), degradations.bicubic_lr(hr, 2))


@pytest.mark.parametrize("name,quality", [("jpeg95", 95), ("jpeg90", 90), ("jpeg75", 75), ("jpeg50", 50)])
@pytest.mark.parametrize("channels", [3, 1])
def test_jpeg_is_pillows_round_trip_of_the_standard_lr(name, quality, channels):
    hr = random_image(64, 60, channels, seed=2)
    lr = degradations.bicubic_lr(hr, 4)
    out = benchdeg.degraded_lr(hr, 4, name, "img")
    np.testing.assert_array_equal(out, _pillow_round_trip(lr, quality))
    assert out.shape == lr.shape and not np.array_equal(out, lr)


def test_noise10_has_sigma_ten_levels_and_is_seeded_by_name():
    hr = np.full((200, 200, 3), 128, np.uint8)
    a = benchdeg.degraded_lr(hr, 2, "noise10", "baby").astype(np.float64)
    assert abs((a - 128).std() - 10) < 1.0
    assert abs((a - 128).mean()) < 0.2
    np.testing.assert_array_equal(a, benchdeg.degraded_lr(hr, 2, "noise10", "baby"))
    assert not np.array_equal(a, benchdeg.degraded_lr(hr, 2, "noise10", "bird"))
    assert not np.array_equal(a, benchdeg.degraded_lr(hr, 3, "noise10", "baby")[:100, :100])


def test_gaussian_blur_of_an_impulse_is_the_sampled_gaussian():
    img = np.zeros((21, 21), np.float64)
    img[10, 10] = 1
    # the blur rounds to uint8: scale the impulse so the kernel is resolved
    out = benchdeg.gaussian_blur(np.full((21, 21), 0, np.uint8) + (img * 255).astype(np.uint8), 1.0)
    x = np.arange(-3, 4)
    g = np.exp(-0.5 * x**2)
    g /= g.sum()
    expected = np.zeros((21, 21))
    expected[7:14, 7:14] = np.outer(g, g) * 255
    np.testing.assert_array_equal(out, degradations.quantize(expected))


def test_camera_is_blur_then_bicubic_then_noise_then_jpeg80():
    hr = random_image(64, 64, seed=3)
    lr = degradations.bicubic_lr(benchdeg.gaussian_blur(hr, 1.0), 2)
    rng = np.random.default_rng(benchdeg.seed_for("cam", 2, "camera"))
    noisy = degradations.quantize(lr.astype(np.float64) + rng.standard_normal(lr.shape) * 5.0)
    np.testing.assert_array_equal(benchdeg.degraded_lr(hr, 2, "camera", "cam"), _pillow_round_trip(noisy, 80))


def test_unknown_degradation_is_refused():
    with pytest.raises(SRError, match="unknown degradation 'jpeg10'"):
        benchdeg.degraded_lr(random_image(16, 16), 2, "jpeg10")
