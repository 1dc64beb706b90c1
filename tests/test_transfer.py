"""--init-from's weight transfer between related models (srkit.transfer); the
end-to-end x2 -> x3 fine-tuning is in test_training.py."""

import numpy as np
import pytest

from srkit import models
from srkit.errors import SRError
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


def test_only_scale_kernels_form_and_residual_blocks_may_differ_from_the_source():
    assert fixed_args("FAST", {"scale": 2, "filters": 64}) == fixed_args("FAST", {"scale": 4, "filters": 64})
    assert fixed_args("SRCNN", {"kernels": [9, 1, 5]}) == fixed_args("SRCNN", {"kernels": [9, 5, 5]})
    assert fixed_args("FAST", {"scale": 2, "filters": 64}) != fixed_args("FAST", {"scale": 2, "filters": 32})


def test_added_residual_blocks_start_as_the_identity():
    """BALANCED 2 -> 3 blocks: the new block's last conv starts at zero, so the
    deeper model computes the trained shallower one's output exactly, while its
    first conv starts random so that gradients reach it once the last moves."""
    rng = np.random.default_rng(0)
    shallow = models.build("BALANCED", scale=2, filters=8, blocks=2)
    shallow.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in shallow.get_weights()])
    deep = models.build("BALANCED", scale=2, filters=8, blocks=3)
    assert transfer_layers(shallow, deep) == (["block2_conv1", "block2_conv2"], [])
    x = rng.random((1, 10, 12, 3)).astype("float32")
    np.testing.assert_array_equal(shallow.predict(x, verbose=0), deep.predict(x, verbose=0))
    assert not np.any(deep.get_layer("block2_conv2").get_weights()[0])
    assert np.any(deep.get_layer("block2_conv1").get_weights()[0])


def test_blocks_may_be_added_only_to_residual_models_and_never_removed():
    deep = models.build("BALANCED", scale=2, filters=8, blocks=3)
    shallow = models.build("BALANCED", scale=2, filters=8, blocks=2)
    with pytest.raises(SRError, match="added, not removed"):
        transfer_layers(deep, shallow)
    with pytest.raises(SRError, match="not residual"):
        transfer_layers(models.build("SMALL", filters=4, blocks=1), models.build("SMALL", filters=4, blocks=2))
    assert fixed_args("BALANCED", {"scale": 2, "blocks": 16}) == fixed_args("BALANCED", {"scale": 2, "blocks": 24})
    assert fixed_args("SMALL", {"blocks": 1}) != fixed_args("SMALL", {"blocks": 2})


def test_a_plain_model_and_its_multi_branch_form_start_from_each_other_exactly():
    """FAST 2 blocks (plain) -> FAST 3 blocks trained multi-branch: every conv
    unfolds into its RepConv3x3 and the new block adds nothing, so the output
    is unchanged; and back from the multi-branch form to a plain model, by
    folding."""
    from srkit.reparam import RepConv3x3

    rng = np.random.default_rng(1)
    plain = models.build("FAST", scale=2, filters=8, blocks=2)
    plain.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in plain.get_weights()])
    multi = models.build("FAST", scale=2, filters=8, blocks=3, reparam=True)
    assert transfer_layers(plain, multi) == (["block2_conv1", "block2_conv2"], [])
    assert fixed_args("FAST", {"scale": 2, "reparam": True}) == fixed_args("FAST", {"scale": 2})
    x = rng.random((1, 11, 9, 3)).astype("float32")
    np.testing.assert_allclose(multi.predict(x, verbose=0), plain.predict(x, verbose=0), atol=1e-5)
    layer = multi.get_layer("block2_conv2")
    assert isinstance(layer, RepConv3x3) and not np.any(layer.folded_weights()[0])
    # its 3x3 branch is not all zero: the pass-through parts of the expansion and the squeeze get gradients
    assert np.any(layer.get_weights()[2]) and np.any(layer.get_weights()[0]) and np.any(layer.get_weights()[4])
    back = models.build("FAST", scale=2, filters=8, blocks=3)
    transfer_layers(multi, back)
    np.testing.assert_allclose(back.predict(x, verbose=0), multi.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("gain,cin,filters", [(2, 4, 6), (3, 5, 5)])
def test_unfolding_a_plain_conv_is_exact_and_folds_back(gain, cin, filters):
    from srkit.reparam import RepConv3x3

    rng = np.random.default_rng(2)
    kernel, bias = rng.normal(0, 0.3, (3, 3, cin, filters)).astype("float32"), rng.normal(0, 0.3, filters)
    layer = RepConv3x3(filters, gain)
    layer.build((None, None, None, cin))
    layer.set_weights(layer.unfolded_weights(kernel, bias.astype("float32")))
    folded_kernel, folded_bias = layer.folded_weights()
    np.testing.assert_allclose(folded_kernel, kernel, atol=1e-6)
    np.testing.assert_allclose(folded_bias, bias, atol=1e-6)
