"""StarGAN v1 losses (starganlib.v1.losses): closed-form cases and the weighted totals."""
import contextlib
import math

import pytest
import torch

from starganlib.double_backward import fast_penalty_convolutions, input_gradients_only
from starganlib.v1.losses import (TranslationBatch, classification_loss, d_loss, g_loss,
                                  gradient_penalty, reconstruction_loss)
from starganlib.v1.model import Discriminator, Generator


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = <w, x> has gradient w everywhere, so GP = (||w|| - 1)^2 for any interpolate
    w = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(0))
    critic = lambda x: (x * w).sum(dim=(1, 2, 3))  # noqa: E731
    x_real, x_fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    gp = gradient_penalty(critic, x_real, x_fake, torch.Generator().manual_seed(1))
    assert gp.item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-5)
    unit = lambda x: (x * w / w.norm()).sum(dim=(1, 2, 3))  # noqa: E731
    assert gradient_penalty(unit, x_real, x_fake).item() == pytest.approx(0, abs=1e-10)


def test_gradient_penalty_sums_the_patch_map():
    # two patches with weights w1, w2: the gradient of the sum is w1 + w2
    w1, w2 = torch.full((1, 2, 2), 0.5), torch.full((1, 2, 2), 0.25)
    critic = lambda x: torch.stack([(x * w1).sum((1, 2, 3)), (x * w2).sum((1, 2, 3))], 1)  # noqa: E731
    gp = gradient_penalty(critic, torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2))
    assert gp.item() == pytest.approx(((w1 + w2).norm().item() - 1) ** 2)  # (1.5 - 1)^2


def test_gradient_penalty_is_seeded_and_differentiable():
    torch.manual_seed(0)
    D = Discriminator(image_size=8, conv_dim=4, c_dim=2, repeat_num=2)
    x_real, x_fake = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)
    critic = lambda x: D(x)[0]  # noqa: E731
    gp1 = gradient_penalty(critic, x_real, x_fake, torch.Generator().manual_seed(7))
    gp2 = gradient_penalty(critic, x_real, x_fake, torch.Generator().manual_seed(7))
    assert torch.equal(gp1, gp2)
    gp1.backward()
    assert D.main[0].weight.grad.abs().sum() > 0


def bce(z: float, y: float) -> float:
    p = 1 / (1 + math.exp(-z))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_multi_label_classification_is_summed_over_attributes():
    logits = torch.tensor([[0.0, 2.0, -1.0], [0.0, 0.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    expected = sum(bce(z, y) for row_z, row_y in zip(logits.tolist(), labels.tolist())
                   for z, y in zip(row_z, row_y)) / 2
    loss = classification_loss(logits, labels, multi_label=True)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # all-zero logits: k * log 2 per image, whatever the labels
    zeros = classification_loss(torch.zeros(4, 5), torch.ones(4, 5), multi_label=True)
    assert zeros.item() == pytest.approx(5 * math.log(2), rel=1e-6)


def test_single_label_classification_is_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    expected = (-math.log(math.exp(2) / (math.exp(2) + 2)) + math.log(3)) / 2
    loss = classification_loss(logits, labels, multi_label=False)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        classification_loss(logits, labels[:, :2], multi_label=False)


def test_reconstruction_loss_is_l1_mean():
    x = torch.zeros(2, 3, 2, 2)
    assert reconstruction_loss(x + 0.5, x).item() == pytest.approx(0.5)


def tiny_batch():
    torch.manual_seed(0)
    G = Generator(conv_dim=4, c_dim=2, repeat_num=1)
    D = Discriminator(image_size=8, conv_dim=4, c_dim=2, repeat_num=2)
    label_org = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    label_trg = label_org[[2, 0, 1]]
    batch = TranslationBatch(torch.rand(3, 3, 8, 8) * 2 - 1, label_org, label_trg, label_org,
                             label_trg)
    return G, D, batch


def test_d_loss_is_the_weighted_sum_and_leaves_g_alone():
    G, D, batch = tiny_batch()
    total, terms = d_loss(G, D, batch, lambda_cls=1.0, lambda_gp=10.0,
                          generator=torch.Generator().manual_seed(0))
    assert set(terms) == {"loss_real", "loss_fake", "loss_cls", "loss_gp"}
    expected = terms["loss_real"] + terms["loss_fake"] + terms["loss_cls"] + 10 * terms["loss_gp"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    total.backward()
    assert all(p.grad is None for p in G.parameters())
    assert all(p.grad is not None for p in D.parameters())


def test_g_loss_is_the_weighted_sum():
    G, D, batch = tiny_batch()
    total, terms = g_loss(G, D, batch, lambda_cls=1.0, lambda_rec=10.0)
    assert set(terms) == {"loss_fake", "loss_rec", "loss_cls"}
    expected = terms["loss_fake"] + 10 * terms["loss_rec"] + terms["loss_cls"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    total.backward()
    assert all(p.grad is not None for p in G.parameters())


def test_losses_use_this_datasets_logits_only():
    G, D, batch = tiny_batch()
    D3 = Discriminator(image_size=8, conv_dim=4, c_dim=3, repeat_num=2)  # 2 + 1 logits
    one_hot = torch.tensor([[1.0], [1.0], [1.0]])
    second = TranslationBatch(batch.x_real, one_hot, one_hot, batch.c_org, batch.c_trg,
                              logits=slice(2, 3), multi_label=False)
    _, terms = g_loss(G, D3, second)
    assert terms["loss_cls"].item() == pytest.approx(0.0, abs=1e-7)  # CE over one class


def d_loss_gradients(fast: bool):
    """The loss and D's weight gradients of one d_loss in float64, plain or with the trainer's
    speed-ups: D's convolutions made fast, the loss computed in ``input_gradients_only()``."""
    G, D, batch = tiny_batch()
    G, D = G.double(), D.double()
    batch.x_real = batch.x_real.double()
    batch.c_org, batch.c_trg = batch.c_org.double(), batch.c_trg.double()
    batch.label_org, batch.label_trg = batch.label_org.double(), batch.label_trg.double()
    if fast:
        fast_penalty_convolutions(D)
    with input_gradients_only() if fast else contextlib.nullcontext():
        total, _ = d_loss(G, D, batch, generator=torch.Generator().manual_seed(0))
    total.backward()
    return total.detach(), [p.grad for p in D.parameters()]


def test_d_loss_has_the_same_weight_gradients_on_the_fast_path():
    """The weight gradients of the WGAN and classification terms and of the penalty all arrive:
    the context only skips those of the penalty's gradient with respect to the images."""
    (loss, plain), (fast_loss, fast) = d_loss_gradients(False), d_loss_gradients(True)
    assert torch.allclose(fast_loss, loss, rtol=1e-12, atol=0)
    assert len(fast) == len(plain) and all(g is not None for g in fast)
    for got, want in zip(fast, plain):
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)

