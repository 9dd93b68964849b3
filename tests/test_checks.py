"""The exercise checks pass on starganlib's reference code and catch typical wrong answers.

Every mutant below is a plausible student mistake; the test asserts that its check fails with an
AssertionError whose message contains the explanation the student needs.
"""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from starganlib import checks
from starganlib.metrics.fid import frechet_distance
from starganlib.v1 import losses as v1_losses
from starganlib.v1.model import tile_and_concat
from starganlib.v2 import blocks, losses, model, train
from tests.conftest import tiny_v2_config


def g_objective(terms, lambdas):
    return (terms["adv"] + lambdas["sty"] * terms["sty"] - lambdas["ds"] * terms["ds"]
            + lambdas["cyc"] * terms["cyc"])


REFERENCE_CALLS = {
    "01 tile": lambda: checks.check_tile_label(tile_and_concat),
    "02 gp": lambda: checks.check_gradient_penalty(v1_losses.gradient_penalty),
    "03 v1 losses": lambda: checks.check_v1_losses(v1_losses.classification_loss,
                                                   v1_losses.reconstruction_loss),
    "04 adain": lambda: checks.check_adain(blocks.AdaIN),
    "05 resblk": lambda: checks.check_resblk(blocks.ResBlk),
    "05 adain resblk": lambda: checks.check_adain_resblk(blocks.AdainResBlk),
    "06 mapping": lambda: checks.check_mapping_network(model.MappingNetwork),
    "07 d and adv": lambda: checks.check_discriminator_and_adv_loss(model.Discriminator,
                                                                    losses.adversarial_loss),
    "08 r1": lambda: checks.check_r1(losses.r1_penalty),
    "09 v2 losses": lambda: checks.check_v2_losses(losses.style_reconstruction_loss,
                                                   losses.diversity_loss, losses.cycle_loss,
                                                   g_objective),
    "10 ema": lambda: checks.check_ema_and_lambda_ds(train.update_ema, train.lambda_ds_at),
    "11 fid": lambda: checks.check_frechet_distance(frechet_distance),
}


@pytest.mark.parametrize("name", list(REFERENCE_CALLS))
def test_check_passes_on_the_reference(name, capsys):
    REFERENCE_CALLS[name]()
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and out.count("\n") == 1


@dataclass
class Mutant:
    exercise: str
    mistake: str
    run: Callable[[], None]  # calls the check on the wrong answer
    message: str  # a phrase the failure message must contain


# --- 01: tile the label ----------------------------------------------------------------------

def tile_labels_first(x, c):
    return torch.cat([c.view(*c.shape, 1, 1).expand(-1, -1, *x.shape[2:]), x], dim=1)


def tile_on_batch_dim(x, c):
    return torch.cat([x, c.view(*c.shape, 1, 1).expand(-1, -1, *x.shape[2:])], dim=0)


def tile_first_image_labels(x, c):
    return torch.cat([x, c[:1].view(1, -1, 1, 1).expand(x.size(0), -1, *x.shape[2:])], dim=1)


def tile_height_for_width(x, c):
    return torch.cat([x, c.view(*c.shape, 1, 1).expand(-1, -1, x.size(2), x.size(2))], dim=1)


# --- 02: gradient penalty --------------------------------------------------------------------

def penalty(norm_of, create_graph=True, reverse=False):
    def gradient_penalty(critic_fn, x_real, x_fake, generator=None):
        alpha = torch.rand(x_real.size(0), 1, 1, 1, generator=generator).to(x_real)
        a, b = (x_fake, x_real) if reverse else (x_real, x_fake)
        x_hat = (alpha * a.detach() + (1 - alpha) * b.detach()).requires_grad_(True)
        grad, = torch.autograd.grad(critic_fn(x_hat).sum(), x_hat, create_graph=create_graph)
        return norm_of(grad)
    return gradient_penalty


def per_sample(grad):
    return torch.mean((grad.flatten(1).norm(2, dim=1) - 1) ** 2)


# --- 03: v1 losses ---------------------------------------------------------------------------

def cls_mean_over_attributes(logits, labels, multi_label):
    if multi_label:
        return F.binary_cross_entropy_with_logits(logits, labels)
    return F.cross_entropy(logits, labels.argmax(1))


