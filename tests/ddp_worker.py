"""Started by tests/test_distributed.py under torchrun (not a test itself): a few StarGAN v2
iterations, each process on its own batches, then every process saves its networks.

    torchrun --standalone --nproc_per_node 2 tests/ddp_worker.py CONFIG_JSON OUT_DIR STEPS
"""
import json
import sys
from pathlib import Path

import torch

from starganlib.data.folders import DomainFolder, TrainBatches
from starganlib.runtime.distributed import close, init_from_env
from starganlib.v2.config import V2Config
from starganlib.v2.nets import AVERAGED, TRAINED
from starganlib.v2.train import V2Trainer


def main(config_json: str, out_dir: str, steps: str) -> None:
    cfg = V2Config(**json.loads(Path(config_json).read_text()))
    world = init_from_env("cpu")
    trainer = V2Trainer(cfg, world=world)
    folder = DomainFolder(Path(cfg.dataset) / "train", cfg.img_size)
    batches = TrainBatches(folder, cfg.batch_size, cfg.latent_dim, cfg.seed, rank=world.rank)
    for step in range(int(steps)):
        trainer.train_step(batches[step])
    torch.save({"nets": {n: getattr(trainer.nets, n).state_dict() for n in TRAINED},
                "ema": {n: getattr(trainer.nets_ema, n).state_dict() for n in AVERAGED}},
               Path(out_dir) / f"rank{world.rank}.pt")
    close(world)


if __name__ == "__main__":
    main(*sys.argv[1:])
