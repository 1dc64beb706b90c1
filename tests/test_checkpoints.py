"""Checkpoint round trip and refusal of files that are not ours.
Also run under KERAS_BACKEND=jax by test_backends.py."""

import inspect
import json
import re

import h5py
import keras
import numpy as np
import pytest

from conftest import save_tiny_checkpoint
from srkit import checkpoints, models
from srkit.errors import SRError


@pytest.mark.parametrize("name,args", [("VDSR", {"depth": 4}), ("LARGE", {"filters": 8, "blocks": 2}),
                                       ("SMALL", {"filters": 8, "blocks": 2}), ("SRCNN", {}),
                                       ("FAST", {"filters": 8, "blocks": 1, "scale": 3})])
def test_round_trip_is_bit_identical(tmp_path, name, args):
    path = tmp_path / f"{name}_BEST.h5"
    model = save_tiny_checkpoint(path, name, args, scale=3, metadata={"step": 7, "best_psnr": 31.5})
    model.set_weights([w + 0.01 * np.arange(w.size).reshape(w.shape) % 1 for w in model.get_weights()])
    checkpoints.save(path, model, name, args, 3, {"step": 7, "best_psnr": 31.5})  # non-trivial weights
    again, info = checkpoints.load(path)
    assert (info.model, info.args, info.scales, info.metadata["step"]) == (name, args, [3], 7)
    x = np.random.default_rng(0).random((1, 15, 14, 3), dtype=np.float32)
    a = keras.ops.convert_to_numpy(model(x, training=False))
    b = keras.ops.convert_to_numpy(again(x, training=False))
    assert np.array_equal(a, b)
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write cleaned up


def test_optimizer_state_round_trip(tmp_path):
    model = models.build("SRCNN")
    state = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array(5, np.int64)]
    checkpoints.save(tmp_path / "c.h5", model, "SRCNN", {}, 2, {}, optimizer_variables=state)
    _, _, opt = checkpoints.load(tmp_path / "c.h5", with_optimizer=True)
    assert all(np.array_equal(a, b) for a, b in zip(opt, state))


def test_refuses_missing_and_non_hdf5(tmp_path):
    with pytest.raises(SRError, match="does not exist"):
        checkpoints.load(tmp_path / "nope.h5")
    text = tmp_path / "text.h5"
    text.write_text("hello, I am not a checkpoint\n")
    with pytest.raises(SRError, match="not an HDF5 file"):
        checkpoints.load(text)


def test_refuses_random_hdf5(tmp_path):
    path = tmp_path / "random.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(10)
    with pytest.raises(SRError, match="not an srkit checkpoint"):
        checkpoints.read_info(path)


def test_refuses_keras_file_with_lambda_layer(tmp_path):
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    path = tmp_path / "LARGE_BEST.h5"
    model.save(path)  # legacy Keras HDF5 with a marshalled lambda
    with pytest.raises(SRError, match="Keras model/weights file"):
        checkpoints.load(path)
    keras_zip = tmp_path / "lambda.keras"
    model.save(keras_zip)
    with pytest.raises(SRError, match="not an HDF5 file"):
        checkpoints.load(keras_zip)


def test_refuses_tampered_description(tmp_path):
    path = tmp_path / "c.h5"
    save_tiny_checkpoint(path)
    with h5py.File(path, "a") as f:
        f.attrs["description"] = '{"model": "os.system", "args": {}, "scale": 2, "metadata": {}}'
    with pytest.raises(SRError, match="unknown model 'os.system'"):
        checkpoints.load(path)
    with h5py.File(path, "a") as f:
        f.attrs["description"] = '{"model": "VDSR", "args": {"depth": 5}, "scale": 2, "metadata": {}}'
    with pytest.raises(SRError, match="weights do not fit"):
        checkpoints.load(path)
    with h5py.File(path, "a") as f:
        f.attrs["description"] = "not json"
    with pytest.raises(SRError, match="damaged"):
        checkpoints.read_info(path)


def test_a_full_disk_is_an_error_and_the_previous_checkpoint_survives(full_disk):
    # HDF5 writing to a full disk crashed the process (SIGSEGV) and left its temporary file behind
    path = full_disk.folder / "last.h5"
    model = save_tiny_checkpoint(path, metadata={"step": 1})
    full_disk.fill()
    with pytest.raises(SRError, match="last.h5: cannot write checkpoint .No space left on device"):
        checkpoints.save(path, model, "VDSR", {"depth": 3}, 2, {"step": 2}, optimizer_variables=model.weights)
    assert checkpoints.read_info(path).metadata["step"] == 1
    assert sorted(p.name for p in full_disk.folder.iterdir()) == [".filler", "last.h5"] or not full_disk.real


def _tamper(path, desc):
    with h5py.File(path, "a") as f:
        f.attrs["description"] = json.dumps({"args": {}, "scale": 2, "metadata": {}, **desc})


