"""StarGAN v1 training (official ``Solver.train`` and ``train_multi``), sampling and evaluation.

One iteration i, for each dataset (one, or two in mask-vector mode, one batch of each in turn):

    targets  c_trg = the batch's own labels, shuffled
    D step   d_loss: real/fake WGAN terms, gradient penalty, classification of real images
    G step   only when (i + 1) % n_critic == 0: fool D, be classified as c_trg, reconstruct x

Differences from the official code, none of which changes its mathematics:
* the learning rates really decay linearly to 0 over the last ``num_iters_decay`` iterations,
  ``lr(i) = lr0 * min(1, (num_iters - i) / num_iters_decay)``. The official decrement,
  ``lr0 / num_iters_decay`` every ``lr_update_step`` = 1000 iterations, is not multiplied by
  lr_update_step, so its LR only drops by 0.1% (1e-4 -> 9.99e-5);
* every random draw of iteration i (batch, flips, target shuffle, GP alpha) comes from a
  generator seeded with (seed, i), and checkpoints hold both optimisers: a resumed run continues
  exactly like an uninterrupted one (the official resume loses the Adam state and the LR);
* each batch is ``batch_size`` distinct images drawn at random, not an epoch-by-epoch shuffle.

A run folder holds ``config.json``, ``checkpoints/``, ``losses.csv``, ``samples/{step}.png`` and
``metrics.json`` (with the oracle's per-attribute report on toyfaces). Ctrl-C or SIGTERM saves a
checkpoint at the next iteration boundary and stops; ``resume=True`` continues.
"""
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.utils as vutils
from tqdm.auto import tqdm

from ..allocator import keep_freed_memory
from ..checkpoint import CheckpointManager, load_checkpoint
from ..data.celeba import AttributeDataset
from ..data.folders import step_generator
from ..double_backward import fast_penalty_convolutions, input_gradients_only
from ..interrupt import StopRequest
from ..precision import autocast, float32_outputs
from ..scalars import loss_values
from ..viz import picture, side_by_side, to_unit
from . import losses
from .config import TOYFACES, V1Config
from ..csv_log import CsvLog
from ..metrics.ground_truth import v1_quality_bar
from ..metrics.oracle import load_oracle
from .evaluate import sample_batch, edit_comparison, toyfaces_report
from .labels import condition, create_labels, is_colour_attribute
from .model import Discriminator, Generator

CHECKPOINT_KIND = "stargan-v1"
# config fields that define the networks' shapes: a checkpoint only loads if they match
ARCHITECTURE_FIELDS = ("image_size", "c_dim", "g_conv_dim", "d_conv_dim", "g_repeat_num",
                       "d_repeat_num", "selected_attrs", "selected_attrs2")
D_TERMS = ("loss_real", "loss_fake", "loss_cls", "loss_gp")
G_TERMS = ("loss_fake", "loss_rec", "loss_cls")


def data_paths(cfg: V1Config) -> tuple[Path, Path, Path | None]:
    """``(image_root, attr_file, attr_file2)``; toyfaces is generated on first use."""
    if cfg.image_root == TOYFACES:
        from ..data.toyfaces import ensure_toyfaces
        root = ensure_toyfaces(size=cfg.image_size)
    else:
        root = Path(cfg.image_root)
    in_root = cfg.image_root == TOYFACES
    attr_file = root / cfg.attr_file if in_root else Path(cfg.attr_file)
    attr_file2 = None
    if cfg.joint:
        attr_file2 = root / cfg.attr_file2 if in_root else Path(cfg.attr_file2)
    return root, attr_file, attr_file2


@dataclass
class LabelSource:
    """One dataset, and where its labels go: G's label vector and D_cls's outputs."""
    data: AttributeDataset
    multi_label: bool  # attributes (BCE) or one class each (CE)
    logits: slice  # this dataset's outputs of D_cls
    which: int | None  # its position in the mask vector; None with a single dataset
    tag: str  # prefix of its loss names


def attribute_dataset(cfg: V1Config, split: str, second: bool = False) -> AttributeDataset:
    """The ``split`` of the first (or, with ``second``, the second) dataset of ``cfg``."""
    root, attr_file, attr_file2 = data_paths(cfg)
    path, attrs = (attr_file2, cfg.selected_attrs2) if second else (attr_file, cfg.selected_attrs)
    return AttributeDataset(root, path, list(attrs), split, cfg.image_size, cfg.crop_size,
                            cfg.test_count, cfg.split_seed)