def cls_bce_for_single_label(logits, labels, multi_label):
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="sum") / logits.size(0)


def v1_losses_with(classification=v1_losses.classification_loss,
                   reconstruction=v1_losses.reconstruction_loss):
    return lambda: checks.check_v1_losses(classification, reconstruction)


# --- 04: AdaIN -------------------------------------------------------------------------------

class AdaINGamma(blocks.AdaIN):
    def forward(self, x, s):
        gamma, beta = self.fc(s).view(s.size(0), -1, 1, 1).chunk(2, dim=1)
        return gamma * self.norm(x) + beta


class AdaINSwapped(blocks.AdaIN):
    def forward(self, x, s):
        beta, gamma = self.fc(s).view(s.size(0), -1, 1, 1).chunk(2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class AdaINUnnormalised(blocks.AdaIN):
    def forward(self, x, s):
        gamma, beta = self.fc(s).view(s.size(0), -1, 1, 1).chunk(2, dim=1)
        return (1 + gamma) * x + beta


class AdaINAffineNorm(blocks.AdaIN):
    def __init__(self, style_dim, num_features):
        super().__init__(style_dim, num_features)
        self.norm = nn.InstanceNorm2d(num_features, affine=True)


# --- 05: residual blocks ---------------------------------------------------------------------

class ResBlkNoScaling(blocks.ResBlk):
    def forward(self, x):
        return self.shortcut(x) + self.residual(x)


class ResBlkHalved(blocks.ResBlk):
    def forward(self, x):
        return (self.shortcut(x) + self.residual(x)) / 2


class ResBlkPoolFirst(blocks.ResBlk):
    def residual(self, x):
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        if self.normalize:
            x = self.norm1(x)
        x = self.conv1(F.leaky_relu(x, 0.2))
        if self.normalize:
            x = self.norm2(x)
        return self.conv2(F.leaky_relu(x, 0.2))


class ResBlkShortcutNotPooled(blocks.ResBlk):
    def forward(self, x):
        shortcut = self.conv1x1(x) if self.learned_sc else x
        return (shortcut + self.residual(x)) / math.sqrt(2)


class AdainResBlkIgnoresHpf(blocks.AdainResBlk):
    def forward(self, x, s):
        return (self.residual(x, s) + self.shortcut(x)) / math.sqrt(2)


class AdainResBlkNoScaling(blocks.AdainResBlk):
    def forward(self, x, s):
        out = self.residual(x, s)
        return out + self.shortcut(x) if self.w_hpf == 0 else out


class AdainResBlkUpsampleLate(blocks.AdainResBlk):
    def residual(self, x, s):
        x = self.conv1(F.leaky_relu(self.norm1(x, s), 0.2))
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv2(F.leaky_relu(self.norm2(x, s), 0.2))


class AdainResBlkNoShortcut(blocks.AdainResBlk):
    def forward(self, x, s):
        return self.residual(x, s)


# --- 06: mapping network ---------------------------------------------------------------------

def mapping_selecting(select):
    class Mapping(model.MappingNetwork):
        def forward(self, z, y):
            out = torch.stack([head(self.shared(z)) for head in self.unshared], dim=1)
            return select(out, y)
    return Mapping


# --- 07: discriminator and adversarial loss --------------------------------------------------

def discriminator_selecting(select):
    class D(model.Discriminator):
        def forward(self, x, y):
            return select(self.main(x).flatten(1), y)
    return D


def adv_swapped(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 - target))


def adv_log_sigmoid(logits, target):
    p = torch.sigmoid(logits)
    return -torch.mean(torch.log(p) if target == 1 else torch.log(1 - p))


def adv_sum(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target),
                                              reduction="sum")


# --- 08: R1 ----------------------------------------------------------------------------------

def r1(reduce, create_graph=True, of_mean=False):
    def r1_penalty(d_out_real, x_real):
        out = d_out_real.mean() if of_mean else d_out_real.sum()
        grad, = torch.autograd.grad(out, x_real, create_graph=create_graph)
        return reduce(grad)
    return r1_penalty


def r1_official(grad):
    return 0.5 * grad.pow(2).flatten(1).sum(1).mean()


