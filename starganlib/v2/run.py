"""A StarGAN v2 training run in one folder: checkpoints, loss log, sample grids and metrics.

    run_dir/config.json                the configuration
    run_dir/checkpoints/ckpt_*.pt      the last few checkpoints and a ``latest`` pointer
    run_dir/losses.csv                 every loss term at every step
    run_dir/samples/{step}_*.png       latent-guided, reference-guided and cycle grids (EMA nets),
                                       enlarged; on toyfaces also ``_truth``: outputs beside
                                       their ground truth and error maps
    run_dir/metrics.csv, metrics.json  on toyfaces, oracle and ground-truth metrics over
                                       training (``evaluate.oracle_eval``); the summary

Ctrl-C or SIGTERM saves a checkpoint before stopping; a NaN or Inf loss stops the run at once
without overwriting the last good checkpoint.
"""
import json
import math
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..checkpoint import CheckpointManager, load_checkpoint
from ..csv_log import CsvLog
from ..data.folders import DomainFolder, TrainBatches, check_splits, to_float
from ..distributed import World, close, init_from_env
from ..interrupt import StopRequest
from ..scalars import loss_values
from ..viz import save_grid
from .config import V2Config
from ..metrics.ground_truth import v2_quality_bar
from ..metrics.oracle import content_baselines
from .evaluate import ToyfacesJudge, oracle_eval, reference_comparison, toyfaces_judge
from .synthesis import cycle_grid, latent_grid, reference_grid
from .train import CHECKPOINT_KIND, V2Trainer



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


def save_samples(trainer: V2Trainer, folder: DomainFolder, run_dir: Path,
                 factors: list | None = None) -> None:
    """Latent, reference and cycle grids of the EMA networks for fixed validation images, saved
    enlarged with labelled columns; with the images' ``factors`` (toyfaces) also the
    reference-guided outputs beside their ground truth and error maps (``*_truth.png``)."""
    device, cfg, nets = trainer.device, trainer.cfg, trainer.nets_ema
    idx = fixed_indices(folder)
    x, y = to_float(folder.images(idx)).to(device), folder.labels[idx].to(device)
    names = folder.domains
    z = torch.randn(3, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    step, out = trainer.step, run_dir / "samples"
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


def _check_finite(values: dict[str, float], step: int, manager: CheckpointManager) -> None:
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        kept = manager.latest()
        raise FloatingPointError(
            f"loss {', '.join(f'{k}={v}' for k, v in bad.items())} at step {step}; training "
            f"stopped. Last good checkpoint kept: {kept or 'none saved yet'}")


def _start(cfg: V2Config, run_dir: Path, resume: bool, trainer: V2Trainer,
           manager: CheckpointManager) -> None:
    """Load the latest checkpoint when resuming; refuse to overwrite an existing run otherwise."""
    latest = manager.latest()
    if latest is not None and not resume:
        raise FileExistsError(f"{run_dir} already holds checkpoints ({latest.name}); pass "
                              f"--resume to continue that run or choose another --out folder")
    if latest is not None:
        trainer.load_state_dict(load_checkpoint(latest, trainer.device, kind=CHECKPOINT_KIND), latest)
        if trainer.world.is_main:
            print(f"resumed from {latest} at step {trainer.step}")
    if trainer.world.is_main:
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))


def train(cfg: V2Config, run_dir: Path, resume: bool = False, device="cpu", progress=True,
          num_workers: int = 0) -> dict:
    """Train StarGAN v2 into ``run_dir``; returns the final summary (also in metrics.json).

    Under ``torchrun`` every process runs this function: each draws its own batches and the
    gradients are averaged (``starganlib.distributed``); rank 0 alone writes into ``run_dir``.
    """
    world = init_from_env(device)
    try:
        return _train(cfg, Path(run_dir), resume, world, progress, num_workers,
                      world.device(device))
    finally:
        close(world)


