"""StarGAN v1 objectives (paper section 3.1, eq. 1-6), with the WGAN-GP adversarial loss (eq. 8).

D minimises  -E[D_src(x)] + E[D_src(G(x, c))] + lambda_gp * GP + lambda_cls * L_cls(D(x), c')
G minimises  -E[D_src(G(x, c))] + lambda_cls * L_cls(D(G(x, c)), c) + lambda_rec * L_rec
where c' are the real labels of x, c the target labels, and L_rec = E|x - G(G(x, c), c')|.
Paper weights: lambda_cls = 1, lambda_rec = 10, lambda_gp = 10.
"""
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F


@dataclass
class TranslationBatch:
    """One training batch of one dataset, with everything both losses need.

    ``label_org`` / ``label_trg`` ``(N, k)`` in {0, 1} are the dataset's own labels (the targets
    of D_cls); ``c_org`` / ``c_trg`` ``(N, c_dim)`` are the same labels as G's input (equal to the
    labels, or padded with the other dataset's zeros and the mask vector in two-dataset mode).
    ``logits`` picks this dataset's outputs of D_cls; ``multi_label`` chooses the loss.
    """
    x_real: torch.Tensor  # (N, 3, H, W) in [-1, 1]
    label_org: torch.Tensor
    label_trg: torch.Tensor
    c_org: torch.Tensor
    c_trg: torch.Tensor
    logits: slice = field(default_factory=lambda: slice(None))  # all of D_cls's outputs
    multi_label: bool = True


def gradient_penalty(critic_fn, x_real, x_fake, generator: torch.Generator | None = None):
    """WGAN-GP (Gulrajani et al. 2017): ``E[(||grad D_src(x_hat)||_2 - 1)^2]``.

    ``x_hat = alpha x_real + (1 - alpha) x_fake`` with one ``alpha ~ U(0, 1)`` per sample, drawn
    from ``generator`` (on the CPU, so results do not depend on the device). ``critic_fn`` maps
    ``(N, 3, H, W)`` to any ``(N, ...)`` score map; the gradient is that of the sum of the map, and
    its L2 norm is taken over all C * H * W values of each sample. The penalty stays
    differentiable (``create_graph=True``) so D can be trained on it.
    """
    alpha = torch.rand(x_real.size(0), 1, 1, 1, generator=generator).to(x_real)
    x_hat = (alpha * x_real.detach() + (1 - alpha) * x_fake.detach()).requires_grad_(True)
    out = critic_fn(x_hat)
    grad, = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    grad_norm = grad.flatten(1).norm(2, dim=1)
    return torch.mean((grad_norm - 1) ** 2)


def classification_loss(logits, labels, multi_label: bool):
    """Domain classification loss L_cls (eq. 2, 3). ``logits`` and ``labels`` ``(N, k)``.

    Multi-label (attributes, labels in {0, 1}): binary cross-entropy with logits, **summed** over
    the k attributes and averaged over the batch (the official ``size_average=False`` / N).
    Single-label (one class of k, labels one-hot): cross-entropy averaged over the batch.
    """
    if logits.shape != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} must "
                         f"have the same shape (N, k)")
    if multi_label:
        return F.binary_cross_entropy_with_logits(logits, labels, reduction="sum") / logits.size(0)
    return F.cross_entropy(logits, labels.argmax(dim=1))


def reconstruction_loss(x_rec, x_real):
    """Cycle reconstruction loss L_rec = E|x - G(G(x, c), c')| (eq. 4): an L1 mean."""
    return torch.mean(torch.abs(x_real - x_rec))


def d_loss(G, D, batch: TranslationBatch, lambda_cls: float = 1.0, lambda_gp: float = 10.0,
           generator: torch.Generator | None = None):
    """The discriminator's loss; returns ``(total, {term: detached tensor})``.

    The fake is made without building G's graph (the official code builds it, then detaches);
    the values are the same.
    """
    out_src, out_cls = D(batch.x_real)
    loss_real = -torch.mean(out_src)
    loss_cls = classification_loss(out_cls[:, batch.logits], batch.label_org, batch.multi_label)
    with torch.no_grad():
        x_fake = G(batch.x_real, batch.c_trg)
    out_src, _ = D(x_fake)
    loss_fake = torch.mean(out_src)
    loss_gp = gradient_penalty(lambda x: D(x)[0], batch.x_real, x_fake, generator)
    total = loss_real + loss_fake + lambda_cls * loss_cls + lambda_gp * loss_gp
    terms = {"loss_real": loss_real, "loss_fake": loss_fake, "loss_cls": loss_cls,
             "loss_gp": loss_gp}
    return total, {k: v.detach() for k, v in terms.items()}


def g_loss(G, D, batch: TranslationBatch, lambda_cls: float = 1.0, lambda_rec: float = 10.0):
    """The generator's loss; returns ``(total, {term: detached tensor})``."""
    x_fake = G(batch.x_real, batch.c_trg)
    out_src, out_cls = D(x_fake)
    loss_fake = -torch.mean(out_src)
    loss_cls = classification_loss(out_cls[:, batch.logits], batch.label_trg, batch.multi_label)
    x_rec = G(x_fake, batch.c_org)
    loss_rec = reconstruction_loss(x_rec, batch.x_real)
    total = loss_fake + lambda_rec * loss_rec + lambda_cls * loss_cls
    terms = {"loss_fake": loss_fake, "loss_rec": loss_rec, "loss_cls": loss_cls}
    return total, {k: v.detach() for k, v in terms.items()}