@pytest.mark.parametrize("desc,message", [
    ({"model": "VDSR", "args": {"depth": 200000}}, "imply 400000 weight arrays, the file holds 6"),
    ({"model": "VDSR", "args": {"depth": 3, "filters": -1}}, "argument filters: -1 is not a positive number"),
    ({"model": "VDSR", "args": {"depth": 3, "filters": 10**6}}, "filters: 1000000 is wider than any stored array"),
    ({"model": "VDSR", "args": {"depth": 3, "filters": "8"}}, "argument filters: '8' is not a positive number"),
    ({"model": "VDSR", "args": {"depth": 3, "size": 8}}, "bad arguments for model VDSR"),
    ({"model": "VDSR", "args": {"depth": 3}, "scale": "two"}, "stored scale 'two' is not a scale"),
    ({"model": "VDSR", "args": {"depth": 3}, "scale": 0}, "stored scale 0 is not a scale"),
    ({"model": "FAST", "args": {"scale": 3, "blocks": 1, "filters": 8}},
     "arguments say x3 but the checkpoint's scale is 2"),
    ({"model": "VDSR", "args": {"depth": 3}, "upsampling": "post"},
     "the description says post-upsampling, but VDSR is a pre-upsampling model"),
    ({"model": "VDSR", "args": {"depth": 3}, "upsampling": "sideways"}, "stored upsampling 'sideways' is not"),
])
def test_crafted_descriptions_are_refused_before_any_model_is_built(tmp_path, monkeypatch, desc, message):
    path = tmp_path / "crafted.h5"
    save_tiny_checkpoint(path)  # VDSR depth 3: six arrays
    _tamper(path, desc)

    def no_build(*args, **kwargs):
        raise AssertionError("a model was built")

    monkeypatch.setattr(models, "build", no_build)
    with pytest.raises(SRError, match=f"{path}: .*{re.escape(message)}"):
        checkpoints.load(path)


ARRAY_CASES = [
    ("SRCNN", {}), ("SRCNN", {"kernels": [9, 5, 5]}), ("VDSR", {"depth": 2}), ("VDSR", {"depth": 5}),
    ("SMALL", {"blocks": 0}), ("SMALL", {"blocks": 3}), ("LARGE", {"blocks": 2}),
    ("FAST", {"blocks": 2, "scale": 2}), ("FAST", {"blocks": 1, "scale": 3}), ("BALANCED", {"blocks": 3, "scale": 4}),
    ("FAST", {"blocks": 1, "scale": 4, "filters": 8, "reparam": True}),
    ("SPAN", {"blocks": 2, "filters": 8}), ("SPAN", {"blocks": 1, "filters": 8, "scale": 4, "reparam": True}),
    ("FAST", {"blocks": 2, "scale": 4, "filters": 8, "fake_quant": True}),
    ("BALANCED", {"blocks": 3, "scale": 2, "filters": 8, "fake_quant": True}),
]


@pytest.mark.parametrize("name,args", ARRAY_CASES)
def test_the_array_count_of_every_model_matches_a_real_build(name, args):
    builder = models.get_builder(name)
    bound = inspect.signature(builder).bind(**args)
    bound.apply_defaults()
    assert builder.arrays(**bound.arguments) == len(models.build(name, **args).weights)


def test_every_registered_model_has_an_array_count_test():
    assert {name for name, _ in ARRAY_CASES} == set(models.MODELS)


def test_a_damaged_checkpoint_in_the_weights_folder_does_not_break_the_others(tmp_path, capsys):
    save_tiny_checkpoint(tmp_path / "good_x2.h5")
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    assert [p.name for p, _ in checkpoints.find(tmp_path, "VDSR")] == ["good_x2.h5"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning: skipping" in err and "broken.h5: " in err


@pytest.mark.parametrize("name,args,upsampling", [("VDSR", {"depth": 3}, "pre"),
                                                  ("FAST", {"blocks": 1, "filters": 8}, "post")])
def test_the_description_names_the_upsampling(tmp_path, monkeypatch, name, args, upsampling):
    path = tmp_path / "c.h5"
    save_tiny_checkpoint(path, name, args)
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["description"])["upsampling"] == upsampling
    monkeypatch.setattr(checkpoints, "registry_upsampling", None)  # read from the file, not looked up
    assert checkpoints.read_info(path).upsampling == upsampling
    from srkit.inference import Upscaler

    assert Upscaler.from_checkpoint(path)[0].upsampling == upsampling


def test_a_checkpoint_from_before_the_upsampling_was_stored_gets_the_registry_s(tmp_path):
    path = tmp_path / "old.h5"
    save_tiny_checkpoint(path, "FAST", {"blocks": 1, "filters": 8})
    with h5py.File(path, "a") as f:
        desc = json.loads(f.attrs["description"])
        del desc["upsampling"]
        f.attrs["description"] = json.dumps(desc)
    info = checkpoints.read_info(path)
    assert info.stored_upsampling is None and info.upsampling == "post"
    assert checkpoints.load(path)[1].upsampling == "post"


def test_every_shipped_checkpoint_still_loads_and_reads_the_same():
    from conftest import ROOT

    for path in sorted((ROOT / "weights").glob("*.h5")):
        info = checkpoints.read_info(path)
        with h5py.File(path, "r") as f:
            stored = json.loads(f.attrs["description"])
        assert info.metadata == stored["metadata"] and info.upsampling == models.get_builder(info.model).upsampling
        model, loaded = checkpoints.load(path)
        assert loaded.metadata == info.metadata and len(model.weights) > 0
