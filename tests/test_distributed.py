"""Data-parallel training under torchrun: two CPU processes with Gloo."""
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from starganlib.data.folders import DomainFolder, TrainBatches
from starganlib.v2.nets import AVERAGED, TRAINED
from starganlib.v2.train import V2Trainer

from .conftest import tiny_v2_config, write_domain_folder

ROOT = Path(__file__).resolve().parents[1]


def torchrun(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture
def tiny_run(tmp_path):
    data = write_domain_folder(tmp_path / "ds", per_domain=4)
    cfg = tiny_v2_config(dataset=str(data))
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    return cfg, tmp_path


def test_two_processes_hold_identical_weights_equal_to_one_process_on_both_batches(tiny_run):
    cfg, tmp = tiny_run
    steps = 2
    torchrun("tests/ddp_worker.py", tmp / "cfg.json", tmp, steps)
    ranks = [torch.load(tmp / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for n in TRAINED:
        for key, value in ranks[0]["nets"][n].items():
            assert torch.equal(value, ranks[1]["nets"][n][key]), f"{n}.{key} differs between ranks"

    # The same semantics in one process: every step sees both ranks' batches at once (all losses
    # are per-sample means, so averaging the two ranks' gradients is the gradient on the union).
    single = V2Trainer(cfg)
    folder = DomainFolder(Path(cfg.dataset) / "train", cfg.img_size)
    per_rank = [TrainBatches(folder, cfg.batch_size, cfg.latent_dim, cfg.seed, rank=r) for r in (0, 1)]
    for step in range(steps):
        batches = [b[step] for b in per_rank]
        single.train_step({k: torch.cat([b[k] for b in batches]) for k in batches[0]})
    differ = {f"{n}.{key}" for n in TRAINED for key, value in getattr(single.nets, n).state_dict().items()
              if not torch.allclose(ranks[0]["nets"][n][key], value, rtol=1e-4, atol=1e-5)}
    # Only the biases of G's convolutions that feed an instance norm may differ: the norm removes
    # them, so their true gradient is 0 and Adam turns round-off noise into steps of size lr.
    assert all(re.fullmatch(r"generator\.(from_rgb|(en|de)code\.\d\.conv\d)\.bias", k)
               for k in differ), sorted(differ)
    for n in AVERAGED:  # rank 0 keeps the EMA networks
        for key, value in getattr(single.nets_ema, n).state_dict().items():
            torch.testing.assert_close(ranks[0]["ema"][n][key], value, rtol=1e-4, atol=1e-5)

    alone = V2Trainer(cfg)  # rank 0's batches alone give other weights: rank 1's data counted
    for step in range(steps):
        alone.train_step(per_rank[0][step])
    assert not torch.allclose(alone.nets.generator.to_rgb[-1].weight,
                              single.nets.generator.to_rgb[-1].weight)


def test_the_cli_trains_and_resumes_under_torchrun_with_rank_0_writing(tiny_run):
    cfg, tmp = tiny_run
    run_dir = tmp / "run"
    train = ["-m", "starganlib", "train", "--preset", "toy", "--dataset", cfg.dataset,
             "--num-domains", "2", "--img-size", "16", "--batch-size", "2", "--device", "cpu",
             "--out", run_dir]
    torchrun(*train, "--iters", 2)
    assert [p.name for p in (run_dir / "checkpoints").glob("*.pt")] == ["ckpt_000002.pt"]
    assert len((run_dir / "losses.csv").read_text().splitlines()) == 1 + 2  # rank 0 logs once
    torchrun(*train, "--iters", 3, "--resume")
    saved = torch.load(run_dir / "checkpoints" / "ckpt_000003.pt", weights_only=True)
    assert saved["step"] == 3
    assert len((run_dir / "losses.csv").read_text().splitlines()) == 1 + 3