# --- 09: v2 losses ---------------------------------------------------------------------------

def v2_losses_with(sty=losses.style_reconstruction_loss, ds=losses.diversity_loss,
                   cyc=losses.cycle_loss, objective=g_objective):
    return lambda: checks.check_v2_losses(sty, ds, cyc, objective)


# --- 10: EMA and lambda_ds -------------------------------------------------------------------

@torch.no_grad()
def ema_swapped(model_, model_ema, beta):
    for p, p_ema in zip(model_.parameters(), model_ema.parameters()):
        p_ema.copy_((1 - beta) * p_ema + beta * p)


@torch.no_grad()
def ema_rebinding(model_, model_ema, beta):
    for p, p_ema in zip(model_.parameters(), model_ema.parameters()):
        p_ema = beta * p_ema + (1 - beta) * p  # noqa: F841 (the mistake: nothing is stored)


@torch.no_grad()
def ema_copy(model_, model_ema, beta):
    model_ema.load_state_dict(model_.state_dict())


def ema_without_no_grad(model_, model_ema, beta):
    for p, p_ema in zip(model_.parameters(), model_ema.parameters()):
        p_ema.mul_(beta).add_(p, alpha=1 - beta)


def ema_with(update=train.update_ema, schedule=train.lambda_ds_at):
    return lambda: checks.check_ema_and_lambda_ds(update, schedule)


# --- 11: Frechet distance --------------------------------------------------------------------

def fd(mean_term, cross_sign=-2.0, root=lambda s1, s2: scipy.linalg.sqrtm(s1 @ s2).real):
    def frechet(mu1, sigma1, mu2, sigma2):
        trace = np.trace(sigma1) + np.trace(sigma2) + cross_sign * np.trace(root(sigma1, sigma2))
        return float(mean_term(mu1 - mu2) + trace)
    return frechet


def squared(d):
    return d @ d


