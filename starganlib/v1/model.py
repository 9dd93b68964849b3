"""StarGAN v1 networks (Choi et al., CVPR 2018, section 3 and appendix), as the official code.

* ``Generator``: the target label is tiled to an image-sized map and concatenated to the input
  image; a 7x7 stem, two stride-2 downsamplings, residual blocks, two transposed-conv
  upsamplings, a 7x7 conv and tanh. All convs have no bias (instance norm removes it anyway).
* ``Discriminator``: a PatchGAN trunk of stride-2 convs with LeakyReLU(0.01) and two heads:
  ``D_src`` (real/fake score per patch) and ``D_cls`` (one logit per domain label).

Module names follow the official ones (``main``, ``conv1``, ``conv2``), so the official
state dicts load, and the parameter counts are the official ones (8,430,528 for G and 44,762,048
for D at 128 px with 5 labels).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def tile_and_concat(x, c):
    """Condition an image on a label: ``(N, 3, H, W)`` and ``(N, c) -> (N, 3 + c, H, W)``.

    Each label value becomes a constant H x W channel appended to the image's channels.
    """
    if c.dim() != 2 or c.size(0) != x.size(0):
        raise ValueError(f"labels must have shape (N, c_dim) with N = {x.size(0)}, "
                         f"got {tuple(c.shape)}")
    c_map = c.view(c.size(0), c.size(1), 1, 1).expand(-1, -1, x.size(2), x.size(3))
    return torch.cat([x, c_map.to(x.dtype)], dim=1)


class InstanceNorm(nn.InstanceNorm2d):
    """``InstanceNorm2d(affine=True, track_running_stats=True)`` that always uses each image's own
    mean and variance, in ``.train()`` and ``.eval()`` mode alike.

    The official code keeps running averages (so its checkpoints hold them) but never calls
    ``.eval()``, so they are never used: every output, at test time too, is normalised with the
    statistics of the image itself. A plain ``nn.InstanceNorm2d`` with running stats would switch
    to the averages under ``.eval()`` and change the outputs. Here the averages are still kept
    (updated in training mode only, so official checkpoints load unchanged) but never used, which
    makes ``.eval()`` harmless: it only stops the updates.
    """

    def __init__(self, num_features: int):
        super().__init__(num_features, affine=True, track_running_stats=True)

    def forward(self, x):
        update = self.training
        return F.instance_norm(
            x, self.running_mean if update else None, self.running_var if update else None,
            self.weight, self.bias, use_input_stats=True, momentum=self.momentum, eps=self.eps)


def conv_norm_relu(conv: nn.Module, out_dim: int) -> list[nn.Module]:
    return [conv, InstanceNorm(out_dim), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    """``x + [conv3x3, IN, ReLU, conv3x3, IN](x)``; ``(N, dim, h, w) -> (N, dim, h, w)``."""

    def __init__(self, dim: int):
        super().__init__()
        self.main = nn.Sequential(
            *conv_norm_relu(nn.Conv2d(dim, dim, 3, 1, 1, bias=False), dim),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False),
            InstanceNorm(dim),
        )

    def forward(self, x):
        return x + self.main(x)


class Generator(nn.Module):
    """G(x, c): translate images ``x`` to the domain given by labels ``c``.

    ``x`` ``(N, 3, H, W)`` in [-1, 1] and ``c`` ``(N, c_dim)`` -> ``(N, 3, H, W)`` in [-1, 1];
    H and W divisible by 4. Widths: conv_dim at H, 2 conv_dim at H/2, 4 conv_dim at H/4 (where the
    ``repeat_num`` residual blocks work), then back up. The parameter count does not depend on H.
    """

    def __init__(self, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6):
        super().__init__()
        layers = conv_norm_relu(nn.Conv2d(3 + c_dim, conv_dim, 7, 1, 3, bias=False), conv_dim)
        dim = conv_dim
        for _ in range(2):  # downsampling: H -> H/2 -> H/4
            layers += conv_norm_relu(nn.Conv2d(dim, dim * 2, 4, 2, 1, bias=False), dim * 2)
            dim *= 2
        layers += [ResidualBlock(dim) for _ in range(repeat_num)]  # bottleneck at H/4
        for _ in range(2):  # upsampling: H/4 -> H/2 -> H
            layers += conv_norm_relu(
                nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False), dim // 2)
            dim //= 2
        layers += [nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.c_dim = c_dim

    def forward(self, x, c):
        return self.main(tile_and_concat(x, c))


class Discriminator(nn.Module):
    """D(x) = (D_src(x), D_cls(x)), one shared trunk and two heads.

    ``x`` ``(N, 3, image_size, image_size)`` -> ``out_src`` ``(N, 1, s, s)`` with
    s = image_size / 2**repeat_num (a score per patch; 2 x 2 at 128 px) and ``out_cls``
    ``(N, c_dim)`` (unnormalised logits, one per label). The trunk has ``repeat_num`` 4x4 stride-2
    convs with bias and LeakyReLU(0.01), widths conv_dim, 2 conv_dim, ..., and no normalisation
    (the gradient penalty is per sample, so no batch statistics may mix the samples).
    """

    def __init__(self, image_size: int = 128, conv_dim: int = 64, c_dim: int = 5,
                 repeat_num: int = 6):
        super().__init__()
        final_size = image_size // 2 ** repeat_num
        if final_size < 1 or final_size * 2 ** repeat_num != image_size:
            raise ValueError(f"image_size={image_size} must be a multiple of "
                             f"2**repeat_num = {2 ** repeat_num} (repeat_num={repeat_num})")
        layers = []
        dim_in, dim = 3, conv_dim
        for _ in range(repeat_num):
            layers += [nn.Conv2d(dim_in, dim, 4, 2, 1), nn.LeakyReLU(0.01)]
            dim_in, dim = dim, dim * 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(dim_in, 1, 3, 1, 1, bias=False)  # D_src: patch scores
        self.conv2 = nn.Conv2d(dim_in, c_dim, final_size, bias=False)  # D_cls: one 1 x 1 map
        self.image_size = image_size

    def forward(self, x):
        if x.size(-1) != self.image_size or x.size(-2) != self.image_size:
            raise ValueError(f"D was built for {self.image_size} x {self.image_size} images, "
                             f"got {tuple(x.shape[-2:])}")
        h = self.main(x)
        out_src = self.conv1(h)
        out_cls = self.conv2(h)
        return out_src, out_cls.view(out_cls.size(0), out_cls.size(1))


def count_parameters(module: nn.Module) -> int:
    """The number of trainable values (buffers such as IN running stats not included)."""
    return sum(p.numel() for p in module.parameters())
