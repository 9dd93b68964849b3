"""What every exercise check shares: calling the student's code, comparing values and gradients,
explaining.

A check fails with an ``AssertionError`` whose message says what was expected, what came out
(shapes or the largest difference) and, where it can tell, the likely mistake. Errors raised by
the student's code are translated into course words. A student's ``NotImplementedError`` (an
exercise not done yet) is passed on unchanged.
"""
import re

import numpy as np
import torch
from torch import nn

# (a pattern of PyTorch's error message, what it means, with the pattern's groups filled in)
ERRORS = [
    (r"allow_unused", "the result does not depend on the tensor it is differentiated with "
     "respect to (autograd found no path from one to the other)"),
    (r"does not require grad and does not have a grad_fn", "autograd has no record of this "
     "computation: a tensor it should differentiate does not require grad (it was detached, "
     "computed under torch.no_grad(), or never marked with requires_grad_(True))"),
    (r"modified by an inplace operation", "an in-place operation (+=, *=, add_, "
     "inplace=True) changed a tensor that autograd still needed for the backward pass"),
    (r"leaf Variable that requires grad is being used in an in-place operation", "a tensor "
     "that requires grad (a parameter or an input) was changed in place while autograd was "
     "recording"),
    (r"backward through the graph a second time", "backward ran twice through the same graph, "
     "which the first pass had already freed (torch.autograd.grad and .backward() free it "
     "unless create_graph=True)"),
    (r"view size is not compatible with input tensor's size and stride", ".view() needs "
     "contiguous memory and this tensor is not contiguous (the trainer keeps images "
     "channels-last): use .reshape() or .flatten()"),
    (r"Sizes of tensors must match except in dimension (\d+)\. Expected size (\d+) but got "
     r"size (\d+)", "torch.cat got tensors whose sizes differ outside dimension {0} ({1} and "
     "{2})"),
    (r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton "
     r"dimension (-?\d+)", "two tensors whose sizes differ in dimension {2} ({0} and {1}) were "
     "combined element by element"),
    (r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)",
     "a linear layer that takes {2} features was given {1}"),
    (r"index (-?\d+) is out of bounds for dimension (\d+) with size (\d+)",
     "index {0} is out of range for dimension {1}, which has size {2}"),
    (r"shape '(\[[-\d, ]+\])' is invalid for input of size (\d+)",
     "a .view() or .reshape() asked for shape {0}, which does not hold the tensor's {1} values"),
    (r"too many indices for tensor of dimension (\d+)", "a tensor with {0} dimension(s) was "
     "indexed with more indices (a .squeeze() may have removed a dimension)"),
    (r"Dimension out of range", "a dimension was asked for that the tensor does not have "
     "(a .squeeze() may have removed it)"),
]


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


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` ``(N, C, H, W)`` in the channels-last memory layout that the v2 trainer uses."""
    return x.contiguous(memory_format=torch.channels_last)


def explain_error(err: Exception) -> str:
    """The error in course words when it is a known PyTorch message, else as raised."""
    for pattern, meaning in ERRORS:
        match = re.search(pattern, str(err))
        if match:
            return meaning.format(*match.groups())
    return f"{type(err).__name__}: {err}"


def call(fn, *args, what: str, hint: str = ""):
    """``fn(*args)``; any error but NotImplementedError becomes an AssertionError naming ``what``."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as err:
        message = f"{what} stopped with an error: {explain_error(err)}."
        raise AssertionError(message + (f"\n{hint}" if hint else "")) from err


def as_float64(value, what: str) -> torch.Tensor:
    """``value`` (a tensor, number or array) as a float64 CPU tensor, or an AssertionError."""
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
    got_t, expected_t = as_float64(got, what), as_float64(expected, what)
    if _close(got_t, expected_t, atol, rtol):
        return
    if got_t.shape != expected_t.shape:
        found = f"expected shape {tuple(expected_t.shape)}, got {tuple(got_t.shape)}"
    elif not torch.isfinite(got_t).all():
        found = (f"expected values about {expected_t.abs().mean().item():.3g}, got inf or NaN "
                 f"in {(~torch.isfinite(got_t)).sum().item()} of {got_t.numel()}")
    elif not expected_t.any():
        found = f"expected zeros, got values up to {got_t.abs().max().item():.3g}"
    elif expected_t.numel() == 1:
        found = f"expected {expected_t.item():.6g}, got {got_t.item():.6g}"
    elif not got_t.any():
        found = f"expected values up to {expected_t.abs().max().item():.3g}, got zeros"
    else:
        largest = (got_t - expected_t).abs().max().item()
        found = (f"largest difference from the expected values {largest:.3g} "
                 f"(the values themselves are about {expected_t.abs().mean().item():.3g})")
    reason = next((f"Likely mistake: {explanation}" for explanation, value in likely
                   if _close(got_t, as_float64(value, what), atol, rtol)), hint)
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


# why a result cannot be backpropagated, for the penalties (double backward) and for losses
PENALTY_CUT = ("the gradient was taken without create_graph=True (or detached), so the penalty "
               "does not depend on the network's weights. Compute it with "
               "torch.autograd.grad(..., create_graph=True) so that the penalty itself can be "
               "differentiated (a double backward); marking the result requires_grad_() "
               "afterwards does not reconnect it.")
LOSS_CUT = ("the loss was computed from detached inputs (.detach(), .data, numpy) or rebuilt as "
            "a new tensor (torch.tensor(...), requires_grad_()), so no gradient reaches the "
            "network. Compute it with torch operations on the tensors as given.")


def expect_differentiable(value, what: str, mistake: str) -> None:
    """AssertionError unless ``value`` is a tensor that autograd can backpropagate into whatever
    computed it; ``mistake`` explains the likely cause (PENALTY_CUT or LOSS_CUT)."""
    if not isinstance(value, torch.Tensor):
        raise AssertionError(
            f"{what} is a Python {type(value).__name__}, not a tensor: autograd cannot "
            "backpropagate a number.\nLikely mistake: .item() or float() on the result; return "
            "the tensor itself.")
    if value.grad_fn is None:
        raise AssertionError(f"{what} cannot be backpropagated: it is not connected to the "
                             f"computation that produced it.\nLikely mistake: {mistake}")


def _gradient_tolerance(expected: torch.Tensor) -> float:
    """An absolute tolerance of 1e-4 of the largest expected value: gradients of any scale can
    fail (an absolute 1e-5 would accept zeros for gradients of 1e-6)."""
    return 1e-4 * expected.abs().max().item() + 1e-8


def expect_gradient(got, expected, what: str, missing: str, hint: str = "") -> None:
    """``got`` (a ``.grad``, None when no gradient arrived) against ``expected`` (None = zeros).

    ``missing`` explains a gradient that should arrive and does not; ``hint`` a wrong one."""
    if expected is None:
        expected = torch.zeros_like(got) if got is not None else None
    if got is None:
        if expected is not None and expected.any():
            raise AssertionError(f"{what}: expected a gradient (values up to "
                                 f"{expected.abs().max().item():.3g}), got none.\n"
                                 f"Likely mistake: {missing}")
        return
    expected_t = as_float64(expected, what)
    if not torch.isfinite(got).all() and torch.isfinite(expected_t).all():
        hint = ("Likely mistake: the value is right but its gradient is not finite. torch.where "
                "(or a mask multiplied by 0) computes both branches, and the gradient of the "
                "branch not taken, inf or NaN, reaches the result (0 * inf = NaN). " + hint)
    expect_close(got, expected_t, what, hint=hint, atol=_gradient_tolerance(expected_t),
                 rtol=1e-3)


def leaf(t: torch.Tensor, requires_grad: bool) -> torch.Tensor:
    """A fresh copy of ``t`` (same memory layout) that autograd can differentiate with respect to."""
    return t.detach().clone().requires_grad_(requires_grad)


def expect_same_gradients(student: nn.Module, reference: nn.Module, inputs: dict, what: str,
                          needs_gradient: dict, hint: str = "", seed: int = 0) -> None:
    """Backpropagate one random output gradient through the student's module and the reference
    (same weights, same ``inputs`` ``{name: tensor}`` in the order of forward's arguments).

    The gradients with respect to the inputs in ``needs_gradient`` (``{name: who learns through
    it}``) and to every parameter must match. ``hint`` explains gradients that arrive but
    differ. The inputs must not be changed in place."""
    ref_in = {k: leaf(v, k in needs_gradient) for k, v in inputs.items()}
    stu_in = {k: leaf(v, k in needs_gradient) for k, v in inputs.items()}
    expected = reference(*ref_in.values())
    got = call(student, *stu_in.values(), what=what)
    for name, value in stu_in.items():
        if not torch.equal(value.detach(), inputs[name]):
            raise AssertionError(f"{what} changed its input {name} in place.\nLikely mistake: an "
                                 f"in-place operation on {name} (+=, add_, inplace=True); the "
                                 "caller still needs it: compute a new tensor.")
    if not isinstance(got, torch.Tensor) or got.grad_fn is None:
        raise AssertionError(
            f"{what}: the output cannot be backpropagated (it is not connected to the inputs "
            "and weights).\nLikely mistake: the forward runs under torch.no_grad() or detaches "
            "its result (.detach(), .data): nothing before or inside this module would learn.")
    upstream = randn(*expected.shape, seed=seed)
    expected.backward(upstream)
    call(got.backward, upstream.to(got.dtype), what=f"backpropagating through {what}")
    for name, learner in needs_gradient.items():
        expect_gradient(stu_in[name].grad, ref_in[name].grad,
                        f"{what}: the gradient with respect to {name}",
                        missing=f"{name} was detached ({name}.detach(), {name}.data) or used "
                                f"outside autograd (.item(), numpy), so {learner} would never "
                                "learn through it.", hint=hint)
    parameter_gradients(student, reference, f"{what}: the gradient with respect to the weights",
                        hint=hint)


def compare_function(fn, reference, args: list, what: str, gradients: dict,
                     value_hint: str = "") -> None:
    """``fn(*args)`` against ``reference(*args)``: the value, then the gradients with respect to
    the arguments ``gradients`` ``{index: (name, hint)}`` names (the other arguments are
    constants; ``hint`` explains a gradient that differs or is missing)."""
    ref_args = [leaf(a, i in gradients) if isinstance(a, torch.Tensor) else a
                for i, a in enumerate(args)]
    stu_args = [leaf(a, i in gradients) if isinstance(a, torch.Tensor) else a
                for i, a in enumerate(args)]
    expected = reference(*ref_args)
    got = call(fn, *stu_args, what=what)
    expect_close(got, expected, what, hint=value_hint)
    expect_differentiable(got, f"{what}: the result", LOSS_CUT)
    expected.backward()
    call(got.backward, what=f"backpropagating {what}")
    for i, (name, hint) in gradients.items():
        expect_gradient(stu_args[i].grad, ref_args[i].grad,
                        f"{what}: the gradient with respect to {name}", missing=hint, hint=hint)


def parameter_gradients(student: nn.Module, reference: nn.Module, what: str, hint: str) -> None:
    """After a backward pass through both (same weights): every parameter's gradient must match,
    each with a tolerance relative to its own scale. ``hint`` explains gradients that differ."""
    ref_params = dict(reference.named_parameters())
    grads = {n: p.grad for n, p in student.named_parameters()}
    cut = [n for n, g in grads.items() if g is None and ref_params[n].grad is not None
           and ref_params[n].grad.any()]
    if cut:
        raise AssertionError(
            f"{what}: no gradient reaches {', '.join(cut)}.\nLikely mistake: the path from these "
            "weights to the result is cut (.detach(), .data, .item(), numpy or a "
            "torch.no_grad() block), so they would never learn.")
    for name, grad in grads.items():
        expect_gradient(grad, ref_params[name].grad, f"{what} {name}", missing="", hint=hint)
