"""Calibration data for the int8-static export: training images only, found
through $SRKIT_CALIBRATION_DATA or train/ under the data root; never a
benchmark set, and a clear error where none is found."""

import pytest

from srkit import calibration
from srkit.errors import SRError


def test_calibration_comes_from_training_images_never_the_benchmarks(tmp_path, monkeypatch, data):
    monkeypatch.delenv(calibration.CALIBRATION_ENV, raising=False)
    bench_only = tmp_path / "root"
    (bench_only / "Set5").mkdir(parents=True)
    monkeypatch.setenv("SR_DATA_ROOT", str(bench_only))
    monkeypatch.setattr("srkit.trainconfig.TrainConfig.data", (str(tmp_path / "no_div2k"),))
    with pytest.raises(SRError, match="no training images found for int8 calibration"):
        calibration.training_folders()
    (bench_only / "train").symlink_to(data / "train")
    assert calibration.training_folders() == [bench_only / "train"]
    monkeypatch.setenv(calibration.CALIBRATION_ENV, str(data / "train"))
    patches = calibration.calibration_patches(2, "pre", count=3, side=12)
    assert [p.shape for p in patches] == [(1, 24, 24, 3)] * 3  # pre-upsampling: the enlarged LR
    assert all(0 <= p.min() and p.max() <= 1.2 for p in patches)
