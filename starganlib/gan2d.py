"""A tiny GAN on 2-D points: the smallest setting in which a GAN's behaviour can be *seen*.

The real data are points drawn from ``modes`` small Gaussians on a ring. The generator maps
noise ``z`` ``(N, latent_dim)`` to points ``(N, 2)``; the discriminator maps points ``(N, 2)`` to
real/fake logits ``(N,)``. Because everything is 2-D, we can plot the samples and the
discriminator's opinion ``sigmoid(D(x))`` over the whole plane. Lesson 01 uses it to show
training, the two generator losses and mode collapse; lesson 12 uses it to show R1.

The losses are the library's own (``starganlib.v2.losses``), so there is one definition of each.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from .v2.losses import adversarial_loss, r1_penalty

G_LOSSES = ("non-saturating", "minimax")


def mode_centers(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """``(modes, 2)``: the centres of the mixture, evenly spaced on a circle of ``radius``."""
    angles = torch.arange(modes, dtype=torch.float32) * (2 * math.pi / modes)
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def mixture_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """``(n, 2)``: points from ``modes`` equally likely Gaussians (std ``std``) on a ring."""
    which = torch.randint(modes, (n,), generator=generator)
    noise = torch.randn(n, 2, generator=generator) * std
    return mode_centers(modes, radius)[which] + noise


def covered_modes(samples: torch.Tensor, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                  min_fraction: float = 0.02) -> tuple[int, float]:
    """How many modes ``samples`` ``(M, 2)`` cover, and the fraction of "good" samples.

    A sample is good if it lies within ``3 * std`` of some mode centre; a mode is covered if at
    least ``min_fraction`` of all samples are good samples of that mode (a common 2-D GAN
    measure). Returns ``(covered, good_fraction)``.
    """
    dist = torch.cdist(samples, mode_centers(modes, radius))  # (M, modes)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist < 3 * std
    counts = torch.bincount(nearest[good], minlength=modes)
    covered = int((counts >= min_fraction * len(samples)).sum())
    return covered, float(good.float().mean())


class Generator2D(nn.Module):
    """G(z): noise ``(N, latent_dim)`` -> points ``(N, 2)``; an MLP with two hidden layers."""

    def __init__(self, latent_dim: int = 2, hidden: int = 128):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 2),
        )

    def forward(self, z):
        return self.net(z)


class Discriminator2D(nn.Module):
    """D(x): points ``(N, 2)`` -> real/fake logits ``(N,)`` (no sigmoid: the losses add it)."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, x):
        return self.net(x).squeeze(1)


@torch.no_grad()
def discriminator_field(D, lim: float = 3.0, resolution: int = 60) -> torch.Tensor:
    """``(resolution, resolution)``: ``sigmoid(D(x))`` on a grid over ``[-lim, lim]^2``.

    Row ``i`` holds the points with y = the i-th value from -lim to lim, column ``j`` those with
    x = the j-th value: draw it with ``imshow(field, origin="lower", extent=(-lim, lim, -lim, lim))``.
    """
    axis = torch.linspace(-lim, lim, resolution)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
    return torch.sigmoid(D(points)).reshape(resolution, resolution)


def generator_loss(fake_logits, kind: str):
    """G's loss on D's logits for fakes ``(N,)``.

    ``"non-saturating"``: ``mean(softplus(-l)) = -log sigmoid(l)`` (the library's
    ``adversarial_loss(l, 1)``). ``"minimax"``: ``mean(-softplus(l)) = log(1 - sigmoid(l))``,
    the original objective, whose gradient vanishes when D confidently rejects the fakes.
    """
    if kind == "non-saturating":
        return adversarial_loss(fake_logits, 1)
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    raise ValueError(f"g_loss must be one of {G_LOSSES}, got {kind!r}")


def discriminator_loss(D, x_real, x_fake, r1_gamma: float = 0.0):
    """D's loss: real -> 1, fake -> 0, plus ``r1_gamma * R1`` on the real points if r1_gamma > 0."""
    x_real = x_real.detach().requires_grad_(r1_gamma > 0)
    out_real = D(x_real)
    loss = adversarial_loss(out_real, 1) + adversarial_loss(D(x_fake.detach()), 0)
    if r1_gamma > 0:
        loss = loss + r1_gamma * r1_penalty(out_real, x_real)
    return loss


@dataclass
class Snapshot:
    """The state of a 2-D GAN after ``step`` updates.

    samples ``(M, 2)``: G applied to a fixed batch of noise; field ``(R, R)``: see
    ``discriminator_field``; d_loss, g_loss: the losses of the last update (nan at step 0).
    """
    step: int
    samples: torch.Tensor
    field: torch.Tensor
    d_loss: float
    g_loss: float


def train_gan2d(steps: int = 2000, g_loss: str = "non-saturating", r1_gamma: float = 0.0,
                batch_size: int = 256, lr: float = 1e-3, seed: int = 0, snapshot_every: int = 250,
                progress: bool = True, modes: int = 8,
                betas: tuple[float, float] = (0.0, 0.9), d_lr: float | None = None) -> list[Snapshot]:
    """Train a 2-D GAN on ``mixture_of_gaussians`` and return snapshots of it.

    One D update, then one G update per step, both with Adam (``lr``, ``betas``; the default
    beta1 = 0 is StarGAN v2's; ``d_lr``, if given, is D's own learning rate: a D much slower
    than G lets G collapse onto a few modes). Snapshots are taken at
    step 0, every ``snapshot_every`` steps and at the last step; each holds 1000 samples of a
    fixed noise batch. Everything (weights, data, noise) comes from ``seed``; the global random
    state is left as it was.
    """
    if g_loss not in G_LOSSES:
        raise ValueError(f"g_loss must be one of {G_LOSSES}, got {g_loss!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G, D = Generator2D(), Discriminator2D()
    gen = torch.Generator().manual_seed(seed)
    z_fixed = torch.randn(1000, G.latent_dim, generator=gen)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr if d_lr is None else d_lr, betas=betas)

    def snapshot(step, d_loss, g_loss_value):
        with torch.no_grad():
            samples = G(z_fixed)
        return Snapshot(step, samples, discriminator_field(D), d_loss, g_loss_value)

    snapshots = [snapshot(0, float("nan"), float("nan"))]
    for step in tqdm(range(1, steps + 1), disable=not progress, desc=f"2-D GAN ({g_loss})"):
        x_real = mixture_of_gaussians(batch_size, modes, generator=gen)
        z = torch.randn(batch_size, G.latent_dim, generator=gen)
        x_fake = G(z)
        loss_d = discriminator_loss(D, x_real, x_fake, r1_gamma)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = generator_loss(D(x_fake), g_loss)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step % snapshot_every == 0 or step == steps:
            snapshots.append(snapshot(step, loss_d.item(), loss_g.item()))
    return snapshots
