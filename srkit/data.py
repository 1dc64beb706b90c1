"""Training data: images decoded once and kept in memory, random aligned
(input, target) patch batches streamed from them.

Every batch is a pure function of (seed, step), so a resumed run sees exactly
the batches an uninterrupted one would, and batches can be built ahead in
worker threads without touching any shared random state. A worker of a
multi-worker job builds only its share of each global batch (``shard``): the
random draws of every patch are made, the pixels only of its own.
"""

import concurrent.futures
import sys

import numpy as np

from . import degradations, realdeg
from .errors import SRError
from .io import list_images, load_image

# Border kept around each LR image so a pre-upscaled patch equals the same
# crop of the whole pre-upscaled image (the bicubic kernel reaches 2 LR pixels).
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
    """

    def __init__(self, folder, scales=(2,), patch=64, batch=8, upsampling="pre", degradation="bicubic",
                 seed=0, augment=True, workers=2, log=None, rescale=(), strength="medium", shard=(0, 1)):
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
        self.images, self.lr = [], {s: [] for s in self.scales}
        self._pool = concurrent.futures.ThreadPoolExecutor(max(1, workers)) if workers else None
        folders = [folder] if isinstance(folder, (str, bytes)) or not hasattr(folder, "__iter__") else list(folder)
        files = [f for d in folders for f in list_images(d, recursive=True)]
        # Decoding, shrinking and degrading dominate start-up (minutes with
        # --rescale); numpy and Pillow release the GIL, so threads help, and
        # map() keeps file order so the set does not depend on timing.
        prepared = (self._pool.map(self._prepare, files) if self._pool else map(self._prepare, files))
        skipped = copies = pixels = 0
        for warning, entries in prepared:
            if warning:
                self.log(f"warning: skipping {warning}")
                skipped += 1
                continue
            pixels += entries[0][0].shape[0] * entries[0][0].shape[1]
            copies += len(entries) - 1
            for img, lrs in entries:
                self.images.append(img)
                for s, lr in lrs.items():
                    self.lr[s].append(lr)
        if not self.images:
            raise SRError(f"{', '.join(map(str, folders))}: no usable training image ({len(files)} found, "
                          f"{skipped} skipped)")
        path = str(folders[0]) if len(folders) == 1 else [str(d) for d in folders]
        self.description = {"path": path, "images": len(self.images) - copies, "skipped": skipped,
                            "pixels": int(pixels)}
        if self.rescale:
            self.description.update(rescale=self.rescale, rescaled_copies=copies)

    def _prepare(self, path):
        """(warning, [(image, {scale: padded LR})...]) for one file: the image
        first, then its shrunk copies (those too small for a patch left out)."""
        try:
            img = load_image(path)
        except SRError as exc:
            return str(exc), None
        if min(img.shape[:2]) < self.patch:
            return f"{path}: {img.shape[1]}x{img.shape[0]} is smaller than a {self.patch} patch", None
        img = np.repeat(img[..., None], 3, 2) if img.ndim == 2 else img
        shrunk = (degradations.imresize(img, f) for f in self.rescale)
        return None, [(im, self._lr(im)) for im in [img, *shrunk] if min(im.shape[:2]) >= self.patch]

    def _lr(self, img):
        """{scale: LR with a MARGIN border}; none for 'seed', which degrades per patch."""
        if self.degradation != "bicubic":
            return {}
        pad = ((MARGIN, MARGIN), (MARGIN, MARGIN), (0, 0))
        return {s: np.pad(degradations.bicubic_lr(img, s), pad, "symmetric") for s in self.scales}

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
        idx = int(rng.integers(len(self.images)))
        if self.degradation == "seed":
            p, (h, w) = self.patch, self.images[idx].shape[:2]
            draws = (int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1)), rng.uniform(2.0, 4.0),
                     SEED_INTERPOLATIONS[rng.integers(len(SEED_INTERPOLATIONS))])
        elif self.degradation == "real":
            lp, hr = self.patch // scale, self.images[idx]
            h, w = hr.shape[0] // scale, hr.shape[1] // scale  # LR-pixel grid of the image
            m = max(0, min(REAL_MARGIN, (min(h, w) - lp) // 2))
            side = lp + 2 * m
            draws = (int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1)), m)
        else:
            lp, lr = self.patch // scale, self.lr[scale][idx]
            h, w = lr.shape[0] - 2 * MARGIN, lr.shape[1] - 2 * MARGIN
            draws = (int(rng.integers(h - lp + 1)), int(rng.integers(w - lp + 1)))
        k = int(rng.integers(8)) if self.augment else 0
        return idx, scale, where, draws, k

    def _pair(self, idx, scale, where, draws, k):
        """The (input, target) patch a plan describes."""
        if self.degradation == "seed":
            x, y = self._seed_pair(self.images[idx], *draws)
        elif self.degradation == "real":
            # its own generator per patch: the number of draws a degradation takes varies
            x, y = self._real_pair(np.random.default_rng([self.seed, *where, 1]), self.images[idx], scale, *draws)
        else:
            x, y = self._bicubic_pair(idx, scale, *draws)
        if k:
            x, y = dihedral(x, k), dihedral(y, k)
        return np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.float32)

    def _bicubic_pair(self, idx, scale, i, j):
        lp = self.patch // scale  # LR patch side; HR patch is lp * scale
        lr = self.lr[scale][idx]
        y = self.images[idx][i * scale:(i + lp) * scale, j * scale:(j + lp) * scale] / np.float32(255)
        if self.upsampling == "post":
            return lr[i + MARGIN:i + MARGIN + lp, j + MARGIN:j + MARGIN + lp] / np.float32(255), y
        window = lr[i:i + lp + 2 * MARGIN, j:j + lp + 2 * MARGIN]
        up = degradations.pre_upscale(window, scale)
        m = MARGIN * scale
        return up[m:m + lp * scale, m:m + lp * scale], y

    def _real_pair(self, own, hr_img, scale, i, j, m):
        lp = self.patch // scale
        side = lp + 2 * m
        window = hr_img[i * scale:(i + side) * scale, j * scale:(j + side) * scale]
        lr = realdeg.degrade(own, window, scale, self.strength)
        x = lr[m:m + lp, m:m + lp] / np.float32(255)
        y = window[m * scale:(m + lp) * scale, m * scale:(m + lp) * scale] / np.float32(255)
        return x, y

    def _seed_pair(self, hr_img, i, j, factor, method):
        import cv2

        p = self.patch
        y = hr_img[i:i + p, j:j + p].astype(np.float32) / 255
        small = max(2, int(round(p / factor)))
        flags = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA,
                 "lanczos": cv2.INTER_LANCZOS4}
        down = cv2.resize(y, (small, small), interpolation=cv2.INTER_AREA)
        return np.clip(cv2.resize(down, (p, p), interpolation=flags[method]), 0, 1), y

    def stream(self, start, lookahead=4):
        """Endless batches for steps start, start+1, ..., built ahead in threads."""
        if self._pool is None:
            step = start
            while True:
                yield self.batch(step)
                step += 1
        pending = [self._pool.submit(self.batch, s) for s in range(start, start + lookahead)]
        step = start + lookahead
        while True:
            yield pending.pop(0).result()
            pending.append(self._pool.submit(self.batch, step))
            step += 1