MUTANTS = [
    Mutant("01", "labels before the image", lambda: checks.check_tile_label(tile_labels_first),
           "image comes first"),
    Mutant("01", "concatenated on the batch dimension",
           lambda: checks.check_tile_label(tile_on_batch_dim), "concatenate along dim 1"),
    Mutant("01", "every image gets the first image's labels",
           lambda: checks.check_tile_label(tile_first_image_labels), "constant c[i, j]"),
    Mutant("01", "tiled to H x H", lambda: checks.check_tile_label(tile_height_for_width),
           "raised RuntimeError"),
    Mutant("02", "squared norm", lambda: checks.check_gradient_penalty(
        penalty(lambda g: torch.mean((g.flatten(1).pow(2).sum(1) - 1) ** 2))), "squared norm"),
    Mutant("02", "one norm over the batch", lambda: checks.check_gradient_penalty(
        penalty(lambda g: (g.norm(2) - 1) ** 2)), "one norm over the whole batch"),
    Mutant("02", "sum over samples", lambda: checks.check_gradient_penalty(
        penalty(lambda g: torch.sum((g.flatten(1).norm(2, dim=1) - 1) ** 2))),
        "a sum over the batch"),
    Mutant("02", "without create_graph", lambda: checks.check_gradient_penalty(
        penalty(per_sample, create_graph=False)), "create_graph=True"),
    Mutant("02", "x_hat mixed the other way round", lambda: checks.check_gradient_penalty(
        penalty(per_sample, reverse=True)), "the interpolates differ"),
    Mutant("03", "BCE averaged over attributes", v1_losses_with(cls_mean_over_attributes),
           "averaged over the attributes"),
    Mutant("03", "BCE for single labels", v1_losses_with(cls_bce_for_single_label),
           "binary cross-entropy used for single labels"),
    Mutant("03", "L2 reconstruction", v1_losses_with(
        reconstruction=lambda x_rec, x: torch.mean((x_rec - x) ** 2)), "a squared error"),
    Mutant("03", "reconstruction without abs", v1_losses_with(
        reconstruction=lambda x_rec, x: torch.mean(x_rec - x)), "absolute value"),
    Mutant("04", "gamma instead of 1 + gamma", lambda: checks.check_adain(AdaINGamma),
           "(1 + gamma)"),
    Mutant("04", "gamma and beta swapped", lambda: checks.check_adain(AdaINSwapped),
           "gamma and beta are swapped"),
    Mutant("04", "x not normalised", lambda: checks.check_adain(AdaINUnnormalised),
           "x is not normalised"),
    Mutant("04", "affine instance norm", lambda: checks.check_adain(AdaINAffineNorm),
           "unexpected ['norm.bias', 'norm.weight']"),
    Mutant("05", "ResBlk without 1/sqrt(2)", lambda: checks.check_resblk(ResBlkNoScaling),
           "did you divide by sqrt(2)?"),
    Mutant("05", "ResBlk divided by 2", lambda: checks.check_resblk(ResBlkHalved),
           "not 2"),
    Mutant("05", "ResBlk pools before conv1", lambda: checks.check_resblk(ResBlkPoolFirst),
           "Residual: [norm1]"),
    Mutant("05", "ResBlk shortcut not pooled",
           lambda: checks.check_resblk(ResBlkShortcutNotPooled), "raised RuntimeError"),
    Mutant("05", "AdainResBlk ignores w_hpf",
           lambda: checks.check_adain_resblk(AdainResBlkIgnoresHpf), "residual alone"),
    Mutant("05", "AdainResBlk without 1/sqrt(2)",
           lambda: checks.check_adain_resblk(AdainResBlkNoScaling), "did you divide by sqrt(2)?"),
    Mutant("05", "AdainResBlk upsamples after conv1",
           lambda: checks.check_adain_resblk(AdainResBlkUpsampleLate), "Upsample before conv1"),
    Mutant("05", "AdainResBlk without shortcut",
           lambda: checks.check_adain_resblk(AdainResBlkNoShortcut), "the shortcut is added"),
    Mutant("06", "always the first head", lambda: checks.check_mapping_network(
        mapping_selecting(lambda out, y: out[:, 0])), "first domain's head"),
    Mutant("06", "the head of y[0] for all", lambda: checks.check_mapping_network(
        mapping_selecting(lambda out, y: out[:, y[0]])), "head of y[0]"),
    Mutant("06", "out[:, y]", lambda: checks.check_mapping_network(
        mapping_selecting(lambda out, y: out[:, y])), "expected shape (5, 3), got (5, 5, 3)"),
    Mutant("06", "indices swapped", lambda: checks.check_mapping_network(
        mapping_selecting(lambda out, y: out[y, torch.arange(y.size(0))])), "raised IndexError"),
    Mutant("07", "D: always the first domain", lambda: checks.check_discriminator_and_adv_loss(
        discriminator_selecting(lambda out, y: out[:, 0]), losses.adversarial_loss),
        "first domain's logit"),
    Mutant("07", "D: every domain's logit", lambda: checks.check_discriminator_and_adv_loss(
        discriminator_selecting(lambda out, y: out), losses.adversarial_loss),
        "one logit per sample"),
    Mutant("07", "adversarial target swapped", lambda: checks.check_discriminator_and_adv_loss(
        model.Discriminator, adv_swapped), "target is swapped"),
    Mutant("07", "log(sigmoid) instead of logits", lambda: checks.check_discriminator_and_adv_loss(
        model.Discriminator, adv_log_sigmoid), "underflows"),
    Mutant("07", "adversarial loss summed", lambda: checks.check_discriminator_and_adv_loss(
        model.Discriminator, adv_sum), "a sum"),
    Mutant("08", "R1 without 0.5", lambda: checks.check_r1(
        r1(lambda g: g.pow(2).flatten(1).sum(1).mean())), "0.5 is missing"),
    Mutant("08", "R1 without create_graph", lambda: checks.check_r1(
        r1(r1_official, create_graph=False)), "create_graph=True"),
    Mutant("08", "R1 of d_out.mean()", lambda: checks.check_r1(r1(r1_official, of_mean=True)),
           "1/N times too small"),
    Mutant("08", "R1 norm not squared", lambda: checks.check_r1(
        r1(lambda g: 0.5 * g.flatten(1).norm(dim=1).mean())), "not squared"),
    Mutant("08", "R1 mean over pixels", lambda: checks.check_r1(
        r1(lambda g: 0.5 * g.pow(2).mean())), "a mean over the pixels"),
    Mutant("09", "+ lambda_ds", v2_losses_with(objective=lambda t, lam: t["adv"] + lam["sty"] * t[
        "sty"] + lam["ds"] * t["ds"] + lam["cyc"] * t["cyc"]), "the diversity term is subtracted"),
    Mutant("09", "diversity without detach", v2_losses_with(
        ds=lambda a, b: torch.mean(torch.abs(a - b))), "detach the second image"),
    Mutant("09", "diversity returned negative", v2_losses_with(
        ds=lambda a, b: -torch.mean(torch.abs(a - b.detach()))), "minus sign belongs"),
    Mutant("09", "L2 cycle loss", v2_losses_with(cyc=lambda a, b: torch.mean((a - b) ** 2)),
           "a squared error"),
    Mutant("09", "target style detached", v2_losses_with(
        sty=lambda a, b: torch.mean(torch.abs(a - b.detach()))), "do not detach the target"),
    Mutant("10", "EMA weights swapped", ema_with(ema_swapped), "beta weighs the old average"),
    Mutant("10", "EMA not in place", ema_with(ema_rebinding), "was not changed"),
    Mutant("10", "EMA copies the weights", ema_with(ema_copy), "the weights were copied"),
    Mutant("10", "EMA without no_grad", ema_with(ema_without_no_grad), "torch.no_grad()"),
    Mutant("10", "lambda_ds not clamped", ema_with(
        schedule=lambda t, cfg: cfg.lambda_ds * (1 - t / cfg.ds_iter)), "not clamped at 0"),
    Mutant("10", "lambda_ds grows", ema_with(
        schedule=lambda t, cfg: cfg.lambda_ds * min(1.0, t / cfg.ds_iter)), "the wrong way"),
    Mutant("10", "lambda_ds over total_iters", ema_with(
        schedule=lambda t, cfg: cfg.lambda_ds * max(0.0, 1 - t / cfg.total_iters)),
        "not cfg.total_iters"),
    Mutant("11", "no trace term", lambda: checks.check_frechet_distance(
        lambda mu1, s1, mu2, s2: float((mu1 - mu2) @ (mu1 - mu2))), "covariance term is missing"),
    Mutant("11", "no square root", lambda: checks.check_frechet_distance(
        fd(squared, root=lambda s1, s2: s1 @ s2)), "square root is missing"),
    Mutant("11", "cross term added", lambda: checks.check_frechet_distance(
        fd(squared, cross_sign=2.0)), "must be subtracted"),
    Mutant("11", "product of square roots", lambda: checks.check_frechet_distance(
        fd(squared, root=lambda s1, s2: (scipy.linalg.sqrtm(s1) @ scipy.linalg.sqrtm(s2)).real)),
        "not the product of two square roots"),
    Mutant("11", "mean term not squared", lambda: checks.check_frechet_distance(
        fd(lambda d: np.sqrt(d @ d))), "squared distance"),
]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.exercise}-{m.mistake}")
def test_check_catches_the_mutant(mutant):
    with pytest.raises(AssertionError) as failure:
        mutant.run()
    assert mutant.message in str(failure.value), str(failure.value)


