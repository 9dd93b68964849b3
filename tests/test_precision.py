"""starganlib.runtime.precision: bf16 autocast, and networks that return float32 for the losses."""
import pytest
import torch
from torch import nn

from starganlib.runtime.precision import autocast, check_precision, float32_outputs


class TwoHeads(nn.Module):
    """A conv trunk with two outputs, like StarGAN v1's D."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 1, 1)

    def forward(self, x):
        h = self.conv(x)
        return h, h.mean((2, 3))


def test_float32_outputs_casts_the_bfloat16_outputs_of_autocast_and_keeps_the_gradients():
    torch.manual_seed(0)
    net, plain = TwoHeads(), TwoHeads()
    plain.load_state_dict(net.state_dict())
    float32_outputs(net)
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    with autocast(torch.device("cpu"), "bf16"):
        outputs, expected = net(x), plain(x)
    assert [t.dtype for t in expected] == [torch.bfloat16] * 2
    assert [t.dtype for t in outputs] == [torch.float32] * 2
    assert all(torch.equal(o, e.float()) for o, e in zip(outputs, expected))
    sum(o.sum() for o in outputs).backward()
    assert x.grad.abs().sum() > 0 and net.conv.weight.grad.dtype == torch.float32


def test_float32_outputs_leaves_float32_outputs_as_they_are():
    conv = nn.Conv2d(3, 2, 1)
    float32_outputs(conv)
    x = torch.randn(1, 3, 2, 2)
    assert torch.equal(conv(x), nn.functional.conv2d(x, conv.weight, conv.bias))


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be 'fp32' or 'bf16', got 'fp16'"):
        check_precision("fp16")
