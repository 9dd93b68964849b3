"""Ground-truth metrics on toyfaces: the right answers, the errors on closed cases, the baselines,
and their place in the training metrics of StarGAN v2 and v1."""
import csv
import dataclasses
import math

import numpy as np
import pytest
import torch

from starganlib.data.toyfaces import (CONTENT_FACTORS, EXPRESSIONS, STYLE_FACTORS, background_rgb,
                                      generate, render, sample_factors)
from starganlib.metrics import ground_truth as gt
from starganlib.metrics.oracle import train_oracle
from tests.conftest import tiny_v2_config


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(7)
    sources = [sample_factors(rng, domain=k % 3) for k in range(6)]
    references = [sample_factors(rng, domain=(k + 1) % 3) for k in range(6)]
    return sources, references


def test_reference_truth_takes_domain_and_style_from_the_reference_and_the_rest_from_the_source(pairs):
    for src, ref in zip(*pairs):
        truth = gt.reference_truth(src, ref)
        for name in ("domain", *STYLE_FACTORS):
            assert getattr(truth, name) == getattr(ref, name)
        for name in (*CONTENT_FACTORS, "glasses", "expression"):
            assert getattr(truth, name) == getattr(src, name)


def test_a_perfect_output_scores_zero_and_infinity_and_copying_scores_the_baseline(pairs):
    sources, references = pairs
    truth = gt.render_all([gt.reference_truth(s, r) for s, r in zip(sources, references)], 32)
    perfect = gt.summary(gt.pixel_errors(truth, truth), "")
    assert perfect == {"l1": 0.0, "psnr": math.inf}
    x_src = gt.render_all(sources, 32)
    copy = gt.pixel_errors(x_src, truth)
    by_hand = (x_src.add(1).div(2) - truth.add(1).div(2)).abs().flatten(1).mean(1)
    torch.testing.assert_close(copy["l1"], by_hand)
    mse = (x_src.add(1).div(2) - truth.add(1).div(2)).square().flatten(1).mean(1)
    torch.testing.assert_close(copy["psnr"], -10 * torch.log10(mse))
    assert 0.02 < float(copy["l1"].mean()) < 0.3


def test_outputs_outside_the_image_range_are_clamped_as_when_saved(pairs):
    saturated = torch.where(gt.render_all(pairs[0][:2], 32) > 0, 1.0, -1.0)
    assert gt.summary(gt.pixel_errors(3 * saturated, saturated), "")["l1"] == 0.0


def test_renders_are_deterministic_and_shapes_are_checked(pairs):
    a, b = gt.render_all(pairs[0], 32), gt.render_all(pairs[0], 32)
    assert torch.equal(a, b) and a.shape == (6, 3, 32, 32)
    assert a.min() >= -1 and a.max() <= 1
    with pytest.raises(ValueError, match="shape"):
        gt.pixel_errors(a, a[:, :, :16])


def test_edit_truths_change_exactly_the_attribute(pairs):
    src = dataclasses.replace(pairs[0][0], fur_family=0, glasses=False,
                              expression=EXPRESSIONS.index("happy"))
    ginger = gt.edit_truths(src, "Ginger_Fur", True)
    assert {f.fur_family for f in ginger} == {1} and len({f.fur_shade for f in ginger}) == len(gt.FUR_SHADES)
    assert all(dataclasses.replace(f, fur_family=0, fur_shade=src.fur_shade) == src for f in ginger)
    assert gt.edit_truths(src, "Black_Fur", True) == [src]  # already black: nothing to change
    assert gt.edit_truths(src, "Glasses", True) == [dataclasses.replace(src, glasses=True)]
    not_smiling = gt.edit_truths(src, "Smiling", False)
    assert sorted(f.expression for f in not_smiling) == [k for k in range(4) if EXPRESSIONS[k] != "happy"]
    with pytest.raises(ValueError, match="unknown attribute 'Blond_Hair'"):
        gt.edit_truths(src, "Blond_Hair", True)


def test_nearest_truth_picks_the_matching_answer(pairs):
    src = pairs[0][1]
    answers = gt.edit_truths(dataclasses.replace(src, fur_family=0), "Grey_Fur", True)
    exact = gt.render_all([answers[3]], 32)
    torch.testing.assert_close(gt.nearest_truth(exact, [answers], 32), exact)


