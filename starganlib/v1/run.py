"""A StarGAN v1 training run in one folder (``starganlib.run_folder``: checkpoints, logs, resume).

    run_dir/losses.csv        every loss term, every ``log_every`` iterations (G's from its
                              last step: G steps once every n_critic iterations)
    run_dir/samples/{step}.png         every test target for fixed test images, enlarged
    run_dir/samples/{step}_truth.png   on toyfaces: each edit beside its ground truth
    run_dir/metrics.csv, metrics.json  on toyfaces: ``evaluate.toyfaces_report`` (oracle and
                                       ground truth) every ``eval_every`` iterations; the summary
"""
import itertools
from pathlib import Path

from ..metrics.ground_truth import v1_quality_bar
from ..metrics.oracle import load_oracle
from ..run_folder import Periods, RunFolder, RunHooks, train_in_folder
from .config import CHECKPOINT_KIND, TOYFACES, V1Config
from .data import attribute_dataset, label_sources
from .evaluate import edit_comparison, sample_batch, toyfaces_report
from .sample import save_samples
from .train import V1Trainer


class V1Hooks(RunHooks):
    """Samples for fixed test images; on toyfaces also the oracle and the ground truth."""

    def __init__(self, trainer: V1Trainer):
        cfg = self.cfg = trainer.cfg
        self.trainer = trainer
        self.test = attribute_dataset(cfg, "test")
        self.x_fixed, self.label_fixed = (t.to(trainer.device)
                                          for t in sample_batch(self.test, cfg.batch_size))
        self.oracle = (load_oracle(cfg.image_size, device=trainer.device)
                       if cfg.image_root == TOYFACES else None)

    def log_row(self, values):
        return dict(self.trainer.latest)  # every term, G's from its last step

    def samples(self, samples_dir: Path, step: int) -> None:
        G = self.trainer.G
        save_samples(G, self.x_fixed, self.label_fixed, self.cfg, samples_dir / f"{step:06d}.png")
        if self.oracle is not None:
            edit_comparison(G, self.test, self.cfg).save(samples_dir / f"{step:06d}_truth.png")
            G.train()

    def evaluate(self):
        if self.oracle is None:
            return None
        row = toyfaces_report(self.trainer.G, self.oracle, self.test, self.cfg)
        self.trainer.G.train()
        return row

    def summary(self, metrics):
        if metrics is None:
            return {}
        return {"quality_bar": v1_quality_bar(metrics, self.cfg.selected_attrs)}


def train(cfg: V1Config, run_dir: Path, resume: bool = False, device="cpu",
          progress=True) -> dict:
    """Train StarGAN v1 into ``run_dir``; returns the summary (also in metrics.json): on
    toyfaces ``final`` (the last row of metrics.csv) and ``quality_bar``
    (``ground_truth.v1_quality_bar``).

    ``resume=True`` continues from the newest checkpoint of ``run_dir``; without it, a folder that
    already holds checkpoints is refused (FileExistsError).
    """
    sources = label_sources(cfg, "train")
    trainer = V1Trainer(cfg, device)
    periods = Periods(cfg.num_iters, cfg.log_every, cfg.sample_every, cfg.eval_every,
                      cfg.save_every, cfg.keep)
    folder = RunFolder(run_dir, cfg.keep, CHECKPOINT_KIND)
    return train_in_folder(trainer, V1Hooks(trainer),
                           lambda step: itertools.repeat(sources, cfg.num_iters - step),
                           folder, cfg.to_dict(), periods, resume, "StarGAN v1", progress)