def label_sources(cfg: V1Config, split: str = "train") -> list[LabelSource]:
    """The datasets of ``cfg`` (one, or two in mask-vector mode) for ``split``."""
    first = attribute_dataset(cfg, split)
    if not cfg.joint:
        return [LabelSource(first, True, slice(None), None, "")]
    second = attribute_dataset(cfg, split, second=True)
    bad = (second.labels.sum(dim=1) != 1).nonzero().flatten()
    if len(bad):
        raise ValueError(f"{second.attr_file}: the second dataset needs exactly one of "
                         f"{list(cfg.selected_attrs2)} set to 1 per image; "
                         f"{second.filenames[bad[0]]} has {int(second.labels[bad[0]].sum())}")
    k1 = len(cfg.selected_attrs)
    return [LabelSource(first, True, slice(0, k1), 0, "set1_"),
            LabelSource(second, False, slice(k1, cfg.cls_dim), 1, "set2_")]


def learning_rate(lr0: float, i: int, cfg: V1Config) -> float:
    """The LR of iteration i (0-based): constant, then linear to 0 over the last num_iters_decay."""
    if cfg.num_iters_decay == 0:
        return lr0
    return lr0 * min(1.0, (cfg.num_iters - i) / cfg.num_iters_decay)


class V1Trainer:
    """G, D, their Adam optimisers, and one training iteration."""

    def __init__(self, cfg: V1Config, device="cpu"):
        self.cfg, self.device = cfg, torch.device(device)
        with torch.random.fork_rng(devices=[]):  # seeded weights, global RNG left untouched
            torch.manual_seed(cfg.seed)
            self.G = Generator(cfg.g_conv_dim, cfg.c_dim, cfg.g_repeat_num)
            self.D = Discriminator(cfg.image_size, cfg.d_conv_dim, cfg.cls_dim, cfg.d_repeat_num)
        self.G.to(self.device)
        self.D.to(self.device)
        for net in (self.G, self.D):  # the losses get float32 outputs, also under bf16 autocast
            float32_outputs(net)
        fast_penalty_convolutions(self.D)  # the gradient penalty's double backward, faster
        keep_freed_memory(self.device)
        betas = (cfg.beta1, cfg.beta2)  # fused: one pass over each tensor, the same update
        self.g_optimizer = torch.optim.Adam(self.G.parameters(), cfg.g_lr, betas, fused=True)
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), cfg.d_lr, betas, fused=True)
        self.step = 0  # iterations done
        self.history: list[dict] = []  # logged rows of loss terms
        self.latest: dict[str, float] = {}  # the newest value of every term

    def make_batch(self, source: LabelSource, generator: torch.Generator) -> losses.TranslationBatch:
        """A random batch of ``source`` with targets = its labels shuffled."""
        x_real, label_org = source.data.random_batch(self.cfg.batch_size, generator)
        label_trg = label_org[torch.randperm(len(label_org), generator=generator)]
        x_real, label_org, label_trg = (t.to(self.device) for t in (x_real, label_org, label_trg))
        return losses.TranslationBatch(
            x_real, label_org, label_trg, condition(label_org, source.which, self.cfg),
            condition(label_trg, source.which, self.cfg), source.logits, source.multi_label)

    def d_step(self, batch: losses.TranslationBatch, generator: torch.Generator) -> dict:
        """Update D once on ``batch``; returns its loss terms."""
        cfg = self.cfg
        # the only backward pass inside d_loss is the penalty's gradient with respect to the
        # images, so it computes no weight gradients; the loss is backpropagated outside
        with autocast(self.device, cfg.precision), input_gradients_only():
            loss, terms = losses.d_loss(self.G, self.D, batch, cfg.lambda_cls, cfg.lambda_gp,
                                        generator)
        self.d_optimizer.zero_grad()
        loss.backward()
        self.d_optimizer.step()
        return terms

    def g_step(self, batch: losses.TranslationBatch) -> dict:
        """Update G once on ``batch``; returns its loss terms."""
        with autocast(self.device, self.cfg.precision):
            loss, terms = losses.g_loss(self.G, self.D, batch, self.cfg.lambda_cls,
                                        self.cfg.lambda_rec)
        self.g_optimizer.zero_grad()
        loss.backward()
        self.g_optimizer.step()
        return terms

    def set_learning_rates(self) -> None:
        for optimizer, lr0 in ((self.g_optimizer, self.cfg.g_lr), (self.d_optimizer, self.cfg.d_lr)):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(lr0, self.step, self.cfg)

    def train_step(self, sources: list[LabelSource]) -> dict[str, float]:
        """Iteration ``self.step``: per dataset a D step, and a G step every n_critic iterations.

        Returns the newest value of every loss term (G terms from the last G step).
        """
        generator = step_generator(self.cfg.seed, self.step)
        self.set_learning_rates()
        if not self.latest:
            self.latest = {f"{name}/{s.tag}{t}": math.nan for s in sources
                           for name, terms in (("D", D_TERMS), ("G", G_TERMS)) for t in terms}
        for source in sources:
            batch = self.make_batch(source, generator)
            self._record("D", source.tag, self.d_step(batch, generator))
            if (self.step + 1) % self.cfg.n_critic == 0:
                self._record("G", source.tag, self.g_step(batch))
        self.step += 1
        return dict(self.latest)

    def _record(self, net: str, tag: str, terms: dict) -> None:
        values = {f"{net}/{tag}{k}": v for k, v in loss_values(terms).items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(f"non-finite loss {bad} at iteration {self.step + 1}; "
                                     f"training stopped (saved checkpoints are kept)")
        self.latest.update(values)

    def state_dict(self) -> dict:
        return {
            "kind": CHECKPOINT_KIND, "config": self.cfg.to_dict(), "step": self.step,
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "history": self.history, "latest": self.latest,
        }

    def load_state_dict(self, state: dict, source="checkpoint") -> None:
        """Restore everything from ``state_dict()``; ValueError if the architecture differs."""
        check_architecture(state["config"], self.cfg, source)
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.step, self.history, self.latest = state["step"], state["history"], state["latest"]


def check_architecture(saved: dict, cfg: V1Config, source) -> None:
    wrong = [f"{f}: checkpoint {saved.get(f)!r}, config {getattr(cfg, f)!r}"
             for f in ARCHITECTURE_FIELDS if tuple_if_list(saved.get(f)) != getattr(cfg, f)]
    if wrong:
        raise ValueError(f"{source} was trained with another architecture: " + "; ".join(wrong))


def tuple_if_list(value):
    return tuple(value) if isinstance(value, list) else value


@torch.no_grad()
def translate_to_targets(G, x, label_org, cfg: V1Config) -> list:
    """G(x, c) for every test target of ``create_labels`` (``(N, 3, H, W)`` each).

    ``label_org`` ``(N, k1)`` are the labels of ``x`` in the first dataset. In two-dataset mode the
    targets also include every class of the second dataset (official ``test_multi``).
    """
    targets = [condition(c, 0 if cfg.joint else None, cfg)
               for c in create_labels(label_org, list(cfg.selected_attrs))]
    if cfg.joint:
        no_class = label_org.new_zeros(len(label_org), len(cfg.selected_attrs2))
        targets += [condition(c, 1, cfg) for c in
                    create_labels(no_class, list(cfg.selected_attrs2), multi_label=False)]
    return [G(x, c) for c in targets]


def save_result_grid(x_real, fakes: list, path: Path) -> Path:
    """The official result layout: one row per input, ``[input | fake 1 | ... | fake K]``.

    ``x_real`` and each fake ``(N, 3, H, W)`` in [-1, 1] -> a PNG of size ``(N H) x ((K+1) W)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = torch.cat([x_real, *fakes], dim=3)
    vutils.save_image(to_unit(rows), path, nrow=1, padding=0)
    return path


def target_names(cfg: V1Config) -> list[str]:
    """Column names of ``translate_to_targets``: a colour is set, any other attribute flipped."""
    names = [a if is_colour_attribute(a) else f"{a}\nflipped" for a in cfg.selected_attrs]
    return names + list(cfg.selected_attrs2)


def save_samples(G, x, label_org, cfg: V1Config, path: Path) -> Path:
    """The sample grid of a run folder: one row per input, ``[input | one column per target]``,
    enlarged (each image at least 64 pixels) under a header naming the targets."""
    was_training = G.training
    G.eval()  # only stops the IN running-average updates: outputs are the same (model.py)
    fakes = translate_to_targets(G, x, label_org, cfg)
    G.train(was_training)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture(side_by_side(x, *fakes), len(fakes) + 1, ["input", *target_names(cfg)],
            min_tile=64).save(path)
    return path


def train(cfg: V1Config, run_dir: Path, resume: bool = False, device="cpu",
          progress=True) -> dict:
    """Train StarGAN v1 into ``run_dir``; returns ``{step, train_seconds, losses, checkpoint}``
    and, on toyfaces, ``toyfaces`` (the last row of metrics.csv: ``evaluate.toyfaces_report``)
    and ``quality_bar`` (``ground_truth.v1_quality_bar``); the same is written to metrics.json.

    ``resume=True`` continues from the newest checkpoint of ``run_dir``; without it, a folder that
    already holds checkpoints is refused (FileExistsError).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    sources = label_sources(cfg, "train")
    test = attribute_dataset(cfg, "test")
    trainer = V1Trainer(cfg, device)
    manager = CheckpointManager(run_dir, cfg.keep)
    latest = manager.latest()
    if latest is not None and not resume:
        raise FileExistsError(f"{run_dir} already holds checkpoints ({latest.name}); resume "
                              f"that run or choose another folder")
    if latest is not None:
        trainer.load_state_dict(load_checkpoint(latest, trainer.device, kind=CHECKPOINT_KIND),
                                latest)
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    losses_log = CsvLog(run_dir / "losses.csv")  # rewritten from the history the checkpoint holds
    for row in trainer.history:
        losses_log.write(row)
    x_fixed, label_fixed = (t.to(trainer.device) for t in sample_batch(test, cfg.batch_size))
    oracle = load_oracle(cfg.image_size, device=trainer.device) if cfg.image_root == TOYFACES else None
    metrics_log = CsvLog(run_dir / "metrics.csv", trainer.step if resume else None)
    elapsed = metrics_log.rows()[-1]["seconds"] if metrics_log.rows() else 0.0
    started = time.perf_counter() - elapsed
    with StopRequest() as stop:
        for _ in tqdm(range(trainer.step, cfg.num_iters), initial=trainer.step,
                      total=cfg.num_iters, desc="StarGAN v1", disable=not progress,
                      dynamic_ncols=True):
            values = trainer.train_step(sources)
            step, done = trainer.step, trainer.step == cfg.num_iters
            if step % cfg.log_every == 0 or done:
                row = {"step": step, **values}
                trainer.history.append(row)
                losses_log.write(row)
            if step % cfg.sample_every == 0 or done:
                save_samples(trainer.G, x_fixed, label_fixed, cfg,
                             run_dir / "samples" / f"{step:06d}.png")
                if oracle is not None:
                    edit_comparison(trainer.G, test, cfg).save(
                        run_dir / "samples" / f"{step:06d}_truth.png")
            if oracle is not None and (step % cfg.eval_every == 0 or done):
                metrics_log.write({"step": step, "seconds": round(time.perf_counter() - started, 1),
                                   **toyfaces_report(trainer.G, oracle, test, cfg)})
                trainer.G.train()
            if step % cfg.save_every == 0 or done or stop.requested:
                manager.save(step, trainer.state_dict())
            if stop.requested:
                raise KeyboardInterrupt(f"stopped at iteration {step}; saved {manager.latest()}; "
                                        f"continue with --resume")
    summary = {"step": trainer.step, "train_seconds": round(time.perf_counter() - started, 1),
               "losses": dict(trainer.latest), "checkpoint": str(manager.latest())}
    if oracle is not None:
        summary["toyfaces"] = metrics_log.rows()[-1]
        summary["quality_bar"] = v1_quality_bar(summary["toyfaces"], cfg.selected_attrs)
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
    return summary


def load_generator(checkpoint_path, device="cpu") -> tuple[Generator, V1Config]:
    """G and its config from a checkpoint written by ``train``."""
    return generator_from_state(load_checkpoint(checkpoint_path, device, kind=CHECKPOINT_KIND),
                                device)


def generator_from_state(state: dict, device="cpu") -> tuple[Generator, V1Config]:
    """``load_generator`` for a checkpoint already loaded (``load_checkpoint``)."""
    cfg = V1Config(**state["config"])
    G = Generator(cfg.g_conv_dim, cfg.c_dim, cfg.g_repeat_num).to(device)
    G.load_state_dict(state["G"])
    return G.eval(), cfg


def sample(checkpoint_path, image_root=None, attr_file=None, out_path="samples.png",
           num_images: int = 16, device="cpu") -> Path:
    """Save the official result grid for the first ``num_images`` test images.

    ``image_root`` / ``attr_file`` default to the checkpoint's dataset; the test split is the one
    of training (``test_count`` images, ``split_seed``).
    """
    G, cfg = load_generator(checkpoint_path, device)
    changes = {k: str(v) for k, v in (("image_root", image_root), ("attr_file", attr_file))
               if v is not None}
    if changes:
        cfg = cfg.replace(c_dim=cfg.c_dim, **changes)
    test = attribute_dataset(cfg, "test")
    x, labels = (t.to(device) for t in sample_batch(test, num_images))
    return save_result_grid(x, translate_to_targets(G, x, labels, cfg), out_path)
