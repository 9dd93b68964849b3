"""The toyfaces oracle: its outputs, the translation metrics on constructed inputs, caching."""
import numpy as np
import pytest
import torch

from starganlib.checkpoint import save_checkpoint
from starganlib.data.folders import to_float
from starganlib.data.toyfaces import CONTENT_FACTORS, FORMAT_VERSION, FUR_FAMILIES, MARKINGS
from starganlib.metrics import oracle as oracle_module
from starganlib.metrics.oracle import (Oracle, attribute_accuracy, content_baselines,
                                       load_oracle, mirror, oracle_path, render_batch, train_oracle,
                                       translation_metrics)


@pytest.fixture(scope="module")
def oracle():
    """A quickly trained 32 px oracle: far from the real one, but clearly better than chance."""
    return train_oracle(img_size=32, steps=150, batch_size=16, pool=400, seed=0, progress=False)


@pytest.fixture(scope="module")
def faces():
    """12 held-out toyfaces (32 px) in [-1, 1] and their true factors."""
    x, targets = render_batch(12, 32, np.random.default_rng(123))
    return to_float(x), targets


def test_outputs_have_the_documented_shapes_for_any_input_size():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = Oracle(32).eval()
    for size in (32, 64, 80):
        out = net(torch.rand(5, 3, size, size) * 2 - 1)
        assert {k: tuple(v.shape) for k, v in out.items()} == {
            "domain": (5, 3), "content": (5, 6), "style": (5, 11), "fur": (5, 3),
            "glasses": (5,), "expression": (5, 4), "features": (5, 64)}
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        net(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="img_size"):
        Oracle(16)


