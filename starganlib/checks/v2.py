"""Checks of the StarGAN v2 network exercises (04-07): AdaIN, residual blocks, F and D.

Every module is compared with the reference on values and on one backward pass (gradients with
respect to its inputs and weights), on batches of one, non-square images where the module takes
them, channels-last images (the trainer's layout), and batches that lack a domain.
"""
import math

import torch
import torch.nn.functional as F

from ..v2 import blocks, losses, model
from .report import (call, channels_last, compare_function, copy_weights, expect_close,
                     expect_same_gradients, passed, randn, seeded)
from .stability import check_extreme_logits

DOMAINS = torch.tensor([2, 0, 1, 1, 0])  # 5 samples, 3 domains, every domain used
BATCHES = [  # (domains y, what the batch is, the likely mistake when only this batch fails)
    (torch.tensor([1, 0, 1, 0]), "4 samples, none of the last domain",
     "This batch has no sample of the last domain: F.one_hot(y) without num_classes makes only "
     "y.max() + 1 columns. Select with out[torch.arange(N), y] (or pass num_classes)."),
    (torch.tensor([2]), "a batch of one sample",
     "With N = 1, .squeeze() also removes the batch dimension: remove only the dimensions you "
     "mean to (.flatten(1), .squeeze(-1)), and select with out[torch.arange(N), y]."),
]
STYLE_LEARNS = "the mapping network F and the style encoder E (which make s)"
INPUT_LEARNS = "the layers before this one"
CHANNELS_LAST_CASE = "channels-last images"
# (constructor arguments, input (N, H, W), the case) of the random comparisons of each block
CASES_ADAIN = [((4, 3), (3, 5, 5), "3 images"), ((8, 6), (1, 5, 5), "a batch of one image"),
               ((16, 1), (3, 4, 6), "non-square images (4 x 6)"),
               ((4, 3), (2, 6, 6), CHANNELS_LAST_CASE)]
CASES_RESBLK = [((4, 4, False, False), (2, 8, 8), "2 images"),
                ((4, 8, True, True), (1, 8, 8), "a batch of one image"),
                ((6, 3, False, True), (2, 8, 12), "non-square images (8 x 12)"),
                ((4, 8, True, False), (2, 8, 8), CHANNELS_LAST_CASE)]
CASES_ADAIN_RESBLK = [((4, 4, 3, 0.0, False), (2, 4, 4), "2 images"),
                      ((8, 4, 3, 0.0, True), (2, 4, 6), "non-square images (4 x 6)"),
                      ((4, 6, 5, 0.0, False), (1, 4, 4), "a batch of one image"),
                      ((4, 4, 3, 1.0, True), (2, 4, 4), CHANNELS_LAST_CASE)]
CHANNELS_LAST = ("The trainer keeps images channels-last: .view() fails on them, use .reshape() "
                 "or .flatten().")


def instance_normalised(x: torch.Tensor, eps: float = 1e-5, dims=(2, 3),
                        unbiased: bool = False) -> torch.Tensor:
    """(x - mean) / sqrt(var + eps) over ``dims`` (each channel of each image), written out."""
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=unbiased, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


def images(n: int, c: int, h: int, w: int, case: str, seed: int) -> torch.Tensor:
    """Random ``(n, c, h, w)`` inputs, channels-last for the channels-last case."""
    x = randn(n, c, h, w, seed=seed)
    return channels_last(x) if case == CHANNELS_LAST_CASE else x


def case_hint(hint: str, case: str) -> str:
    """``hint``, with the advice on channels-last tensors in the channels-last case."""
    return f"{hint} {CHANNELS_LAST}" if case == CHANNELS_LAST_CASE else hint


def _student_module(cls, args: tuple, reference, name: str):
    student = call(cls, *args, what=f"{name}{args}")
    copy_weights(reference, student, f"your {name}")
    return student


def check_adain(AdaIN) -> None:
    """``AdaIN(style_dim, num_features)`` with ``norm`` and ``fc``: ``(1 + gamma) * IN(x) + beta``."""
    compare_adain(AdaIN)
    passed("AdaIN matches the reference on 4 random cases (also N = 1, non-square and "
           "channels-last) and the closed-form case, values and gradients.")


