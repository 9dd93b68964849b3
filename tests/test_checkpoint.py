import os
import pickle
import signal
import subprocess
import sys
import time

import pytest
import torch

from starganlib.checkpoint import (CheckpointError, CheckpointManager, load_checkpoint,
                                   save_checkpoint)


def test_round_trip_with_plain_data(tmp_path):
    state = {"kind": "k", "step": 3, "w": torch.arange(4.0), "nested": {"betas": (0.0, 0.99)}}
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt", kind="k")
    assert loaded["step"] == 3 and torch.equal(loaded["w"], state["w"])
    assert loaded["nested"]["betas"] == (0.0, 0.99)


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"evil": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="evil.pt: refused"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "PWNED").exists()


def test_truncated_and_foreign_files_get_clear_errors(tmp_path):
    save_checkpoint(tmp_path / "good.pt", {"kind": "stargan-v2", "w": torch.ones(1000)})
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="text.pt"):
        load_checkpoint(tmp_path / "text.pt")
    with pytest.raises(CheckpointError, match="'stargan-v2' checkpoint, expected 'stargan-v1'"):
        load_checkpoint(tmp_path / "good.pt", kind="stargan-v1")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    with open(tmp_path / "list.pt", "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "list.pt")


def test_manager_keeps_the_newest_and_points_latest_at_it(tmp_path):
    manager = CheckpointManager(tmp_path, keep=2)
    for step in (1, 2, 3):
        manager.save(step, {"step": step})
    assert [p.name for p in manager.all()] == ["ckpt_000002.pt", "ckpt_000003.pt"]
    assert manager.latest().name == "ckpt_000003.pt"
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "ckpt_000003.pt"
    with pytest.raises(ValueError, match="keep"):
        CheckpointManager(tmp_path, keep=0)


WRITER = """
import sys, torch
from starganlib.checkpoint import CheckpointManager
m = CheckpointManager(sys.argv[1], keep=5)
big = torch.randn(40_000_000)  # 160 MB: a write takes long enough to be killed in the middle
step = 2
while True:
    print("writing", step, flush=True)
    m.save(step, {"step": step, "w": big})
    step += 1
"""


def test_sigkill_during_a_write_leaves_the_previous_checkpoint_loadable(tmp_path):
    manager = CheckpointManager(tmp_path, keep=5)
    manager.save(1, {"step": 1, "w": torch.ones(3)})
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().startswith("writing")
        time.sleep(0.3)  # inside the first large write
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    latest = manager.latest()
    state = load_checkpoint(latest)  # whatever `latest` names is complete
    assert state["step"] >= 1
    for path in manager.all():
        load_checkpoint(path)  # and no half-written checkpoint file exists under a final name
