"""Every numeric option of train.py, output.py and evaluate.py is
range-checked when parsed: a bad value is one SRError (one `error:` line from
run_cli), before any data is read, any model built or any folder made."""

import pytest

import evaluate as evaluate_script
import output as output_script
import train as train_script
from conftest import run_script
from srkit.errors import SRError

BAD_TRAIN = [("--batch", "0"), ("--batch", "-1"), ("--scale", "0"), ("--scale", "1"), ("--lr", "-1"),
             ("--steps", "0"), ("--patch", "0"), ("--workers", "-1"), ("--val-every", "0"), ("--minutes", "0"),
             ("--patience", "0"), ("--seed", "-1"), ("--clipnorm", "-1"), ("--lr", "nan"), ("--steps", "two"),
             ("--steps-per-execution", "0"), ("--save-every-min", "-1"), ("--decay-rate", "0")]


@pytest.mark.parametrize("option,value", BAD_TRAIN)
def test_train_refuses_out_of_range_values_before_making_a_run_folder(tmp_path, option, value):
    run = tmp_path / "run"
    with pytest.raises(SRError, match=f"argument {option}: '?{value}'? (is out of range|is not)"):
        train_script.main([option, value, "--data", str(tmp_path), "--run-dir", str(run)])
    assert not run.exists()


@pytest.mark.parametrize("option,value", [("--scale", "0"), ("--tile", "-5"), ("--tile-overlap", "-3"),
                                          ("--max-pixels", "0"), ("--max-pixels", "-1")])
def test_output_refuses_out_of_range_values(tmp_path, option, value):
    with pytest.raises(SRError, match=f"argument {option}: {value} is out of range"):
        output_script.main(["--input", str(tmp_path), "--output", str(tmp_path / "o"), option, value])
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option", ["--scales", "--showcase-scales"])
def test_evaluate_refuses_out_of_range_scales(option):
    with pytest.raises(SRError, match=f"argument {option}: 0 is out of range"):
        evaluate_script.main([option, "0"])


def test_boundaries_that_mean_something_are_accepted():
    a = train_script.parser().parse_args(["--lr", "0", "--log-every", "0", "--workers", "0", "--save-every-min", "0"])
    assert (a.lr, a.log_every, a.workers, a.save_every_min) == (0.0, 0, 0, 0.0)


@pytest.mark.slow
def test_the_cli_prints_one_line_and_no_usage(tmp_path):
    r = run_script("train.py", "--batch", "0", "--run-dir", tmp_path / "run")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == ["error: argument --batch: 0 is out of range (must be >= 1)"]
    assert not (tmp_path / "run").exists()


def test_an_uncaught_os_error_is_one_line_too(tmp_path, capsys):
    from srkit.errors import run_cli

    def main(argv):
        open(tmp_path / "missing" / "x.txt")

    with pytest.raises(SystemExit) as exit_info:
        run_cli(main)
    assert exit_info.value.code == 2
    missing = tmp_path / "missing" / "x.txt"
    assert capsys.readouterr().err.splitlines() == [f"error: {missing}: No such file or directory"]
