"""A Conv2d with a fast second derivative, for the gradient penalties (R1, WGAN-GP).

Both penalties differentiate a norm of ``grad_x D(x)`` with respect to D's weights: a double
backward through every convolution of D. PyTorch's generic double backward of a convolution
computes one of its terms, the weight gradient of the input gradient, as a convolution whose
kernel is a whole feature map (``(C, N, H, W)`` tensors: a 64 x 64 kernel at 64 px), which the
CPU kernels (oneDNN) run several times slower than an ordinary backward.

``Conv2d`` here is ``nn.Conv2d`` with the same parameters, state dict and outputs. Its gradients
are written out by hand with the same formulas, so that each second-order term is an ordinary
convolution or convolution backward. For a convolution ``y = conv(x, W) + b`` with upstream
gradient ``g``:

    first order   gx = conv_transpose(g, W)   gW = corr(x, g)   gb = sum(g)
    second order  given ggx, ggW, ggb (the gradients arriving at gx, gW, gb):
                  d/dg = conv(ggx, W) + conv(x, ggW) + ggb
                  d/dW = corr(ggx, g)        d/dx = conv_transpose(g, ggW)

A convolution with a single output position (a large kernel on a small map: the last layers of
both discriminators) multiplies the kernel with one window of the padded input; ``Conv2d`` runs
it as that matrix product, which autograd differentiates twice with matrix products as well.

The models are built from plain ``nn.Conv2d``; a trainer calls ``fast_penalty_convolutions(D)``,
which turns D's convolutions into ``Conv2d`` in place, and computes its losses inside
``input_gradients_only()`` (below). Third derivatives are not supported (none is used).
"""
import contextlib
import threading

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

_state = threading.local()


def fast_penalty_convolutions(module: nn.Module) -> None:
    """Turn every ``nn.Conv2d`` inside ``module`` into a ``Conv2d``, in place.

    The layers stay the same objects with the same parameters (only their class changes), so the
    state dict, the optimisers holding the parameters and checkpoint loading are unchanged, and so
    are the outputs and gradients.
    """
    for layer in module.modules():
        if type(layer) is nn.Conv2d:
            _check_supported(layer)
            layer.__class__ = Conv2d


@contextlib.contextmanager
def input_gradients_only():
    """Within this block the backward passes of ``Conv2d`` compute no weight gradients.

    Enter it around the computation of a loss whose only backward pass inside is a penalty's
    ``torch.autograd.grad(outputs, images, create_graph=True)``, which throws weight gradients
    away, and call ``loss.backward()`` after leaving it (the flag is read when a backward pass
    runs). Asking for a weight gradient inside fails loudly: autograd reports it as unused.
    """
    before = getattr(_state, "inputs_only", False)
    _state.inputs_only = True
    try:
        yield
    finally:
        _state.inputs_only = before


def _conv_grads(grad_out, x, weight, geometry, mask):
    """``(gx, gW, gb)`` of a convolution by the fast kernels; ``mask`` picks the ones computed."""
    stride, padding, dilation, groups = geometry
    bias_sizes = [weight.size(0)] if mask[2] else None
    return torch.ops.aten.convolution_backward(
        grad_out, x, weight, bias_sizes, stride, padding, dilation, False, [0, 0], groups, mask)


class _ConvGradients(torch.autograd.Function):
    """``(g, x, W) -> (gx, gW, gb)``, differentiable once more (the second-order terms above)."""

    @staticmethod
    def forward(ctx, grad_out, x, weight, geometry, mask):
        ctx.save_for_backward(grad_out, x, weight)
        ctx.geometry = geometry
        ctx.set_materialize_grads(False)  # unused outputs arrive as None, not zeros
        return _conv_grads(grad_out, x, weight, geometry, mask)

    @staticmethod
    @once_differentiable
    def backward(ctx, ggx, ggw, ggb):
        grad_out, x, weight = ctx.saved_tensors
        need_g, need_x, need_w = ctx.needs_input_grad[:3]
        stride, padding, dilation, groups = ctx.geometry
        terms_g, dx, dw = [], None, None
        if ggx is not None:
            if need_g:
                terms_g.append(F.conv2d(ggx, weight, None, stride, padding, dilation, groups))
            if need_w:
                dw = _conv_grads(grad_out, ggx, weight, ctx.geometry, [False, True, False])[1]
        if ggw is not None:
            if need_g:
                terms_g.append(F.conv2d(x, ggw, None, stride, padding, dilation, groups))
            if need_x:
                dx = _conv_grads(grad_out, x, ggw, ctx.geometry, [True, False, False])[0]
        if ggb is not None and need_g:
            terms_g.append(ggb.view(1, -1, 1, 1).expand_as(grad_out))
        dg = sum(terms_g[1:], terms_g[0]) if terms_g else None
        return dg, dx, dw, None, None


class _Convolution(torch.autograd.Function):
    """``conv2d(x, W, b)`` whose backward is ``_ConvGradients`` (so it can be differentiated)."""

    @staticmethod
    def forward(ctx, x, weight, bias, geometry):
        ctx.save_for_backward(x, weight)
        ctx.geometry, ctx.has_bias = geometry, bias is not None
        return F.conv2d(x, weight, bias, *geometry)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        inputs_only = getattr(_state, "inputs_only", False)
        mask = [need[0], need[1] and not inputs_only, ctx.has_bias and need[2] and not inputs_only]
        gx, gw, gb = _ConvGradients.apply(grad_out, x, weight, ctx.geometry, mask)
        return gx, gw, gb, None


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` (zero padding, numeric ``padding``) with the fast double backward above, and
    a single output position computed as a matrix product.

    Under autocast the inputs are cast to the autocast dtype first, as ``nn.Conv2d`` would be.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _check_supported(self)

    def forward(self, x):
        if self._one_output_position(x):
            return self._matrix_product(x)
        weight, bias = self.weight, self.bias
        device = x.device.type
        if torch.is_autocast_enabled(device):
            dtype = torch.get_autocast_dtype(device)
            x, weight = x.to(dtype), weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
        geometry = (self.stride, self.padding, self.dilation, self.groups)
        with torch.autocast(device, enabled=False):
            return _Convolution.apply(x, weight, bias, geometry)

    def _one_output_position(self, x) -> bool:
        """True when the kernel fits in the padded input only once: a ``(N, O, 1, 1)`` output."""
        if self.groups != 1 or self.dilation != (1, 1):
            return False
        return all(0 <= size + 2 * pad - k < stride for size, pad, k, stride in
                   zip(x.shape[-2:], self.padding, self.kernel_size, self.stride))

    def _matrix_product(self, x):
        """The same convolution as one matrix product, ``(N, C kh kw) @ (C kh kw, O)``.

        With a single output position the convolution multiplies the kernel with one window of
        the padded input. The matrix-product kernels run this (a large weight on a small map, like
        the last discriminator layers) several times faster than the convolution kernels, and
        autograd differentiates it twice with matrix products too.
        """
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        window, weight = F.pad(x, (pw, pw, ph, ph))[:, :, :kh, :kw], self.weight
        if not weight.is_contiguous():  # channels-last weights: flatten both in (kh, kw, C) order
            window, weight = window.permute(0, 2, 3, 1), weight.permute(0, 2, 3, 1)
        out = F.linear(window.flatten(1), weight.flatten(1), self.bias)
        return out[:, :, None, None]


def _check_supported(layer: nn.Conv2d) -> None:
    if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
        raise ValueError(f"double_backward.Conv2d supports zero padding given as numbers only, "
                         f"got padding={layer.padding!r}, padding_mode={layer.padding_mode!r}")