def test_every_exercise_has_at_least_three_mutants():
    counts = {}
    for m in MUTANTS + CAPSTONE_MUTANTS:
        counts[m.exercise] = counts.get(m.exercise, 0) + 1
    assert sorted(counts) == [f"{i:02d}" for i in range(1, 13)]
    assert min(counts.values()) >= 3, counts


def test_unfinished_exercise_is_passed_on_as_not_implemented():
    class Unfinished(blocks.AdaIN):
        def forward(self, x, s):
            raise NotImplementedError("write AdaIN")
    with pytest.raises(NotImplementedError, match="write AdaIN"):
        checks.check_adain(Unfinished)


# --- 12: capstone ----------------------------------------------------------------------------

class StudentAdaIN(nn.Module):
    """A correct AdaIN written differently from the library's (what a student might write)."""

    def __init__(self, style_dim, num_features):
        super().__init__()
        self.norm = nn.InstanceNorm2d(num_features)
        self.fc = nn.Linear(style_dim, 2 * num_features)

    def forward(self, x, s):
        h = self.fc(s)[:, :, None, None]
        c = x.size(1)
        return self.norm(x) * (1 + h[:, :c]) + h[:, c:]


def student_lambda_ds(step, cfg):
    return cfg.lambda_ds * max(0.0, 1.0 - step / cfg.ds_iter)


