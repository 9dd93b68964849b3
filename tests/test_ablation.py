"""The StarGAN v2 ablation (Table 1, configurations A-F): what each configuration trains, which
outputs depend on z, and the report of a (very short) real run."""
import json

import pytest
import torch

from starganlib.data import toyfaces
from starganlib.data.folders import DomainFolder
from starganlib.experiments import ablation
from starganlib.experiments.ablation import CONFIGURATIONS
from starganlib.metrics import oracle as oracle_module
from starganlib.v2.config import preset
from starganlib.v2.synthesis import translate_latent
from tests.conftest import write_domain_folder

ALTERNATING = "ABCD"  # the configurations written in ablation.py (E and F are V2Trainer)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = write_domain_folder(tmp_path_factory.mktemp("ds"), ("cat", "dog", "wild"), 4, size=32)
    return ablation.train_batches(DomainFolder(root / "train", 32), seed=1)[0]


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def moved(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_the_six_configurations_of_table_1_in_order():
    assert list(CONFIGURATIONS) == list("ABCDEF")
    assert [c.title for c in CONFIGURATIONS.values()] == [
        "StarGAN baseline", "+ Multi-task discriminator", "+ Tuning", "+ Latent code injection",
        "+ Replace (D) with style code", "+ Diversity regularization"]
    assert [c.latent for c in CONFIGURATIONS.values()] == [False, False, False, True, True, True]
    assert [c.reference for c in CONFIGURATIONS.values()] == [False] * 4 + [True] * 2


def test_e_and_f_are_the_toy_preset_without_and_with_diversity():
    e, f = CONFIGURATIONS["E"].build(5).cfg, CONFIGURATIONS["F"].build(5).cfg
    assert f == preset("toy", seed=5)
    assert e == preset("toy", seed=5, lambda_ds=0.0) and f.lambda_ds > 0


def test_the_networks_of_each_configuration():
    a, b, c, d = (CONFIGURATIONS[k].build(0) for k in ALTERNATING)
    assert type(a.nets.discriminator).__module__ == "starganlib.v1.model"
    assert all(type(t.nets.discriminator).__module__ == "starganlib.v2.model" for t in (b, c, d))
    assert type(a.nets.generator) is type(b.nets.generator) is ablation.LabelGenerator
    assert type(c.nets.generator).__module__ == "starganlib.v2.model"
    assert isinstance(c.nets.mapping_network, ablation.DomainCode)
    assert isinstance(d.nets.mapping_network, ablation.LatentInjection)
    assert (a.n_critic, b.n_critic, c.n_critic, d.n_critic) == (5, 5, 1, 1)


@pytest.mark.parametrize("letter", ALTERNATING)
def test_every_parameter_has_exactly_one_optimiser(letter):
    t = CONFIGURATIONS[letter].build(0)
    ids = [[id(p) for group in opt.param_groups for p in group["params"]]
           for opt in (t.optim_g, t.optim_d)]
    assert set(ids[0]).isdisjoint(ids[1]) and len(set(ids[0])) == len(ids[0])
    assert set(ids[0]) | set(ids[1]) == {id(p) for p in t.nets.parameters()}
    assert set(ids[1]) == {id(p) for p in t.nets.discriminator.parameters()}


@pytest.mark.parametrize("letter", ALTERNATING)
def test_a_d_step_moves_d_only_and_a_g_step_moves_g_and_its_condition_only(letter, batch):
    t = CONFIGURATIONS[letter].build(0)
    nets = t.nets
    conditioned = letter in "CD"  # A and B: the one-hot label has no parameters
    trained = [nets.generator, nets.discriminator] + [nets.mapping_network] * conditioned
    before = [params(m) for m in trained]
    t.d_step(batch)
    assert [moved(b, m) for b, m in zip(before, trained)] == [False, True] + [False] * conditioned
    before = [params(m) for m in trained]
    t.g_step(batch)
    assert [moved(b, m) for b, m in zip(before, trained)] == [True, False] + [True] * conditioned
    assert all(p.requires_grad for p in nets.discriminator.parameters())


@pytest.mark.parametrize("letter", "AB")
def test_stargan_steps_g_once_every_five_iterations(letter, batch):
    t = CONFIGURATIONS[letter].build(0)
    before = params(t.nets.generator)
    for _ in range(4):
        t.train_step(batch)
    assert not moved(before, t.nets.generator)
    t.train_step(batch)
    assert moved(before, t.nets.generator) and t.step == 5


@pytest.mark.parametrize("letter", "ABCDEF")
def test_only_configurations_with_a_latent_code_depend_on_z(letter, batch):
    nets = ablation.judged_nets(CONFIGURATIONS[letter].build(2))
    x, y = batch["x_src"], batch["y_ref"]
    z1, z2 = torch.randn(2, len(x), ablation.V2.latent_dim,
                         generator=torch.Generator().manual_seed(0))
    same = torch.equal(translate_latent(nets, x, y, z1), translate_latent(nets, x, y, z2))
    assert same != CONFIGURATIONS[letter].latent


def test_e_and_f_are_judged_by_their_ema_networks():
    f = CONFIGURATIONS["F"].build(0)
    assert ablation.judged_nets(f) is f.nets_ema
    a = CONFIGURATIONS["A"].build(0)
    assert ablation.judged_nets(a) is a.nets


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="configs"):
        ablation.run_ablation(["A", "G"])
    with pytest.raises(ValueError, match="configs"):
        ablation.run_ablation([])
    with pytest.raises(ValueError, match="minutes"):
        ablation.main(["--minutes", "0"])
    with pytest.raises(ValueError, match="max_iterations"):
        ablation.run_ablation(["A"], max_iterations=0)
    assert ablation.check_configs(["F", "A", "C"]) == ["A", "C", "F"]