def compare_adain(AdaIN) -> None:
    """The comparisons of ``check_adain``, without the success message."""
    x, s = randn(2, 3, 4, 4, seed=0), randn(2, 4, seed=1)
    reference = seeded(lambda: blocks.AdaIN(4, 3), 0)
    gamma, beta = torch.tensor([0.5, -0.25, 2.0]), torch.tensor([1.0, 0.0, -3.0])
    with torch.no_grad():
        reference.fc.weight.zero_()
        reference.fc.bias.copy_(torch.cat([gamma, beta]))
    student = _student_module(AdaIN, (4, 3), reference, "AdaIN")
    got = call(student, x, s, what="your AdaIN forward(x, s)")
    g, b, normed = gamma.view(1, 3, 1, 1), beta.view(1, 3, 1, 1), instance_normalised(x)
    expect_close(got, (1 + g) * normed + b,
                 "AdaIN with fc(s) = [gamma, beta] = [0.5, -0.25, 2 | 1, 0, -3] for every s",
                 hint="Normalise each channel of each image (InstanceNorm2d, affine=False), then "
                      "(1 + gamma) * normalised + beta.",
                 likely=[("gamma must scale as (1 + gamma), not gamma: a fresh layer (gamma "
                          "near 0) must stay close to plain instance normalisation.",
                          g * normed + b),
                         ("gamma and beta are swapped: the first half of fc(s) is gamma, the "
                          "second half beta (torch.chunk(h, 2, dim=1)).", (1 + b) * normed + g),
                         ("x is not normalised: apply self.norm(x) first.", (1 + g) * x + b),
                         ("normalised over the batch (batch norm): instance normalisation uses "
                          "each image's own mean and variance, over H and W only.",
                          (1 + g) * instance_normalised(x, dims=(0, 2, 3)) + b),
                         ("normalised over all channels together (layer norm): normalise each "
                          "channel on its own, over H and W.",
                          (1 + g) * instance_normalised(x, dims=(1, 2, 3)) + b),
                         ("the unbiased variance: instance normalisation divides by H * W "
                          "(x.var(unbiased=False)).",
                          (1 + g) * instance_normalised(x, unbiased=True) + b)])
    for seed, ((style_dim, features), (n, h, w), case) in enumerate(CASES_ADAIN):
        reference = seeded(lambda: blocks.AdaIN(style_dim, features), seed)
        student = _student_module(AdaIN, (style_dim, features), reference, "AdaIN")
        x, s = images(n, features, h, w, case, seed + 10), randn(n, style_dim, seed=seed + 20)
        what = f"your AdaIN({style_dim}, {features}) on {case}"
        hint = case_hint("Each sample has its own style: reshape fc(s) to (N, 2C, 1, 1) before "
                         "splitting it into gamma and beta.", case)
        with torch.no_grad():
            expected = reference(x, s)
        expect_close(call(student, x, s, what=what, hint=hint), expected, what, hint=hint)
        expect_same_gradients(student, reference, {"x": x, "s": s}, what,
                              {"x": INPUT_LEARNS, "s": STYLE_LEARNS}, seed=seed,
                              hint="The values match but the gradients do not: keep the mean and "
                                   "variance of the normalisation in the graph (no .detach() or "
                                   ".item() on them).")


def _zero_convs(block, bias: float = 0.0) -> None:
    """conv1 and conv2 with zero weights (conv2 with a constant bias): a constant residual."""
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            conv.weight.zero_()
            conv.bias.zero_()
        block.conv2.bias.fill_(bias)


