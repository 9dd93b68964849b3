"""Official StarGAN v2 checkpoints (dicts of state dicts per network) load into our networks."""
import pytest
import torch

from starganlib.checkpoint import CheckpointError
from starganlib.v2.config import preset
from starganlib.v2.official import load_official
from starganlib.v2.nets import build_nets

TINY = dict(img_size=32, base_dim=8, max_conv_dim=16, mapping_dim=16, style_dim=8)


def official_file(path, preset_name, prefix="", drop=(), **changes):
    """What the official CheckpointIO writes for nets_ema, from freshly initialised nets."""
    torch.manual_seed(0)
    nets = build_nets(preset(preset_name, **{**TINY, **changes}))
    state = {name: {prefix + k: v for k, v in getattr(nets, name).state_dict().items()
                    if k not in drop}
             for name in ("generator", "mapping_network", "style_encoder")}
    torch.save(state, path)
    return nets


@pytest.mark.parametrize("preset_name, prefix, drop", [
    ("afhq", "", ()),
    ("afhq", "module.", ()),  # saved through DataParallel
    ("celeba-hq", "", ("hpf.filter",)),  # the released CelebA-HQ file predates that buffer
])
def test_official_weights_give_the_same_outputs(tmp_path, preset_name, prefix, drop):
    source = official_file(tmp_path / "100000_nets_ema.ckpt", preset_name, prefix, drop)
    nets, cfg = load_official(tmp_path / "100000_nets_ema.ckpt", preset_name, **TINY)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    y = torch.tensor([0, 1])
    z = torch.randn(2, cfg.latent_dim, generator=gen)
    masks = (torch.rand(2, 1, 32, 32, generator=gen),) * 2 if cfg.w_hpf > 0 else None
    with torch.no_grad():
        s = nets.mapping_network(z, y)
        assert torch.equal(s, source.mapping_network(z, y))
        assert torch.equal(nets.style_encoder(x, y), source.style_encoder(x, y))
        assert torch.equal(nets.generator(x, s, masks=masks), source.generator(x, s, masks=masks))


def test_a_checkpoint_of_another_setting_names_the_keys(tmp_path):
    official_file(tmp_path / "ckpt", "afhq", num_domains=2)
    with pytest.raises(CheckpointError, match=r"ckpt: its mapping_network does not fit the "
                                              r"'afhq' preset .*(missing|other shape)"):
        load_official(tmp_path / "ckpt", "afhq", **TINY)


def test_a_file_without_the_networks_is_refused(tmp_path):
    torch.save({"generator": {}}, tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="no mapping_network, style_encoder"):
        load_official(tmp_path / "ckpt", "afhq", **TINY)
