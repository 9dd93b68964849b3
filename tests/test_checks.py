"""The exercise checks pass on starganlib's reference code and catch typical wrong answers.

Every mutant below is a plausible student mistake; the test asserts that its check fails with an
AssertionError whose message contains the explanation the student needs (and no raw PyTorch
advice). The first set came with the checks; the later ones cover the blind spots of issue 21
(gradients, shapes and batches, numerical stability, tolerances, the capstone, messages).
Correct answers written differently must pass.
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
    kind: str = "first set"  # the class of blind spot of issue 21 it belongs to, for the new ones
    absent: tuple = ()  # phrases the message must not contain (a wrong explanation)


# phrases of raw PyTorch errors that must never reach a student (their advice is wrong there)
RAW = ("allow_unused", "Traceback", "retain_graph=True", "grad_fn>")


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


FIRST_SET = [
    Mutant("01", "labels before the image", lambda: checks.check_tile_label(tile_labels_first),
           "image comes first"),
    Mutant("01", "concatenated on the batch dimension",
           lambda: checks.check_tile_label(tile_on_batch_dim), "concatenate along dim 1"),
    Mutant("01", "every image gets the first image's labels",
           lambda: checks.check_tile_label(tile_first_image_labels), "constant c[i, j]"),
    Mutant("01", "tiled to H x H", lambda: checks.check_tile_label(tile_height_for_width),
           "torch.cat got tensors whose sizes differ outside dimension 1 (5 and 4)"),
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
           lambda: checks.check_resblk(ResBlkShortcutNotPooled),
           "both branches are average-pooled"),
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
        mapping_selecting(lambda out, y: out[y, torch.arange(y.size(0))])),
        "index 3 is out of range for dimension 1, which has size 3"),
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


# --- issue 21: the blind spots, six classes of new mutants ------------------------------------
# gradients: values right, but nothing (or the wrong thing) would learn

def tile_detaching_x(x, c):
    return tile_and_concat(x.detach(), c)


class AdaINDetachedStyle(blocks.AdaIN):
    def forward(self, x, s):
        return super().forward(x, s.detach())


class AdaINNoGrad(blocks.AdaIN):
    def forward(self, x, s):
        with torch.no_grad():
            return super().forward(x, s)


class AdaINDetachedStatistics(blocks.AdaIN):
    def forward(self, x, s):
        mean = x.mean(dim=(2, 3), keepdim=True).detach()
        std = torch.sqrt(x.var(dim=(2, 3), unbiased=False, keepdim=True) + 1e-5).detach()
        gamma, beta = self.fc(s).view(s.size(0), -1, 1, 1).chunk(2, dim=1)
        return (1 + gamma) * (x - mean) / std + beta


class ResBlkShortcutDetached(blocks.ResBlk):
    def forward(self, x):
        return (self.shortcut(x).detach() + self.residual(x)) / math.sqrt(2)


class AdainResBlkDetachedInput(blocks.AdainResBlk):
    def forward(self, x, s):
        return super().forward(x.detach(), s)


class MappingDetachedTrunk(model.MappingNetwork):
    def forward(self, z, y):
        h = self.shared(z).detach()
        out = torch.stack([head(h) for head in self.unshared], dim=1)
        return out[torch.arange(y.size(0)), y]


class DiscriminatorNoGrad(model.Discriminator):
    def forward(self, x, y):
        with torch.no_grad():
            return super().forward(x, y)


def gp_requires_grad_again(critic_fn, x_real, x_fake, generator=None):
    return penalty(per_sample, create_graph=False)(critic_fn, x_real, x_fake,
                                                   generator).requires_grad_()


GRADIENT_MUTANTS = [
    Mutant("01", "x detached", lambda: checks.check_tile_label(tile_detaching_x),
           "x was detached", kind="gradients"),
    Mutant("02", "penalty without create_graph, then requires_grad_()",
           lambda: checks.check_gradient_penalty(gp_requires_grad_again),
           "marking the result requires_grad_() afterwards does not reconnect it",
           kind="gradients"),
    Mutant("03", "classification loss as a Python float", v1_losses_with(
        lambda logits, labels, multi: v1_losses.classification_loss(logits, labels, multi).item()),
        "is a Python float", kind="gradients"),
    Mutant("03", "reconstruction rebuilt as a new tensor", v1_losses_with(
        reconstruction=lambda x_rec, x: torch.tensor(
            v1_losses.reconstruction_loss(x_rec, x).item(), requires_grad=True)),
        "rebuilt as a new tensor", kind="gradients"),
    Mutant("04", "style code detached", lambda: checks.check_adain(AdaINDetachedStyle),
           "s was detached", kind="gradients"),
    Mutant("04", "forward under no_grad", lambda: checks.check_adain(AdaINNoGrad),
           "the forward runs under torch.no_grad()", kind="gradients"),
    Mutant("04", "statistics detached", lambda: checks.check_adain(AdaINDetachedStatistics),
           "keep the mean and variance of the normalisation in the graph", kind="gradients"),
    Mutant("05", "shortcut detached", lambda: checks.check_resblk(ResBlkShortcutDetached),
           "part of the computation is detached", kind="gradients"),
    Mutant("05", "AdainResBlk input detached",
           lambda: checks.check_adain_resblk(AdainResBlkDetachedInput),
           "x was detached", kind="gradients"),
    Mutant("06", "shared trunk detached", lambda: checks.check_mapping_network(
        MappingDetachedTrunk), "no gradient reaches shared.0.weight", kind="gradients"),
    Mutant("07", "D under no_grad", lambda: checks.check_discriminator_and_adv_loss(
        DiscriminatorNoGrad, losses.adversarial_loss), "the forward runs under torch.no_grad()",
        kind="gradients"),
    Mutant("09", "objective of numbers", v2_losses_with(objective=lambda t, lam: g_objective(
        {k: v.item() for k, v in t.items()}, lam)), "is a Python float", kind="gradients"),
]


# shapes and batches: right for N >= 2, square, contiguous images with every domain

def d_squeezed(out, y):
    return out.squeeze()[torch.arange(y.size(0)), y]


def mapping_one_hot(out, y):
    return (out * F.one_hot(y).unsqueeze(-1)).sum(1)


class AdainResBlkSquareUpsample(blocks.AdainResBlk):
    def forward(self, x, s):
        up = lambda t: F.interpolate(t, size=2 * t.size(2)) if self.upsample else t  # noqa: E731
        residual = self.conv1(up(F.leaky_relu(self.norm1(x, s), 0.2)))
        residual = self.conv2(F.leaky_relu(self.norm2(residual, s), 0.2))
        if self.w_hpf > 0:
            return residual
        shortcut = self.conv1x1(up(x)) if self.learned_sc else up(x)
        return (residual + shortcut) / math.sqrt(2)


class ResBlkSquarePool(blocks.ResBlk):
    def forward(self, x):
        pool = lambda t: F.adaptive_avg_pool2d(t, t.size(2) // 2)  # noqa: E731
        shortcut = self.conv1x1(x) if self.learned_sc else x
        residual = self.conv1(F.leaky_relu(self.norm1(x) if self.normalize else x, 0.2))
        if self.downsample:
            shortcut, residual = pool(shortcut), pool(residual)
        if self.normalize:
            residual = self.norm2(residual)
        return (shortcut + self.conv2(F.leaky_relu(residual, 0.2))) / math.sqrt(2)


SHAPE_MUTANTS = [
    Mutant("07", "D squeezes (N, K, 1, 1)", lambda: checks.check_discriminator_and_adv_loss(
        discriminator_selecting(d_squeezed), losses.adversarial_loss),
        "With N = 1, .squeeze() also removes the batch dimension", kind="shapes"),
    Mutant("06", "F.one_hot without num_classes", lambda: checks.check_mapping_network(
        mapping_selecting(mapping_one_hot)), "F.one_hot(y) without num_classes", kind="shapes"),
    Mutant("07", "D: F.one_hot without num_classes",
           lambda: checks.check_discriminator_and_adv_loss(discriminator_selecting(
               lambda out, y: (out * F.one_hot(y)).sum(1)), losses.adversarial_loss),
           "none of the last domain", kind="shapes"),
    Mutant("09", "diversity per sample by .view()", v2_losses_with(
        ds=lambda a, b: torch.abs(a - b.detach()).view(a.size(0), -1).mean(1).mean()),
        ".view() needs contiguous memory", kind="shapes"),
    Mutant("08", "R1 with grad.view(N, -1)", lambda: checks.check_r1(
        r1(lambda g: 0.5 * g.pow(2).view(g.size(0), -1).sum(1).mean())),
        ".view() needs contiguous memory", kind="shapes"),
    Mutant("05", "upsampled to a square", lambda: checks.check_adain_resblk(
        AdainResBlkSquareUpsample), "non-square images square", kind="shapes"),
    Mutant("05", "pooled to a square", lambda: checks.check_resblk(ResBlkSquarePool),
           "pool by a factor 2 in each direction", kind="shapes"),
]


# numerical stability: losses with sigmoid, exp or log at logits of +-200, both directions

def adv_log_for_fakes(logits, target):
    if target == 1:
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    return -torch.mean(torch.log(1 - torch.sigmoid(logits)))


def adv_exp(logits, target):
    sign = -1.0 if target == 1 else 1.0
    return torch.mean(torch.log(1 + torch.exp(sign * logits)))


def adv_clamped(logits, target):
    p = torch.sigmoid(logits) if target == 1 else 1 - torch.sigmoid(logits)
    return -torch.mean(torch.log(p.clamp(min=1e-8)))


def adv_where(logits, target):
    l = -logits if target == 1 else logits  # noqa: E741
    return torch.mean(torch.where(l > 30, l, torch.log1p(torch.exp(l))))


def cls_log_sigmoid(logits, labels, multi_label):
    if not multi_label:
        return F.cross_entropy(logits, labels.argmax(1))
    p = torch.sigmoid(logits)
    bce = -(labels * torch.log(p) + (1 - labels) * torch.log(1 - p))
    return bce.sum() / logits.size(0)


def cls_log_softmax_by_hand(logits, labels, multi_label):
    if multi_label:
        return v1_losses.classification_loss(logits, labels, True)
    p = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
    return -torch.log(p[torch.arange(len(p)), labels.argmax(1)]).mean()


def cls_masked_softplus(logits, labels, multi_label):
    if not multi_label:
        return F.cross_entropy(logits, labels.argmax(1))
    bce = labels * F.softplus(-logits) + (1 - labels) * torch.log(1 + torch.exp(logits))
    return bce.sum() / logits.size(0)


def adv_with(adversarial_loss):
    return lambda: checks.check_discriminator_and_adv_loss(model.Discriminator, adversarial_loss)


STABILITY_MUTANTS = [
    Mutant("07", "log(1 - sigmoid) for fakes", adv_with(adv_log_for_fakes),
           "log(1 - sigmoid(l)) is log(0) = -inf", kind="stability"),
    Mutant("07", "softplus written with exp", adv_with(adv_exp), "exp(200) overflows",
           kind="stability"),
    Mutant("07", "probability clamped", adv_with(adv_clamped), "caps the cost of a confident "
           "mistake", kind="stability"),
    Mutant("07", "torch.where around exp", adv_with(adv_where), "the gradient of the branch "
           "not taken", kind="stability"),
    Mutant("03", "BCE from log(sigmoid)", v1_losses_with(cls_log_sigmoid),
           "log(sigmoid(l)) or log(1 - sigmoid(l)) is log(0)", kind="stability"),
    Mutant("03", "softmax by hand", v1_losses_with(cls_log_softmax_by_hand),
           "the loss goes through sigmoid, softmax or exp", kind="stability"),
    Mutant("03", "BCE masked by the labels", v1_losses_with(cls_masked_softplus),
           "0 * inf = NaN", kind="stability"),
]


# tolerances with power: mistakes whose differences are small in absolute terms

def r1_zero_weight_gradients(d_out_real, x_real):
    grad, = torch.autograd.grad(d_out_real.sum(), x_real, retain_graph=True)
    return r1_official(grad) + 0 * d_out_real.sum()  # silences "does not require grad"


def r1_half_detached(d_out_real, x_real):
    grad, = torch.autograd.grad(d_out_real.sum(), x_real, create_graph=True)
    return 0.5 * (grad * grad.detach()).flatten(1).sum(1).mean()


class ResBlkPlainInstanceNorm(blocks.ResBlk):
    def forward(self, x):
        norm = lambda t: F.instance_norm(t)  # noqa: E731 (the block's affine weights are skipped)
        shortcut = self.conv1x1(x) if self.learned_sc else x
        residual = self.conv1(F.leaky_relu(norm(x) if self.normalize else x, 0.2))
        if self.downsample:
            shortcut, residual = F.avg_pool2d(shortcut, 2), F.avg_pool2d(residual, 2)
        if self.normalize:
            residual = norm(residual)
        return (shortcut + self.conv2(F.leaky_relu(residual, 0.2))) / math.sqrt(2)


TOLERANCE_MUTANTS = [
    Mutant("08", "R1 with zero weight gradients", lambda: checks.check_r1(
        r1_zero_weight_gradients), "got zeros", kind="tolerance"),
    Mutant("08", "R1 with half its weight gradient", lambda: checks.check_r1(r1_half_detached),
           "keep the whole computation of the squared norm in the graph", kind="tolerance"),
    Mutant("05", "instance norms without their affine weights", lambda: checks.check_resblk(
        ResBlkPlainInstanceNorm), "Use the block's own norm1 and norm2", kind="tolerance"),
]


# messages: each names the real mistake, in course words

def gp_of_critic_mean(critic_fn, x_real, x_fake, generator=None):
    return penalty(per_sample)(lambda x: critic_fn(x) / x.size(0), x_real, x_fake, generator)


def gp_critic_on_x_real(critic_fn, x_real, x_fake, generator=None):
    alpha = torch.rand(x_real.size(0), 1, 1, 1, generator=generator).to(x_real)
    x_hat = (alpha * x_real + (1 - alpha) * x_fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic_fn(x_real.requires_grad_()).sum(), x_hat,
                                create_graph=True)
    return per_sample(grad)


def gp_x_hat_without_grad(critic_fn, x_real, x_fake, generator=None):
    alpha = torch.rand(x_real.size(0), 1, 1, 1, generator=generator).to(x_real)
    x_hat = alpha * x_real + (1 - alpha) * x_fake
    grad, = torch.autograd.grad(critic_fn(x_hat).sum(), x_hat, create_graph=True)
    return per_sample(grad)


def r1_of_a_new_leaf(d_out_real, x_real):
    return r1(r1_official)(d_out_real, x_real.detach().requires_grad_())


class AdaINBatchNorm(blocks.AdaIN):
    def forward(self, x, s):
        gamma, beta = self.fc(s).view(s.size(0), -1, 1, 1).chunk(2, dim=1)
        return (1 + gamma) * F.batch_norm(x, None, None, training=True) + beta


MESSAGE_MUTANTS = [
    Mutant("02", "gradient of the critic's mean", lambda: checks.check_gradient_penalty(
        gp_of_critic_mean), "1/N times too small", kind="messages"),
    Mutant("02", "critic called on x_real", lambda: checks.check_gradient_penalty(
        gp_critic_on_x_real), "call critic_fn on x_hat itself", kind="messages"),
    Mutant("02", "x_hat without requires_grad", lambda: checks.check_gradient_penalty(
        gp_x_hat_without_grad), "never marked with requires_grad_(True)", kind="messages"),
    Mutant("08", "R1 with respect to a new leaf", lambda: checks.check_r1(r1_of_a_new_leaf),
           "is not in that graph", kind="messages"),
    Mutant("08", "R1 written as WGAN-GP", lambda: checks.check_r1(
        r1(lambda g: 0.5 * per_sample(g))), "this is WGAN-GP's", kind="messages"),
    Mutant("09", "cycle loss as a Python float", v2_losses_with(
        cyc=lambda a, b: torch.mean(torch.abs(a - b)).item()), "is a Python float",
        kind="messages", absent=("create_graph", "double backward")),
    Mutant("09", "lambda_sty forgotten", v2_losses_with(objective=lambda t, lam: t["adv"] + t[
        "sty"] - lam["ds"] * t["ds"] + lam["cyc"] * t["cyc"]), "lambda_sty is missing",
        kind="messages"),
    Mutant("03", "root mean square reconstruction", v1_losses_with(
        reconstruction=lambda x_rec, x: torch.sqrt(torch.mean((x_rec - x) ** 2))),
        "the root of the mean squared error", kind="messages"),
    Mutant("03", "nll_loss on logits", v1_losses_with(
        lambda logits, labels, multi: v1_losses.classification_loss(logits, labels, True)
        if multi else F.nll_loss(logits, labels.argmax(1))), "F.nll_loss takes log-probabilities",
        kind="messages"),
    Mutant("04", "batch statistics", lambda: checks.check_adain(AdaINBatchNorm),
           "normalised over the batch", kind="messages"),
]

MUTANTS = (FIRST_SET + GRADIENT_MUTANTS + SHAPE_MUTANTS + STABILITY_MUTANTS + TOLERANCE_MUTANTS
           + MESSAGE_MUTANTS)


# correct answers written differently: each must pass

class MappingHeadsInUse(model.MappingNetwork):
    def forward(self, z, y):
        h = self.shared(z)
        out = torch.zeros(z.size(0), self.unshared[0][-1].out_features)
        for k in y.unique().tolist():
            out = torch.where((y == k).view(-1, 1), self.unshared[k](h), out)
        return out


HARMLESS = {
    "cycle loss, real image detached": v2_losses_with(
        cyc=lambda a, b: torch.mean(torch.abs(a - b.detach()))),
    "reconstruction loss, real image detached": v1_losses_with(
        reconstruction=lambda x_rec, x: torch.mean(torch.abs(x.detach() - x_rec))),
    "mapping network, only the heads in use": lambda: checks.check_mapping_network(
        MappingHeadsInUse),
    "AdaIN written as an nn.Module": lambda: checks.check_adain(StudentAdaIN),
}


def assert_caught(mutant):
    with pytest.raises(AssertionError) as failure:
        mutant.run()
    message = str(failure.value)
    assert mutant.message in message, message
    assert not [phrase for phrase in RAW + mutant.absent if phrase in message], message


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.exercise}-{m.mistake}")
def test_check_catches_the_mutant(mutant):
    assert_caught(mutant)


def test_every_exercise_has_at_least_three_mutants():
    counts = {}
    for m in MUTANTS + CAPSTONE_MUTANTS:
        counts[m.exercise] = counts.get(m.exercise, 0) + 1
    assert sorted(counts) == [f"{i:02d}" for i in range(1, 13)]
    assert min(counts.values()) >= 3, counts


def test_every_blind_spot_has_at_least_three_new_mutants():
    counts = {}
    for m in MUTANTS + CAPSTONE_MUTANTS:
        counts[m.kind] = counts.get(m.kind, 0) + 1
    kinds = ["gradients", "shapes", "stability", "tolerance", "capstone", "messages"]
    assert sorted(counts) == sorted(kinds + ["first set"]), counts
    assert min(counts[k] for k in kinds) >= 3, counts


@pytest.mark.parametrize("name", ["cycle loss, real image detached",
                                  "reconstruction loss, real image detached",
                                  "mapping network, only the heads in use",
                                  "AdaIN written as an nn.Module"])
def test_check_passes_a_correct_variant(name, capsys):
    HARMLESS[name]()
    assert capsys.readouterr().out.startswith("✓ ")


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


def plug(generator, cls=StudentAdaIN, share_fc=True, fresh=False):
    """Replace every AdaIN of the decoder by one of ``cls``; returns the replaced modules."""
    replaced = []
    for block in generator.decode:
        for name in ("norm1", "norm2"):
            old = getattr(block, name)
            new = cls(old.fc.in_features, old.fc.out_features // 2)
            if share_fc:
                new.fc = old.fc
            elif not fresh:
                new.load_state_dict(old.state_dict())
            setattr(block, name, new)
            replaced.append(old)
    return replaced


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


def train_steps(trainer, steps=2):
    for step in range(steps):
        trainer.train_step(random_batch(trainer.cfg, step))


def trained(trainer_cls=StudentTrainer, adain=StudentAdaIN, plug_nets=True, plug_ema=True,
            share_fc=True, fresh_ema=False, ema_shares_g=False, steps=2):
    """A tiny trainer, plugged as asked and checked with check_plugged, after ``steps`` steps."""
    trainer = trainer_cls(tiny_v2_config())
    if plug_nets:
        plug(trainer.nets.generator, adain, share_fc=share_fc)
    if plug_ema:
        plug(trainer.nets_ema.generator, adain, share_fc=share_fc and not fresh_ema,
             fresh=fresh_ema)
    if ema_shares_g:
        for mine, theirs in zip(trainer.nets_ema.generator.decode, trainer.nets.generator.decode):
            mine.norm1, mine.norm2 = theirs.norm1, theirs.norm2
    checks.check_plugged(trainer, adain)
    train_steps(trainer, steps)
    return trainer


def capstone(adain=StudentAdaIN, **options):
    return lambda: checks.check_capstone(trained(adain=adain, **options), adain, student_lambda_ds)


def plugged_after_training(check_first=False):
    """Trained with the library's AdaIN, then plugged (and checked with check_plugged)."""
    trainer = StudentTrainer(tiny_v2_config())
    train_steps(trainer)
    plug(trainer.nets.generator)
    plug(trainer.nets_ema.generator)
    if check_first:
        checks.check_plugged(trainer, StudentAdaIN)
    checks.check_capstone(trainer, StudentAdaIN, student_lambda_ds)


