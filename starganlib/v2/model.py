"""The four StarGAN v2 networks: Generator G, MappingNetwork F, StyleEncoder E, Discriminator D.

With the default widths (``base_dim=None``: the official rule ``2**14 // img_size``, capped at
``max_conv_dim``) and depths (``num_down=None``: the official rule) these are the official
architectures, parameter for parameter. The toy presets pass small widths and depths.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import AdainResBlk, HighPass, ResBlk

MASKED_SIZES = (32, 64, 128)  # feature sizes that get high-pass skips (official, hard-coded)


def first_width(img_size: int, base_dim: int | None, max_conv_dim: int) -> int:
    """Channels after ``from_rgb``: ``base_dim`` or the official ``2**14 // img_size``."""
    return min(base_dim or 2**14 // img_size, max_conv_dim)


def size_log2(img_size: int) -> int:
    """``log2(img_size)`` for a power of two >= 16; ValueError naming img_size otherwise."""
    n = int(round(math.log2(img_size)))
    if 2**n != img_size or img_size < 16:
        raise ValueError(f"img_size must be a power of two >= 16, got {img_size}")
    return n


def default_num_down(img_size: int, w_hpf: float) -> int:
    """The official generator depth: ``log2(img_size) - 4`` down blocks, one more if w_hpf > 0."""
    return size_log2(img_size) - 4 + (1 if w_hpf > 0 else 0)


class Generator(nn.Module):
    """G(x, s): translate image x to the style s.

    x ``(N, 3, S, S)`` in [-1, 1], s ``(N, style_dim)`` -> ``(N, 3, S, S)``, unbounded (no tanh,
    as in the official code; images are clamped only for display). Encoder: ``num_down``
    downsampling ResBlks + 2 bottleneck ResBlks (instance norm); decoder: the mirror image made of
    AdainResBlks, where the style enters. With ``masks`` (w_hpf > 0), the decoder adds a
    high-pass filtered, masked copy of the encoder features at sizes 32, 64 and 128.
    """

    def __init__(self, img_size: int = 256, style_dim: int = 64, max_conv_dim: int = 512,
                 w_hpf: float = 1.0, base_dim: int | None = None, num_down: int | None = None):
        super().__init__()
        dim_in = first_width(img_size, base_dim, max_conv_dim)
        self.img_size = img_size
        self.from_rgb = nn.Conv2d(3, dim_in, 3, 1, 1)
        self.encode = nn.ModuleList()
        self.decode = nn.ModuleList()
        self.to_rgb = nn.Sequential(
            nn.InstanceNorm2d(dim_in, affine=True), nn.LeakyReLU(0.2), nn.Conv2d(dim_in, 3, 1, 1, 0))
        if num_down is None:
            num_down = default_num_down(img_size, w_hpf)
        if not 1 <= num_down <= size_log2(img_size) - 2:
            raise ValueError(f"num_down={num_down} does not fit img_size={img_size}")
        dim_out = dim_in
        for _ in range(num_down):
            dim_out = min(dim_in * 2, max_conv_dim)
            self.encode.append(ResBlk(dim_in, dim_out, normalize=True, downsample=True))
            self.decode.insert(0, AdainResBlk(dim_out, dim_in, style_dim, w_hpf, upsample=True))
            dim_in = dim_out
        for _ in range(2):  # bottleneck
            self.encode.append(ResBlk(dim_out, dim_out, normalize=True))
            self.decode.insert(0, AdainResBlk(dim_out, dim_out, style_dim, w_hpf))
        if w_hpf > 0:
            self.hpf = HighPass(w_hpf)

    def forward(self, x, s, masks=None):
        x = self.from_rgb(x)
        cache = {}
        for block in self.encode:
            if masks is not None and x.size(2) in MASKED_SIZES:
                cache[x.size(2)] = x
            x = block(x)
        for block in self.decode:
            x = block(x, s)
            if masks is not None and x.size(2) in MASKED_SIZES:
                mask = masks[0] if x.size(2) == 32 else masks[1]
                mask = F.interpolate(mask, size=x.size(2), mode="bilinear")
                x = x + self.hpf(mask * cache[x.size(2)])
        return self.to_rgb(x)


class MappingNetwork(nn.Module):
    """F(z, y): a latent code z ~ N(0, I) to a style code of domain y.

    z ``(N, latent_dim)``, y ``(N,)`` int64 -> s ``(N, style_dim)``. A shared trunk of 4 linear
    layers with ReLU, then one head of 4 linear layers per domain; all heads run and the head of
    each sample's domain is selected.
    """

    def __init__(self, latent_dim: int = 16, style_dim: int = 64, num_domains: int = 2,
                 hidden_dim: int = 512):
        super().__init__()
        layers = [nn.Linear(latent_dim, hidden_dim), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU()]
        self.shared = nn.Sequential(*layers)
        self.unshared = nn.ModuleList()
        for _ in range(num_domains):
            head = []
            for _ in range(3):
                head += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU()]
            self.unshared.append(nn.Sequential(*head, nn.Linear(hidden_dim, style_dim)))

    def forward(self, z, y):
        h = self.shared(z)
        out = torch.stack([head(h) for head in self.unshared], dim=1)  # (N, K, style_dim)
        return out[torch.arange(y.size(0), device=y.device), y]