def test_background_mask_marks_the_pixels_that_show_only_background(pairs):
    sources = pairs[0]
    mask = gt.background_mask(sources, 32)
    x = gt.render_all(sources, 32)
    assert mask.shape == (6, 1, 32, 32) and mask.dtype == torch.bool
    for image, m, f in zip(x, mask, sources):
        colour = torch.tensor(background_rgb(f)).float().div(127.5).sub(1)
        assert torch.equal(image[:, m[0]], colour[:, None].expand(-1, int(m.sum())))
        centre = (round(f.cy * 32), round(f.cx * 32))
        assert not m[0, centre[0], centre[1]]  # the head is not background
    assert 0.4 < mask.float().mean() < 0.95
    recoloured = [dataclasses.replace(f, fur_family=(f.fur_family + 1) % 3) for f in sources]
    edit = gt.render_all(recoloured, 32)
    assert float(gt.pixel_errors(edit, x, mask)["l1"].max()) == 0.0  # fur is never background


@pytest.fixture(scope="module")
def toy_store(tmp_path_factory):
    """A data folder with the 32 px toyfaces and a quickly trained (poor) oracle."""
    store = tmp_path_factory.mktemp("store")
    generate(store / "toyfaces-32", size=32, progress=False)
    oracle = train_oracle(img_size=32, steps=20, batch_size=8, pool=64, progress=False)
    return store, oracle


def _csv_columns(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_v2_training_logs_ground_truth_metrics_and_saves_the_comparison_figure(tmp_path, toy_store,
                                                                              monkeypatch):
    from starganlib.v2 import evaluate, run
    store, oracle = toy_store
    monkeypatch.setenv("STARGANLIB_DATA", str(store))
    monkeypatch.setattr(evaluate, "load_oracle", lambda size, device="cpu": oracle)
    cfg = tiny_v2_config(dataset="toyfaces", img_size=32, num_domains=3, total_iters=2,
                         eval_every=2, sample_every=2)
    run.train(cfg, tmp_path / "run", progress=False)
    rows = _csv_columns(tmp_path / "run" / "metrics.csv")
    for name in ("reference_l1", "reference_psnr", "cycle_l1", "copy_source_l1",
                 "copy_reference_l1", "latent_accuracy"):
        assert name in rows[-1], name
    assert 0 < float(rows[-1]["copy_reference_l1"]) < float(rows[-1]["copy_source_l1"])
    assert (tmp_path / "run" / "samples" / "000002_truth.png").is_file()


def test_v1_training_logs_ground_truth_metrics_per_attribute(tmp_path, toy_store, monkeypatch):
    from starganlib.v1 import run as v1_run
    from starganlib.v1.config import preset
    store, oracle = toy_store
    monkeypatch.setenv("STARGANLIB_DATA", str(store))
    monkeypatch.setattr(v1_run, "load_oracle", lambda size, device="cpu": oracle)
    cfg = preset("toy-v1", num_iters=2, num_iters_decay=1, eval_every=2, sample_every=2,
                 save_every=2, test_count=20, g_conv_dim=8, d_conv_dim=8, g_repeat_num=1)
    summary = v1_run.train(cfg, tmp_path / "v1", progress=False)
    rows = _csv_columns(tmp_path / "v1" / "metrics.csv")
    for attr in cfg.selected_attrs:
        for prefix in ("edit_l1/", "copy_source_l1/", "background_l1/", "changed/"):
            assert prefix + attr in rows[-1]
    assert summary["final"]["edit_l1"] == pytest.approx(float(rows[-1]["edit_l1"]))
    assert (tmp_path / "v1" / "samples" / "000002_truth.png").is_file()


def test_the_quality_bars_judge_each_criterion():
    good = {"reference_l1": 0.03, "reference_psnr": 23.0, "latent_accuracy": 0.97,
            "reference_accuracy": 0.99, "latent_diversity": 0.8, "latent_content_error": 0.07}
    assert all(gt.v2_quality_bar(good, ideal_content_error=0.06).values())
    blurry = {**good, "reference_l1": 0.065, "reference_psnr": 17.5}
    assert [k for k, ok in gt.v2_quality_bar(blurry, 0.06).items() if not ok] == [
        "reference_l1 <= 0.032", "reference_psnr >= 22"]
    assert not gt.v2_quality_bar(good, ideal_content_error=0.04)["latent content kept"]
    v1 = {"edit_l1/Glasses": 0.004, "copy_source_l1/Glasses": 0.02, "changed/Glasses": 0.95,
          "background_l1": 0.01}
    assert all(gt.v1_quality_bar(v1, ["Glasses"]).values())
    worse_than_copying = {**v1, "edit_l1/Glasses": 0.1, "background_l1": 0.08}
    assert [k for k, ok in gt.v1_quality_bar(worse_than_copying, ["Glasses"]).items() if not ok] == [
        "edit_l1/Glasses <= 0.8 copy_source", "background_l1 <= 0.02"]
