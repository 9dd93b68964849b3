"""Checks of the StarGAN v2 training exercises (08-10): R1, the generator's losses, EMA and λ_ds."""
import copy

import torch
from torch import nn

from ..v2 import losses, model, train
from ..v2.config import V2Config
from .report import (call, expect_close, expect_differentiable, gradients, passed, randn,
                     seeded)

GRADIENT_NORMS = torch.tensor([0.5, 1.0, 2.0, 3.0])  # the closed-form critic's gradient norms
TINY = V2Config(dataset="unused", img_size=16, num_domains=2, latent_dim=4, style_dim=8,
                mapping_dim=16, base_dim=8, max_conv_dim=16, num_down=1)


def check_r1(r1_penalty) -> None:
    """``r1_penalty(d_out_real (N,), x_real (N, 3, H, W)) = 0.5 * E[||grad_x D(x)||^2]``."""
    w = randn(4, 3, 4, 4, seed=0)
    w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * GRADIENT_NORMS.view(-1, 1, 1, 1)
    x = randn(4, 3, 4, 4, seed=1).requires_grad_()
    got = call(r1_penalty, (x * w).flatten(1).sum(1), x, what="r1_penalty on a linear critic")
    a2 = GRADIENT_NORMS ** 2
    expect_close(got, 0.5 * a2.mean(),
                 f"R1 of a critic whose per-sample gradient norms are {GRADIENT_NORMS.tolist()}",
                 hint="Differentiate d_out_real.sum() with respect to x_real, square and sum the "
                      "gradient over each sample, average over the batch, times 0.5.",
                 likely=[("the factor 0.5 is missing: R1 = 0.5 * E[||grad||^2] (gamma/2 with "
                          "gamma = 1).", a2.mean()),
                         ("the norm is not squared: R1 uses ||grad||^2.",
                          0.5 * GRADIENT_NORMS.mean()),
                         ("the gradient of d_out_real.mean() is 1/N times too small: "
                          "differentiate d_out_real.sum() (each sample's own gradient).",
                          0.5 * a2.mean() / 16),
                         ("a mean over the pixels: sum the squares over each sample's C*H*W "
                          "values, then average over the batch.", 0.5 * a2.mean() / 48)])
    for seed in range(3):
        reference = seeded(lambda: model.Discriminator(16, 2, 16, 4), seed)
        student_d = copy.deepcopy(reference)
        x_ref, y = randn(3, 3, 16, 16, seed=seed + 10).requires_grad_(), torch.tensor([0, 1, 1])
        x_student = x_ref.detach().clone().requires_grad_()
        expected = losses.r1_penalty(reference(x_ref, y), x_ref)
        got = call(r1_penalty, student_d(x_student, y), x_student, what="r1_penalty on D")
        expect_close(got, expected, f"R1 of random discriminator {seed}")
        expect_differentiable(got, "Your R1 penalty")
        expected.backward()
        got.backward()
        expect_close(gradients(student_d), gradients(reference),
                     "the gradient of R1 with respect to D's weights")
    passed("r1_penalty matches the reference on the closed-form critic and 3 random "
           "discriminators, value and gradients.")


def _pair(seed: int, offset: float):
    """Two tensors that differ by +-offset in every value (leaves requiring grad)."""
    a = randn(2, 3, 4, 4, seed=seed)
    signs = torch.where(randn(2, 3, 4, 4, seed=seed + 1) > 0, 1.0, -1.0)
    return a.requires_grad_(), (a + offset * signs).detach().requires_grad_()


