"""The command line: help, and clear errors before any work starts."""
import subprocess
import sys

import pytest

from starganlib.__main__ import main
from starganlib.v2.config import V2Config, preset


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "starganlib", *args], capture_output=True,
                          text=True, timeout=120)


def test_help_lists_the_commands():
    out = run_cli("--help").stdout
    for command in ("data", "train", "sample", "translate", "eval", "bench"):
        assert command in out
    train_help = run_cli("train", "--help").stdout
    assert "--resume" in train_help and "--preset custom --dataset DIR" in train_help
    for kind in ("toyfaces", "prepare", "afhq", "celeba-hq", "celeba"):
        assert kind in run_cli("data", "--help").stdout
    assert "--val-fraction" in run_cli("data", "prepare", "--help").stdout
    assert "--attrs" in run_cli("translate", "--help").stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--preset", "nope"], "unknown preset 'nope'; choose one of afhq, celeba-hq, toy, "
                                    "custom"),
    (["train", "--preset", "custom"], "the custom preset needs a dataset folder (--dataset DIR)"),
    (["train", "--preset", "custom", "--dataset", "/nonexistent/photos"],
     "/nonexistent/photos/train does not exist"),
    (["train", "--img-size", "48"], "img_size must be a power of two >= 16, got 48"),
    (["train", "--img-size", "8"], "img_size must be a power of two >= 16, got 8"),
    (["train", "--batch-size", "1"], "batch_size must be >= 2, got 1"),
    (["train", "--dataset", "/nonexistent/afhq", "--num-domains", "3"], "/nonexistent/afhq/train does not exist"),
    (["train", "--model", "v1", "--preset", "toy"], "unknown v1 preset 'toy'"),
    (["train", "--model", "v1", "--preset", "toy-v1", "--iters", "0"], "num_iters must be >= 1"),
    (["train", "--model", "v1", "--iters", "0"], "num_iters must be >= 1"),  # default: toy-v1
    (["train", "--model", "v1", "--compile"], "--compile is for StarGAN v2 (--model v2)"),
    (["data", "imagenet"], "invalid choice: 'imagenet'"),
])
def test_bad_input_is_a_clear_error_before_any_work(args, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        main([*args, "--out", str(tmp_path / "run")] if args[0] == "train" else args)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="num_domains must be >= 2"):
        V2Config(num_domains=1)
    with pytest.raises(ValueError, match="precision must be 'fp32' or 'bf16'"):
        preset("toy", precision="fp16")
    with pytest.raises(ValueError, match="num_down=5 is too deep for img_size=32"):
        preset("toy", num_down=5)
    with pytest.raises(ValueError, match="total_iters must be >= 1"):
        preset("toy", total_iters=0)
