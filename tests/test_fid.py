"""Frechet distance against closed forms, and the Inception feature extractor without network."""
import urllib.error

import numpy as np
import pytest
import torch
from torch import nn

from starganlib.metrics.fid import (InceptionFeatures, frechet_distance,
                                    frechet_distance_of, gaussian_stats)


def random_covariance(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_gaussian_stats_matches_numpy_and_accepts_torch():
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    mu, sigma = gaussian_stats(torch.from_numpy(x))
    assert mu.shape == (4,) and sigma.shape == (4, 4) and sigma.dtype == np.float64
    np.testing.assert_allclose(mu, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-12)
    assert gaussian_stats(x[:, :1])[1].shape == (1, 1)


@pytest.mark.parametrize("bad", [np.zeros((1, 3)), np.zeros(5), np.zeros((2, 2, 2))])
def test_gaussian_stats_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_stats(bad)


def test_one_dimensional_closed_form():
    m1, s1, m2, s2 = 0.3, 2.0, -1.2, 0.5
    d = frechet_distance([m1], [[s1**2]], [m2], [[s2**2]])
    assert d == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-9)


def test_commuting_diagonal_covariances_closed_form():
    rng = np.random.default_rng(1)
    m1, m2 = rng.normal(size=5), rng.normal(size=5)
    a, b = rng.uniform(0.1, 3, size=5), rng.uniform(0.1, 3, size=5)
    expected = np.sum((m1 - m2) ** 2 + (np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_identical_stats_give_zero():
    rng = np.random.default_rng(2)
    mu, sigma = rng.normal(size=6), random_covariance(rng, 6)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_trace_of_square_root_via_eigenvalues():
    """Independent check: Tr (S1 S2)^(1/2) = sum of sqrt of the eigenvalues of S1 S2."""
    rng = np.random.default_rng(3)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    s1, s2 = random_covariance(rng, 8), random_covariance(rng, 8)
    eigenvalues = np.linalg.eigvals(s1 @ s2)
    assert np.abs(eigenvalues.imag).max() < 1e-8 and eigenvalues.real.min() > 0
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eigenvalues.real).sum()
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_samples_approach_the_closed_form():
    rng = np.random.default_rng(4)
    m1, m2 = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.5, 0.0])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([2.0, 1.0, 1.0])
    x = m1 + np.sqrt(a) * rng.normal(size=(20000, 3))
    y = m2 + np.sqrt(b) * rng.normal(size=(20000, 3))
    expected = np.sum((m1 - m2) ** 2 + (np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance_of(x, y) == pytest.approx(expected, rel=0.05)


def test_rank_deficient_covariances_give_finite_non_negative_values():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(10, 64)), rng.normal(size=(10, 64)) + 0.5
    assert np.isfinite(frechet_distance_of(x, y)) and frechet_distance_of(x, y) > 0
    assert frechet_distance_of(x, x) == pytest.approx(0.0, abs=1e-4)
    assert frechet_distance_of(x, x) >= 0


def test_bad_shapes_and_invalid_covariances_raise():
    with pytest.raises(ValueError, match="sigma1"):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="negative"):
        frechet_distance(np.zeros(3), -np.eye(3), np.zeros(3), -np.eye(3))


def test_inception_features_shape_with_random_weights():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        extractor = InceptionFeatures(pretrained=False)
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    features = extractor(images)
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        extractor(images[:, :1])


@pytest.fixture
def offline_torch_home(tmp_path, monkeypatch):
    """An empty torchvision cache and a download that fails at once; returns the attempted URLs."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    attempts = []

    def refuse_download(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("network blocked in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse_download)
    return attempts


def test_inception_offline_error_explains_what_to_do(offline_torch_home):
    with pytest.raises(RuntimeError) as info:
        InceptionFeatures()
    message = str(info.value)
    assert offline_torch_home and offline_torch_home[0].endswith("inception_v3_google-0cc3c7bd.pth")
    assert "Inception-v3 ImageNet weights could not be loaded" in message
    assert torch.hub.get_dir() in message and "internet" in message
    assert "starganlib.metrics.oracle" in message