def _trunk(img_size: int, max_conv_dim: int, base_dim: int | None) -> tuple[list, int]:
    """The conv trunk shared by E and D: ``(N, 3, S, S) -> (N, C, 1, 1)``, and C."""
    dim_in = first_width(img_size, base_dim, max_conv_dim)
    blocks = [nn.Conv2d(3, dim_in, 3, 1, 1)]
    dim_out = dim_in
    for _ in range(size_log2(img_size) - 2):  # down to 4x4
        dim_out = min(dim_in * 2, max_conv_dim)
        blocks.append(ResBlk(dim_in, dim_out, downsample=True))
        dim_in = dim_out
    blocks += [nn.LeakyReLU(0.2), nn.Conv2d(dim_out, dim_out, 4, 1, 0), nn.LeakyReLU(0.2)]
    return blocks, dim_out


class StyleEncoder(nn.Module):
    """E(x, y): the style code of image x in domain y.

    x ``(N, 3, S, S)`` in [-1, 1], y ``(N,)`` -> s ``(N, style_dim)``. A ResBlk trunk (no
    normalisation) down to 1x1, then one linear head per domain, selected by y.
    """

    def __init__(self, img_size: int = 256, style_dim: int = 64, num_domains: int = 2,
                 max_conv_dim: int = 512, base_dim: int | None = None):
        super().__init__()
        blocks, dim_out = _trunk(img_size, max_conv_dim, base_dim)
        self.shared = nn.Sequential(*blocks)
        self.unshared = nn.ModuleList(nn.Linear(dim_out, style_dim) for _ in range(num_domains))

    def forward(self, x, y):
        h = self.shared(x).flatten(1)
        out = torch.stack([head(h) for head in self.unshared], dim=1)  # (N, K, style_dim)
        return out[torch.arange(y.size(0), device=y.device), y]


class Discriminator(nn.Module):
    """D(x, y): the real/fake logit of image x *for its domain y* (a multi-task discriminator).

    x ``(N, 3, S, S)`` in [-1, 1], y ``(N,)`` -> ``(N,)`` logits. One output per domain; only
    domain y's output is used. There is no auxiliary domain classifier (unlike StarGAN v1).
    """

    def __init__(self, img_size: int = 256, num_domains: int = 2, max_conv_dim: int = 512,
                 base_dim: int | None = None):
        super().__init__()
        blocks, dim_out = _trunk(img_size, max_conv_dim, base_dim)
        self.main = nn.Sequential(*blocks, nn.Conv2d(dim_out, num_domains, 1, 1, 0))

    def forward(self, x, y):
        out = self.main(x).flatten(1)  # (N, K)
        return out[torch.arange(y.size(0), device=y.device), y]


def he_init(module: nn.Module) -> None:
    """Kaiming-normal (fan_in, ReLU gain) weights and zero biases for every conv and linear layer."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.constant_(module.bias, 0)
