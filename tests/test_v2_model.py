import math

import pytest
import torch

from starganlib.v2.blocks import AdaIN, AdainResBlk, HighPass, ResBlk
from starganlib.v2.config import preset
from starganlib.v2.model import Discriminator, Generator, MappingNetwork, StyleEncoder
from starganlib.v2.nets import build_nets

OFFICIAL = {  # facts file, table 1.9 (CelebA-HQ row matches the official training log)
    "afhq": {"generator": 33_892_995, "mapping_network": 3_259_072,
             "style_encoder": 20_949_760, "discriminator": 20_852_803},
    "celeba-hq": {"generator": 43_467_395, "mapping_network": 2_438_272,
                  "style_encoder": 20_916_928, "discriminator": 20_852_290},
}


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", OFFICIAL)
def test_paper_presets_have_official_parameter_counts(name):
    nets = build_nets(preset(name))
    assert {k: count(getattr(nets, k)) for k in OFFICIAL[name]} == OFFICIAL[name]


def test_paper_width_rule_at_64px_is_the_official_one():
    g = Generator(img_size=64, w_hpf=0)
    assert g.from_rgb.out_channels == 2**14 // 64 == 256
    assert len(g.encode) == 2 + 2  # log2(64) - 4 down blocks + 2 bottleneck blocks


def test_shapes_through_every_network():
    x, y = torch.randn(3, 3, 32, 32), torch.tensor([0, 2, 1])
    f = MappingNetwork(latent_dim=4, style_dim=8, num_domains=3, hidden_dim=16)
    s = f(torch.randn(3, 4), y)
    assert s.shape == (3, 8)
    g = Generator(32, style_dim=8, max_conv_dim=32, w_hpf=0, base_dim=8, num_down=2)
    assert g(x, s).shape == (3, 3, 32, 32)
    assert StyleEncoder(32, 8, 3, 32, base_dim=8)(x, y).shape == (3, 8)
    assert Discriminator(32, 3, 32, base_dim=8)(x, y).shape == (3,)


def test_heads_are_selected_by_domain():
    torch.manual_seed(0)
    f = MappingNetwork(latent_dim=4, style_dim=8, num_domains=3, hidden_dim=16)
    z = torch.randn(1, 4).expand(3, 4)
    s = f(z, torch.tensor([0, 1, 2]))
    for y in range(3):
        assert torch.allclose(s[y], f.unshared[y](f.shared(z[:1]))[0])
    d = Discriminator(16, 3, 16, base_dim=8)
    x = torch.randn(1, 3, 16, 16).expand(3, -1, -1, -1)
    assert torch.allclose(d(x, torch.tensor([0, 1, 2])), d.main(x[:1]).flatten())


def test_adain_is_one_plus_gamma_times_normalised_plus_beta():
    adain = AdaIN(style_dim=4, num_features=2)
    x, s = torch.randn(2, 2, 5, 5) * 3 + 1, torch.randn(2, 4)
    gamma, beta = adain.fc(s).view(2, 4, 1, 1).chunk(2, dim=1)
    mu, var = x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True)
    expected = (1 + gamma) * (x - mu) / torch.sqrt(var + 1e-5) + beta
    assert torch.allclose(adain(x, s), expected, atol=1e-5)


def test_resblk_scales_the_sum_by_one_over_sqrt2():
    blk = ResBlk(4, 8, normalize=True, downsample=True)
    x = torch.randn(2, 4, 8, 8)
    assert torch.allclose(blk(x), (blk.shortcut(x) + blk.residual(x)) / math.sqrt(2))
    assert blk(x).shape == (2, 8, 4, 4)


def test_adainresblk_drops_the_shortcut_when_w_hpf_is_positive():
    x, s = torch.randn(2, 8, 4, 4), torch.randn(2, 3)
    plain = AdainResBlk(8, 4, style_dim=3, w_hpf=0, upsample=True)
    assert torch.allclose(plain(x, s), (plain.residual(x, s) + plain.shortcut(x)) / math.sqrt(2))
    hpf = AdainResBlk(8, 4, style_dim=3, w_hpf=1, upsample=True)
    assert torch.allclose(hpf(x, s), hpf.residual(x, s))
    assert hpf(x, s).shape == (2, 4, 8, 8)


def test_highpass_kills_constants_and_divides_by_w_hpf():
    flat = torch.ones(1, 2, 6, 6)
    assert HighPass(1.0)(flat)[..., 1:-1, 1:-1].abs().max() == 0
    impulse = torch.zeros(1, 1, 5, 5)
    impulse[0, 0, 2, 2] = 1
    assert HighPass(1.0)(impulse)[0, 0, 2, 2] == 8
    assert HighPass(2.0)(impulse)[0, 0, 2, 2] == 4
    assert "filter" in dict(HighPass(1.0).named_buffers())


def test_generator_uses_masked_highpass_skips():
    torch.manual_seed(0)
    g = Generator(64, style_dim=8, max_conv_dim=32, w_hpf=1, base_dim=8, num_down=3)
    x, s = torch.randn(2, 3, 64, 64), torch.randn(2, 8)
    ones, zeros = torch.ones(2, 1, 64, 64), torch.zeros(2, 1, 64, 64)
    with_skips, without = g(x, s, masks=(ones, ones)), g(x, s, masks=(zeros, zeros))
    assert with_skips.shape == (2, 3, 64, 64)
    assert not torch.allclose(with_skips, without)
    assert torch.allclose(without, g(x, s))  # zero masks add nothing


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        Generator(img_size=48)
    with pytest.raises(ValueError, match="num_down"):
        Generator(img_size=16, num_down=5)
