"""Checks of the StarGAN v2 network exercises (04-07): AdaIN, residual blocks, F and D."""
import math

import torch
import torch.nn.functional as F

from ..v2 import blocks, losses, model
from .report import call, copy_weights, expect_close, passed, randn, seeded

DOMAINS = torch.tensor([2, 0, 1, 1, 0])  # 5 samples, 3 domains, every domain used


def instance_normalised(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(x - mean) / sqrt(var + eps) over each channel of each image, written out."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


def _student_module(cls, args: tuple, reference, name: str):
    student = call(cls, *args, what=f"{name}{args}")
    copy_weights(reference, student, f"your {name}")
    return student


def check_adain(AdaIN) -> None:
    """``AdaIN(style_dim, num_features)`` with ``norm`` and ``fc``: ``(1 + gamma) * IN(x) + beta``."""
    compare_adain(AdaIN)
    passed("AdaIN matches the reference on 3 random cases and the closed-form case.")


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
                         ("x is not normalised: apply self.norm(x) first.", (1 + g) * x + b)])
    for seed, (style_dim, features) in enumerate([(4, 3), (8, 6), (16, 1)]):
        reference = seeded(lambda: blocks.AdaIN(style_dim, features), seed)
        student = _student_module(AdaIN, (style_dim, features), reference, "AdaIN")
        x, s = randn(3, features, 5, 5, seed=seed + 10), randn(3, style_dim, seed=seed + 20)
        expect_close(call(student, x, s, what="your AdaIN forward(x, s)"), reference(x, s),
                     f"AdaIN({style_dim}, {features}) on random x and s",
                     hint="Each sample has its own style: reshape fc(s) to (N, 2C, 1, 1) before "
                          "splitting it into gamma and beta.")


def _zero_convs(block, bias: float = 0.0) -> None:
    """conv1 and conv2 with zero weights (conv2 with a constant bias): a constant residual."""
    with torch.no_grad():
        for conv in (block.conv1, block.conv2):
            conv.weight.zero_()
            conv.bias.zero_()
        block.conv2.bias.fill_(bias)


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
    cases = [(4, 4, False, False), (4, 8, True, True), (6, 3, False, True), (4, 8, True, False)]
    for seed, args in enumerate(cases):
        reference = seeded(lambda: blocks.ResBlk(*args), seed)
        student = _student_module(ResBlk, args, reference, "ResBlk")
        x = randn(2, args[0], 8, 8, seed=seed + 10)
        what = "ResBlk(dim_in={}, dim_out={}, normalize={}, downsample={})".format(*args)
        expect_close(call(student, x, what=f"your {what}"), reference(x), what + " on random x",
                     hint="Residual: [norm1] -> LeakyReLU(0.2) -> conv1 -> [avg_pool2d] -> "
                          "[norm2] -> LeakyReLU(0.2) -> conv2. Shortcut: [conv1x1] -> "
                          "[avg_pool2d].")
    passed("ResBlk matches the reference on 4 random cases and 2 closed-form cases.")


def check_adain_resblk(AdainResBlk) -> None:
    """``AdainResBlk(dim_in, dim_out, style_dim, w_hpf, upsample)``, forward ``(x, s)``."""
    x, s = randn(2, 4, 4, 4, seed=0), randn(2, 3, seed=1)
    up = F.interpolate(x, scale_factor=2, mode="nearest")
    for w_hpf in (0.0, 1.0):
        reference = seeded(lambda: blocks.AdainResBlk(4, 4, 3, w_hpf, upsample=True), 0)
        _zero_convs(reference, bias=1.0)
        student = _student_module(AdainResBlk, (4, 4, 3, w_hpf, True), reference, "AdainResBlk")
        got = call(student, x, s, what=f"your AdainResBlk(4, 4, 3, w_hpf={w_hpf}, upsample=True)")
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
    cases = [(4, 4, 3, 0.0, False), (8, 4, 3, 0.0, True), (4, 6, 5, 0.0, False),
             (4, 4, 3, 1.0, True)]
    for seed, args in enumerate(cases):
        reference = seeded(lambda: blocks.AdainResBlk(*args), seed)
        student = _student_module(AdainResBlk, args, reference, "AdainResBlk")
        x, s = randn(2, args[0], 4, 4, seed=seed + 10), randn(2, args[2], seed=seed + 20)
        what = "AdainResBlk(dim_in={}, dim_out={}, style_dim={}, w_hpf={}, upsample={})".format(*args)
        expect_close(call(student, x, s, what=f"your {what}"), reference(x, s),
                     what + " on random x and s",
                     hint="Residual: norm1(x, s) -> LeakyReLU(0.2) -> [upsample] -> conv1 -> "
                          "norm2(., s) -> LeakyReLU(0.2) -> conv2. Shortcut: [upsample] -> "
                          "[conv1x1]. Upsample before conv1, not after.")
    passed("AdainResBlk matches the reference on 4 random cases and 2 closed-form cases.")


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
        expect_close(got, reference(z, DOMAINS),
                     f"MappingNetwork{args} on 5 codes z with domains y = {DOMAINS.tolist()}",
                     hint="Run the shared trunk on z, then every head, and keep for sample i "
                          "the output of head y[i].",
                     likely=[("every sample got the first domain's head: select head y[i] for "
                              "sample i, out[torch.arange(N), y].", heads[:, 0]),
                             ("every sample got the head of y[0]: select per sample.",
                              heads[:, DOMAINS[0]])])
    passed("MappingNetwork matches the reference on 2 random networks with every domain used.")


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
        expect_close(got, reference(x, DOMAINS), f"D(x, y) with y = {DOMAINS.tolist()}",
                     hint="main(x) is (N, K, 1, 1): flatten it to (N, K) and keep column y[i] "
                          "of row i, out[torch.arange(N), y].",
                     likely=[("every sample got the first domain's logit: select column y[i].",
                              all_heads[:, 0]),
                             ("D returns one logit per sample for its own domain, shape (N,).",
                              all_heads)])
    _check_adversarial_loss(adversarial_loss)
    passed("Discriminator and adversarial_loss match the reference on random and closed-form "
           "cases.")


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
    extreme = torch.tensor([-200.0, 200.0])
    expect_close(call(adversarial_loss, extreme, 1, what="adversarial_loss"), 100.0,
                 "adversarial_loss(logits [-200, 200], target=1)",
                 hint="log(sigmoid(-200)) underflows to log(0) = -inf in float32: compute the "
                      "loss from the logits with F.binary_cross_entropy_with_logits (or softplus).")
    for seed in range(2):
        logits = 3 * randn(8, seed=seed)
        for target in (1, 0):
            expect_close(call(adversarial_loss, logits, target, what="adversarial_loss"),
                         losses.adversarial_loss(logits, target),
                         f"adversarial_loss on random logits, target={target}")
