"""Training patches: alignment after augmentation, exactness of the patch
pre-upscale, determinism, the 'seed' degradation, bad folders."""

import inspect

import numpy as np
import pytest
from PIL import Image

from conftest import random_image
from srkit import degradations
from srkit.data import PatchSampler, dihedral
from srkit.errors import SRError


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "train"
    (d / "sub").mkdir(parents=True)
    Image.fromarray(random_image(60, 72, seed=1)).save(d / "a.png")
    Image.fromarray(random_image(66, 50, 1, seed=2)).save(d / "sub" / "grey.jpg", quality=95)
    return d


def test_dihedral_group_has_eight_distinct_members():
    a = np.arange(2 * 3 * 1).reshape(2, 3, 1)
    variants = {dihedral(a, k).tobytes() + bytes(dihedral(a, k).shape) for k in range(8)}
    assert len(variants) == 8


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_pre_upscaled_patch_equals_crop_of_whole_image(folder, scale):
    s = PatchSampler(folder, [scale], patch=24, batch=6, augment=False, workers=0)
    x, y = s.batch(5)
    assert x.shape == y.shape == (6, 24 // scale * scale, 24 // scale * scale, 3)
    for xi, yi in zip(x, y):
        # locate the HR patch in its image, then compare with the whole-image pre-upscale
        for img in map(s.image, range(len(s.entries))):
            hits = np.argwhere(np.all(np.lib.stride_tricks.sliding_window_view(
                img.astype(np.float32) / 255, yi.shape, axis=(0, 1, 2))[..., 0, :, :, :] == yi, axis=(-3, -2, -1)))
            if len(hits):
                i, j = hits[0][:2]
                break
        else:
            pytest.fail("HR patch not found in any training image")
        assert i % scale == 0 and j % scale == 0
        whole = degradations.pre_upscale(degradations.bicubic_lr(img, scale), scale)
        np.testing.assert_allclose(xi, whole[i:i + yi.shape[0], j:j + yi.shape[1]], atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_post_upsampling_patch_is_exactly_the_crop_of_the_whole_image_lr(folder, scale):
    """The LR patch is computed from the HR rows it needs, yet equals the
    crop of the whole image's standard LR, for the images and their copies."""
    s = PatchSampler(folder, [scale], patch=24, batch=12, upsampling="post", augment=False, workers=0,
                     rescale=[0.9])
    x, y = s.batch(2)
    lp = 24 // scale
    images = [s.image(k) for k in range(len(s.entries))]
    for xi, yi in zip(x, y):
        found = [(img, i, j) for img in images for i in range(0, img.shape[0] - lp * scale + 1, scale)
                 for j in range(0, img.shape[1] - lp * scale + 1, scale)
                 if np.array_equal(img[i:i + lp * scale, j:j + lp * scale] / np.float32(255), yi)]
        assert found, "HR patch not found in any training image"
        img, i, j = found[0]
        lr = degradations.bicubic_lr(img, scale)[i // scale:i // scale + lp, j // scale:j // scale + lp]
        np.testing.assert_array_equal(xi, lr / np.float32(255))


@pytest.mark.parametrize("upsampling", ["pre", "post"])
def test_augmentation_keeps_input_and_target_aligned(tmp_path, upsampling):
    # smooth, asymmetric content: bicubic recovers it well, and no flip or
    # rotation of a patch resembles the patch itself
    yy, xx = np.mgrid[0:80, 0:90].astype(np.float64)
    img = 127 + 60 * np.sin(xx / 6 + yy / 17) + 40 * np.cos(yy / 5 - xx / 23) + 0.3 * xx
    img = np.stack([img, img[::-1] * 0.5 + 60, 255 - img], -1).clip(0, 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "smooth.png")
    s = PatchSampler(tmp_path, [2], patch=32, batch=16, upsampling=upsampling, augment=True, workers=0)
    x, y = s.batch(3)
    for xi, yi in zip(x, y):
        if upsampling == "post":
            xi = degradations.pre_upscale(xi, 2)
        # the input looks most like the target in the same orientation, by a clear margin
        errors = sorted(np.abs(xi[4:-4, 4:-4] - dihedral(yi, k)[4:-4, 4:-4]).mean() for k in range(8))
        same = np.abs(xi[4:-4, 4:-4] - yi[4:-4, 4:-4]).mean()
        assert same == errors[0] and errors[1] > 1.5 * same


def test_batches_are_a_function_of_seed_and_step(folder):
    # a loads its images in 3 threads: the set, copies included, must keep file order
    for i in range(6):
        Image.fromarray(random_image(40 + i, 44, seed=10 + i)).save(folder / f"b{i}.png")
    a = PatchSampler(folder, [2, 3], patch=24, batch=4, seed=7, workers=3, rescale=[0.7])
    b = PatchSampler(folder, [2, 3], patch=24, batch=4, seed=7, workers=0, rescale=[0.7])
    assert len(a.entries) == len(b.entries) == 16
    assert all(np.array_equal(a.image(k), b.image(k)) for k in range(16))
    stream = a.stream(10)
    for step in range(10, 14):
        xa, ya = next(stream)
        xb, yb = b.batch(step)
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not np.array_equal(b.batch(1)[1], b.batch(2)[1])


@pytest.mark.parametrize("kind", [dict(), dict(scales=[2, 3], upsampling="post"), dict(degradation="seed"),
                                  dict(upsampling="post", degradation="real"), dict(augment=False)])
def test_shards_interleave_to_the_global_batch(folder, kind):
    """A multi-worker job's shares of a step together are the one-process batch."""
    kw = {"scales": [2], "patch": 24, "batch": 6, "seed": 5, "workers": 0, **kind}
    whole = PatchSampler(folder, **kw)
    shards = [PatchSampler(folder, shard=(i, 3), **kw) for i in range(3)]
    for step in (0, 9):
        x, y = whole.batch(step)
        parts = [s.batch(step) for s in shards]
        assert all(px.shape[0] == 2 for px, _ in parts)
        for i, (px, py) in enumerate(parts):
            assert np.array_equal(px, x[i::3]) and np.array_equal(py, y[i::3])
    with pytest.raises(SRError, match="batch 6 cannot be split into 4 equal shares"):
        PatchSampler(folder, shard=(1, 4), **kw)


def test_seed_degradation(folder):
    s = PatchSampler(folder, [2], patch=32, batch=8, degradation="seed", workers=0)
    x, y = s.batch(0)
    assert x.shape == y.shape == (8, 32, 32, 3)
    assert x.min() >= 0 and x.max() <= 1
    assert np.abs(x - y).mean() > 1e-3  # degraded, but still the same content
    assert np.abs(x - y).mean() < np.abs(x - y[::-1]).mean()
    with pytest.raises(SRError, match="pre-upsampling"):
        PatchSampler(folder, [2], patch=32, upsampling="post", degradation="seed")


def test_small_and_corrupt_images_are_skipped_with_warnings(folder):
    Image.fromarray(random_image(10, 10, seed=3)).save(folder / "tiny.png")
    (folder / "broken.png").write_bytes(b"not a png")
    warnings = []
    s = PatchSampler(folder, [2], patch=32, workers=0, log=warnings.append)
    assert s.description["images"] == 2 and s.description["skipped"] == 2
    assert any("tiny.png" in w and "smaller" in w for w in warnings)
    assert any("broken.png" in w for w in warnings)


def test_folder_without_usable_images(tmp_path):
    Image.fromarray(random_image(10, 10)).save(tmp_path / "tiny.png")
    with pytest.raises(SRError, match="no usable training image"):
        PatchSampler(tmp_path, [2], patch=32, log=lambda m: None)


def test_rescale_adds_matlab_bicubic_shrunk_copies(folder):
    # a.png is 72x60 and grey.jpg 50x66: at 0.5 only a.png's copy (36x30) still holds a 30 patch
    plain = PatchSampler(folder, [2], patch=30, workers=0)
    s = PatchSampler(folder, [2], patch=30, workers=0, rescale=[0.5, 0.8])
    assert s.description["images"] == plain.description["images"] == 2
    assert s.description["pixels"] == plain.description["pixels"]
    assert s.description["rescale"] == [0.8, 0.5] and s.description["rescaled_copies"] == 3
    images, plain_images = ([t.image(k) for k in range(len(t.entries))] for t in (s, plain))
    assert len(images) == 5
    originals = [img for img in images if any(np.array_equal(img, p) for p in plain_images)]
    assert len(originals) == 2
    for orig in originals:
        for f in (0.8, 0.5):
            small = degradations.imresize(orig, f)
            if min(small.shape[:2]) >= 30:
                assert any(img.shape == small.shape and np.array_equal(img, small) for img in images)
    x, y = s.batch(0)
    assert x.shape == y.shape == (8, 30, 30, 3)


@pytest.mark.parametrize("bad", [[1.0], [0.0], [1.5]])
def test_rescale_factors_must_shrink(folder, bad):
    with pytest.raises(SRError, match="rescale factors must lie in"):
        PatchSampler(folder, [2], patch=30, workers=0, rescale=bad)


def test_real_degradation_pairs_are_aligned_lr_hr_patches_and_pure_in_step(folder, tmp_path):
    extra = tmp_path / "more"
    extra.mkdir()
    Image.fromarray(random_image(70, 64, seed=9)).save(extra / "c.png")
    kw = dict(scales=[2], patch=24, batch=5, upsampling="post", degradation="real", seed=3, strength="medium")
    s = PatchSampler([folder, extra], workers=0, **kw)
    assert s.description["images"] == 3 and s.description["path"] == [str(folder), str(extra)]
    x, y = s.batch(11)
    assert x.shape == (5, 12, 12, 3) and y.shape == (5, 24, 24, 3)
    threaded = PatchSampler([folder, extra], workers=2, **kw)
    stream = threaded.stream(10)
    for step in (10, 11, 12):
        xs, ys = next(stream)
        xa, ya = s.batch(step)
        np.testing.assert_array_equal(xs, xa)
        np.testing.assert_array_equal(ys, ya)
    # degraded, but still the same content at LR size: close to the clean LR of its own HR patch
    for xi, yi in zip(x, y):
        clean = degradations.imresize(np.round(yi * 255).astype(np.uint8), output_shape=(12, 12)) / 255.0
        assert np.abs(xi - clean).mean() < 0.15


def test_real_degradation_is_refused_for_pre_upsampling_and_unknown_strengths(folder):
    with pytest.raises(SRError, match="post-upsampling models only"):
        PatchSampler(folder, degradation="real", workers=0)
    with pytest.raises(SRError, match="unknown degradation strength"):
        PatchSampler(folder, upsampling="post", degradation="real", strength="max", workers=0)


@pytest.mark.parametrize("workers", [0, 2])
def test_one_fit_call_gets_exactly_its_steps_batches(folder, workers):
    """cluster.Job.batches hands fit the batches of steps start .. start+count
    and then ends (an endless stream left running in tf.data's thread could
    deadlock when its iterator is collected): the same batches as the
    sampler's own, in order."""
    from srkit.cluster import Job

    s = PatchSampler(folder, [2], patch=24, batch=3, upsampling="post", workers=workers)
    stream = Job("tensorflow").batches(s, 5, 3)
    assert inspect.isgenerator(stream)  # what Keras's fit takes (it refuses an itertools.islice)
    got = list(stream)
    assert len(got) == 3
    for k, (x, y) in enumerate(got):
        ex, ey = s.batch(5 + k)
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, ey)
