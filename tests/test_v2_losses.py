import contextlib
import math

import torch

from starganlib.double_backward import fast_penalty_convolutions, input_gradients_only
from starganlib.v2 import losses
from starganlib.v2.nets import build_nets
from starganlib.v2.train import lambda_ds_at
from tests.conftest import tiny_v2_config


def test_adversarial_loss_closed_form():
    logits = torch.tensor([0.0, 2.0, -1.0])
    expected_real = torch.mean(torch.log1p(torch.exp(-logits)))  # -log sigmoid
    expected_fake = torch.mean(torch.log1p(torch.exp(logits)))  # -log(1 - sigmoid)
    assert torch.isclose(losses.adversarial_loss(logits, 1), expected_real)
    assert torch.isclose(losses.adversarial_loss(logits, 0), expected_fake)
    assert math.isclose(losses.adversarial_loss(torch.zeros(4), 1).item(), math.log(2), rel_tol=1e-6)


def test_r1_of_a_linear_discriminator_is_half_the_squared_weight_norm():
    w = torch.randn(3, 4, 4)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    out = (x * w).flatten(1).sum(1)  # D(x) = <w, x>, gradient w everywhere
    assert torch.isclose(losses.r1_penalty(out, x), 0.5 * w.pow(2).sum())


def test_r1_is_differentiable_double_backward():
    w = torch.randn(6, requires_grad=True)
    x = torch.randn(4, 6, requires_grad=True)
    penalty = losses.r1_penalty(((x * w) ** 2).sum(1), x)  # grad = 2 w^2 x
    penalty.backward()
    assert w.grad is not None and w.grad.abs().sum() > 0


def test_l1_losses():
    a, b = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    assert losses.style_reconstruction_loss(a, b) == 0.5
    assert losses.cycle_loss(a, b) == 0.5
    x2 = torch.ones(2, 3, requires_grad=True)
    d = losses.diversity_loss(a, x2)
    assert d == 1 and not d.requires_grad  # the second image is detached


def test_generator_objective_subtracts_diversity():
    torch.manual_seed(0)
    cfg = tiny_v2_config()
    nets = build_nets(cfg)
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([0, 1])
    z = (torch.randn(2, 4), torch.randn(2, 4))
    lambdas = {"sty": 1.0, "ds": 2.0, "cyc": 3.0}
    loss, t = losses.g_loss(nets, x, y, y.flip(0), z_trgs=z, lambdas=lambdas)
    assert torch.isclose(loss, t["adv"] + t["sty"] - 2.0 * t["ds"] + 3.0 * t["cyc"])
    assert t["ds"] > 0


def test_discriminator_objective_adds_r1():
    torch.manual_seed(0)
    nets = build_nets(tiny_v2_config())
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([0, 1])
    loss, t = losses.d_loss(nets, x, y, y.flip(0), z_trg=torch.randn(2, 4), lambda_reg=2.0)
    assert torch.isclose(loss, t["real"] + t["fake"] + 2.0 * t["reg"])
    assert not x.requires_grad  # the caller's batch is left untouched


def test_lambda_ds_decays_linearly_to_zero_and_stays_there():
    cfg = tiny_v2_config(lambda_ds=2.0, ds_iter=10)
    assert [lambda_ds_at(s, cfg) for s in (0, 5, 10, 15)] == [2.0, 1.0, 0.0, 0.0]


def d_loss_gradients(fast: bool):
    """The loss and D's weight gradients of one d_loss in float64, plain or with the trainer's
    speed-ups: D's convolutions made fast, the loss computed in ``input_gradients_only()``."""
    torch.manual_seed(0)
    nets = build_nets(tiny_v2_config()).double()
    if fast:
        fast_penalty_convolutions(nets.discriminator)
    x, y = torch.randn(3, 3, 16, 16, dtype=torch.double), torch.tensor([0, 1, 1])
    z = torch.randn(3, 4, dtype=torch.double)
    with input_gradients_only() if fast else contextlib.nullcontext():
        loss, _ = losses.d_loss(nets, x, y, y.flip(0), z_trg=z, lambda_reg=1.0)
    loss.backward()
    return loss.detach(), [p.grad for p in nets.discriminator.parameters()]


def test_d_loss_has_the_same_weight_gradients_on_the_fast_path():
    """The weight gradients of the adversarial terms and of R1 all arrive: the context only
    skips those of R1's gradient with respect to the images, which are thrown away."""
    (loss, plain), (fast_loss, fast) = d_loss_gradients(False), d_loss_gradients(True)
    assert torch.allclose(fast_loss, loss, rtol=1e-12, atol=0)
    assert len(fast) == len(plain) and all(g is not None for g in fast)
    for got, want in zip(fast, plain):
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)