def _random_norm_affine(block, seed: int) -> None:
    """Random affine weights for the block's instance norms: at their initial values (weight 1,
    bias 0) a block that skips them would give the same result."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for norm in (getattr(block, name, None) for name in ("norm1", "norm2")):
            if isinstance(norm, torch.nn.InstanceNorm2d):
                norm.weight.copy_(1 + 0.5 * torch.randn(norm.weight.shape, generator=generator))
                norm.bias.copy_(0.5 * torch.randn(norm.bias.shape, generator=generator))


def check_resblk(ResBlk) -> None:
    """``ResBlk(dim_in, dim_out, normalize, downsample)``: ``(shortcut(x) + residual(x)) / sqrt(2)``."""
    x = randn(2, 4, 8, 8, seed=0)
    for downsample in (False, True):
        reference = seeded(lambda: blocks.ResBlk(4, 4, downsample=downsample), 0)
        _zero_convs(reference)
        student = _student_module(ResBlk, (4, 4, False, downsample), reference, "ResBlk")
        got = call(student, x, what=f"your ResBlk(4, 4, downsample={downsample})",
                   hint="With downsample, both branches are average-pooled (avg_pool2d(2)).")
        shortcut = F.avg_pool2d(x, 2) if downsample else x
        expect_close(got, shortcut / math.sqrt(2),
                     f"ResBlk(4, 4, downsample={downsample}) whose residual branch is zero",
                     hint="The shortcut is [conv1x1] then [avg_pool2d(2)]; the output is "
                          "(shortcut + residual) / sqrt(2).",
                     likely=[("did you divide by sqrt(2)? Without it the variance doubles in "
                              "every block.", shortcut),
                             ("divide by sqrt(2), not 2: the sum of two unit-variance branches "
                              "has variance 2, hence standard deviation sqrt(2).", shortcut / 2)])
    for seed, (args, (n, h, w), case) in enumerate(CASES_RESBLK):
        reference = seeded(lambda: blocks.ResBlk(*args), seed)
        _random_norm_affine(reference, seed)
        student = _student_module(ResBlk, args, reference, "ResBlk")
        x = images(n, args[0], h, w, case, seed + 10)
        what = "your ResBlk(dim_in={}, dim_out={}, normalize={}, downsample={})".format(*args)
        what += f" on {case}"
        hint = case_hint("Residual: [norm1] -> LeakyReLU(0.2) -> conv1 -> [avg_pool2d(2)] -> "
                         "[norm2] -> LeakyReLU(0.2) -> conv2. Shortcut: [conv1x1] -> "
                         "[avg_pool2d(2)]. Use the block's own norm1 and norm2 (their affine "
                         "weights), and pool by a factor 2 in each direction.", case)
        with torch.no_grad():
            expected = reference(x)
        expect_close(call(student, x, what=what, hint=hint), expected, what, hint=hint)
        expect_same_gradients(student, reference, {"x": x}, what, {"x": INPUT_LEARNS},
                              seed=seed, hint="The values match but the gradients do not: part "
                                              "of the computation is detached.")
    passed("ResBlk matches the reference on 4 random cases (also N = 1, non-square and "
           "channels-last) and 2 closed-form cases, values and gradients.")


def check_adain_resblk(AdainResBlk) -> None:
    """``AdainResBlk(dim_in, dim_out, style_dim, w_hpf, upsample)``, forward ``(x, s)``."""
    x, s = randn(2, 4, 4, 4, seed=0), randn(2, 3, seed=1)
    up = F.interpolate(x, scale_factor=2, mode="nearest")
    for w_hpf in (0.0, 1.0):
        reference = seeded(lambda: blocks.AdainResBlk(4, 4, 3, w_hpf, upsample=True), 0)
        _zero_convs(reference, bias=1.0)
        student = _student_module(AdainResBlk, (4, 4, 3, w_hpf, True), reference, "AdainResBlk")
        got = call(student, x, s, what=f"your AdainResBlk(4, 4, 3, w_hpf={w_hpf}, upsample=True)",
                   hint="Upsample both branches (nearest x2) before they are added.")
        residual = torch.ones_like(up)
        expected = (residual + up) / math.sqrt(2) if w_hpf == 0 else residual
        expect_close(got, expected, f"AdainResBlk(w_hpf={w_hpf}) whose residual branch is 1",
                     hint="Upsample with nearest x2 (F.interpolate(scale_factor=2)) in both "
                          "branches; with w_hpf == 0 return (residual + shortcut) / sqrt(2), "
                          "else the residual alone.",
                     likely=[("did you divide by sqrt(2)?", residual + up),
                             ("with w_hpf > 0 the block returns the residual alone: the "
                              "high-pass skips carry the source detail instead.",
                              (residual + up) / math.sqrt(2)),
                             ("with w_hpf == 0 the shortcut is added: (residual + shortcut) / "
                              "sqrt(2).", residual)])
    for seed, (args, (n, h, w), case) in enumerate(CASES_ADAIN_RESBLK):
        reference = seeded(lambda: blocks.AdainResBlk(*args), seed)
        student = _student_module(AdainResBlk, args, reference, "AdainResBlk")
        x, s = images(n, args[0], h, w, case, seed + 10), randn(n, args[2], seed=seed + 20)
        what = ("your AdainResBlk(dim_in={}, dim_out={}, style_dim={}, w_hpf={}, upsample={})"
                .format(*args)) + f" on {case}"
        hint = case_hint("Residual: norm1(x, s) -> LeakyReLU(0.2) -> [upsample] -> conv1 -> "
                         "norm2(., s) -> LeakyReLU(0.2) -> conv2. Shortcut: [upsample] -> "
                         "[conv1x1]. Upsample before conv1, not after, with scale_factor=2 (a "
                         "size computed from one side makes non-square images square).", case)
        with torch.no_grad():
            expected = reference(x, s)
        expect_close(call(student, x, s, what=what, hint=hint), expected, what, hint=hint)
        expect_same_gradients(student, reference, {"x": x, "s": s}, what,
                              {"x": INPUT_LEARNS, "s": STYLE_LEARNS}, seed=seed,
                              hint="The values match but the gradients do not: part of the "
                                   "computation is detached.")
    passed("AdainResBlk matches the reference on 4 random cases (also N = 1, non-square and "
           "channels-last) and 2 closed-form cases, values and gradients.")


def _compare_batches(student, reference, first_input, what: str, seed: int) -> None:
    """The student's F or D against the reference on the values of BATCHES;
    ``first_input(n, seed)`` makes the batch's z or x."""
    for k, (y, case, hint) in enumerate(BATCHES):
        first = first_input(len(y), seed + 100 + k)
        with torch.no_grad():
            expected = reference(first, y)
        where = f"{what} on {case} (y = {y.tolist()})"
        expect_close(call(student, first, y, what=where, hint=hint), expected, where, hint=hint)


