"""The official evaluation protocol: every ordered pair of domains, both modes, FID + diversity."""
import dataclasses
import json

import pytest
import torch

from starganlib.__main__ import main
from starganlib.checkpoint import CheckpointManager
from starganlib.data.folders import DomainFolder
from starganlib.data.toyfaces import generate
from starganlib.metrics.ground_truth import factors_of
from starganlib.v2.eval_protocol import Judges, evaluate, format_table
from starganlib.v2.run import train
from starganlib.v2.sample import load_ema_nets
from tests.conftest import tiny_v2_config, write_domain_folder


def mean_colour_judges():
    """Stand-ins for Inception and LPIPS: mean colour features and mean absolute differences."""
    def diversity(out):
        pairs = [(i, j) for i in range(len(out)) for j in range(i + 1, len(out))]
        return float(sum((out[i] - out[j]).abs().mean() for i, j in pairs) / len(pairs))
    return Judges(lambda x: x.mean(dim=(2, 3)) + 0.01 * x[:, :, :2, :2].flatten(1).mean(1, True),
                  diversity, {"fid": "test features", "diversity": "test diversity"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = write_domain_folder(tmp_path_factory.mktemp("data"), domains=("a", "b", "c"),
                               per_domain=5)
    run = tmp_path_factory.mktemp("run")
    train(tiny_v2_config(dataset=str(root), num_domains=3, total_iters=2), run, progress=False)
    return root, CheckpointManager(run).latest()


def test_every_ordered_pair_in_both_modes_with_a_mean(trained):
    root, checkpoint = trained
    nets, cfg = load_ema_nets(checkpoint)
    report = evaluate(nets, cfg, root, mean_colour_judges(), num_outs=3, batch_size=2,
                      progress=False)
    tasks = {"a2b", "a2c", "b2a", "b2c", "c2a", "c2b"}
    for mode in ("latent", "reference"):
        assert set(report[mode]) == tasks | {"mean"}
        for values in report[mode].values():
            assert set(values) == {"fid", "diversity"} and values["fid"] >= 0
        mean_fid = sum(report[mode][t]["fid"] for t in tasks) / 6
        assert report[mode]["mean"]["fid"] == pytest.approx(mean_fid)
        assert report[mode]["mean"]["diversity"] > 0  # different z / references differ
    assert report["judges"]["fid"] == "test features"
    assert "latent" in format_table(report) and "c2b" in format_table(report)


def test_identical_outputs_have_zero_diversity_and_fid_of_a_set_with_itself_is_zero(trained):
    root, checkpoint = trained
    nets, cfg = load_ema_nets(checkpoint)
    nets.generator.forward = lambda x, s, masks=None: x  # the identity "translation"
    report = evaluate(nets, cfg, root, mean_colour_judges(), num_outs=2, progress=False)
    assert report["latent"]["mean"]["diversity"] == 0
    # outputs = sources: val of s vs train of t, which are different random images
    assert report["latent"]["a2b"]["fid"] > 0
    from starganlib.metrics.fid import frechet_distance_of
    feats = torch.randn(50, 4, generator=torch.Generator().manual_seed(0)).numpy()
    assert frechet_distance_of(feats, feats) == pytest.approx(0, abs=1e-6)


def test_on_toyfaces_reference_outputs_are_scored_against_the_ground_truth(tmp_path):
    root = generate(tmp_path / "toy", size=32, train_per_domain=3, val_per_domain=4, progress=False)
    run = tmp_path / "run"
    train(tiny_v2_config(dataset=str(root), img_size=32, num_domains=3, total_iters=1), run,
          progress=False)
    nets, cfg = load_ema_nets(CheckpointManager(run).latest())
    nets.generator.forward = lambda x, s, masks=None: x  # "translation" = copy the source
    val = DomainFolder(root / "val", 32)
    judges = dataclasses.replace(mean_colour_judges(), factors=factors_of(val.files, root))
    report = evaluate(nets, cfg, root, judges, num_outs=2, progress=False)
    mean = report["reference"]["mean"]
    assert mean["reference_l1"] == pytest.approx(mean["copy_source_l1"])
    assert mean["copy_reference_l1"] < mean["copy_source_l1"]
    assert "reference_l1" not in report["latent"]["mean"]  # no unique answer there
    assert "reference_psnr" in format_table(report)


def test_num_outs_below_two_is_refused(trained):
    root, checkpoint = trained
    nets, cfg = load_ema_nets(checkpoint)
    with pytest.raises(ValueError, match="num_outs must be >= 2"):
        evaluate(nets, cfg, root, mean_colour_judges(), num_outs=1, progress=False)


def test_cli_writes_eval_json(trained, tmp_path, monkeypatch, capsys):
    root, checkpoint = trained
    monkeypatch.setattr("starganlib.v2.eval_protocol.official_judges",
                        lambda device, oracle=None, factors=None: mean_colour_judges())
    main(["eval", "--checkpoint", str(checkpoint), "--num-outs", "2", "--out", str(tmp_path),
          "--device", "cpu"])
    report = json.loads((tmp_path / "eval.json").read_text())
    assert set(report["reference"]) >= {"a2b", "mean"}
    assert "written:" in capsys.readouterr().out
