"""Training-speed benchmark: seconds per iteration (median after warm-up) and peak memory.

Each configuration runs in its own subprocess so that its peak memory is its own. Batches are
random tensors of the right shapes: the benchmark measures the training step, not the disk.
A ``-bf16`` configuration is its fp32 twin with bfloat16 autocast, a ``-compile`` one its twin
with a compiled generator; the table gives their speed-ups.
StarGAN v1 steps G every ``n_critic`` iterations, so its iterations are timed in whole cycles.
"""
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from .v1.config import preset as v1_preset
from .v1.data import LabelSource
from .v1.train import V1Trainer
from .v2.config import preset as v2_preset, scaled_toy
from .v2.train import V2Trainer

CONFIGS = {  # name -> (model, config)
    "toy": lambda: ("v2", v2_preset("toy")),
    "toy-bf16": lambda: ("v2", v2_preset("toy", precision="bf16")),
    "toy-compile": lambda: ("v2", v2_preset("toy", compile=True)),  # compiling is in the warm-up
    "custom-64": lambda: ("v2", scaled_toy(64)),  # the custom preset for a 64 px dataset
    "custom-128": lambda: ("v2", scaled_toy(128)),
    "afhq-64": lambda: ("v2", v2_preset("afhq", img_size=64)),
    "afhq-64-bf16": lambda: ("v2", v2_preset("afhq", img_size=64, precision="bf16")),
    "toy-v1": lambda: ("v1", v1_preset("toy-v1")),
    "toy-v1-bf16": lambda: ("v1", v1_preset("toy-v1", precision="bf16")),
    "v1-64": lambda: ("v1", v1_preset("celeba-paper", image_size=64, batch_size=8)),
    "v1-64-bf16": lambda: ("v1", v1_preset("celeba-paper", image_size=64, batch_size=8,
                                          precision="bf16")),
    "v1-128": lambda: ("v1", v1_preset("celeba-paper")),  # the paper setting: 128 px, batch 16
    "v1-128-bf16": lambda: ("v1", v1_preset("celeba-paper", precision="bf16")),
}


def random_batch(cfg, gen: torch.Generator) -> dict:
    """A StarGAN v2 training batch of random images, labels and latent codes."""
    n, s = cfg.batch_size, cfg.img_size

    def images():
        return torch.rand(n, 3, s, s, generator=gen) * 2 - 1

    def labels():
        return torch.randint(cfg.num_domains, (n,), generator=gen)

    return {"x_src": images(), "y_src": labels(), "x_ref": images(), "x_ref2": images(),
            "y_ref": labels(), "z_trg": torch.randn(n, cfg.latent_dim, generator=gen),
            "z_trg2": torch.randn(n, cfg.latent_dim, generator=gen)}


class RandomAttributes:
    """Stands in for an AttributeDataset: random images and attribute labels."""

    def __init__(self, cfg):
        self.size, self.k = cfg.image_size, len(cfg.selected_attrs)

    def random_batch(self, n: int, gen: torch.Generator):
        x = torch.rand(n, 3, self.size, self.size, generator=gen) * 2 - 1
        return x, torch.randint(2, (n, self.k), generator=gen).float()


def steps(model: str, cfg, device: str):
    """``(step, iterations per timed unit)``: one call of ``step()`` trains that many iterations."""
    if model == "v2":
        trainer, gen = V2Trainer(cfg, device), torch.Generator().manual_seed(0)
        return (lambda: trainer.train_step(random_batch(cfg, gen))), 1, trainer.device
    trainer = V1Trainer(cfg, device)
    sources = [LabelSource(RandomAttributes(cfg), True, slice(None), None, "")]

    def cycle():
        for _ in range(cfg.n_critic):
            trainer.train_step(sources)
    return cycle, cfg.n_critic, trainer.device


def measure(name: str, iters: int, warmup: int, device: str) -> dict:
    """Time ``iters`` units (v2: iterations; v1: n_critic cycles) of ``name`` after ``warmup``."""
    model, cfg = CONFIGS[name]()
    step, per_unit, dev = steps(model, cfg, device)
    times = []
    for i in range(warmup + iters):
        start = time.perf_counter()
        step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - start) / per_unit)
    if dev.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    size = cfg.img_size if model == "v2" else cfg.image_size
    return {"config": name, "img_size": size, "batch": cfg.batch_size,
            "sec_per_iter": statistics.median(times), "min": min(times), "max": max(times),
            "peak_mb": round(peak_mb), "threads": torch.get_num_threads(), "device": device}


def speedup(row: dict, rows: dict) -> str:
    """``x1.23`` for a ``-bf16`` or ``-compile`` row whose plain twin was measured in the same run."""
    base, _, mode = row["config"].rpartition("-")
    twin = rows.get(base)
    if mode not in ("bf16", "compile") or twin is None:
        return ""
    return f"x{twin['sec_per_iter'] / row['sec_per_iter']:.2f}"


def run(names: list[str], iters: int, warmup: int, device: str) -> list[dict]:
    """Benchmark each configuration in a fresh subprocess; print a table; return the rows."""
    rows = {}
    for name in names:
        if name not in CONFIGS:
            raise ValueError(f"unknown benchmark config {name!r}; choose from {', '.join(CONFIGS)}")
        out = subprocess.run(
            [sys.executable, "-m", "starganlib.bench", name, str(iters), str(warmup), device],
            check=True, capture_output=True, text=True).stdout
        rows[name] = json.loads(out.strip().splitlines()[-1])
    print(f"{'config':<13} {'px':>4} {'batch':>5} {'s/iter':>8} {'min':>7} {'max':>7} "
          f"{'peak MB':>8} {'threads':>7} {'vs twin':>7}")
    for r in rows.values():
        print(f"{r['config']:<13} {r['img_size']:>4} {r['batch']:>5} {r['sec_per_iter']:>8.3f} "
              f"{r['min']:>7.3f} {r['max']:>7.3f} {r['peak_mb']:>8} {r['threads']:>7} "
              f"{speedup(r, rows):>7}")
    return list(rows.values())


if __name__ == "__main__":  # one configuration, as a child of ``run``
    name, iters, warmup, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    print(json.dumps(measure(name, iters, warmup, device)))
