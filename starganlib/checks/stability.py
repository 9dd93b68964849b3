"""Losses written with sigmoid, softmax or log, checked at logits so large (+-200) that float32
rounds sigmoid(l) to exactly 0 or 1."""
import torch

from .report import (LOSS_CUT, as_float64, call, expect_close, expect_differentiable,
                     expect_gradient, leaf)

HOW = ("Compute the loss from the logits: F.binary_cross_entropy_with_logits or F.cross_entropy "
       "(or F.softplus, F.logsigmoid, F.log_softmax), which are exact for every logit.")
UNSTABLE = ("Likely mistake: the loss goes through sigmoid, softmax or exp. For logits this "
            "large sigmoid(l) underflows to exactly 0 or 1 in float32, so log(sigmoid(l)) or "
            "log(1 - sigmoid(l)) is log(0) = -inf; exp(200) overflows to inf; and a term masked "
            "by a label of 0 becomes 0 * inf = NaN. " + HOW)
CAPPED = ("Likely mistake: a clamp or an eps inside the log (p.clamp(min=1e-8), "
          "log(p + 1e-8)) caps the cost of a confident mistake at about -log(eps) (18.4 for "
          "1e-8), however wrong the logit: a logit 200 on the wrong side must cost 200. " + HOW)


def check_extreme_logits(loss_fn, reference, logits: torch.Tensor, what: str) -> None:
    """``loss_fn(logits)`` against ``reference(logits)``: the value, then the gradient."""
    ref_in, student_in = leaf(logits, True), leaf(logits, True)
    expected = reference(ref_in)
    got = call(loss_fn, student_in, what=what, hint=HOW)
    value = as_float64(got, what)
    if not torch.isfinite(value).all():
        hint = UNSTABLE
    elif value.sum() < expected.item():
        hint = CAPPED
    else:
        hint = HOW
    expect_close(got, expected, f"{what} (logits {logits.tolist()})", hint=hint)
    expect_differentiable(got, f"{what}: the result", LOSS_CUT)
    expected.backward()
    call(got.backward, what=f"backpropagating {what}")
    expect_gradient(student_in.grad, ref_in.grad, f"{what}: the gradient with respect to the "
                    "logits", missing="the logits were detached (.detach(), .data, numpy): "
                    "the network would get no gradient from this loss.", hint=HOW)
