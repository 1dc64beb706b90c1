"""The training configuration: defaults in one place, validation as one-line
errors, what a resume may change, config.json round trips, older stored
configs (the committed runs/, the shipped checkpoints) still read, and the
trainer never changes it."""

import dataclasses
import json

import pytest

from conftest import ROOT, TINY_TRAIN, save_tiny_checkpoint
from srkit import checkpoints, trainconfig
from srkit.cli.train import parser
from srkit.errors import SRError
from srkit.trainconfig import DEFAULT, RESUMABLE, TrainConfig

OLD_CONFIGS = sorted((ROOT / "runs").glob("*/config.json"))


def args(*argv):
    return parser().parse_args(list(map(str, argv)))


def fresh(data, *extra, model_args=None):
    base = [*TINY_TRAIN, "--data", data / "train", "--data-root", data, "--val-data", "Val"]
    return trainconfig.from_args(args(*base, *extra), {"depth": 3, "filters": 8} if model_args is None else model_args)


def test_defaults_are_the_dataclass_and_train_py_options_take_them():
    assert (DEFAULT.model, DEFAULT.steps, DEFAULT.lr, DEFAULT.patience) == ("VDSR", 10000, 1e-4, 5)
    assert DEFAULT.scale == (2,) and DEFAULT.val_degrade == ("clean",) and DEFAULT.rescale == ()
    assert DEFAULT.data[0].endswith("DIV2K_train_HR")
    a = args()
    for option, name in [("patch", "patch"), ("batch", "batch"), ("workers", "workers"), ("seed", "seed"),
                         ("loss", "loss"), ("schedule", "schedule"), ("min_lr", "min_lr"), ("ema", "ema"),
                         ("degradation", "degradation"), ("degradation_strength", "strength"),
                         ("clipnorm", "clipnorm"), ("warmup", "warmup"), ("decay_rate", "decay_rate")]:
        assert getattr(a, option) == getattr(DEFAULT, name), option
    assert a.scale == [2]
    # a resumable option has no parser default, so a resume can tell "given" from "not given"
    assert all(getattr(a, name, None) is None for name in RESUMABLE if name not in ("workers",))


def test_a_fresh_config_from_the_options(data):
    cfg = fresh(data, "--model", "vdsr", "--steps", "7", "--rescale", "0.9")
    assert cfg.model == "VDSR" and cfg.steps == 7 and cfg.rescale == (0.9,) and cfg.lr == 1e-3
    assert cfg.data == (str(data / "train"),) and cfg.data_root == str(data) and cfg.resume is None
    assert cfg.save_every_min == DEFAULT.save_every_min and cfg.val_degrade == ("clean",)
    post = fresh(data, "--model", "FAST", "--scale", "3", model_args={"blocks": 1})
    assert dict(post.model_args) == {"scale": 3, "blocks": 1}  # the scale is the builder's argument
    span = fresh(data, "--model", "SPAN", model_args={"blocks": 1})
    assert dict(span.model_args) == {"reparam": True, "scale": 2, "blocks": 1}  # trains in its multi-branch form
    assert fresh(data, "--no-val").val_data is None
    assert fresh(data, "--epochs", "3", "--steps-per-epoch", "4").steps == 12


def test_the_config_is_frozen():
    cfg = TrainConfig(model_args={"depth": 3}, data=["a", "b"], scale=[2, 3])
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 5
    with pytest.raises(TypeError):
        cfg.model_args["depth"] = 4
    assert cfg.data == ("a", "b") and cfg.scale == (2, 3) and cfg.checkpoint_scale == [2, 3]
    assert dataclasses.replace(cfg, steps=5).steps == 5 and cfg.steps == DEFAULT.steps


@pytest.mark.parametrize("extra,model_args,message", [
    (["--ema", "1.5"], None, "--ema 1.5: the decay must be in [0, 1)"),
    (["--val-degrade", "blurry"], None, "--val-degrade blurry: unknown (use clean, "),
    (["--val-data", "Nope"], None, "Nope: dataset folder does not exist"),
    (["--model", "EDSR9"], None, "unknown model 'EDSR9'"),
    (["--model", "FAST", "--scale", "2", "3"], {}, "FAST is a post-upsampling model: train one scale at a time"),
    (["--model", "FAST", "--scale", "2"], {"scale": 3}, "--model-args scale 3 differs from --scale 2"),
    (["--epochs", "3"], None, "give --steps, or both --epochs and --steps-per-epoch"),
    (["--steps", "3", "--epochs", "3", "--steps-per-epoch", "2"], None, "give --steps, or both"),
])
def test_validation_errors_are_one_line(data, extra, model_args, message):
    with pytest.raises(SRError) as exc:
        fresh(data, *extra, model_args=model_args)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_a_missing_data_folder_is_refused(data, tmp_path):
    with pytest.raises(SRError, match=f"{tmp_path / 'nope'}: training data folder does not exist"):
        fresh(data, "--data", tmp_path / "nope")
    with pytest.raises(SRError, match="training data folder does not exist"):
        TrainConfig(data=[str(tmp_path / "nope")], val_data=None).validate()


def test_config_json_round_trip(data):
    cfg = fresh(data, "--scale", "2", "3", "--rescale", "0.8", "0.9", "--val-degrade", "clean", "jpeg50")
    stored = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(stored) == cfg
    assert stored["scale"] == [2, 3] and stored["model_args"] == {"depth": 3, "filters": 8}


