"""Checks of the StarGAN v2 training exercises (08-10): R1, the generator's losses, EMA and λ_ds."""
import copy
import math

import torch
from torch import nn

from ..v2 import losses, model, train
from ..v2.config import V2Config
from ..v2.nets import build_nets
from .report import (LOSS_CUT, PENALTY_CUT, as_float64, call, channels_last, compare_function,
                     expect_close, expect_differentiable, expect_gradient, leaf,
                     parameter_gradients, passed, randn, seeded)

GRADIENT_NORMS = torch.tensor([0.5, 1.0, 2.0, 3.0])  # the closed-form critic's gradient norms
TINY = V2Config(dataset="unused", img_size=16, num_domains=2, latent_dim=4, style_dim=8,
                mapping_dim=16, base_dim=8, max_conv_dim=16, num_down=1)


R1_ERRORS = ("Differentiate d_out_real.sum() with respect to x_real itself, the tensor given "
             "(D computed d_out_real from it; a new leaf such as x_real.detach()"
             ".requires_grad_() is not in that graph), with create_graph=True.")


R1_CHANNELS_LAST = (" The trainer keeps images channels-last: .view() fails on their gradient, "
                    "use .reshape() or .flatten(1).")


def check_r1(r1_penalty) -> None:
    """``r1_penalty(d_out_real (N,), x_real (N, 3, H, W)) = 0.5 * E[||grad_x D(x)||^2]``."""
    w = randn(4, 3, 4, 4, seed=0)
    w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * GRADIENT_NORMS.view(-1, 1, 1, 1)
    x = randn(4, 3, 4, 4, seed=1).requires_grad_()
    got = call(r1_penalty, (x * w).flatten(1).sum(1), x, what="r1_penalty on a linear critic",
               hint=R1_ERRORS)
    a, a2 = GRADIENT_NORMS, GRADIENT_NORMS ** 2
    expect_close(got, 0.5 * a2.mean(),
                 f"R1 of a critic whose per-sample gradient norms are {a.tolist()}",
                 hint="Differentiate d_out_real.sum() with respect to x_real, square and sum the "
                      "gradient over each sample, average over the batch, times 0.5.",
                 likely=[("the factor 0.5 is missing: R1 = 0.5 * E[||grad||^2] (gamma/2 with "
                          "gamma = 1).", a2.mean()),
                         ("the norm is not squared: R1 uses ||grad||^2.", 0.5 * a.mean()),
                         ("the gradient of d_out_real.mean() is 1/N times too small: "
                          "differentiate d_out_real.sum() (each sample's own gradient).",
                          0.5 * a2.mean() / 16),
                         ("a mean over the pixels: sum the squares over each sample's C*H*W "
                          "values, then average over the batch.", 0.5 * a2.mean() / 48),
                         ("this is WGAN-GP's (||grad|| - 1)^2: R1 penalises ||grad||^2 itself, "
                          "pushing the gradient to 0, not to norm 1.",
                          0.5 * ((a - 1) ** 2).mean())])
    for seed in range(3):
        _compare_on_discriminator(r1_penalty, seed)
    passed("r1_penalty matches the reference on the closed-form critic and 3 random "
           "discriminators (one on channels-last images), value and gradients.")


def _compare_on_discriminator(r1_penalty, seed: int) -> None:
    """R1 of a He-initialised D (as trained: penalties of about 0.1, not 1e-6) on images that are
    channels-last for seed 2, as in the trainer."""
    reference = seeded(lambda: model.Discriminator(16, 2, 16, 4).apply(model.he_init), seed)
    student_d = copy.deepcopy(reference)
    x, y = randn(3, 3, 16, 16, seed=seed + 10), torch.tensor([0, 1, 1])
    on_channels_last = seed == 2  # the last D sees channels-last images, as in the trainer
    x = channels_last(x) if on_channels_last else x
    what = f"r1_penalty on random discriminator {seed}"
    what += ", channels-last" if on_channels_last else ""
    hint = R1_ERRORS + (R1_CHANNELS_LAST if on_channels_last else "")
    x_ref, x_student = leaf(x, True), leaf(x, True)
    expected = losses.r1_penalty(reference(x_ref, y), x_ref)
    got = call(r1_penalty, student_d(x_student, y), x_student, what=what, hint=hint)
    expect_close(got, expected, f"R1 of random discriminator {seed}")
    expect_differentiable(got, "Your R1 penalty", PENALTY_CUT)
    expected.backward()
    call(got.backward, what="backpropagating your R1 penalty")
    parameter_gradients(student_d, reference, "the gradient of R1 with respect to D's weights",
                        hint="The value is right but the gradient is not: take the gradient "
                             "with create_graph=True and keep the whole computation of the "
                             "squared norm in the graph (no .detach() or .data inside it).")


def _pair(seed: int):
    """Two (2, 3, 4, 4) tensors whose first samples differ by +-0.25 and second samples by
    +-0.5 in every value: the L1 mean 0.375 differs from the RMS difference and the mean square."""
    a = randn(2, 3, 4, 4, seed=seed)
    signs = torch.where(randn(2, 3, 4, 4, seed=seed + 1) > 0, 1.0, -1.0)
    offsets = torch.tensor([0.25, 0.5]).view(2, 1, 1, 1)
    return a, a + offsets * signs


