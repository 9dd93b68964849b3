"""Sampling from a trained checkpoint: the networks back, then grids for image folders."""
from pathlib import Path

import torch

from ..checkpoint import load_checkpoint
from ..data.folders import DomainFolder, to_float
from ..viz import save_grid
from .config import CHECKPOINT_KIND, V2Config
from .nets import AVERAGED, Nets, build_ema_nets
from .synthesis import latent_grid, reference_grid


def load_ema_nets(checkpoint: Path, device="cpu") -> tuple[Nets, V2Config]:
    """The EMA networks (G, F, E; eval-ready) and the config of one of our checkpoints."""
    return ema_nets(load_checkpoint(checkpoint, device, kind=CHECKPOINT_KIND), device)


def ema_nets(state: dict, device="cpu") -> tuple[Nets, V2Config]:
    """``load_ema_nets`` for a checkpoint already loaded (``load_checkpoint``)."""
    cfg = V2Config(**state["config"])
    nets = build_ema_nets(cfg)
    for n in AVERAGED:
        getattr(nets, n).load_state_dict(state["nets_ema"][n])
    return nets.to(device).eval(), cfg


def _first_per_domain(folder: DomainFolder, count: int):
    """Up to ``count`` images, spread evenly over the domains."""
    per = max(1, count // len(folder.domains))
    idx = torch.cat([pool[:per] for pool in folder.by_domain])[:count]
    return to_float(folder.images(idx)), folder.labels[idx]


def sample_folders(checkpoint: Path, src_dir: Path, ref_dir: Path, out_dir: Path, count: int = 8,
                   device="cpu", seed: int = 0, official: str | None = None) -> list[Path]:
    """Write ``reference.png`` (official layout) and ``latent.png`` for folders of domains.

    ``official``: the checkpoint is an official ``nets_ema`` file of that preset (``afhq``).
    """
    if official is not None:
        from .official import load_official
        nets, cfg = load_official(checkpoint, official, device)
    else:
        nets, cfg = load_ema_nets(checkpoint, device)
    src, ref = DomainFolder(src_dir, cfg.img_size), DomainFolder(ref_dir, cfg.img_size)
    for folder in (src, ref):
        if len(folder.domains) != cfg.num_domains:
            raise ValueError(f"{folder.root} has {len(folder.domains)} domains {folder.domains}; "
                             f"the checkpoint was trained with {cfg.num_domains}")
    x_src, _ = (t.to(device) for t in _first_per_domain(src, count))
    x_ref, y_ref = (t.to(device) for t in _first_per_domain(ref, count))
    z = torch.randn(4, cfg.latent_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    out_dir = Path(out_dir)
    return [save_grid(reference_grid(nets, x_src, x_ref, y_ref), out_dir / "reference.png",
                      len(x_src) + 1),
            save_grid(latent_grid(nets, x_src, cfg.num_domains, z), out_dir / "latent.png",
                      1 + cfg.num_domains * len(z))]