def check_mapping_network(MappingNetwork) -> None:
    """``MappingNetwork(latent_dim, style_dim, num_domains, hidden_dim)``, forward ``(z, y)``."""
    for seed, args in enumerate([(4, 3, 3, 8), (2, 5, 3, 6)]):
        reference = seeded(lambda: model.MappingNetwork(*args), seed)
        student = _student_module(MappingNetwork, args, reference, "MappingNetwork")
        z = randn(len(DOMAINS), args[0], seed=seed + 10)
        got = call(student, z, DOMAINS, what=f"your MappingNetwork{args} forward(z, y)",
                   hint="Stack the heads' outputs to (N, K, style_dim) and keep row i's head "
                        "y[i]: out[torch.arange(N), y].")
        with torch.no_grad():
            h = reference.shared(z)
            heads = torch.stack([head(h) for head in reference.unshared], dim=1)  # (N, K, S)
            expected = reference(z, DOMAINS)
        expect_close(got, expected,
                     f"MappingNetwork{args} on 5 codes z with domains y = {DOMAINS.tolist()}",
                     hint="Run the shared trunk on z, then every head, and keep for sample i "
                          "the output of head y[i].",
                     likely=[("every sample got the first domain's head: select head y[i] for "
                              "sample i, out[torch.arange(N), y].", heads[:, 0]),
                             ("every sample got the head of y[0]: select per sample.",
                              heads[:, DOMAINS[0]])])
        what = f"your MappingNetwork{args}"
        _compare_batches(student, reference, lambda n, sd: randn(n, args[0], seed=sd), what, seed)
        expect_same_gradients(student, reference, {"z": z, "y": DOMAINS}, what, {}, seed=seed,
                              hint="The values match but the gradients do not: part of the "
                                   "computation is detached.")
    passed("MappingNetwork matches the reference on 2 random networks, with every domain used, "
           "without the last domain and with N = 1, values and gradients.")