GRADIENT_HINTS = {  # (the second argument, why its gradient is as the reference's)
    "style_reconstruction_loss": ("the target style s_trg", "do not detach the target style: "
                                  "L_sty also trains F (or E), the network that produced it, as "
                                  "in the official code."),
    "diversity_loss": ("the second image x_fake2", "detach the second image (x_fake2.detach()): "
                       "it is a constant that the first image is pushed away from (official)."),
}
L1 = 0.375  # the L1 mean of every _pair


def check_v2_losses(style_reconstruction_loss, diversity_loss, cycle_loss, g_objective) -> None:
    """L_sty, L_ds, L_cyc (L1 means) and ``g_objective(terms, lambdas)``, G's weighted total."""
    for name, fn in [("style_reconstruction_loss", style_reconstruction_loss),
                     ("diversity_loss", diversity_loss), ("cycle_loss", cycle_loss)]:
        first, second = _pair(0)
        expect_close(call(fn, first, second, what=name), L1,
                     f"{name} of two tensors 0.25 apart in the first sample and 0.5 in the "
                     "second, in every value",
                     hint="An L1 mean: torch.mean(torch.abs(a - b)).",
                     likely=[("a squared error: the paper uses the L1 distance.",
                              (0.25 ** 2 + 0.5 ** 2) / 2),
                             ("the root of the mean squared error: the paper uses the L1 "
                              "distance, mean(|a - b|).", math.sqrt((0.25 ** 2 + 0.5 ** 2) / 2)),
                             ("return the distance itself: the minus sign belongs in G's "
                              "objective.", -L1),
                             ("a sum: average over all values.", L1 * first.numel())])
    for seed in range(2):
        _compare_gradients(style_reconstruction_loss, diversity_loss, cycle_loss, seed)
    _check_objective(g_objective)
    passed("the style, diversity and cycle losses and G's objective match the reference "
           "(values and gradients, also on channels-last images).")


def _compare_gradients(style_reconstruction_loss, diversity_loss, cycle_loss, seed: int) -> None:
    """Values and gradients on random style codes (N, 8) and channels-last images."""
    for name, fn, reference, shape in [
            ("style_reconstruction_loss", style_reconstruction_loss,
             losses.style_reconstruction_loss, (2, 8)),
            ("diversity_loss", diversity_loss, losses.diversity_loss, (2, 3, 4, 4)),
            ("cycle_loss", cycle_loss, losses.cycle_loss, (2, 3, 4, 4))]:
        a, b = randn(*shape, seed=seed + 10), randn(*shape, seed=seed + 20)
        if len(shape) == 4:
            a, b = channels_last(a), channels_last(b)
        first = ("its first argument", "the first argument was detached (.detach(), .data, "
                 "numpy) or the loss rebuilt from a number: G would get no gradient from it.")
        gradients = {0: first}
        if name in GRADIENT_HINTS:  # the cycle loss's second argument is the real image
            gradients[1] = GRADIENT_HINTS[name]
        compare_function(fn, reference, [a, b], f"{name} on random inputs", gradients,
                         value_hint="An L1 mean: torch.mean(torch.abs(a - b)). The images are "
                                    "channels-last: use .reshape() or .flatten(), not .view().")


def _check_objective(g_objective) -> None:
    """A closed-form case in which every weight differs from 1 (a missing weight shows), with
    the gradient with respect to each term; then the terms of a real generator step."""
    terms = {k: torch.tensor(v, requires_grad=True)
             for k, v in {"adv": 1.0, "sty": 2.0, "ds": 0.5, "cyc": 3.0}.items()}
    weights = {"adv": 1.0, "sty": 1.5, "ds": -2.0, "cyc": 0.5}  # d objective / d term
    got = call(g_objective, terms, {"sty": 1.5, "ds": 2.0, "cyc": 0.5}, what="g_objective")
    expect_close(got, 4.5,  # 1 + 1.5 * 2 - 2 * 0.5 + 0.5 * 3
                 "g_objective with terms adv 1, sty 2, ds 0.5, cyc 3 and lambdas sty 1.5, ds 2, "
                 "cyc 0.5",
                 hint="L_adv + lambda_sty L_sty - lambda_ds L_ds + lambda_cyc L_cyc.",
                 likely=[("the diversity term is subtracted: G maximises it.", 6.5),
                         ("lambda_sty is missing: weight L_sty by lambdas['sty'].", 3.5),
                         ("lambda_ds is missing: weight L_ds by lambdas['ds'].", 5.0),
                         ("lambda_cyc is missing: weight L_cyc by lambdas['cyc'].", 6.0)])
    expect_differentiable(got, "g_objective's result", LOSS_CUT)
    call(got.backward, what="backpropagating g_objective")
    for k, weight in weights.items():
        expect_gradient(terms[k].grad, torch.tensor(weight),
                        f"the gradient of g_objective with respect to the {k} term",
                        missing=f"the {k} term was detached or turned into a number (.item()): "
                                "G would not learn from it.",
                        hint="Each term enters with its weight: adv 1, sty lambda_sty, ds "
                             "-lambda_ds, cyc lambda_cyc.")
    nets = seeded(lambda: build_nets(TINY), 0)
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
    got = []
    for t in steps.int().tolist():
        value = as_float64(call(lambda_ds_at, t, cfg, what=f"lambda_ds_at({t}, cfg)"),
                           f"lambda_ds_at({t}, cfg)")
        if value.numel() != 1:
            raise AssertionError(f"lambda_ds_at({t}, cfg) should be one number, got shape "
                                 f"{tuple(value.shape)}.")
        got.append(value.reshape(()))
    got = torch.stack(got)
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
