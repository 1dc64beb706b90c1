"""Training data: random aligned (input, target) patch batches from folders
of images, read a patch at a time from their decoded copies on disk
(``imagecache``), so memory does not grow with the data set.

Every batch is a pure function of (seed, step), so a resumed run sees exactly
the batches an uninterrupted one would, and batches can be built ahead in
worker threads without touching any shared random state. A worker of a
multi-worker job builds only its share of each global batch (``shard``): the
random draws of every patch are made, the pixels only of its own.
"""

import collections
import concurrent.futures
import sys
import time

import numpy as np

from . import degradations, realdeg
from .errors import SRError
from .imagecache import ImageCache
from .io import list_images

# LR border (mirrored at the image's edges) around a pre-upsampling patch, so
# its pre-upscale equals the same crop of the whole pre-upscaled image (the
# bicubic kernel reaches 2 LR pixels).
MARGIN = 3
SEED_INTERPOLATIONS = ("bilinear", "bicubic", "area", "lanczos")
DEGRADATIONS = ("bicubic", "seed", "real")
# LR pixels of context degraded around a 'real' patch and cropped away: the
# blur kernels and resize filters of realdeg reach about ten LR pixels.
REAL_MARGIN = 12


def dihedral(img, k):
    """The k-th (0..7) of the 8 flips/rotations of an (H, W, C) array."""
    img = np.rot90(img, k % 4, axes=(0, 1))
    return img[:, ::-1] if k >= 4 else img