def _train(cfg: V2Config, run_dir: Path, resume: bool, world: World, progress: bool,
           num_workers: int, device: torch.device) -> dict:
    main = world.is_main
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
    if main:
        dataset_root(cfg)  # generates toyfaces on first use, before the other ranks read it
    world.barrier()
    root = dataset_root(cfg)
    cfg = cfg.replace(domains=check_splits(root))  # checkpoints name the domains
    train_folder = DomainFolder(root / "train", cfg.img_size, skip_bad=cfg.skip_bad_images)
    val_folder = DomainFolder(root / "val", cfg.img_size, skip_bad=cfg.skip_bad_images)
    trainer = V2Trainer(cfg, device, world=world)
    manager = CheckpointManager(run_dir, cfg.keep)
    _start(cfg, run_dir, resume, trainer, manager)
    judge = None
    if cfg.dataset == "toyfaces" and main:
        judge = toyfaces_judge(root, val_folder, trainer.device)
    logs = [CsvLog(run_dir / name, trainer.step if resume else None) if main else None
            for name in ("losses.csv", "metrics.csv")]
    losses_log, metrics_log = logs
    batches = TrainBatches(train_folder, cfg.batch_size, cfg.latent_dim, cfg.seed,
                           cfg.randcrop_prob, rank=world.rank)
    loader = torch.utils.data.DataLoader(
        batches, batch_size=None, sampler=range(trainer.step, cfg.total_iters),
        num_workers=num_workers, pin_memory=trainer.device.type == "cuda")
    elapsed = metrics_log.rows()[-1]["seconds"] if main and metrics_log.rows() else 0.0
    started = time.perf_counter() - elapsed
    with StopRequest() as stop:
        for batch in tqdm(loader, initial=trainer.step, total=cfg.total_iters,
                          disable=not (progress and main), desc="StarGAN v2", dynamic_ncols=True):
            values = loss_values(trainer.train_step(batch))
            _check_finite(values, trainer.step, manager)
            stop_now = world.any(stop.requested)
            if main:
                _after_step(trainer, values, val_folder, judge, run_dir, manager, metrics_log,
                            losses_log, started, stop_now)
            if stop_now:
                world.barrier()  # the checkpoint is written before any process exits
                raise KeyboardInterrupt(f"stopped at step {trainer.step}; saved "
                                        f"{manager.latest()}; continue with --resume")
    world.barrier()
    if not main:
        return {"step": trainer.step}
    return write_summary(run_dir, trainer, metrics_log, time.perf_counter() - started, judge)


def _after_step(trainer: V2Trainer, values: dict, val_folder: DomainFolder,
                judge: ToyfacesJudge | None, run_dir: Path, manager: CheckpointManager,
                metrics_log: CsvLog, losses_log: CsvLog, started: float, stop_now: bool) -> None:
    """Rank 0's bookkeeping after a step: the loss log, sample grids, toyfaces metrics (oracle
    and ground truth), checkpoint."""
    cfg = trainer.cfg
    losses_log.write({"step": trainer.step, "lambda_ds": trainer.lambda_ds, **values})
    done = trainer.step == cfg.total_iters
    if trainer.step % cfg.sample_every == 0 or done:
        save_samples(trainer, val_folder, run_dir, judge.factors if judge else None)
    if judge is not None and (trainer.step % cfg.eval_every == 0 or done):
        row = oracle_eval(trainer.nets_ema, val_folder, judge.oracle, cfg.latent_dim,
                          device=trainer.device, factors=judge.factors)
        metrics_log.write({"step": trainer.step,
                           "seconds": round(time.perf_counter() - started, 1), **row})
    if trainer.step % cfg.save_every == 0 or done or stop_now:
        manager.save(trainer.step, trainer.state_dict())


def write_summary(run_dir: Path, trainer: V2Trainer, metrics_log: CsvLog, seconds: float,
                  judge: ToyfacesJudge | None = None) -> dict:
    """metrics.json: steps, wall time, and on toyfaces the last metrics, the scale of the
    oracle's content error (a perfect translation vs unrelated faces) and which criteria of the
    quality bar (``ground_truth.v2_quality_bar``) the model meets."""
    rows = metrics_log.rows()
    summary = {"step": trainer.step, "train_seconds": round(seconds, 1),
               "final": rows[-1] if rows else {}, "checkpoint": str(CheckpointManager(run_dir).latest())}
    if judge is not None and rows:
        summary["content_error_scale"] = content_baselines(judge.oracle)
        summary["quality_bar"] = v2_quality_bar(rows[-1], summary["content_error_scale"]["ideal"])
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary
