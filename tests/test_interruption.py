"""Interruption and numerical faults: nothing is lost, resume is exact."""
import signal
import subprocess
import sys
import time

import pytest
import torch

from starganlib.checkpoint import CheckpointManager, load_checkpoint
from starganlib.v2 import losses
from starganlib.v2.run import train
from tests.conftest import tiny_v2_config

CHILD = """
import sys, time
from starganlib.v2.train import V2Trainer
from starganlib.v2.run import train
from tests.conftest import tiny_v2_config
step = V2Trainer.train_step
def slow_step(self, batch):  # slow enough for the parent to interrupt mid-run; math unchanged
    time.sleep(0.15)
    return step(self, batch)
V2Trainer.train_step = slow_step
train(tiny_v2_config(dataset=sys.argv[1], total_iters=40, save_every=100), sys.argv[2],
      progress=False)
"""


def _same_state(a, b):
    for group in ("nets", "nets_ema"):
        for net in a[group]:
            for k in a[group][net]:
                assert torch.equal(a[group][net][k], b[group][net][k]), f"{group}.{net}.{k}"


def test_sigint_saves_at_a_step_boundary_and_resume_equals_uninterrupted(tmp_path, tiny_dataset):
    interrupted = tmp_path / "interrupted"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tiny_dataset), str(interrupted)],
                             stderr=subprocess.PIPE, text=True)
    log = interrupted / "losses.csv"
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 4):
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0 and "continue with --resume" in err
    stopped_at = load_checkpoint(CheckpointManager(interrupted).latest())["step"]
    assert 3 <= stopped_at < 40
    cfg = tiny_v2_config(dataset=str(tiny_dataset), total_iters=40, save_every=100)
    train(cfg, interrupted, resume=True, progress=False)
    train(cfg, tmp_path / "straight", progress=False)
    _same_state(load_checkpoint(CheckpointManager(interrupted).latest()),
                load_checkpoint(CheckpointManager(tmp_path / "straight").latest()))
    assert (interrupted / "losses.csv").read_text() == (tmp_path / "straight" / "losses.csv").read_text()


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, tiny_dataset,
                                                                      monkeypatch):
    calls = {"n": 0}
    cycle = losses.cycle_loss

    def poisoned(x_rec, x_real):  # becomes NaN during step 4 (two G sub-steps per step)
        calls["n"] += 1
        value = cycle(x_rec, x_real)
        return value * float("nan") if calls["n"] > 6 else value

    monkeypatch.setattr(losses, "cycle_loss", poisoned)
    cfg = tiny_v2_config(dataset=str(tiny_dataset), total_iters=6, save_every=2)
    with pytest.raises(FloatingPointError, match=r"G/latent_cyc=nan.* at step 4.*ckpt_000002.pt"):
        train(cfg, tmp_path / "run", progress=False)
    manager = CheckpointManager(tmp_path / "run")
    assert manager.latest().name == "ckpt_000002.pt"
    state = load_checkpoint(manager.latest())
    assert all(torch.isfinite(v).all() for v in state["nets"]["generator"].values())
