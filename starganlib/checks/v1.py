"""Checks of the StarGAN v1 exercises (01-03): label tiling, gradient penalty, L_cls and L_rec."""
import copy
import math

import torch

from ..v1 import losses as reference_losses
from ..v1.model import Discriminator, tile_and_concat as reference_tile
from .report import (PENALTY_CUT, call, compare_function, expect_close,
                     expect_differentiable, expect_gradient, expect_shape, leaf,
                     parameter_gradients, passed, randn, seeded)
from .stability import check_extreme_logits

GRADIENT_NORMS = torch.tensor([0.5, 1.0, 2.0, 3.0])  # the closed-form critics' gradient norms


def check_tile_label(tile_and_concat) -> None:
    """``tile_and_concat(x (N, 3, H, W), c (N, c_dim)) -> (N, 3 + c_dim, H, W)``."""
    x = randn(2, 3, 4, 5, seed=0)
    c = torch.tensor([[1.0, 0.0, 0.25], [0.0, 1.0, -0.5]])
    out = call(tile_and_concat, x, c, what="tile_and_concat(x (2, 3, 4, 5), c (2, 3))",
               hint="Tile c over H x W (view it as (N, c_dim, 1, 1), then expand to "
                    "x.size(2) x x.size(3)) before concatenating along the channel dimension.")
    expect_shape(out, (2, 6, 4, 5), "the output of tile_and_concat",
                 hint="The labels become c_dim extra channels: concatenate along dim 1.")
    expect_close(out[:, :3], x, "channels 0-2 of the output",
                 hint="The image comes first, then the label channels: cat([x, c_map], dim=1).")
    for j in range(3):
        expect_close(out[:, 3 + j], c[:, j].view(2, 1, 1).expand(2, 4, 5),
                     f"channel {3 + j} (label {j})",
                     hint="Channel 3 + j of image i must be the constant c[i, j] everywhere.")
    cases = [(4, 5, 8, 8, "a batch of 4"), (3, 2, 6, 10, "non-square images (6 x 10)"),
             (1, 7, 16, 12, "a batch of one image")]
    for seed, (n, k, h, w, case) in enumerate(cases):
        x, c = randn(n, 3, h, w, seed=seed), (randn(n, k, seed=seed + 10) > 0).float()
        what = f"tile_and_concat on {case}, x {tuple(x.shape)} and c {tuple(c.shape)}"
        hint = ("Expand c to x's height and width, in that order, and keep the batch dimension "
                "even when N = 1 (no .squeeze()).")
        expect_close(call(tile_and_concat, x, c, what=what, hint=hint), reference_tile(x, c),
                     what, hint=hint)
        _compare_gradient(tile_and_concat, x, c, what)
    passed("tile_and_concat matches the reference on 3 random cases (also N = 1 and non-square) "
           "and the closed-form case, values and gradients.")


X_CUT = ("x was detached (x.detach(), x.data): the reconstruction loss backpropagates through "
         "G's second pass into its first, through this concatenation, so the first pass would "
         "get no gradient from it.")


def _compare_gradient(tile_and_concat, x, c, what: str) -> None:
    """The gradient with respect to x: the second pass of G(G(x, c), c') backpropagates through
    the tiling into the first. (c is a label: no gradient is needed there.)"""
    x_ref, x_student = leaf(x, True), leaf(x, True)
    upstream = randn(x.size(0), 3 + c.size(1), x.size(2), x.size(3), seed=99)
    reference_tile(x_ref, c).backward(upstream)
    out = call(tile_and_concat, x_student, c, what=what)
    expect_differentiable(out, f"{what}: the output", X_CUT)
    call(out.backward, upstream, what=f"backpropagating {what}")
    expect_gradient(x_student.grad, x_ref.grad, f"{what}: the gradient with respect to x",
                    missing=X_CUT)


def _linear_critic(seed: int):
    """A per-sample linear critic D(x)_i = <W_i, x_i> whose gradient norms are GRADIENT_NORMS."""
    w = randn(len(GRADIENT_NORMS), 3, 4, 4, seed=seed)
    w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * GRADIENT_NORMS.view(-1, 1, 1, 1)
    return lambda x: (x * w).flatten(1).sum(1)


PENALTY_ERRORS = ("Make x_hat a leaf that requires grad (.requires_grad_(True)), call critic_fn "
                  "on x_hat itself, and differentiate critic_fn(x_hat).sum() with respect to "
                  "that same x_hat.")


