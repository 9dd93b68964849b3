"""LPIPS distance and the StarGAN v2 diversity score (a thin wrapper around the ``lpips`` package).

LPIPS (Zhang et al., 2018): unit-normalise the channels of the backbone's feature maps after each
of its ReLU stages, weight the squared differences with learned 1x1 convolutions, average over
space and sum over stages. With AlexNet and the package's v0.1 linear weights this is the metric
of the official StarGAN v2 evaluation.

Diversity (StarGAN v2): translate each source image R = 10 times (different z or references) and
average the LPIPS distance over all R(R-1)/2 = 45 pairs of outputs; higher means more diverse.
"""
import itertools
import warnings
from pathlib import Path

import lpips
import torch
from torch import nn

BACKBONES = ("alex", "vgg", "squeeze")


class LPIPS(nn.Module):
    """LPIPS distance between images ``(N, 3, H, W)`` in [-1, 1].

    ``pretrained_backbone=False`` uses a randomly initialised backbone: it exercises the code path
    offline but is meaningless as a metric. The learned linear weights ship with ``lpips``.
    """

    def __init__(self, net: str = "alex", device="cpu", pretrained_backbone: bool = True):
        super().__init__()
        if net not in BACKBONES:
            raise ValueError(f"net must be one of {BACKBONES}, got {net!r}")
        try:
            with warnings.catch_warnings():
                # lpips 0.1.4 still calls torchvision with the deprecated `pretrained=` argument
                warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
                self.model = lpips.LPIPS(net=net, pnet_rand=not pretrained_backbone, verbose=False)
        except OSError as err:
            raise RuntimeError(_missing_backbone_message(net, err)) from err
        self.model.requires_grad_(False)
        self.to(device)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x, y`` ``(N, 3, H, W)`` in [-1, 1] -> distances ``(N,)``."""
        if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"x and y must both be (N, 3, H, W) in [-1, 1], got shapes "
                             f"{tuple(x.shape)} and {tuple(y.shape)}")
        return self.model(x, y).reshape(len(x))


def _missing_backbone_message(net: str, err: Exception) -> str:
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    return (f"The ImageNet weights of the LPIPS backbone {net!r} could not be loaded ({err}): they "
            f"are not in the torchvision cache {checkpoints} and downloading them failed. Run "
            "LPIPS() once on a machine with internet access (TORCH_HOME moves the cache). "
            "LPIPS(pretrained_backbone=False) runs offline with a random backbone, which exercises "
            "the code but is meaningless as a metric; offline on toyfaces, use the oracle "
            "diversity (starganlib.metrics.oracle) instead.")


@torch.no_grad()
def lpips_diversity(lpips_fn, outputs: torch.Tensor) -> float:
    """Mean LPIPS over all pairs of the R outputs of each source, averaged over the batch.

    ``outputs`` ``(R, N, 3, H, W)``: R outputs for each of N sources (R = 10 officially).
    ``lpips_fn(x, y)`` returns ``(N,)`` distances. The official score averages this value over
    batches and then over tasks.
    """
    if outputs.ndim != 5 or outputs.shape[0] < 2:
        raise ValueError(f"outputs must be (R, N, 3, H, W) with R >= 2 outputs per source, "
                         f"got shape {tuple(outputs.shape)}")
    pairs = itertools.combinations(range(outputs.shape[0]), 2)
    values = [lpips_fn(outputs[i], outputs[j]).mean() for i, j in pairs]
    return float(torch.stack(values).mean())
