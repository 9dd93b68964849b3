"""Training-speed benchmark: seconds per iteration (median after warm-up) and peak memory.

Each configuration runs in its own subprocess so that its peak memory is its own. Batches are
random tensors of the right shapes: the benchmark measures the training step, not the disk.
"""
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from .v2.config import preset
from .v2.train import V2Trainer

CONFIGS = {
    "toy": lambda: preset("toy"),
    "afhq-64": lambda: preset("afhq", img_size=64),
}


def random_batch(cfg, gen: torch.Generator) -> dict:
    n, s = cfg.batch_size, cfg.img_size

    def images():
        return torch.rand(n, 3, s, s, generator=gen) * 2 - 1

    def labels():
        return torch.randint(cfg.num_domains, (n,), generator=gen)

    return {"x_src": images(), "y_src": labels(), "x_ref": images(), "x_ref2": images(),
            "y_ref": labels(), "z_trg": torch.randn(n, cfg.latent_dim, generator=gen),
            "z_trg2": torch.randn(n, cfg.latent_dim, generator=gen)}


def measure(name: str, iters: int, warmup: int, device: str) -> dict:
    """Time ``iters`` training iterations of configuration ``name`` after ``warmup`` ones."""
    cfg = CONFIGS[name]()
    trainer = V2Trainer(cfg, device)
    gen = torch.Generator().manual_seed(0)
    times = []
    for i in range(warmup + iters):
        batch = random_batch(cfg, gen)
        start = time.perf_counter()
        trainer.train_step(batch)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    if trainer.device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"config": name, "img_size": cfg.img_size, "batch": cfg.batch_size,
            "sec_per_iter": statistics.median(times), "min": min(times), "max": max(times),
            "peak_mb": round(peak_mb), "threads": torch.get_num_threads(), "device": device}


def run(names: list[str], iters: int, warmup: int, device: str) -> list[dict]:
    """Benchmark each configuration in a fresh subprocess; print a table; return the rows."""
    rows = []
    for name in names:
        if name not in CONFIGS:
            raise ValueError(f"unknown benchmark config {name!r}; choose from {', '.join(CONFIGS)}")
        out = subprocess.run(
            [sys.executable, "-m", "starganlib.bench", name, str(iters), str(warmup), device],
            check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"{'config':<10} {'px':>4} {'batch':>5} {'s/iter':>8} {'min':>7} {'max':>7} "
          f"{'peak MB':>8} {'threads':>7}")
    for r in rows:
        print(f"{r['config']:<10} {r['img_size']:>4} {r['batch']:>5} {r['sec_per_iter']:>8.3f} "
              f"{r['min']:>7.3f} {r['max']:>7.3f} {r['peak_mb']:>8} {r['threads']:>7}")
    return rows


if __name__ == "__main__":  # one configuration, as a child of ``run``
    name, iters, warmup, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    print(json.dumps(measure(name, iters, warmup, device)))