def check_gradient_penalty(gradient_penalty) -> None:
    """``gradient_penalty(critic_fn, x_real, x_fake, generator) = E[(||grad D(x_hat)||_2 - 1)^2]``."""
    x_real, x_fake = randn(4, 3, 4, 4, seed=1), randn(4, 3, 4, 4, seed=2)
    gp = call(gradient_penalty, _linear_critic(seed=0), x_real, x_fake,
              torch.Generator().manual_seed(0), what="gradient_penalty on a linear critic",
              hint=PENALTY_ERRORS)
    a, n = GRADIENT_NORMS, len(GRADIENT_NORMS)
    expect_close(gp, ((a - 1) ** 2).mean(),
                 f"the penalty of a critic whose per-sample gradient norms are {a.tolist()}",
                 hint="Take one L2 norm per sample (over all C*H*W values), then the mean of "
                      "(norm - 1)^2 over the batch.",
                 likely=[("the squared norm: use the norm itself, (||g|| - 1)^2.",
                          ((a ** 2 - 1) ** 2).mean()),
                         ("one norm over the whole batch: take one norm per sample "
                          "(grad.flatten(1).norm(2, dim=1)).", (a.norm() - 1) ** 2),
                         ("a sum over the batch: average over the samples.",
                          ((a - 1) ** 2).sum()),
                         ("the norm is compared with 0: penalise (||g|| - 1)^2.",
                          (a ** 2).mean()),
                         ("the gradient of critic_fn(x_hat).mean() is 1/N times too small: "
                          "differentiate the sum (each sample's own gradient).",
                          ((a / n - 1) ** 2).mean()),
                         ("the mean of the norms is taken before squaring: square each "
                          "sample's (norm - 1), then average.", (a.mean() - 1) ** 2)])
    for seed in range(3):
        _compare_on_discriminator(gradient_penalty, seed)
    passed("gradient_penalty matches the reference on the closed-form critic and 3 random "
           "discriminators, value and gradients.")


def _compare_on_discriminator(gradient_penalty, seed: int) -> None:
    reference = seeded(lambda: Discriminator(image_size=8, conv_dim=4, c_dim=2, repeat_num=2), seed)
    student_d = copy.deepcopy(reference)  # the student's penalty gets its own copy of D
    x_real, x_fake = randn(3, 3, 8, 8, seed=seed + 20), randn(3, 3, 8, 8, seed=seed + 30)
    expected = reference_losses.gradient_penalty(lambda x: reference(x)[0], x_real, x_fake,
                                                 torch.Generator().manual_seed(seed))
    got = call(gradient_penalty, lambda x: student_d(x)[0], x_real, x_fake,
               torch.Generator().manual_seed(seed), what="gradient_penalty on a discriminator",
               hint=PENALTY_ERRORS)
    expect_close(got, expected, f"the penalty of random discriminator {seed}",
                 hint="The closed-form case passed, so the norm is right: the interpolates "
                      "differ. Keep the given alpha and mix x_hat = alpha * x_real + "
                      "(1 - alpha) * x_fake.")
    expect_differentiable(got, "Your gradient penalty", PENALTY_CUT)
    expected.backward()
    call(got.backward, what="backpropagating your gradient penalty")
    parameter_gradients(student_d, reference, "the gradient of the penalty with respect to D's "
                        "weights", hint="The value is right but the gradient is not: keep the "
                        "whole computation of the norm in the graph (no .detach() or .data "
                        "inside it), and detach x_real and x_fake only.")


