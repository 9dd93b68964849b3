"""StarGAN v1 networks (starganlib.v1.model)."""
import pytest
import torch

from starganlib.v1.model import (Discriminator, Generator, InstanceNorm, count_parameters,
                                 tile_and_concat)


def test_tile_and_concat_appends_constant_label_maps():
    x = torch.randn(2, 3, 4, 5)
    c = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    out = tile_and_concat(x, c)
    assert out.shape == (2, 5, 4, 5)
    assert torch.equal(out[:, :3], x)
    assert torch.equal(out[1, 3], torch.zeros(4, 5)) and torch.equal(out[1, 4], torch.ones(4, 5))
    with pytest.raises(ValueError, match=r"\(N, c_dim\) with N = 2"):
        tile_and_concat(x, torch.zeros(3, 2))


def test_generator_shape_and_range():
    torch.manual_seed(0)
    G = Generator(conv_dim=8, c_dim=3, repeat_num=2)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = G(x, torch.tensor([[1.0, 0, 1], [0, 1, 0]]))
    assert y.shape == (2, 3, 32, 32)
    assert y.min() >= -1 and y.max() <= 1


def test_discriminator_shapes():
    D = Discriminator(image_size=32, conv_dim=8, c_dim=3, repeat_num=4)
    out_src, out_cls = D(torch.randn(2, 3, 32, 32))
    assert out_src.shape == (2, 1, 2, 2)  # a 2 x 2 patch map, as at 128 px with 6 convs
    assert out_cls.shape == (2, 3)
    with pytest.raises(ValueError, match="built for 32 x 32"):
        D(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="multiple of 2\\*\\*repeat_num = 64"):
        Discriminator(image_size=32, repeat_num=6)


def test_official_parameter_counts():
    assert count_parameters(Generator(64, 5, 6)) == 8_430_528
    assert count_parameters(Discriminator(128, 64, 5, 6)) == 44_762_048
    assert count_parameters(Generator(64, 5 + 8 + 2, 6)) == 8_461_888  # two datasets


def test_generator_state_dict_has_official_keys():
    keys = Generator(8, 5, 1).state_dict().keys()
    assert {"main.0.weight", "main.1.weight", "main.1.bias", "main.1.running_mean",
            "main.1.running_var", "main.9.main.0.weight"} <= set(keys)
    assert "main.0.bias" not in keys  # convs have no bias


def test_instance_norm_uses_instance_statistics_in_eval_mode():
    torch.manual_seed(0)
    norm = InstanceNorm(4)
    x = torch.randn(3, 4, 5, 5) * 3 + 2
    out_train = norm(x)
    assert not torch.equal(norm.running_mean, torch.zeros(4))  # averages tracked in training
    running = norm.running_mean.clone()
    norm.eval()
    out_eval = norm(x)
    assert torch.allclose(out_eval, out_train)
    assert torch.equal(norm.running_mean, running)  # not updated in eval mode
    plain = torch.nn.InstanceNorm2d(4, affine=True, track_running_stats=True)
    plain.load_state_dict(norm.state_dict())
    assert not torch.allclose(plain.eval()(x), out_eval)  # the plain layer would switch


def test_generator_eval_equals_train():
    torch.manual_seed(0)
    G = Generator(conv_dim=4, c_dim=2, repeat_num=1)
    x, c = torch.randn(2, 3, 16, 16), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    with torch.no_grad():
        y_train = G(x, c)
        y_eval = G.eval()(x, c)
    assert torch.allclose(y_train, y_eval)
