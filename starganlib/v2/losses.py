"""StarGAN v2 objectives (paper section 3.2, eq. 1-5), as the official code computes them.

D minimises  L_adv(real -> 1, fake -> 0) + lambda_reg * R1.
G minimises  L_adv(fake -> 1) + lambda_sty * L_sty - lambda_ds * L_ds + lambda_cyc * L_cyc.
The style of the fake comes either from a latent code (s = F(z, y)) or from a reference image
(s = E(x_ref, y)); ``style_source`` below hides that choice.
"""
import torch
import torch.nn.functional as F


def adversarial_loss(logits, target: float):
    """Non-saturating GAN loss in BCE-with-logits form: ``mean(softplus(-+logits))``.

    target 1: ``-log sigmoid(logits)`` (real for D, and G's loss on fakes); target 0:
    ``-log(1 - sigmoid(logits))`` (D's loss on fakes). logits ``(N,)``.
    """
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def r1_penalty(d_out_real, x_real):
    """R1 regularisation (Mescheder et al. 2018): ``0.5 * E[ ||grad_x D(x)||^2 ]`` on real x.

    d_out_real ``(N,)`` computed from ``x_real`` ``(N, 3, H, W)`` with ``requires_grad``.
    ``create_graph=True`` keeps the penalty differentiable (the double backward).
    """
    grad, = torch.autograd.grad(d_out_real.sum(), x_real, create_graph=True)
    return 0.5 * grad.pow(2).flatten(1).sum(1).mean()


def style_reconstruction_loss(s_pred, s_trg):
    """L_sty = E|s - E(G(x, s), y)|, an L1 mean. s_trg is not detached (official)."""
    return torch.mean(torch.abs(s_pred - s_trg))


def diversity_loss(x_fake, x_fake2):
    """L_ds = E|G(x, s1) - G(x, s2)|; the second image is detached (official). G *maximises* it."""
    return torch.mean(torch.abs(x_fake - x_fake2.detach()))


def cycle_loss(x_rec, x_real):
    """L_cyc = E|x - G(G(x, s), s_org)|, with s_org = E(x, y_org)."""
    return torch.mean(torch.abs(x_rec - x_real))


def style_source(nets, y_trg, z_trg=None, x_ref=None):
    """The target style: ``F(z_trg, y_trg)`` (latent-guided) or ``E(x_ref, y_trg)`` (reference)."""
    if (z_trg is None) == (x_ref is None):
        raise ValueError("give exactly one of z_trg (latent-guided) or x_ref (reference-guided)")
    if z_trg is not None:
        return nets.mapping_network(z_trg, y_trg)
    return nets.style_encoder(x_ref, y_trg)


def d_loss(nets, x_real, y_org, y_trg, z_trg=None, x_ref=None, masks=None, lambda_reg=1.0):
    """The discriminator's loss for one sub-step. Returns ``(loss, {term: float tensor})``."""
    x_real = x_real.detach().requires_grad_()  # a fresh leaf, so R1 can differentiate D(x)
    out = nets.discriminator(x_real, y_org)
    loss_real = adversarial_loss(out, 1)
    loss_reg = r1_penalty(out, x_real)
    with torch.no_grad():  # the fake is a constant for D
        s_trg = style_source(nets, y_trg, z_trg, x_ref)
        x_fake = nets.generator(x_real, s_trg, masks=masks)
    loss_fake = adversarial_loss(nets.discriminator(x_fake, y_trg), 0)
    loss = loss_real + loss_fake + lambda_reg * loss_reg
    return loss, {"real": loss_real.detach(), "fake": loss_fake.detach(), "reg": loss_reg.detach()}


def g_loss(nets, x_real, y_org, y_trg, z_trgs=None, x_refs=None, masks=None, lambdas=None,
           mask_fn=None):
    """The generator's loss for one sub-step. Returns ``(loss, {term: float tensor})``.

    ``z_trgs`` or ``x_refs`` is a pair: the second code makes the second image of L_ds.
    ``lambdas`` = dict with ``sty``, ``ds``, ``cyc``. ``mask_fn`` (w_hpf > 0) recomputes masks
    on the fake for the cycle, as the official code does.
    """
    first, second = z_trgs if z_trgs is not None else x_refs
    latent = z_trgs is not None
    s_trg = style_source(nets, y_trg, *((first, None) if latent else (None, first)))
    x_fake = nets.generator(x_real, s_trg, masks=masks)
    loss_adv = adversarial_loss(nets.discriminator(x_fake, y_trg), 1)
    loss_sty = style_reconstruction_loss(nets.style_encoder(x_fake, y_trg), s_trg)
    with torch.no_grad():  # the second image is a constant in L_ds, so build it without a graph
        s_trg2 = style_source(nets, y_trg, *((second, None) if latent else (None, second)))
        x_fake2 = nets.generator(x_real, s_trg2, masks=masks)
    loss_ds = diversity_loss(x_fake, x_fake2)
    masks_cyc = mask_fn(x_fake) if mask_fn is not None else None
    s_org = nets.style_encoder(x_real, y_org)
    loss_cyc = cycle_loss(nets.generator(x_fake, s_org, masks=masks_cyc), x_real)
    loss = (loss_adv + lambdas["sty"] * loss_sty - lambdas["ds"] * loss_ds
            + lambdas["cyc"] * loss_cyc)
    terms = {"adv": loss_adv, "sty": loss_sty, "ds": loss_ds, "cyc": loss_cyc}
    return loss, {k: v.detach() for k, v in terms.items()}