def replugged_after_training():
    """Plugged and checked, trained, then plugged again with new modules (sharing fc)."""
    trainer = trained()
    plug(trainer.nets.generator)
    plug(trainer.nets_ema.generator)
    checks.check_capstone(trainer, StudentAdaIN, student_lambda_ds)


def swapped_out_during_training():
    """Plugged and checked, then the library's modules put back for training and the student's
    ones restored afterwards."""
    trainer = StudentTrainer(tiny_v2_config())
    plug(trainer.nets.generator)
    plug(trainer.nets_ema.generator)
    checks.check_plugged(trainer, StudentAdaIN)
    students = iter(plug(trainer.nets.generator, blocks.AdaIN))  # library ones, same fc
    train_steps(trainer)
    for block in trainer.nets.generator.decode:
        block.norm1, block.norm2 = next(students), next(students)
    checks.check_capstone(trainer, StudentAdaIN, student_lambda_ds)


def ema_copied_from_g():
    trainer = trained()
    trainer.nets_ema.generator.load_state_dict(trainer.nets.generator.state_dict())
    checks.check_capstone(trainer, StudentAdaIN, student_lambda_ds)


class TrivialAdaIN(blocks.AdaIN):
    pass


class DelegatingAdaIN(blocks.AdaIN):
    def forward(self, x, s):
        return super().forward(x, s)