def check_discriminator_and_adv_loss(Discriminator, adversarial_loss) -> None:
    """``Discriminator(img_size, num_domains, max_conv_dim, base_dim)``, forward ``(x, y)``, and
    ``adversarial_loss(logits, target)``."""
    for seed, args in enumerate([(16, 3, 16, 4), (16, 3, 8, 8)]):
        reference = seeded(lambda: model.Discriminator(*args), seed)
        student = _student_module(Discriminator, args, reference, "Discriminator")
        x = randn(len(DOMAINS), 3, 16, 16, seed=seed + 10)
        got = call(student, x, DOMAINS, what=f"your Discriminator{args} forward(x, y)",
                   hint="main(x) is (N, K, 1, 1): flatten it to (N, K) and keep column y[i] of "
                        "row i.")
        with torch.no_grad():
            all_heads = reference.main(x).flatten(1)  # (N, K)
            expected = reference(x, DOMAINS)
        expect_close(got, expected, f"D(x, y) with y = {DOMAINS.tolist()}",
                     hint="main(x) is (N, K, 1, 1): flatten it to (N, K) and keep column y[i] "
                          "of row i, out[torch.arange(N), y].",
                     likely=[("every sample got the first domain's logit: select column y[i].",
                              all_heads[:, 0]),
                             ("D returns one logit per sample for its own domain, shape (N,).",
                              all_heads)])
        what = f"your Discriminator{args}"
        expect_same_gradients(student, reference, {"x": x, "y": DOMAINS}, what,
                              {"x": "the generator (G learns through D's judgement of its "
                                    "fakes)"}, seed=seed,
                              hint="The values match but the gradients do not: part of the "
                                   "computation is detached.")
        _compare_batches(student, reference, lambda n, sd: randn(n, 3, 16, 16, seed=sd), what,
                         seed)
        where = f"{what} on channels-last images"
        with torch.no_grad():
            expected = reference(channels_last(x), DOMAINS)
        expect_close(call(student, channels_last(x), DOMAINS, what=where, hint=CHANNELS_LAST),
                     expected, where, hint=CHANNELS_LAST)
    _check_adversarial_loss(adversarial_loss)
    passed("Discriminator and adversarial_loss match the reference on random, closed-form and "
           "extreme cases (also N = 1, a missing domain and channels-last), values and "
           "gradients.")


def _check_adversarial_loss(adversarial_loss) -> None:
    logits = torch.tensor([2.0, -1.0, 0.5])
    for target in (1, 0):
        sign = -1.0 if target == 1 else 1.0
        expect_close(call(adversarial_loss, logits, target, what="adversarial_loss"),
                     F.softplus(sign * logits).mean(),
                     f"adversarial_loss(logits {logits.tolist()}, target={target})",
                     hint="Binary cross-entropy with logits against a tensor full of target.",
                     likely=[("the target is swapped: target 1 gives -log sigmoid(logit) = "
                              "softplus(-logit), target 0 gives softplus(logit).",
                              F.softplus(-sign * logits).mean()),
                             ("a sum: average over the batch.", F.softplus(sign * logits).sum())])
    for target in (1, 0):
        check_extreme_logits(lambda l, t=target: adversarial_loss(l, t),
                             lambda l, t=target: losses.adversarial_loss(l, t),
                             torch.tensor([-200.0, 200.0]), f"adversarial_loss, target={target}")
    for seed in range(2):
        logits = 3 * randn(8, seed=seed)
        for target in (1, 0):
            compare_function(lambda l, t=target: adversarial_loss(l, t),
                             lambda l, t=target: losses.adversarial_loss(l, t), [logits],
                             f"adversarial_loss on random logits, target={target}",
                             {0: ("the logits", "the logits were detached (.detach(), .data, "
                                  "numpy): D and G would get no gradient from L_adv.")})
