"""LPIPS wrapper (random backbone, offline) and the StarGAN v2 diversity protocol."""
import itertools
import urllib.error
import warnings

import pytest
import torch

from starganlib.metrics.lpips import LPIPS, lpips_diversity


@pytest.fixture(scope="module")
def random_lpips():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return LPIPS(pretrained_backbone=False)


def random_images(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_construction_is_silent(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LPIPS(pretrained_backbone=False)
    assert capsys.readouterr().out == ""


def test_distance_shape_zero_and_positive(random_lpips):
    x, y = random_images(3, 3, 32, 32, seed=0), random_images(3, 3, 32, 32, seed=1)
    d_same, d_diff = random_lpips(x, x), random_lpips(x, y)
    assert d_same.shape == (3,) and d_diff.shape == (3,)
    assert torch.all(d_same == 0) and torch.all(d_diff > 0)


def test_bad_arguments_raise(random_lpips):
    with pytest.raises(ValueError, match="net must be one of"):
        LPIPS(net="resnet", pretrained_backbone=False)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        random_lpips(random_images(2, 3, 32, 32), random_images(1, 3, 32, 32))


def test_diversity_averages_all_pairs_once():
    r, n = 10, 3
    scale = torch.arange(1, n + 1, dtype=torch.float32).view(n, 1, 1, 1)
    outputs = torch.stack([torch.full((n, 3, 2, 2), float(k)) * scale for k in range(r)])
    calls = []

    def fake_lpips(x, y):
        calls.append((int(x[0, 0, 0, 0]), int(y[0, 0, 0, 0])))
        return (x - y).abs().mean(dim=(1, 2, 3))

    value = lpips_diversity(fake_lpips, outputs)
    pairs = list(itertools.combinations(range(r), 2))
    assert calls == pairs and len(calls) == r * (r - 1) // 2 == 45
    expected = sum(abs(i - j) * scale.mean().item() for i, j in pairs) / len(pairs)
    assert value == pytest.approx(expected, rel=1e-6)


def test_diversity_of_identical_outputs_is_zero(random_lpips):
    outputs = random_images(1, 2, 3, 32, 32).expand(3, -1, -1, -1, -1)
    assert lpips_diversity(random_lpips, outputs) == 0.0
    assert lpips_diversity(random_lpips, random_images(2, 2, 3, 32, 32)) > 0


@pytest.mark.parametrize("shape", [(1, 2, 3, 8, 8), (2, 3, 8, 8)])
def test_diversity_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="R >= 2"):
        lpips_diversity(lambda x, y: (x - y).abs().mean(dim=(1, 2, 3)), torch.zeros(shape))


def test_offline_error_explains_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    attempts = []

    def refuse_download(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("network blocked in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse_download)
    with pytest.raises(RuntimeError) as info:
        LPIPS(pretrained_backbone=True)
    message = str(info.value)
    assert attempts and "alexnet" in attempts[0]
    assert "could not be loaded" in message and "internet" in message
    assert "pretrained_backbone=False" in message and "starganlib.metrics.oracle" in message