class TrainerWithoutEma(StudentTrainer):
    def train_step(self, batch):
        beta, self.cfg = self.cfg.ema_beta, self.cfg.replace(ema_beta=1.0)
        try:
            return super().train_step(batch)
        finally:
            self.cfg = self.cfg.replace(ema_beta=beta)


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
    Mutant("12", "not trained", capstone(steps=0), "after training it"),
    Mutant("12", "the library's AdaIN passed", lambda: checks.check_capstone(
        trained(), blocks.AdaIN, student_lambda_ds), "pass your own class"),
    Mutant("12", "plugged in after training", plugged_after_training,
           "modules plugged in after training never trained", kind="capstone"),
    Mutant("12", "plugged in after training, then check_plugged",
           lambda: plugged_after_training(check_first=True),
           "has already trained 2 iterations", kind="capstone"),
    Mutant("12", "plugged again after training", replugged_after_training,
           "then train without plugging again", kind="capstone"),
    Mutant("12", "library modules during training", swapped_out_during_training,
           "ran only 0 times in training", kind="capstone"),
    Mutant("12", "G_ema built with fresh modules", capstone(fresh_ema=True),
           "G_ema's AdaIN modules hold other weights than G's", kind="capstone"),
    Mutant("12", "G_ema overwritten with G's weights", ema_copied_from_g,
           "hold G's weights themselves", kind="capstone"),
    Mutant("12", "G_ema never averaged", capstone(trainer_cls=TrainerWithoutEma),
           "G_ema's AdaIN weights after one more training step", kind="capstone"),
    Mutant("12", "trivial subclass of the library's AdaIN", capstone(adain=TrivialAdaIN),
           "a subclass of it", kind="capstone"),
    Mutant("12", "subclass calling the library's forward", capstone(adain=DelegatingAdaIN),
           "a subclass of it", kind="capstone"),
]


def test_capstone_check_passes_when_the_student_modules_trained(capsys):
    checks.check_capstone(trained(), StudentAdaIN, student_lambda_ds)
    plugged, capstone_ = capsys.readouterr().out.splitlines()
    assert plugged.startswith("✓ your AdaIN fills the 6 AdaIN slots")
    assert capstone_.startswith("✓ your AdaIN (6 modules in G and 6 in G_ema)")


@pytest.mark.parametrize("mutant", CAPSTONE_MUTANTS, ids=lambda m: f"{m.exercise}-{m.mistake}")
def test_capstone_check_catches_the_mutant(mutant):
    assert_caught(mutant)


def test_checks_are_fast():
    import time
    for name, run in REFERENCE_CALLS.items():
        start = time.perf_counter()
        run()
        assert time.perf_counter() - start < 1.0, name