def check_v2_losses(style_reconstruction_loss, diversity_loss, cycle_loss, g_objective) -> None:
    """L_sty, L_ds, L_cyc (L1 means) and ``g_objective(terms, lambdas)``, G's weighted total."""
    for name, fn, offset in [("style_reconstruction_loss", style_reconstruction_loss, 0.25),
                             ("diversity_loss", diversity_loss, 0.3), ("cycle_loss", cycle_loss, 0.4)]:
        first, second = _pair(0, offset)
        expect_close(call(fn, first, second, what=name), offset,
                     f"{name} of two tensors {offset} apart everywhere",
                     hint="An L1 mean: torch.mean(torch.abs(a - b)).",
                     likely=[("a squared error: the paper uses the L1 distance.", offset ** 2),
                             ("return the distance itself: the minus sign belongs in G's "
                              "objective.", -offset)])
    for seed in range(2):
        _compare_gradients(style_reconstruction_loss, diversity_loss, cycle_loss, seed)
    _check_objective(g_objective)
    passed("the style, diversity and cycle losses and G's objective match the reference "
           "(values and gradients).")


def _compare_gradients(style_reconstruction_loss, diversity_loss, cycle_loss, seed: int) -> None:
    for name, fn, reference in [
            ("style_reconstruction_loss", style_reconstruction_loss, losses.style_reconstruction_loss),
            ("diversity_loss", diversity_loss, losses.diversity_loss),
            ("cycle_loss", cycle_loss, losses.cycle_loss)]:
        a, b = randn(2, 8, seed=seed + 10), randn(2, 8, seed=seed + 20)
        expected_a, expected_b = a.clone().requires_grad_(), b.clone().requires_grad_()
        got_a, got_b = a.clone().requires_grad_(), b.clone().requires_grad_()
        expected = reference(expected_a, expected_b)
        got = call(fn, got_a, got_b, what=name)
        expect_close(got, expected, f"{name} on random inputs")
        expect_differentiable(got, f"Your {name}")
        expected.backward()
        got.backward()
        zero_b = torch.zeros_like(b)
        expect_close(got_a.grad if got_a.grad is not None else zero_b, expected_a.grad,
                     f"the gradient of {name} with respect to its first argument")
        hint = {"style_reconstruction_loss": "do not detach the target style: the loss also "
                                             "trains the network that produced it (official).",
                "diversity_loss": "detach the second image (x_fake2.detach()): it is a constant "
                                  "that the first image is pushed away from (official).",
                "cycle_loss": "the real image is a constant; use both tensors as given."}[name]
        expected_grad_b = expected_b.grad if expected_b.grad is not None else zero_b
        expect_close(got_b.grad if got_b.grad is not None else zero_b, expected_grad_b,
                     f"the gradient of {name} with respect to its second argument", hint=hint)


def _check_objective(g_objective) -> None:
    terms = {"adv": torch.tensor(1.0), "sty": torch.tensor(2.0), "ds": torch.tensor(0.5),
             "cyc": torch.tensor(3.0)}
    lambdas = {"sty": 1.0, "ds": 2.0, "cyc": 0.5}
    expect_close(call(g_objective, terms, lambdas, what="g_objective"), 3.5,
                 "g_objective with terms adv 1, sty 2, ds 0.5, cyc 3 and lambdas sty 1, ds 2, "
                 "cyc 0.5",
                 hint="L_adv + lambda_sty L_sty - lambda_ds L_ds + lambda_cyc L_cyc.",
                 likely=[("the diversity term is subtracted: G maximises it.", 5.5)])
    nets = seeded(lambda: train.build_nets(TINY), 0)
    x, y_org, y_trg = randn(2, 3, 16, 16, seed=1), torch.tensor([0, 1]), torch.tensor([1, 0])
    z_pair = (randn(2, TINY.latent_dim, seed=2), randn(2, TINY.latent_dim, seed=3))
    lambdas = {"sty": 1.5, "ds": 2.0, "cyc": 0.7}
    with torch.no_grad():
        total, terms = losses.g_loss(nets, x, y_org, y_trg, z_trgs=z_pair, lambdas=lambdas)
    expect_close(call(g_objective, terms, lambdas, what="g_objective"), total,
                 "g_objective on the terms of a real generator step (starganlib's g_loss)")


