"""Distillation (train.py --teacher): the loss term against a numpy
reference, its gradient (zero when the teacher is the student), the teacher's
output in the training targets, the checks on the teacher and the config and
checkpoint records that make a resume exact.
Also run under KERAS_BACKEND=jax by test_backends.py."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from conftest import TINY_TRAIN
from srkit import checkpoints, distill, losses, models
from srkit.errors import SRError

ARGS = {"scale": 2, "blocks": 1, "filters": 8}


def _model(seed):
    keras.utils.set_random_seed(seed)
    model = models.build("FAST", **ARGS)
    rng = np.random.default_rng(seed)  # a fresh FAST is its anchor: give its upsampler weights
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((2, 6, 7, 3), dtype=np.float32), rng.random((2, 12, 14, 3), dtype=np.float32)


def test_the_loss_adds_the_weighted_l1_to_the_teacher():
    rng = np.random.default_rng(1)
    hr, taught, pred = (rng.random((3, 4, 5, 3), dtype=np.float32) for _ in range(3))
    loss = distill.distilled(losses.l1, 0.7)
    got = keras.ops.convert_to_numpy(loss(np.concatenate([hr, taught], -1), pred))
    ref = np.abs(hr - pred).mean(axis=(1, 2, 3)) + 0.7 * np.abs(taught - pred).mean(axis=(1, 2, 3))
    assert got.shape == (3,) and np.max(np.abs(got - ref)) < 1e-6
    same = keras.ops.convert_to_numpy(loss(np.concatenate([hr, pred], -1), pred))
    assert np.max(np.abs(same - np.abs(hr - pred).mean(axis=(1, 2, 3)))) < 1e-6


def _one_sgd_step(teacher, weight, seed=2):
    """A student's weights after one SGD step on the distilled loss, and
    the loss it reported, with targets as TeacherSampler makes them."""
    student = _model(seed)
    student.compile(optimizer=keras.optimizers.SGD(0.5), loss=distill.distilled(losses.l1, weight))
    lr, hr = _batch()
    _, target = distill.TeacherSampler(None, teacher)._with_teacher((lr, hr))
    before = student.predict_on_batch(lr)
    loss = float(np.asarray(student.train_on_batch(lr, target)))
    return student.get_weights(), loss, before, hr, target


def test_a_teacher_equal_to_the_student_adds_no_gradient_and_another_one_does():
    plain = _model(2)
    plain.compile(optimizer=keras.optimizers.SGD(0.5), loss=losses.l1)
    lr, hr = _batch()
    plain_loss = float(np.asarray(plain.train_on_batch(lr, hr)))
    same, same_loss, _, _, _ = _one_sgd_step(_model(2), 3.0)  # the teacher is a copy of the student
    assert same_loss == pytest.approx(plain_loss, abs=1e-6)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(same, plain.get_weights())) < 1e-6
    other, other_loss, pred, hr, target = _one_sgd_step(_model(5), 3.0)
    expected = np.abs(pred - hr).mean() + 3.0 * np.abs(pred - target[..., 3:]).mean()
    assert other_loss == pytest.approx(expected, rel=1e-5) and other_loss > plain_loss + 1e-3
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(other, plain.get_weights())) > 1e-4


def _teacher_file(path, name="FAST", args=ARGS, scale=2):
    model = _model(7) if name == "FAST" else models.build(name, **args)
    checkpoints.save(path, model, name, args, scale, {"step": 0})
    return model


def test_the_teacher_must_take_the_students_input(tmp_path):
    _teacher_file(tmp_path / "post.h5")
    assert distill.check_teacher(tmp_path / "post.h5", "post", (2,)).model == "FAST"
    with pytest.raises(SRError, match="trained for x2, not x3"):
        distill.check_teacher(tmp_path / "post.h5", "post", (3,))
    with pytest.raises(SRError, match="pre-upsampling one"):
        distill.check_teacher(tmp_path / "post.h5", "pre", (2,))
    with pytest.raises(SRError, match="one scale at a time"):
        distill.check_teacher(tmp_path / "post.h5", "post", (2, 3))
    record = distill.record(tmp_path / "post.h5", checkpoints.read_info(tmp_path / "post.h5"))
    distill.check_unchanged(tmp_path / "post.h5", record)
    _teacher_file(tmp_path / "post.h5", args={**ARGS, "filters": 4})  # another model under the same name
    with pytest.raises(SRError, match="changed since this run started"):
        distill.check_unchanged(tmp_path / "post.h5", record)


def test_a_teacher_given_int8_ranges_is_still_the_same_teacher(tmp_path):
    from PIL import Image

    from conftest import random_image
    from srkit import quantize

    calib = tmp_path / "calib"
    calib.mkdir()
    Image.fromarray(random_image(200, 200)).save(calib / "c.png")
    _teacher_file(tmp_path / "t.h5")
    record = distill.record(tmp_path / "t.h5", checkpoints.read_info(tmp_path / "t.h5"))
    quantize.calibrate_checkpoint(tmp_path / "t.h5", tmp_path / "t.h5", folders=[calib])  # in place, as shipped
    distill.check_unchanged(tmp_path / "t.h5", record)  # the same weights: accepted
    quantize.calibrate_checkpoint(tmp_path / "t.h5", tmp_path / "t.h5", folders=[calib])  # from the ranged file
    with pytest.raises(SRError, match="changed since this run started"):  # its record names the first, not the run's
        distill.check_unchanged(tmp_path / "t.h5", record)


def test_a_run_trains_on_the_teachers_output_and_records_it(data, tmp_path):
    from srkit import trainconfig, training
    from srkit.cli.train import parser

    teacher = _teacher_file(tmp_path / "teacher.h5")
    tiny = [a if a != "VDSR" else "FAST" for a in TINY_TRAIN]
    argv = [*tiny, "--data", data / "train", "--data-root", data, "--val-data", "Val", "--steps", "2", "--no-val",
            "--run-dir", tmp_path / "run", "--teacher", tmp_path / "teacher.h5", "--distill-weight", "0.5"]
    cfg = trainconfig.from_args(parser().parse_args(list(map(str, argv))), {"blocks": 1, "filters": 8})
    assert (cfg.teacher, cfg.distill_weight) == (str(tmp_path / "teacher.h5"), 0.5)
    trainer = training.Trainer(cfg)
    lr, target = trainer.sampler.batch(0)
    assert target.shape[-1] == 6
    np.testing.assert_allclose(target[..., 3:], teacher.predict_on_batch(lr), atol=1e-6)
    assert trainer.run() == 0
    meta = checkpoints.read_info(tmp_path / "run" / "last.h5").metadata
    assert meta["config"]["teacher"] == cfg.teacher and meta["config"]["distill_weight"] == 0.5
    assert meta["state"]["teacher"]["sha256"] == distill.record(cfg.teacher, checkpoints.read_info(cfg.teacher))["sha256"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["teacher"] == cfg.teacher
    from srkit import trainrun
    assert trainrun.export(tmp_path / "run", tmp_path / "out.h5", "last") == 0
    card = json.loads((tmp_path / "out.json").read_text())
    assert card["distilled_from"]["sha256"] == meta["state"]["teacher"]["sha256"] and card["distilled_from"]["weight"] == 0.5
    resumed = trainconfig.from_args(parser().parse_args(["--resume", str(tmp_path / "run"), "--steps", "3"]), {})
    assert (resumed.teacher, resumed.distill_weight) == (cfg.teacher, 0.5)
    with pytest.raises(SRError, match="--teacher is fixed for a run"):
        trainconfig.from_args(parser().parse_args(["--resume", str(tmp_path / "run"), "--teacher", "x.h5"]), {})
    with pytest.raises(SRError, match="must be positive"):
        dataclasses.replace(cfg, distill_weight=0.0).validate()
