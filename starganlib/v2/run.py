"""A StarGAN v2 training run in one folder (``starganlib.run_folder``: checkpoints, logs, resume).

    run_dir/losses.csv                 every loss term (and lambda_ds) at every step
    run_dir/samples/{step}_*.png       latent-guided, reference-guided and cycle grids (EMA nets),
                                       enlarged; on toyfaces also ``_truth``: outputs beside
                                       their ground truth and error maps
    run_dir/metrics.csv, metrics.json  on toyfaces, oracle and ground-truth metrics over
                                       training (``evaluate.oracle_eval``); the summary
"""
from pathlib import Path

import torch

from ..data.folders import DomainFolder, TrainBatches, check_splits, to_float
from ..runtime.distributed import World, close, init_from_env
from ..metrics.ground_truth import v2_quality_bar
from ..metrics.oracle import content_baselines
from ..run_folder import Periods, RunFolder, RunHooks, train_in_folder
from ..viz import save_grid
from .config import CHECKPOINT_KIND, V2Config
from .evaluate import ToyfacesJudge, oracle_eval, reference_comparison, toyfaces_judge
from .synthesis import cycle_grid, latent_grid, reference_grid
from .train import V2Trainer


def dataset_root(cfg: V2Config) -> Path:
    """The dataset folder of ``cfg`` (toyfaces is generated on first use), checked."""
    if cfg.dataset == "toyfaces":
        from ..data.toyfaces import ensure_toyfaces
        root = ensure_toyfaces(size=cfg.img_size)
    else:
        root = Path(cfg.dataset)
    domains = check_splits(root)
    if len(domains) != cfg.num_domains:
        raise ValueError(f"{root} has {len(domains)} domains {domains} but num_domains is "
                         f"{cfg.num_domains}; set num_domains (--num-domains) to match")
    return root


def fixed_indices(folder: DomainFolder, per_domain: int = 2) -> torch.Tensor:
    """The indices of the first ``per_domain`` images of every domain."""
    return torch.cat([pool[:per_domain] for pool in folder.by_domain])


def fixed_inputs(folder: DomainFolder, per_domain: int = 2):
    """The first ``per_domain`` images of every domain, as float ``(N, 3, S, S)`` and labels."""
    idx = fixed_indices(folder, per_domain)
    return to_float(folder.images(idx)), folder.labels[idx]


def save_samples(trainer: V2Trainer, folder: DomainFolder, samples_dir: Path,
                 factors: list | None = None) -> None:
    """Latent, reference and cycle grids of the EMA networks for fixed validation images, saved
    enlarged with labelled columns; with the images' ``factors`` (toyfaces) also the
    reference-guided outputs beside their ground truth and error maps (``*_truth.png``)."""
    device, cfg, nets = trainer.device, trainer.cfg, trainer.nets_ema
    idx = fixed_indices(folder)
    x, y = to_float(folder.images(idx)).to(device), folder.labels[idx].to(device)
    names = folder.domains
    z = torch.randn(3, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    step, out = trainer.step, Path(samples_dir)
    save_grid(latent_grid(nets, x, cfg.num_domains, z), out / f"{step:06d}_latent.png",
              1 + cfg.num_domains * len(z),
              ["source"] + [f"{d}\nz{j + 1}" for d in names for j in range(len(z))])
    perm = torch.roll(torch.arange(len(x)), shifts=len(x) // cfg.num_domains)
    save_grid(reference_grid(nets, x, x[perm], y[perm]), out / f"{step:06d}_reference.png",
              len(x) + 1, ["reference"] + [f"source\n{names[k]}" for k in y.tolist()])
    translations = [f"{names[a]} to\n{names[b]}" for a, b in zip(y.tolist(), y[perm].tolist())]
    save_grid(cycle_grid(nets, x, y, x[perm], y[perm]), out / f"{step:06d}_cycle.png", len(x),
              translations, ["sources", "references", "translations", "reconstructions"])
    if factors is not None:
        reference_comparison(nets, folder, factors, idx, idx[perm]).save(out / f"{step:06d}_truth.png")


class V2Hooks(RunHooks):
    """The EMA networks' sample grids; on toyfaces also the oracle and the ground truth."""

    def __init__(self, trainer: V2Trainer, val_folder: DomainFolder, judge: ToyfacesJudge | None):
        self.trainer, self.val_folder, self.judge = trainer, val_folder, judge

    def log_row(self, values):
        return {"lambda_ds": self.trainer.lambda_ds, **values}

    def samples(self, samples_dir: Path, step: int) -> None:
        save_samples(self.trainer, self.val_folder, samples_dir,
                     self.judge.factors if self.judge else None)

    def evaluate(self):
        if self.judge is None:
            return None
        t = self.trainer
        return oracle_eval(t.nets_ema, self.val_folder, self.judge.oracle, t.cfg.latent_dim,
                           device=t.device, factors=self.judge.factors)

    def summary(self, metrics):
        """The scale of the oracle's content error (a perfect translation vs unrelated faces)
        and which criteria of the quality bar (``ground_truth.v2_quality_bar``) are met."""
        if self.judge is None or metrics is None:
            return {}
        scale = content_baselines(self.judge.oracle)
        return {"content_error_scale": scale,
                "quality_bar": v2_quality_bar(metrics, scale["ideal"])}


def train(cfg: V2Config, run_dir: Path, resume: bool = False, device="cpu", progress=True,
          num_workers: int = 0) -> dict:
    """Train StarGAN v2 into ``run_dir``; returns the final summary (also in metrics.json).

    Under ``torchrun`` every process runs this function: each draws its own batches and the
    gradients are averaged (``starganlib.runtime.distributed``); rank 0 alone writes into ``run_dir``.
    ``resume=True`` continues from the newest checkpoint; without it, a folder that already
    holds checkpoints is refused (FileExistsError).
    """
    world = init_from_env(device)
    try:
        return _train(cfg, Path(run_dir), resume, world, progress, num_workers,
                      world.device(device))
    finally:
        close(world)


def _train(cfg: V2Config, run_dir: Path, resume: bool, world: World, progress: bool,
           num_workers: int, device: torch.device) -> dict:
    if world.is_main:
        dataset_root(cfg)  # generates toyfaces on first use, before the other ranks read it
    world.barrier()
    root = dataset_root(cfg)
    cfg = cfg.replace(domains=check_splits(root))  # checkpoints name the domains
    train_folder = DomainFolder(root / "train", cfg.img_size, skip_bad=cfg.skip_bad_images)
    val_folder = DomainFolder(root / "val", cfg.img_size, skip_bad=cfg.skip_bad_images)
    trainer = V2Trainer(cfg, device, world=world)
    judge = None
    if cfg.dataset == "toyfaces" and world.is_main:
        judge = toyfaces_judge(root, val_folder, trainer.device)
    batches = TrainBatches(train_folder, cfg.batch_size, cfg.latent_dim, cfg.seed,
                           cfg.randcrop_prob, rank=world.rank)

    def batches_from(step: int):
        return torch.utils.data.DataLoader(
            batches, batch_size=None, sampler=range(step, cfg.total_iters),
            num_workers=num_workers, pin_memory=trainer.device.type == "cuda")

    periods = Periods(cfg.total_iters, 1, cfg.sample_every, cfg.eval_every, cfg.save_every,
                      cfg.keep)
    folder = RunFolder(run_dir, cfg.keep, CHECKPOINT_KIND, world.is_main)
    return train_in_folder(trainer, V2Hooks(trainer, val_folder, judge), batches_from, folder,
                           cfg.to_dict(), periods, resume, "StarGAN v2", progress, world)
