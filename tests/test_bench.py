"""The benchmark measures real training steps of v2 and v1 configurations."""
import pytest

from starganlib import bench
from starganlib.v1.config import preset as v1_preset
from tests.conftest import tiny_v2_config


@pytest.fixture
def tiny_configs(monkeypatch):
    monkeypatch.setitem(bench.CONFIGS, "tiny-v2", lambda: ("v2", tiny_v2_config()))
    monkeypatch.setitem(bench.CONFIGS, "tiny-v2-bf16",
                        lambda: ("v2", tiny_v2_config(precision="bf16")))
    monkeypatch.setitem(bench.CONFIGS, "tiny-v1", lambda: ("v1", v1_preset(
        "toy-v1", image_size=16, g_conv_dim=4, d_conv_dim=4, g_repeat_num=1, d_repeat_num=2,
        batch_size=2)))


@pytest.mark.parametrize("name", ["tiny-v2", "tiny-v2-bf16", "tiny-v1"])
def test_measure_times_training_steps(tiny_configs, name):
    row = bench.measure(name, iters=2, warmup=1, device="cpu")
    assert row["config"] == name and row["batch"] == 2 and row["img_size"] == 16
    assert 0 < row["min"] <= row["sec_per_iter"] <= row["max"]
    assert row["peak_mb"] > 0


def test_speedup_compares_a_bf16_or_compile_row_with_its_plain_twin():
    rows = {"a": {"config": "a", "sec_per_iter": 3.0}, "a-bf16": {"config": "a-bf16", "sec_per_iter": 2.0}}
    assert bench.speedup(rows["a-bf16"], rows) == "x1.50"
    assert bench.speedup(rows["a"], rows) == ""
    assert bench.speedup({"config": "b-bf16", "sec_per_iter": 1.0}, rows) == ""
    rows["a-compile"] = {"config": "a-compile", "sec_per_iter": 1.5}
    assert bench.speedup(rows["a-compile"], rows) == "x2.00"


def test_unknown_config_is_refused():
    with pytest.raises(ValueError, match="unknown benchmark config 'nope'"):
        bench.run(["nope"], 1, 0, "cpu")
