"""Training precision: ``fp32``, or ``bf16`` (bfloat16 autocast of the forward passes).

Under bf16 autocast, convolutions and matrix products run in bfloat16 (fast on CPUs with AMX or
AVX-512 BF16 and on GPUs with tensor cores). The trainers make their networks return float32
(``float32_outputs``), so the losses are computed in float32 from the bfloat16 activations, and
the optimiser states stay float32. bfloat16 keeps float32's exponent range, so no loss scaling
is needed, and the double backward of the gradient penalties works under it.
"""
import torch
from torch import nn

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")


def autocast(device: torch.device, precision: str):
    """The autocast context of ``precision`` on ``device`` (a no-op for fp32)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def float32_outputs(module: nn.Module) -> None:
    """Make ``module`` return float32 tensors: its outputs (a tensor or a tuple of tensors) are
    cast, so bfloat16 outputs of an autocast forward pass reach the losses as float32 (float32
    outputs are returned as they are)."""
    module.register_forward_hook(_to_float32)


def _to_float32(module, args, output):
    if isinstance(output, tuple):
        return tuple(t.float() for t in output)
    return output.float()