def check_ema_and_lambda_ds(update_ema, lambda_ds_at) -> None:
    """``update_ema(model, model_ema, beta)`` in place and ``lambda_ds_at(step, cfg)``."""
    trained, average = nn.Linear(3, 2), nn.Linear(3, 2)
    with torch.no_grad():
        for p, p_ema in zip(trained.parameters(), average.parameters()):
            p.fill_(1.0)
            p_ema.zero_()
    call(update_ema, trained, average, 0.9, what="update_ema(model, model_ema, beta=0.9)",
         hint="Update in place under torch.no_grad() (e.g. p_ema.lerp_(p, 1 - beta) or "
              "p_ema.mul_(beta).add_(p, alpha=1 - beta)).")
    got = torch.cat([p.detach().flatten() for p in average.parameters()])
    expect_close(got, torch.full_like(got, 0.1),
                 "model_ema after one update with beta 0.9 (model weights 1, average 0)",
                 hint="theta_ema <- beta * theta_ema + (1 - beta) * theta.",
                 likely=[("beta weighs the old average, 1 - beta the new weights: "
                          "theta_ema <- beta * theta_ema + (1 - beta) * theta.",
                          torch.full_like(got, 0.9)),
                         ("model_ema was not changed: update its parameters in place "
                          "(rebinding a loop variable changes nothing).", torch.zeros_like(got)),
                         ("the weights were copied: blend them with beta.", torch.ones_like(got))])
    got = torch.cat([p.detach().flatten() for p in trained.parameters()])
    expect_close(got, torch.ones_like(got), "the trained model after update_ema",
                 hint="update_ema must not change the trained model, only model_ema.")
    for seed, beta in enumerate([0.999, 0.5]):
        nets = [seeded(lambda: model.MappingNetwork(4, 3, 2, 8), seed + k) for k in range(2)]
        expected = copy.deepcopy(nets[1])
        train.update_ema(nets[0], expected, beta)
        call(update_ema, nets[0], nets[1], beta, what="update_ema")
        expect_close(torch.nn.utils.parameters_to_vector(nets[1].parameters()),
                     torch.nn.utils.parameters_to_vector(expected.parameters()),
                     f"model_ema of a random mapping network after one update, beta {beta}",
                     atol=1e-6)
    compare_lambda_ds(lambda_ds_at)
    passed("update_ema and lambda_ds_at match the reference on closed-form and random cases.")


def compare_lambda_ds(lambda_ds_at) -> None:
    """``lambda_ds_at(step, cfg)`` against the reference at steps before, at and after ds_iter."""
    cfg = TINY.replace(lambda_ds=2.0, ds_iter=100, total_iters=300)
    steps = torch.tensor([0, 25, 50, 100, 150, 300], dtype=torch.float64)
    got = torch.tensor([float(call(lambda_ds_at, int(t), cfg, what=f"lambda_ds_at({int(t)}, cfg)"))
                        for t in steps], dtype=torch.float64)
    expect_close(got, [train.lambda_ds_at(int(t), cfg) for t in steps],
                 "lambda_ds at steps 0, 25, 50, 100, 150, 300 (lambda_ds 2, ds_iter 100, "
                 "total_iters 300)",
                 hint="A straight line from cfg.lambda_ds at step 0 to 0 at step cfg.ds_iter, "
                      "then 0.",
                 likely=[("not clamped at 0: after ds_iter the weight stays 0, "
                          "max(0, 1 - step / ds_iter).", 2.0 * (1 - steps / 100)),
                         ("decaying the wrong way: lambda_ds starts at cfg.lambda_ds and falls "
                          "to 0.", 2.0 * torch.clamp(steps / 100, max=1.0)),
                         ("the decay runs over cfg.ds_iter iterations, not cfg.total_iters.",
                          2.0 * torch.clamp(1 - steps / 300, min=0.0))])
