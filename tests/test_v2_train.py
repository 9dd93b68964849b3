import json

import pytest
import torch
from torch import nn

from starganlib.checkpoint import CheckpointManager, load_checkpoint
from starganlib.data.folders import DomainFolder, TrainBatches
from starganlib.double_backward import Conv2d
from starganlib.v2.run import train
from starganlib.v2.train import V2Trainer, build_nets
from tests.conftest import tiny_v2_config


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module):
    after = module.state_dict()
    return {k for k in before if not torch.equal(before[k], after[k])}


def batches(folder_root, cfg):
    return TrainBatches(DomainFolder(folder_root / "train", cfg.img_size), cfg.batch_size,
                        cfg.latent_dim, cfg.seed)


def test_ema_copies_start_equal_to_the_trained_networks():
    t = V2Trainer(tiny_v2_config())
    for name in ("generator", "mapping_network", "style_encoder"):
        for a, b in zip(getattr(t.nets, name).parameters(), getattr(t.nets_ema, name).parameters()):
            assert torch.equal(a, b)
    assert t.nets_ema.discriminator is None


def test_each_substep_updates_exactly_the_official_networks(tiny_dataset, monkeypatch):
    """D steps move D only; the latent G step moves G, F, E; the reference G step moves G only."""
    cfg = tiny_v2_config()
    t = V2Trainer(cfg)
    stepped = []
    for name, opt in t.optims.items():
        original = opt.step
        monkeypatch.setattr(opt, "step", lambda *a, _n=name, _o=original, **k: (stepped.append(_n), _o(*a, **k))[1])
    before = {n: snapshot(getattr(t.nets, n)) for n in t.optims}
    t.train_step(batches(tiny_dataset, cfg)[0])
    assert stepped == ["discriminator", "discriminator",
                       "generator", "mapping_network", "style_encoder", "generator"]
    for name in t.optims:
        assert changed(before[name], getattr(t.nets, name)), f"{name} did not change"


def test_reference_step_does_not_step_the_style_encoder(tiny_dataset):
    cfg = tiny_v2_config()
    t = V2Trainer(cfg)
    calls = []
    original = t._update
    t._update = lambda loss, names: (calls.append(list(names)), original(loss, names))
    t.train_step(batches(tiny_dataset, cfg)[0])
    assert calls[-1] == ["generator"] and "style_encoder" in calls[2]


def test_ema_moves_toward_the_trained_weights(tiny_dataset):
    cfg = tiny_v2_config(ema_beta=0.9)
    t = V2Trainer(cfg)
    g0 = snapshot(t.nets_ema.generator)
    t.train_step(batches(tiny_dataset, cfg)[0])
    key = "from_rgb.weight"
    expected = 0.9 * g0[key] + 0.1 * t.nets.generator.state_dict()[key]
    assert torch.allclose(t.nets_ema.generator.state_dict()[key], expected, atol=1e-7)


def test_batches_are_a_function_of_seed_and_step(tiny_dataset):
    cfg = tiny_v2_config()
    a, b = batches(tiny_dataset, cfg), batches(tiny_dataset, cfg)
    for k, v in a[5].items():
        assert torch.equal(v, b[5][k])
    assert not torch.equal(a[5]["z_trg"], a[6]["z_trg"])
    x = a[0]["x_src"]
    assert x.shape == (2, 3, 16, 16) and x.min() >= -1 and x.max() <= 1


def _params(run_dir):
    state = load_checkpoint(CheckpointManager(run_dir).latest())
    return state


def test_resume_equals_an_uninterrupted_run_bitwise(tmp_path, tiny_dataset):
    cfg = tiny_v2_config(dataset=str(tiny_dataset), total_iters=4, save_every=2)
    train(cfg, tmp_path / "straight", progress=False)
    train(cfg.replace(total_iters=2), tmp_path / "resumed", progress=False)
    train(cfg, tmp_path / "resumed", resume=True, progress=False)
    a, b = _params(tmp_path / "straight"), _params(tmp_path / "resumed")
    assert a["step"] == b["step"] == 4
    for group in ("nets", "nets_ema", "optims"):
        for net in a[group]:
            sa, sb = a[group][net], b[group][net]
            if group == "optims":
                sa, sb = sa["state"], sb["state"]
                for i in sa:
                    for k in sa[i]:
                        assert torch.equal(sa[i][k], sb[i][k])
            else:
                for k in sa:
                    assert torch.equal(sa[k], sb[k]), f"{group}.{net}.{k}"
    losses_a = (tmp_path / "straight" / "losses.csv").read_text()
    assert losses_a == (tmp_path / "resumed" / "losses.csv").read_text()


