"""double_backward.Conv2d: the same layer as nn.Conv2d, first and second derivatives included,
and fast_penalty_convolutions, which turns a network's nn.Conv2d into it in place."""
import pytest
import torch
from torch import nn

from starganlib.double_backward import (Conv2d, _Convolution, fast_penalty_convolutions,
                                        input_gradients_only)

GEOMETRIES = [  # (kernel, stride, padding, groups, bias)
    (3, 1, 1, 1, True), (4, 2, 1, 1, True), (1, 1, 0, 1, False), (3, 2, 1, 2, True)]


@pytest.mark.parametrize("kernel,stride,padding,groups,bias", GEOMETRIES)
def test_first_and_second_derivatives_pass_gradcheck(kernel, stride, padding, groups, bias):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 7, 7, dtype=torch.double, requires_grad=True)
    w = torch.randn(6, 4 // groups, kernel, kernel, dtype=torch.double, requires_grad=True)
    b = torch.randn(6, dtype=torch.double, requires_grad=True) if bias else None
    geometry = ((stride, stride), (padding, padding), (1, 1), groups)

    def fn(x, w, *b):
        return torch.tanh(_Convolution.apply(x, w, b[0] if b else None, geometry))
    inputs = (x, w, b) if bias else (x, w)
    assert torch.autograd.gradcheck(fn, inputs)
    assert torch.autograd.gradgradcheck(fn, inputs)


def penalised_grads(conv_cls, state, x):
    """Weight and input gradients of ``out + ||grad_x out||^2`` through two convs (R1's shape)."""
    net = nn.Sequential(conv_cls(3, 5, 3, 1, 1), nn.LeakyReLU(0.2), conv_cls(5, 2, 4, 2, 1))
    net = net.double()
    net.load_state_dict(state)
    x = x.clone().requires_grad_()
    out = net(x)
    with input_gradients_only():
        grad, = torch.autograd.grad(out.sum(), x, create_graph=True)
    (out.mean() + grad.pow(2).sum()).backward()
    return [p.grad for p in net.parameters()] + [x.grad]


def test_a_penalised_loss_has_the_gradients_of_nn_conv2d():
    torch.manual_seed(0)
    reference = nn.Sequential(nn.Conv2d(3, 5, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(5, 2, 4, 2, 1))
    state = reference.double().state_dict()
    x = torch.randn(2, 3, 8, 8, dtype=torch.double)
    ours = penalised_grads(Conv2d, state, x)
    expected = penalised_grads(nn.Conv2d, state, x)
    for got, want in zip(ours, expected):
        assert torch.allclose(got, want, atol=1e-10)


def test_asking_for_a_weight_inside_input_gradients_only_fails_loudly():
    conv = Conv2d(3, 2, 3, 1, 1)
    x = torch.randn(1, 3, 5, 5, requires_grad=True)
    with input_gradients_only(), pytest.raises(RuntimeError, match="not have been used"):
        torch.autograd.grad(conv(x).sum(), [x, conv.weight])


def test_under_autocast_it_computes_in_bfloat16_and_gives_float32_weight_gradients():
    torch.manual_seed(0)
    conv, reference = Conv2d(3, 4, 3, 1, 1), nn.Conv2d(3, 4, 3, 1, 1)
    reference.load_state_dict(conv.state_dict())
    x = torch.randn(2, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, want = conv(x), reference(x)
    assert out.dtype == torch.bfloat16 and torch.equal(out, want)
    out.float().sum().backward()
    assert conv.weight.grad.dtype == torch.float32


def test_other_padding_modes_are_refused():
    with pytest.raises(ValueError, match="zero padding"):
        Conv2d(3, 4, 3, padding=1, padding_mode="reflect")


ONE_POSITION = [  # (channels, map size, kernel, stride, padding, channels_last): a 1 x 1 output
    (6, 2, 4, 2, 1, False),  # StarGAN v1's last trunk layer at 64 px
    (6, 1, 3, 1, 1, False),  # its D_src head on the 1 x 1 map
    (6, 4, 4, 1, 0, True),  # StarGAN v2's last trunk layer (channels-last weights)
    (6, 3, 4, 2, 1, False)]  # a window that leaves the last padded row out


@pytest.mark.parametrize("channels,size,kernel,stride,padding,channels_last", ONE_POSITION)
def test_a_single_output_position_is_a_matrix_product_with_the_same_derivatives(
        channels, size, kernel, stride, padding, channels_last):
    torch.manual_seed(0)
    reference = nn.Conv2d(channels, 5, kernel, stride, padding).double()
    ours = Conv2d(channels, 5, kernel, stride, padding).double()
    ours.load_state_dict(reference.state_dict())
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(3, channels, size, size, dtype=torch.double)
    assert ours._one_output_position(x)
    results = []
    for net in (reference.to(memory_format=fmt), ours.to(memory_format=fmt)):
        xi = x.clone().requires_grad_()
        out = net(xi)
        with input_gradients_only():
            grad, = torch.autograd.grad((out ** 2).sum(), xi, create_graph=True)
        (out.mean() + grad.pow(2).sum()).backward()
        results.append([out.detach(), net.weight.grad, net.bias.grad, xi.grad])
    for got, want in zip(*results[::-1]):
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-12)


def test_several_output_positions_stay_a_convolution():
    assert not Conv2d(3, 4, 4, 2, 1)._one_output_position(torch.randn(1, 3, 4, 4))


def test_fast_penalty_convolutions_keeps_the_layers_and_their_parameters():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.ConvTranspose2d(4, 2, 2),
                        nn.Sequential(nn.Conv2d(2, 2, 1, bias=False)))
    layers, parameters = list(net.modules()), list(net.parameters())
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(2, 3, 5, 5)
    before = net(x)
    fast_penalty_convolutions(net)
    assert list(net.modules()) == layers and list(net.parameters()) == parameters
    assert type(net[0]) is Conv2d and type(net[3][0]) is Conv2d
    assert type(net[2]) is nn.ConvTranspose2d  # only nn.Conv2d layers change
    assert net.state_dict().keys() == state.keys()
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert torch.allclose(net(x), before, atol=1e-6)


def test_fast_penalty_convolutions_refuses_other_padding_modes():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        fast_penalty_convolutions(net)

