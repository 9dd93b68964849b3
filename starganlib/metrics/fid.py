"""Frechet Inception Distance (FID): the distance between two Gaussians fitted to image features.

Fit a Gaussian N(mu, Sigma) to the features of each image set; then

    FID = ||mu_1 - mu_2||^2 + Tr(Sigma_1 + Sigma_2 - 2 (Sigma_1 Sigma_2)^(1/2)).

StarGAN v2 uses the 2048-d pool features of torchvision's ImageNet Inception-v3 (not the
TensorFlow FID graph), so its values are not directly comparable with pytorch-fid or TF FID.
"""
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import Inception_V3_Weights, inception_v3

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INCEPTION_SIZE = 299
SQRTM_EPS = 1e-6  # added to both covariances when the square root of their product is not finite
IMAG_TOLERANCE = 1e-3  # largest imaginary part of sqrtm accepted as round-off (relative)
NEGATIVE_TOLERANCE = 1e-4  # largest negative distance accepted as round-off (relative)


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` (float64) of ``features`` ``(N, D)``."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be a 2-D array (N, D) with N >= 2 samples, got shape {x.shape}")
    mu = x.mean(axis=0)
    centred = x - mu
    sigma = centred.T @ centred / (x.shape[0] - 1)
    return mu, sigma


def _sqrtm_of_product(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """(Sigma_1 Sigma_2)^(1/2), real; retried with eps * I added when it is not finite."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(root).all():
        offset = SQRTM_EPS * np.eye(len(sigma1))
        root = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(root):
        largest_imag = np.abs(root.imag).max()
        if largest_imag > IMAG_TOLERANCE * max(1.0, np.abs(root.real).max()):
            raise ValueError(f"sqrtm(sigma1 @ sigma2) has a large imaginary part ({largest_imag:.3g}): "
                             "sigma1 and sigma2 must be symmetric positive semi-definite covariances")
        root = root.real
    return root


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """d^2 = ||mu1 - mu2||^2 + Tr(Sigma_1 + Sigma_2 - 2 (Sigma_1 Sigma_2)^(1/2)).

    ``mu*`` are ``(D,)`` means and ``sigma*`` ``(D, D)`` covariances. Returns a value >= 0.
    """
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    d = mu1.size
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"expected mu1 (D,), mu2 (D,), sigma1 (D, D), sigma2 (D, D); got mu1 {mu1.shape}, "
                         f"mu2 {mu2.shape}, sigma1 {sigma1.shape}, sigma2 {sigma2.shape}")
    mean_term = float((mu1 - mu2) @ (mu1 - mu2))
    trace_sum = float(np.trace(sigma1) + np.trace(sigma2))
    distance = mean_term + trace_sum - 2.0 * float(np.trace(_sqrtm_of_product(sigma1, sigma2)))
    if distance < 0:
        if distance < -NEGATIVE_TOLERANCE * max(1.0, mean_term + trace_sum):
            raise ValueError(f"Frechet distance came out negative ({distance:.3g}): "
                             "sigma1 and sigma2 must be positive semi-definite covariances")
        distance = 0.0  # round-off of sqrtm
    return distance


def frechet_distance_of(features_a, features_b) -> float:
    """Frechet distance between the Gaussians fitted to features ``(N, D)`` and ``(M, D)``."""
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))


class InceptionFeatures(nn.Module):
    """2048-d pool features of torchvision's ImageNet Inception-v3, as in the StarGAN v2 evaluation.

    ``pretrained=False`` builds a randomly initialised network: it exercises the code path (shapes)
    but is meaningless as a metric.
    """

    def __init__(self, pretrained: bool = True):
        super().__init__()
        weights = Inception_V3_Weights.IMAGENET1K_V1 if pretrained else None
        try:
            # transform_input=False: ImageNet-normalised images go straight into the first
            # convolution, as in the official code (which calls the Inception blocks directly).
            network = inception_v3(weights=weights, transform_input=False, init_weights=False)
        except OSError as err:
            raise RuntimeError(_missing_weights_message(weights, err)) from err
        network.fc = nn.Identity()
        self.network = network.eval()
        self.network.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [-1, 1] -> ``(N, 2048)`` pool features.

        Images are resized to 299x299 (bilinear, antialiased like PIL) and ImageNet-normalised.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, H, W) in [-1, 1], got shape {tuple(images.shape)}")
        x = F.interpolate(images, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear",
                          align_corners=False, antialias=True)
        x = ((x + 1) / 2 - self.mean) / self.std
        return self.network(x)


def _missing_weights_message(weights: Inception_V3_Weights, err: Exception) -> str:
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    return (f"The Inception-v3 ImageNet weights could not be loaded ({err}). torchvision caches them "
            f"as {checkpoints / Path(weights.url).name}; that file is missing and downloading it from "
            f"{weights.url} failed. Run InceptionFeatures() once on a machine with internet access "
            "(it downloads the weights into that folder; TORCH_HOME moves it), or copy the file "
            "there. Offline on toyfaces, use the oracle features (starganlib.metrics.oracle) instead.")