def test_run_folder_contents_and_refusal_to_overwrite(tmp_path, tiny_dataset):
    cfg = tiny_v2_config(dataset=str(tiny_dataset))
    summary = train(cfg, tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert summary["step"] == 4
    assert json.loads((run / "config.json").read_text())["img_size"] == 16
    assert {p.name for p in (run / "samples").glob("000004_*.png")} == {
        "000004_latent.png", "000004_reference.png", "000004_cycle.png"}
    assert len(CheckpointManager(run).all()) == 2
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, run, progress=False)


def test_architecture_mismatch_on_resume_is_a_clear_error(tmp_path, tiny_dataset):
    cfg = tiny_v2_config(dataset=str(tiny_dataset), total_iters=2)
    train(cfg, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="style_dim: checkpoint 8, config 12"):
        train(cfg.replace(style_dim=12, total_iters=4), tmp_path / "run", resume=True, progress=False)


def test_domain_count_mismatch_is_a_clear_error(tmp_path, tiny_dataset):
    with pytest.raises(ValueError, match="has 2 domains"):
        train(tiny_v2_config(dataset=str(tiny_dataset), num_domains=3), tmp_path / "r", progress=False)


def test_bf16_iteration_is_close_to_fp32_and_keeps_float32_weights(tiny_dataset):
    """bf16 autocast changes rounding, not the step: same losses to bf16 precision, fp32 state."""
    batch = batches(tiny_dataset, tiny_v2_config())[0]
    t32, t16 = (V2Trainer(tiny_v2_config(precision=p)) for p in ("fp32", "bf16"))
    log32, log16 = t32.train_step(batch), t16.train_step(batch)
    for k, v in log32.items():
        assert torch.isfinite(log16[k]) and log16[k].dtype == torch.float32, k
        assert torch.allclose(log16[k], v, rtol=0.05, atol=0.02), (k, float(v), float(log16[k]))
    assert all(p.dtype == torch.float32 for p in t16.nets.parameters())
    assert all(s["exp_avg"].dtype == torch.float32 for s in t16.optims["generator"].state.values())


def test_the_trainer_makes_only_the_discriminator_convolutions_fast():
    t = V2Trainer(tiny_v2_config())

    def conv_classes(module):
        return {type(m) for m in module.modules() if isinstance(m, nn.Conv2d)}
    assert conv_classes(t.nets.discriminator) == {Conv2d}
    assert conv_classes(t.nets.generator) | conv_classes(t.nets.style_encoder) == {nn.Conv2d}
    plain = build_nets(tiny_v2_config()).discriminator
    assert t.nets.discriminator.state_dict().keys() == plain.state_dict().keys()


def test_trained_networks_use_the_channels_last_layout():
    t = V2Trainer(tiny_v2_config())
    conv = t.nets.discriminator.main[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert t.nets_ema.generator.from_rgb.weight.is_contiguous(memory_format=torch.channels_last)


def test_a_compiled_generator_trains_like_the_eager_one(tiny_dataset):
    """compile=True compiles G in place: the same state dict keys and, to rounding, the same
    losses over two steps. (Weights are not compared: Adam's first step moves a weight whose
    gradient is about 0 by lr in the direction of that gradient's rounding noise.)"""
    data = batches(tiny_dataset, tiny_v2_config())
    eager, compiled = (V2Trainer(tiny_v2_config(compile=c)) for c in (False, True))
    assert compiled.nets.generator._compiled_call_impl is not None
    assert eager.nets.generator._compiled_call_impl is None
    assert compiled.nets.generator.state_dict().keys() == eager.nets.generator.state_dict().keys()
    for step in range(2):
        log_eager, log_compiled = eager.train_step(data[step]), compiled.train_step(data[step])
        for k, v in log_eager.items():
            assert torch.allclose(log_compiled[k], v, rtol=1e-3, atol=1e-4), (step, k, float(v))