@pytest.mark.parametrize("path", OLD_CONFIGS, ids=lambda p: p.parent.name)
def test_every_committed_run_config_reads_back_with_its_keys_and_values(path):
    stored = json.loads(path.read_text())
    again = TrainConfig.from_dict(stored).to_dict()
    assert set(stored) <= set(again)  # keys may be added, none dropped
    for key, value in stored.items():
        expected = [value] if key == "data" and isinstance(value, str) else value  # before several --data
        assert again[key] == expected, key


def test_an_old_config_without_the_newer_keys_takes_what_such_a_run_did():
    old = json.loads((ROOT / "runs" / "SRCNN_x2" / "config.json").read_text())
    assert not {"ema", "rescale", "strength", "val_degrade"} & set(old) and isinstance(old["data"], str)
    cfg = TrainConfig.from_dict({**old, "a_key_from_a_newer_version": 1})
    assert (cfg.ema, cfg.rescale, cfg.strength, cfg.val_degrade) == (0.0, (), "medium", ("clean",))
    assert cfg.data == (old["data"],)


def _stored_run(tmp_path, data, config, name="run"):
    run = tmp_path / name
    run.mkdir()
    save_tiny_checkpoint(run / "last.h5", "VDSR", {"depth": 3, "filters": 8},
                         metadata={"step": 3, "best_psnr": None, "config": config})
    return run


def test_a_resume_takes_the_stored_config_and_only_the_resumable_options(data, tmp_path):
    stored = fresh(data, "--steps", "5", "--seed", "4").to_dict()
    run = _stored_run(tmp_path, data, stored)
    cfg = trainconfig.from_args(args("--resume", run, "--steps", "9", "--lr", "2e-4", "--batch", "16",
                                     "--seed", "1", "--patch", "32", "--scale", "3"), {"depth": 20})
    assert (cfg.steps, cfg.lr, cfg.resume) == (9, 2e-4, str(run))
    # not resumable: ignored, as before
    assert (cfg.batch, cfg.seed, cfg.patch, cfg.scale, dict(cfg.model_args)) == (4, 4, 24, (2,), stored["model_args"])
    assert TrainConfig.from_dict(stored).resumed({"batch": 99, "steps": None}) == TrainConfig.from_dict(stored)
    assert trainconfig.from_args(args("--resume", run, "--no-val"), {}).val_data is None
    assert trainconfig.from_args(args("--resume", run, "--precision", "mixed_bfloat16"), {}).precision == \
        "mixed_bfloat16"


def test_a_resume_refuses_what_it_cannot_change(data, tmp_path):
    run = _stored_run(tmp_path, data, fresh(data, "--ema", "0.5").to_dict())
    with pytest.raises(SRError, match="resume checkpoint is VDSR, not LARGE"):
        trainconfig.from_args(args("--resume", run, "--model", "LARGE"), {})
    with pytest.raises(SRError, match="--ema is fixed for a run .this one has 0.5."):
        trainconfig.from_args(args("--resume", run, "--ema", "0.9"), {})
    with pytest.raises(SRError, match="does not go with --resume"):
        trainconfig.from_args(args("--resume", run, "--force"), {})
    with pytest.raises(SRError, match="no last.h5 to resume from"):
        trainconfig.from_args(args("--resume", tmp_path), {})
    bare = tmp_path / "bare"
    bare.mkdir()
    save_tiny_checkpoint(bare / "last.h5")
    with pytest.raises(SRError, match="no training configuration stored; cannot resume"):
        trainconfig.from_args(args("--resume", bare), {})


def test_an_old_checkpoint_config_resumes(data, tmp_path):
    old = json.loads((ROOT / "runs" / "SRCNN_x2" / "config.json").read_text())
    old.update(model="VDSR", model_args={"depth": 3, "filters": 8}, data=str(data / "train"), data_root=str(data),
               val_data="Val")
    cfg = trainconfig.from_args(args("--resume", _stored_run(tmp_path, data, old), "--steps", "9"), {})
    assert cfg.steps == 9 and cfg.data == (str(data / "train"),) and cfg.ema == 0.0 and cfg.strength == "medium"


@pytest.mark.parametrize("path", sorted((ROOT / "weights").glob("*.h5")), ids=lambda p: p.name)
def test_every_shipped_checkpoint_config_reads_back(path):
    stored = checkpoints.read_info(path).metadata["config"]
    again = TrainConfig.from_dict(stored).to_dict()
    assert {k: again[k] for k in stored if k != "data"} == {k: v for k, v in stored.items() if k != "data"}


def test_the_trainer_never_changes_its_config_and_stores_it_whole(data, tmp_path):
    from srkit import training

    cfg = fresh(data, "--steps", "2", "--no-val", "--log-every", "0", "--run-dir", tmp_path / "run",
                "--model", "FAST", model_args={"blocks": 1, "filters": 8})
    before = cfg.to_dict()
    assert training.train(cfg) == 0
    assert cfg.to_dict() == before and before["model_args"] == {"scale": 2, "blocks": 1, "filters": 8}
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == before
    assert checkpoints.read_info(tmp_path / "run" / "last.h5").metadata["config"] == before
