"""StarGAN v1 training: one iteration (official ``Solver.train`` and ``train_multi``).

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

``run.train`` trains into a run folder (``starganlib.run_folder``); ``sample`` loads the result.
"""
import math

import torch

from ..checkpoint import check_architecture
from ..data.folders import step_generator
from ..double_backward import fast_penalty_convolutions, input_gradients_only
from ..runtime.allocator import keep_freed_memory
from ..runtime.precision import autocast, float32_outputs
from ..runtime.scalars import loss_values
from . import losses
from .config import ARCHITECTURE_FIELDS, CHECKPOINT_KIND, V1Config
from .data import LabelSource
from .labels import condition
from .model import Discriminator, Generator

D_TERMS = ("loss_real", "loss_fake", "loss_cls", "loss_gp")
G_TERMS = ("loss_fake", "loss_rec", "loss_cls")


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

    def train_step(self, sources: list[LabelSource]) -> dict[str, torch.Tensor]:
        """Iteration ``self.step``: per dataset a D step, and a G step every n_critic iterations.

        Returns the loss terms computed in this iteration (detached); ``self.latest`` holds the
        newest value of every term (G's from the last G step, NaN before the first one).
        """
        generator = step_generator(self.cfg.seed, self.step)
        self.set_learning_rates()
        if not self.latest:
            self.latest = {f"{name}/{s.tag}{t}": math.nan for s in sources
                           for name, terms in (("D", D_TERMS), ("G", G_TERMS)) for t in terms}
        fresh = {}
        for source in sources:
            batch = self.make_batch(source, generator)
            fresh.update(named("D", source.tag, self.d_step(batch, generator)))
            if (self.step + 1) % self.cfg.n_critic == 0:
                fresh.update(named("G", source.tag, self.g_step(batch)))
        self.latest.update(loss_values(fresh))
        self.step += 1
        return fresh

    def state_dict(self) -> dict:
        return {
            "kind": CHECKPOINT_KIND, "config": self.cfg.to_dict(), "step": self.step,
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "latest": self.latest,
        }

    def load_state_dict(self, state: dict, source="checkpoint") -> None:
        """Restore everything from ``state_dict()``; ValueError if the architecture differs."""
        check_architecture(state["config"], self.cfg, ARCHITECTURE_FIELDS, source)
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.step, self.latest = state["step"], state["latest"]


def named(net: str, tag: str, terms: dict) -> dict:
    """``{"loss_fake": v}`` -> ``{"G/loss_fake": v}`` (with the dataset's tag in joint mode)."""
    return {f"{net}/{tag}{k}": v for k, v in terms.items()}
