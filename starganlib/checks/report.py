"""What every exercise check shares: calling the student's code, comparing, explaining.

A check fails with an ``AssertionError`` whose message says what was expected, what came out
(shapes or the largest difference) and, where it can tell, the likely mistake. A student's
``NotImplementedError`` (an exercise not done yet) is passed on unchanged.
"""
import numpy as np
import torch
from torch import nn


def passed(message: str) -> None:
    """Print the one-line success message of a check."""
    print(f"✓ {message}")


def seeded(build, seed: int):
    """``build()`` run with the global torch RNG seeded to ``seed``; the global state is restored.

    Module constructors draw their initial weights from the global RNG; this makes them
    repeatable without disturbing the student's own random state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def randn(*shape: int, seed: int) -> torch.Tensor:
    """Standard normal float32 tensor of ``shape`` drawn from its own generator."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def call(fn, *args, what: str, hint: str = ""):
    """``fn(*args)``; any error but NotImplementedError becomes an AssertionError naming ``what``."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as err:
        message = f"{what} raised {type(err).__name__}: {err}"
        raise AssertionError(message + (f"\n{hint}" if hint else "")) from err


def _as_tensor(value, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise AssertionError(f"{what} is complex: keep the real part (.real).")
        return value.detach().cpu().double()
    if np.iscomplexobj(value):
        raise AssertionError(f"{what} is complex ({value}): scipy.linalg.sqrtm can return tiny "
                             "imaginary parts from round-off; keep the real part (.real).")
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise AssertionError(f"{what} should be a number or a tensor, "
                             f"got {type(value).__name__}") from err


def _close(got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float) -> bool:
    return got.shape == expected.shape and torch.allclose(got, expected, rtol=rtol, atol=atol)


def expect_close(got, expected, what: str, hint: str = "", likely=(), atol=1e-5, rtol=1e-4):
    """AssertionError unless ``got`` is close to ``expected`` (tensors or numbers).

    ``likely`` holds ``(explanation, value that mistake would give)`` pairs: when ``got`` matches
    one of them, its explanation is given; otherwise ``hint``.
    """
    got_t, expected_t = _as_tensor(got, what), _as_tensor(expected, what)
    if _close(got_t, expected_t, atol, rtol):
        return
    if got_t.shape != expected_t.shape:
        found = f"expected shape {tuple(expected_t.shape)}, got {tuple(got_t.shape)}"
    elif not expected_t.any():
        found = f"expected zeros, got values up to {got_t.abs().max().item():.3g}"
    elif expected_t.numel() == 1:
        found = f"expected {expected_t.item():.6g}, got {got_t.item():.6g}"
    else:
        largest = (got_t - expected_t).abs().max().item()
        found = (f"largest difference from the expected values {largest:.3g} "
                 f"(the values themselves are about {expected_t.abs().mean().item():.3g})")
    if got_t.shape == expected_t.shape and not torch.isfinite(got_t).all():
        found += "; your result contains inf or NaN"
    reason = next((f"Likely mistake: {explanation}" for explanation, value in likely
                   if _close(got_t, _as_tensor(value, what), atol, rtol)), hint)
    raise AssertionError(f"{what}: {found}." + (f"\n{reason}" if reason else ""))


def expect_shape(got, shape: tuple, what: str, hint: str = "") -> None:
    """AssertionError unless ``got`` is a tensor of ``shape``."""
    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{what} should be a tensor, got {type(got).__name__}.")
    if tuple(got.shape) != tuple(shape):
        raise AssertionError(f"{what}: expected shape {tuple(shape)}, got {tuple(got.shape)}."
                             + (f"\n{hint}" if hint else ""))


def copy_weights(reference: nn.Module, student, name: str) -> None:
    """Load the reference module's state dict into the student's module (same attribute names)."""
    if not isinstance(student, nn.Module):
        raise AssertionError(f"{name} should be a torch.nn.Module, got {type(student).__name__}")
    expected, got = reference.state_dict(), student.state_dict()
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    if missing or extra:
        raise AssertionError(
            f"{name} must hold the same parameters and buffers as the reference, under the same "
            f"names, so that the reference weights can be copied in: missing {missing}, "
            f"unexpected {extra}.")
    wrong = [f"{k} should be {tuple(v.shape)}, is {tuple(got[k].shape)}"
             for k, v in expected.items() if got[k].shape != v.shape]
    if wrong:
        raise AssertionError(f"{name}: parameter shapes differ from the reference: "
                             + "; ".join(wrong) + ".")
    student.load_state_dict(expected)


def gradients(module: nn.Module) -> torch.Tensor:
    """All parameter gradients of ``module`` flattened into one vector (zeros where None)."""
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
                      for p in module.parameters()])


def expect_differentiable(value, what: str) -> None:
    """AssertionError unless ``value`` is a tensor that autograd can backpropagate."""
    if not isinstance(value, torch.Tensor) or not value.requires_grad:
        raise AssertionError(
            f"{what} cannot be backpropagated: the result does not depend on the network's "
            "weights. Compute the gradient with torch.autograd.grad(..., create_graph=True) so "
            "that the penalty itself can be differentiated (a double backward).")