def r2(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Coefficient of determination per column of ``(N, D)`` predictions."""
    residual = (pred - true).square().sum(0)
    total = (true - true.mean(0)).square().sum(0)
    return 1 - residual / total


@torch.no_grad()
def factor_report(oracle, n: int = 600, size: int | None = None, seed: int = 0) -> dict:
    """How well the oracle reads ``n`` fresh held-out toyfaces of ``size`` px (default: the
    size it was trained for): ``domain_accuracy``, ``r2_<factor>`` per content factor, ``style_r2`` (mean
    over the style vector), ``marking_accuracy``, ``fur_accuracy``, ``glasses_accuracy``,
    ``expression_accuracy``."""
    x, targets = render_batch(n, size or oracle.img_size,
                              np.random.default_rng([seed, oracle_module.HELD_OUT_STREAM]))
    out = oracle_module.predict(oracle, to_float(x))
    marking = slice(len(FUR_FAMILIES) + 1, len(FUR_FAMILIES) + 1 + len(MARKINGS))

    def accuracy(logits, labels):
        return float((logits.argmax(1) == labels).float().mean())

    report = {"domain_accuracy": accuracy(out["domain"], targets["domain"])}
    report.update({f"r2_{name}": float(v)
                   for name, v in zip(CONTENT_FACTORS, r2(out["content"], targets["content"]))})
    report["style_r2"] = float(r2(out["style"], targets["style"]).mean())
    report["marking_accuracy"] = accuracy(out["style"][:, marking], targets["style"][:, marking].argmax(1))
    report["fur_accuracy"] = accuracy(out["fur"], targets["fur"])
    report["glasses_accuracy"] = float(((out["glasses"] > 0) == targets["glasses"].bool()).float().mean())
    report["expression_accuracy"] = accuracy(out["expression"], targets["expression"])
    return report


def test_short_training_reads_the_domain_well_above_chance(oracle):
    report = factor_report(oracle, n=150, size=32, seed=5)
    assert report["domain_accuracy"] > 0.6  # chance: 1/3
    assert report["r2_cx"] > 0.2
    assert set(report) >= {"r2_cx", "r2_cy", "r2_size", "r2_tilt", "r2_gaze_x", "r2_gaze_y",
                           "fur_accuracy", "glasses_accuracy", "expression_accuracy"}


def test_identical_fakes_have_no_diversity_and_sources_keep_their_content(oracle, faces):
    x, _ = faces
    predicted = oracle(x)["domain"].argmax(1)
    y_trg = predicted.clone()
    y_trg[::2] = (y_trg[::2] + 1) % 3  # half the targets differ from the source's domain
    metrics = translation_metrics(oracle, x, torch.stack([x, x, x]), y_trg)
    assert metrics["diversity"] == 0
    assert metrics["content_error"] == pytest.approx(0, abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert "frechet" not in metrics
    single = translation_metrics(oracle, x, x[None], predicted)
    assert single["accuracy"] == 1 and single["diversity"] == 0


def test_different_fakes_have_diversity_and_content_error(oracle, faces):
    x, targets = faces
    others = torch.roll(x, 1, dims=0)
    metrics = translation_metrics(oracle, x, torch.stack([x, others]), targets["domain"])
    assert metrics["diversity"] > 0 and metrics["content_error"] > 0.01


def test_content_baselines_put_a_perfect_translation_below_unrelated_faces(oracle):
    scale = content_baselines(oracle, n=60, size=32, seed=3)
    assert 0 < scale["ideal"] < scale["unrelated"]


def test_frechet_distance_per_target_domain(oracle):
    x, targets = render_batch(150, 32, np.random.default_rng(9))  # > 64 (feature size) per domain
    x = to_float(x)
    fakes = torch.stack([x, x.flip(-1)])
    y = targets["domain"]
    real = {d: fakes.flatten(0, 1)[y.repeat(2) == d] for d in range(3)}
    same = translation_metrics(oracle, x, fakes, y, real)
    assert same["frechet"] == pytest.approx(0, abs=1e-3)
    shifted = translation_metrics(oracle, x, fakes, y, {d: v * 0.5 for d, v in real.items()})
    assert shifted["frechet"] > same["frechet"] + 0.1
    assert translation_metrics(oracle, x, fakes, y, x)["frechet"] >= 0
    with pytest.raises(ValueError, match="target domain"):
        translation_metrics(oracle, x, fakes, y, {0: x})


def test_translation_metrics_checks_shapes(oracle, faces):
    x, targets = faces
    with pytest.raises(ValueError, match="fakes"):
        translation_metrics(oracle, x, x, targets["domain"])


def test_attribute_accuracy_against_the_oracles_own_reading(oracle, faces):
    x, _ = faces
    out = oracle(x)
    fur = torch.nn.functional.one_hot(out["fur"].argmax(1), 3).float()
    smiling = (out["expression"].argmax(1) == 1).float()
    attrs = torch.cat([fur, (out["glasses"] > 0).float()[:, None], smiling[:, None]], dim=1)
    assert set(attribute_accuracy(oracle, x, attrs).values()) == {1.0}
    assert set(attribute_accuracy(oracle, x, 1 - attrs).values()) == {0.0}
    expressions = torch.nn.functional.one_hot(out["expression"].argmax(1), 4).float()
    names = ("Neutral", "Happy", "Surprised", "Angry")
    assert set(attribute_accuracy(oracle, x, expressions, names).values()) == {1.0}
    with pytest.raises(ValueError, match="unknown attribute"):
        attribute_accuracy(oracle, x, attrs, ("Blond_Hair",) * 5)
    with pytest.raises(ValueError, match="attrs must be"):
        attribute_accuracy(oracle, x, attrs[:, :4])


def test_mirror_reflects_the_horizontal_content_factors(faces):
    x, targets = faces
    flip = torch.tensor([True, False] * 6)
    mirrored, content = mirror(x, targets["content"], flip)
    torch.testing.assert_close(mirrored[0], x[0].flip(-1))
    torch.testing.assert_close(mirrored[1], x[1])
    torch.testing.assert_close(content[0, [0, 3, 4]], 1 - targets["content"][0, [0, 3, 4]])
    torch.testing.assert_close(content[0, [1, 2, 5]], targets["content"][0, [1, 2, 5]])
    torch.testing.assert_close(content[1], targets["content"][1])


def test_load_oracle_trains_once_then_loads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STARGANLIB_DATA", str(tmp_path))
    calls = []

    def tiny_training(img_size, seed, device):
        calls.append(img_size)
        return train_oracle(img_size, steps=2, batch_size=4, pool=8, seed=seed, progress=False)

    monkeypatch.setattr(oracle_module, "train_oracle", tiny_training)
    first = load_oracle(40, seed=3)
    assert calls == [40] and oracle_path(40, seed=3) == tmp_path / "oracles" / "oracle-40-seed3.pt"
    assert oracle_path(40, seed=3).is_file() and not first.training and first.img_size == 40
    second = load_oracle(40, seed=3)
    assert calls == [40]  # loaded from the cache, not trained again
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert not any(p.requires_grad for p in second.parameters())
    assert oracle_path(256) == oracle_path(64)  # larger toyfaces are judged at 64 px


def test_load_oracle_retrains_a_cache_made_for_older_pictures(tmp_path, monkeypatch):
    monkeypatch.setenv("STARGANLIB_DATA", str(tmp_path))
    monkeypatch.setattr(oracle_module, "train_oracle", lambda img_size, seed, device: train_oracle(
        img_size, steps=1, batch_size=2, pool=2, seed=seed, progress=False))
    load_oracle(32)
    state = torch.load(oracle_path(32), weights_only=True)
    save_checkpoint(oracle_path(32), {**state, "toyfaces_version": -1})
    load_oracle(32)
    assert torch.load(oracle_path(32), weights_only=True)["toyfaces_version"] == FORMAT_VERSION