class StudentTrainer(train.V2Trainer):
    @property
    def lambda_ds(self):
        return student_lambda_ds(self.step, self.cfg)


def plug(generator, cls=StudentAdaIN, share_fc=True):
    for block in generator.decode:
        for name in ("norm1", "norm2"):
            old = getattr(block, name)
            new = cls(old.fc.in_features, old.fc.out_features // 2)
            if share_fc:
                new.fc = old.fc
            else:
                new.load_state_dict(old.state_dict())
            setattr(block, name, new)


def random_batch(cfg, seed=0):
    gen = torch.Generator().manual_seed(seed)
    n, size = cfg.batch_size, cfg.img_size
    return {"x_src": torch.randn(n, 3, size, size, generator=gen),
            "y_src": torch.randint(cfg.num_domains, (n,), generator=gen),
            "x_ref": torch.randn(n, 3, size, size, generator=gen),
            "x_ref2": torch.randn(n, 3, size, size, generator=gen),
            "y_ref": torch.randint(cfg.num_domains, (n,), generator=gen),
            "z_trg": torch.randn(n, cfg.latent_dim, generator=gen),
            "z_trg2": torch.randn(n, cfg.latent_dim, generator=gen)}


def trained(trainer_cls=StudentTrainer, plug_nets=True, plug_ema=True, share_fc=True,
            ema_shares_g=False, train_first=True):
    """A tiny trainer, plugged as asked, after two training steps."""
    cfg = tiny_v2_config()
    trainer = trainer_cls(cfg)
    if plug_nets:
        plug(trainer.nets.generator, share_fc=share_fc)
    if plug_ema:
        plug(trainer.nets_ema.generator, share_fc=share_fc)
    if ema_shares_g:
        for mine, theirs in zip(trainer.nets_ema.generator.decode, trainer.nets.generator.decode):
            mine.norm1, mine.norm2 = theirs.norm1, theirs.norm2
    for step in range(2 if train_first else 0):
        trainer.train_step(random_batch(cfg, step))
    return trainer


def capstone(**options):
    return lambda: checks.check_capstone(trained(**options), StudentAdaIN, student_lambda_ds)


CAPSTONE_MUTANTS = [
    Mutant("12", "nothing plugged in", capstone(plug_nets=False, plug_ema=False),
           "trainer.nets.generator still has AdaIN modules of class ['AdaIN']"),
    Mutant("12", "G_ema not plugged", capstone(plug_ema=False),
           "trainer.nets_ema.generator still has"),
    Mutant("12", "new weights unknown to the optimiser", capstone(share_fc=False),
           "optimiser does not update your AdaIN"),
    Mutant("12", "library lambda_ds schedule", capstone(trainer_cls=train.V2Trainer),
           "starganlib's lambda_ds schedule"),
    Mutant("12", "G_ema shares G's AdaIN", capstone(ema_shares_g=True),
           "G and G_ema share AdaIN weights"),
    Mutant("12", "not trained", capstone(train_first=False), "after training it"),
    Mutant("12", "the library's AdaIN passed", lambda: checks.check_capstone(
        trained(), blocks.AdaIN, student_lambda_ds), "pass your own class"),
]


def test_capstone_check_passes_when_the_student_modules_trained(capsys):
    checks.check_capstone(trained(), StudentAdaIN, student_lambda_ds)
    assert capsys.readouterr().out.startswith("✓ your AdaIN (")


@pytest.mark.parametrize("mutant", CAPSTONE_MUTANTS, ids=lambda m: f"{m.exercise}-{m.mistake}")
def test_capstone_check_catches_the_mutant(mutant):
    with pytest.raises(AssertionError) as failure:
        mutant.run()
    assert mutant.message in str(failure.value), str(failure.value)


def test_checks_are_fast():
    import time
    for name, run in REFERENCE_CALLS.items():
        start = time.perf_counter()
        run()
        assert time.perf_counter() - start < 1.0, name