def fake_rows(frechet, accuracy, diversity):
    return [{"config": k, "title": c.title, "iterations": 10, "train_seconds": 1.0,
             "latent_accuracy": acc, "latent_content_error": 0.1, "latent_diversity": div,
             "latent_frechet": fd} for (k, c), fd, acc, div
            in zip(CONFIGURATIONS.items(), frechet, accuracy, diversity)]


def test_the_trend_checks_follow_the_numbers():
    good = ablation.trend_checks(fake_rows([60, 50, 40, 30, 20, 10], [.1, .2, .3, .4, .5, .6],
                                           [0, 0, 0, .1, .2, .3]))
    assert good == [
        "Frechet falls from A to F: yes (60 -> 10); at every step: yes.",
        "Accuracy rises from A to F: yes (0.1 -> 0.6); at every step: yes.",
        "Diversity is zero without a latent code and positive with one: yes.",
        "Diversity grows with each configuration that has a latent code (D 0.1, E 0.2, F 0.3): "
        "yes."]
    bad = ablation.trend_checks(fake_rows([10, 50, 40, 30, 20, 60], [.6, .2, .3, .4, .5, .1],
                                          [0, 0, 0, .3, .2, 0]))
    assert [line.split(": ")[1][:2] for line in bad] == ["no", "no", "no", "no"]
    assert "at every step: no" in bad[0]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A real run of all six configurations, one iteration each, on a tiny toyfaces with a tiny
    oracle (both made in a temporary data folder)."""
    data, out = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("ablation")
    train_oracle = oracle_module.train_oracle
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STARGANLIB_DATA", str(data))
        mp.setattr(ablation, "ensure_toyfaces", lambda size: toyfaces.ensure_toyfaces(
            size, train_per_domain=4, val_per_domain=8))
        mp.setattr(oracle_module, "train_oracle", lambda img_size, seed, device: train_oracle(
            img_size, steps=2, batch_size=4, pool=8, seed=seed, progress=False))
        return ablation.run_ablation(minutes=1, out=out, seed=3, max_iterations=1), out


def test_the_report_files_hold_every_configuration(report):
    result, out = report
    saved = json.loads((out / "ablation.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert [r["config"] for r in saved["results"]] == list("ABCDEF")
    assert all(r["iterations"] == 1 and r["train_seconds"] >= 0 for r in saved["results"])
    assert set(saved["content_error_scale"]) == {"ideal", "unrelated"}
    assert saved["protocol"]["seed"] == 3 and saved["protocol"]["img_size"] == 32
    text = (out / "ablation.md").read_text()
    for letter, config in CONFIGURATIONS.items():
        assert f"| {letter} {config.title} |" in text and config.change in text
    assert "## Expected trend (paper)" in text and "## Did the trend hold?" in text
    assert "Frechet falls from A to F: " in text


def test_without_a_latent_code_the_diversity_is_exactly_zero(report):
    rows = {r["config"]: r for r in report[0]["results"]}
    assert [rows[k]["latent_diversity"] == 0.0 for k in "ABCDEF"] == [True] * 3 + [False] * 3
    assert all(rows[k]["latent_diversity"] > 0 for k in "DEF")


def test_reference_metrics_only_for_the_configurations_with_a_style_encoder(report):
    for row in report[0]["results"]:
        has = {k for k in row if k.startswith("reference_")}
        assert has == (set() if row["config"] in "ABCD" else
                       {"reference_accuracy", "reference_content_error", "reference_diversity",
                        "reference_frechet"})
        assert 0 <= row["latent_accuracy"] <= 1 and row["latent_frechet"] >= 0


def test_the_budget_note_counts_the_iterations_of_each_configuration():
    rows = fake_rows([1] * 6, [1] * 6, [0] * 6)
    for row, iterations in zip(rows, (4000, 3000, 1400, 1600, 600, 500)):
        row["iterations"] = iterations
    note = ablation.budget_note(rows)
    assert "A 4000, B 3000, C 1400, D 1600, E 600, F 500" in note
    assert "F did 8.0 times fewer than A" in note
