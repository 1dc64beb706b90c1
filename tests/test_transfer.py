"""--init-from's weight transfer between related models (srkit.transfer); the
end-to-end x2 -> x3 fine-tuning is in test_training.py."""

import numpy as np

from srkit import models
from srkit.transfer import fixed_args, transfer_layers


def test_grown_kernels_start_as_the_smaller_network():
    """SRCNN 9-1-5 -> 9-5-5 style growth: the old kernel sits at the centre
    of the new one, so the grown network computes the same function."""
    small = models.build("SRCNN", filters=[8, 4], kernels=[3, 1, 3], global_residual=True)
    rng = np.random.default_rng(0)
    small.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in small.get_weights()])
    big = models.build("SRCNN", filters=[8, 4], kernels=[3, 3, 5], global_residual=True)
    fresh, grown = transfer_layers(small, big)
    assert fresh == [] and grown == ["conv_2", "conv_out"]
    x = rng.uniform(0, 1, (1, 17, 13, 3)).astype("float32")
    np.testing.assert_allclose(big.predict(x, verbose=0), small.predict(x, verbose=0), atol=1e-5)
    kernel = big.get_layer("conv_2").get_weights()[0]
    assert np.abs(kernel[[0, 2]]).max() == 0 and np.abs(kernel[:, [0, 2]]).max() == 0
    # a kernel of other parity (or fewer taps) cannot be centred: the layer starts fresh
    even = models.build("SRCNN", filters=[8, 4], kernels=[3, 2, 3], global_residual=True)
    assert transfer_layers(small, even) == (["conv_2"], [])
    assert transfer_layers(big, small)[0] == ["conv_2", "conv_out"]


def test_only_scale_and_kernels_may_differ_from_the_source():
    assert fixed_args({"scale": 2, "filters": 64}) == fixed_args({"scale": 4, "filters": 64})
    assert fixed_args({"kernels": [9, 1, 5]}) == fixed_args({"kernels": [9, 5, 5]})
    assert fixed_args({"scale": 2, "filters": 64}) != fixed_args({"scale": 2, "filters": 32})