class PatchSampler:
    """Random training batches from folders of images (searched recursively).

    ``upsampling`` "pre": input is the bicubic-enlarged LR patch (HR size);
    "post": input is the LR patch. ``degradation`` "bicubic" (MATLAB
    imresize, as evaluation) or "seed" (the original project's: area
    downscale, random re-upscale, random scale in [2, 4]; pre only) or
    "real" (``realdeg``'s second-order blur/resize/noise/JPEG at
    ``strength``, drawn per patch; post only).
    ``rescale``: factors < 1 at which every image also enters the set, shrunk
    with MATLAB bicubic (the scale augmentation of FSRCNN, VDSR and DRRN's
    291-image training): more, and finer, texture from the same photos.
    ``shard`` (index, count): ``batch`` returns patches index, index + count,
    ... of the global batch of ``batch`` patches (one worker's share).
    ``cache_dir``: where the decoded images go (``imagecache.default_dir()``
    when None). A bicubic LR patch is computed from the HR rows it depends
    on, equal to the crop of the whole image's LR.
    """

    def __init__(self, folder, scales=(2,), patch=64, batch=8, upsampling="pre", degradation="bicubic",
                 seed=0, augment=True, workers=2, log=None, rescale=(), strength="medium", shard=(0, 1), *,
                 cache_dir=None):
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.scales = [int(s) for s in scales]
        self.patch, self.batch_size, self.seed, self.augment = int(patch), int(batch), int(seed), augment
        self.shard = (int(shard[0]), int(shard[1]))
        if not 0 <= self.shard[0] < self.shard[1] or self.batch_size % self.shard[1]:
            raise SRError(f"batch {self.batch_size} cannot be split into {self.shard[1]} equal shares "
                          f"(share {self.shard[0]})")
        self.upsampling, self.degradation = upsampling, degradation
        if degradation not in DEGRADATIONS:
            raise SRError(f"unknown degradation '{degradation}' (use {', '.join(DEGRADATIONS)})")
        if degradation == "seed" and upsampling != "pre":
            raise SRError("the 'seed' degradation makes HR-size inputs: pre-upsampling models only")
        if degradation == "real" and upsampling != "post":
            raise SRError("the 'real' degradation makes LR-size inputs: post-upsampling models only")
        self.strength = strength
        if degradation == "real":
            realdeg.preset(strength)  # an unknown name fails here, not in a worker thread
        if any(self.patch // s < 2 for s in self.scales):
            raise SRError(f"patch {self.patch} too small for x{max(self.scales)}")
        self.rescale = sorted({float(f) for f in rescale}, reverse=True)
        if any(not 0 < f < 1 for f in self.rescale):
            raise SRError(f"rescale factors must lie in (0, 1), got {self.rescale}")
        self.entries, self.bytes_read = [], 0  # bytes_read: what patches read from the cache (tests)
        self.workers = int(workers)
        self._pool = concurrent.futures.ThreadPoolExecutor(self.workers) if workers else None
        folders = [folder] if isinstance(folder, (str, bytes)) or not hasattr(folder, "__iter__") else list(folder)
        started = time.perf_counter()
        files = [f for d in folders for f in list_images(d, recursive=True)]
        cache = ImageCache(cache_dir, self.log)
        # Decoding and shrinking dominate a first start (minutes with --rescale); numpy and Pillow release
        # the GIL, so threads help, and map() keeps file order so the set does not depend on timing.
        prepare = lambda f: cache.entries(f, self.rescale, self.patch)  # noqa: E731
        prepared = self._pool.map(prepare, files) if self._pool else map(prepare, files)
        skipped = copies = pixels = 0
        for warning, entries in prepared:
            if warning:
                self.log(f"warning: skipping {warning}")
                skipped += 1
                continue
            pixels += entries[0].shape[0] * entries[0].shape[1]
            kept = [e for e in entries if min(e.shape[:2]) >= self.patch]  # copies too small for a patch: out
            copies += len(kept) - 1
            self.entries.extend(kept)
        self.log(f"image cache {cache.folder}: {cache.counts['built']} entries made, {cache.counts['reused']} "
                 f"reused ({time.perf_counter() - started:.1f} s)")
        if not self.entries:
            raise SRError(f"{', '.join(map(str, folders))}: no usable training image ({len(files)} found, "
                          f"{skipped} skipped)")
        path = str(folders[0]) if len(folders) == 1 else [str(d) for d in folders]
        self.description = {"path": path, "images": len(self.entries) - copies, "skipped": skipped,
                            "pixels": int(pixels)}
        if self.rescale:
            self.description.update(rescale=self.rescale, rescaled_copies=copies)

    def image(self, idx):
        """The whole of training image ``idx`` (copies included), uint8 (H, W, 3)."""
        return self.entries[idx].load()

    def _crop(self, idx, r0, r1, c0, c1):
        """Image ``idx``'s [r0:r1, c0:c1], reading only those rows."""
        rows = self.entries[idx].rows(r0, r1)
        self.bytes_read += rows.nbytes
        return rows[:, c0:c1]

    def batch(self, step):
        """(inputs, targets) float32 in [0, 1] for global ``step``: NHWC arrays
        (this shard's patches of the step's global batch)."""
        rng = np.random.default_rng([self.seed, int(step)])
        scale = self.scales[rng.integers(len(self.scales))]
        # every patch's draws, in order, so each patch is the same whichever shard builds it
        plans = [self._plan(rng, scale, (step, k)) for k in range(self.batch_size)]
        index, count = self.shard
        pairs = [self._pair(*plan) for plan in plans[index::count]]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def _plan(self, rng, scale, where):
        """The random choices of one patch (image, crop, degradation draws,
        flip/rotation), drawn from ``rng`` without touching any pixel."""
        idx = int(rng.integers(len(self.entries)))
        shape = self.entries[idx].shape
        if self.degradation == "seed":
            p, (h, w) = self.patch, shape[:2]
            draws = (int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1)), rng.uniform(2.0, 4.0),
                     SEED_INTERPOLATIONS[rng.integers(len(SEED_INTERPOLATIONS))])
        elif self.degradation == "real":
            lp = self.patch // scale
            h, w = shape[0] // scale, shape[1] // scale  # LR-pixel grid of the image
            m = max(0, min(REAL_MARGIN, (min(h, w) - lp) // 2))
            side = lp + 2 * m
            draws = (int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1)), m)
        else:
            lp, (h, w) = self.patch // scale, (shape[0] // scale, shape[1] // scale)  # bicubic_lr's size
            draws = (int(rng.integers(h - lp + 1)), int(rng.integers(w - lp + 1)))
        k = int(rng.integers(8)) if self.augment else 0
        return idx, scale, where, draws, k

    def _pair(self, idx, scale, where, draws, k):
        """The (input, target) patch a plan describes."""
        if self.degradation == "seed":
            x, y = self._seed_pair(idx, *draws)
        elif self.degradation == "real":
            # its own generator per patch: the number of draws a degradation takes varies
            x, y = self._real_pair(np.random.default_rng([self.seed, *where, 1]), idx, scale, *draws)
        else:
            x, y = self._bicubic_pair(idx, scale, *draws)
        if k:
            x, y = dihedral(x, k), dihedral(y, k)
        return np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.float32)

    def _bicubic_pair(self, idx, scale, i, j):
        lp = self.patch // scale  # LR patch side; HR patch is lp * scale
        shape = self.entries[idx].shape
        m = MARGIN if self.upsampling == "pre" else 0
        # LR rows and columns of the window, mirrored at the edges as np.pad(..., "symmetric") does
        rows, cols = (np.pad(np.arange(n // scale), m, "symmetric")[k:k + lp + 2 * m]
                      for n, k in zip(shape[:2], (i, j)))
        # one read covers the window's support and the HR patch
        (r0, r1), (c0, c1) = degradations.lr_support(shape, scale, rows, cols)
        r0, r1 = min(r0, i * scale), max(r1, (i + lp) * scale)
        c0, c1 = min(c0, j * scale), max(c1, (j + lp) * scale)
        crop = self._crop(idx, r0, r1, c0, c1)
        window = degradations.bicubic_lr_window(crop, (r0, c0), shape, scale, rows, cols)
        y = crop[i * scale - r0:(i + lp) * scale - r0, j * scale - c0:(j + lp) * scale - c0] / np.float32(255)
        if self.upsampling == "post":
            return window / np.float32(255), y
        up = degradations.pre_upscale(window, scale)
        m = MARGIN * scale
        return up[m:m + lp * scale, m:m + lp * scale], y

    def _real_pair(self, own, idx, scale, i, j, m):
        lp = self.patch // scale
        side = lp + 2 * m
        window = self._crop(idx, i * scale, (i + side) * scale, j * scale, (j + side) * scale)
        lr = realdeg.degrade(own, window, scale, self.strength)
        x = lr[m:m + lp, m:m + lp] / np.float32(255)
        y = window[m * scale:(m + lp) * scale, m * scale:(m + lp) * scale] / np.float32(255)
        return x, y

    def _seed_pair(self, idx, i, j, factor, method):
        import cv2

        p = self.patch
        y = self._crop(idx, i, i + p, j, j + p).astype(np.float32) / 255
        small = max(2, int(round(p / factor)))
        flags = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA,
                 "lanczos": cv2.INTER_LANCZOS4}
        down = cv2.resize(y, (small, small), interpolation=cv2.INTER_AREA)
        return np.clip(cv2.resize(down, (p, p), interpolation=flags[method]), 0, 1), y

    def stream(self, start, lookahead=None):
        """Endless batches for steps start, start+1, ..., built ahead in threads."""
        if self._pool is None:
            step = start
            while True:
                yield self.batch(step)
                step += 1
        yield from self._ahead(self._pool, start, lookahead or max(4, 2 * self.workers))

    def _ahead(self, pool, start, lookahead):
        pending = collections.deque(pool.submit(self.batch, s) for s in range(start, start + lookahead))
        step = start + lookahead
        while True:
            yield pending.popleft().result()
            pending.append(pool.submit(self.batch, step))
            step += 1

    def patch_rates(self, workers=(1, 2, 4), seconds=1.5, start=1000):
        """{threads: patches per second} of this pipeline alone, batches built
        ahead as in training (the benchmark's check that it can feed a model)."""
        rates = {}
        for n in workers:
            with concurrent.futures.ThreadPoolExecutor(n) as pool:
                batches = self._ahead(pool, start, 2 * n)
                next(batches)  # the threads and caches warm
                t, built = time.perf_counter(), 0
                while built < 3 * n or time.perf_counter() - t < seconds:
                    next(batches)
                    built += 1
                rates[n] = built * (self.batch_size // self.shard[1]) / (time.perf_counter() - t)
                batches.close()
                pool.shutdown(cancel_futures=True)
        return rates
