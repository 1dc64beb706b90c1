"""network.py's table and the top-level re-exports."""

from conftest import run_script


def test_network_cli_prints_every_model_with_its_parameter_count():
    r = run_script("network.py")
    assert r.returncode == 0, r.stderr
    for row in ("| SRCNN | pre | 20,099 |", "| VDSR | pre | 668,227 |", "| SMALL | pre | 2,012,611 |",
                "| LARGE | pre | 7,091,075 |"):
        assert row in r.stdout


def test_network_module_exposes_registry():
    import network

    assert network.build("large", blocks=1, filters=4).count_params() > 0
    assert network.MODELS["VDSR"] is network.get_builder("vdsr")
