"""The building blocks of StarGAN v2: ResBlk, AdaIN, AdainResBlk and HighPass.

Attribute names (``conv1``, ``norm1``, ``conv1x1``, ``fc``, ``filter``...) follow the official
code so that its checkpoints load unchanged.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class ResBlk(nn.Module):
    """Pre-activation residual block of the encoder, the style encoder and the discriminator.

    ``(N, dim_in, H, W) -> (N, dim_out, H/2, W/2)`` with ``downsample``, else same size.
    Residual: [IN] -> LReLU -> conv3x3 (dim_in -> dim_in) -> [avgpool] -> [IN] -> LReLU ->
    conv3x3 (dim_in -> dim_out). Shortcut: [conv1x1 without bias] -> [avgpool].
    Output ``(shortcut + residual) / sqrt(2)``: the sum of two unit-variance branches has
    variance 2, so the division keeps activations at unit variance through deep stacks.
    """

    def __init__(self, dim_in: int, dim_out: int, normalize: bool = False,
                 downsample: bool = False):
        super().__init__()
        self.normalize = normalize
        self.downsample = downsample
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        if normalize:
            self.norm1 = nn.InstanceNorm2d(dim_in, affine=True)
            self.norm2 = nn.InstanceNorm2d(dim_in, affine=True)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def shortcut(self, x):
        if self.learned_sc:
            x = self.conv1x1(x)
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        return x

    def residual(self, x):
        if self.normalize:
            x = self.norm1(x)
        x = self.conv1(F.leaky_relu(x, 0.2))
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        if self.normalize:
            x = self.norm2(x)
        return self.conv2(F.leaky_relu(x, 0.2))

    def forward(self, x):
        return (self.shortcut(x) + self.residual(x)) / math.sqrt(2)


class AdaIN(nn.Module):
    """Adaptive instance normalisation: normalise each channel, then re-style it from ``s``.

    ``AdaIN(x, s) = (1 + gamma(s)) * (x - mu(x)) / sigma(x) + beta(s)`` with
    ``[gamma, beta] = fc(s)``. x ``(N, C, H, W)``, s ``(N, style_dim)``. The ``1 +`` makes a
    freshly initialised layer (gamma near 0) start close to plain instance normalisation
    instead of multiplying every feature by a small random number.
    """

    def __init__(self, style_dim: int, num_features: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(num_features, affine=False)
        self.fc = nn.Linear(style_dim, num_features * 2)

    def forward(self, x, s):
        h = self.fc(s).view(s.size(0), -1, 1, 1)
        gamma, beta = torch.chunk(h, chunks=2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class AdainResBlk(nn.Module):
    """Residual block of the decoder, styled by AdaIN.

    ``(N, dim_in, H, W), s (N, style_dim) -> (N, dim_out, 2H, 2W)`` with ``upsample``.
    Residual: AdaIN -> LReLU -> [nearest x2] -> conv3x3 (dim_in -> dim_out) -> AdaIN -> LReLU ->
    conv3x3. With ``w_hpf == 0`` the output is ``(shortcut + residual) / sqrt(2)``; with
    ``w_hpf > 0`` (the CelebA-HQ setting) it is the residual alone, as in the official code:
    there the high-pass skips carry the source detail instead. The 1x1 shortcut conv is still
    created then (unused), so that parameter counts and official checkpoints match.
    """

    def __init__(self, dim_in: int, dim_out: int, style_dim: int = 64, w_hpf: float = 0.0,
                 upsample: bool = False):
        super().__init__()
        self.w_hpf = w_hpf
        self.upsample = upsample
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.norm1 = AdaIN(style_dim, dim_in)
        self.norm2 = AdaIN(style_dim, dim_out)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def shortcut(self, x):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.learned_sc:
            x = self.conv1x1(x)
        return x

    def residual(self, x, s):
        x = F.leaky_relu(self.norm1(x, s), 0.2)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.conv1(x)
        x = F.leaky_relu(self.norm2(x, s), 0.2)
        return self.conv2(x)

    def forward(self, x, s):
        out = self.residual(x, s)
        if self.w_hpf == 0:
            out = (out + self.shortcut(x)) / math.sqrt(2)
        return out


class HighPass(nn.Module):
    """Depthwise 3x3 Laplacian-like filter ``[[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf``.

    ``(N, C, H, W) -> (N, C, H, W)``: keeps edges (eyes, nose outlines), removes flat colour.
    Note the division: a larger ``w_hpf`` gives a *weaker* skip signal.
    """

    def __init__(self, w_hpf: float):
        super().__init__()
        kernel = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])
        self.register_buffer("filter", kernel / w_hpf)

    def forward(self, x):
        weight = self.filter.to(x.dtype).expand(x.size(1), 1, 3, 3)
        return F.conv2d(x, weight, padding=1, groups=x.size(1))