def check_v1_losses(classification_loss, reconstruction_loss) -> None:
    """L_cls (BCE summed over attributes / CE over one class) and L_rec (L1 mean)."""
    k, n = 5, 4
    labels = (randn(n, k, seed=0) > 0).float()
    got = call(classification_loss, torch.zeros(n, k), labels, True,
               what="classification_loss(zeros (4, 5), labels, multi_label=True)")
    expect_close(got, k * math.log(2), "multi-label loss of all-zero logits (k = 5 attributes)",
                 hint="Binary cross-entropy with logits, summed over the k attributes and "
                      "averaged over the batch: each zero logit costs log 2.",
                 likely=[("the BCE is averaged over the attributes: sum it over them, then "
                          "divide by the batch size.", math.log(2)),
                         ("the BCE is summed over the batch too: divide by the batch size.",
                          n * k * math.log(2))])
    one_hot = torch.eye(k)[torch.tensor([0, 3, 1, 4])]
    got = call(classification_loss, torch.zeros(n, k), one_hot, False,
               what="classification_loss(zeros (4, 5), one-hot labels, multi_label=False)")
    expect_close(got, math.log(k), "single-label loss of all-zero logits over 5 classes",
                 hint="One class of k: softmax cross-entropy, F.cross_entropy(logits, "
                      "labels.argmax(1)), averaged over the batch.",
                 likely=[("binary cross-entropy used for single labels: use the softmax "
                          "cross-entropy.", k * math.log(2)),
                         ("binary cross-entropy used for single labels: use the softmax "
                          "cross-entropy.", math.log(2)),
                         ("F.nll_loss takes log-probabilities, not logits: use "
                          "F.cross_entropy (log_softmax and nll_loss in one).", 0.0)])
    for seed, multi in [(1, True), (2, True), (3, False)]:
        logits = 2 * randn(6, 3, seed=seed)
        labels = (randn(6, 3, seed=seed + 10) > 0).float() if multi else torch.eye(3)[[0, 2, 1, 1, 0, 2]]
        what = f"classification_loss(multi_label={multi}) on random logits"
        compare_function(lambda l, lab: classification_loss(l, lab, multi),
                         lambda l, lab: reference_losses.classification_loss(l, lab, multi),
                         [logits, labels], what, {0: ("the logits", _LOGITS_CUT)})
    _check_classification_stability(classification_loss)
    _check_reconstruction(reconstruction_loss)
    passed("classification_loss and reconstruction_loss match the reference on closed-form, "
           "random and extreme cases, values and gradients.")


_LOGITS_CUT = ("the logits were detached (.detach(), .data, numpy): D_cls (and, through the "
               "fakes, G) would get no gradient from L_cls.")


def _check_classification_stability(classification_loss) -> None:
    """Logits of +-200 on the wrong side (each costs 200) and on the right side (each costs 0)."""
    logits = torch.tensor([[200.0, -200.0], [-200.0, 200.0]])
    wrong, right = torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    three = torch.tensor([[200.0, -200.0, 0.0], [0.0, 200.0, -200.0]])
    cases = [(logits, wrong, True, "multi-label, logits +-200 against the labels"),
             (logits, right, True, "multi-label, logits +-200 agreeing with the labels"),
             (three, torch.eye(3)[[1, 2]], False, "single-label, the true class 400 below"),
             (three, torch.eye(3)[[0, 1]], False, "single-label, the true class 200 above")]
    for x, labels, multi, case in cases:
        check_extreme_logits(lambda l, lab=labels, m=multi: classification_loss(l, lab, m),
                             lambda l, lab=labels, m=multi: reference_losses.classification_loss(
                                 l, lab, m), x, f"classification_loss, {case}")


def _check_reconstruction(reconstruction_loss) -> None:
    x = randn(2, 3, 4, 4, seed=4)
    signs = torch.where(randn(2, 3, 4, 4, seed=5) > 0, 1.0, -1.0)
    offsets = torch.tensor([0.5, 1.0]).view(2, 1, 1, 1) * signs
    got = call(reconstruction_loss, x + offsets, x, what="reconstruction_loss")
    expect_close(got, 0.75, "L_rec when the first image is off by 0.5 and the second by 1 in "
                 "every pixel (up or down)",
                 likely=[("a squared error: L_rec is the L1 distance, mean(|x - x_rec|).", 0.625),
                         ("the root of the mean squared error: L_rec is the L1 distance, "
                          "mean(|x - x_rec|).", math.sqrt(0.625)),
                         ("a sum: average over all values.", 0.75 * x.numel()),
                         ("a sum over each image's values: average over all values.",
                          0.75 * x[0].numel())],
                 hint="L_rec = mean(|x - x_rec|): take the absolute value before the mean.")
    for seed in range(2):
        x_rec, x_real = randn(3, 3, 8, 8, seed=seed + 6), randn(3, 3, 8, 8, seed=seed + 8)
        compare_function(reconstruction_loss, reference_losses.reconstruction_loss,
                         [x_rec, x_real], "reconstruction_loss on random images",
                         {0: ("the reconstruction x_rec", "x_rec was detached (.detach(), "
                              ".data, numpy): G would get no gradient from L_rec.")})
