"""Quick evaluation of a StarGAN v2 model on toyfaces (used during training).

Each validation source is translated to a different domain, ``num_outs`` times with different
latent codes (latent-guided) and with different references (reference-guided); the oracle then
judges domain accuracy, content preservation, style diversity and a Frechet distance. Given the
sources' factors, the reference-guided outputs and the cycle are also compared pixel by pixel
with the right answers rendered from the factors (``metrics.ground_truth``), beside the two
trivial baselines: copying the source and copying the reference.

This is not the official protocol (every ordered pair of domains, 10 outputs each, FID against
the training images): that is ``eval_protocol.evaluate``.
"""
from dataclasses import dataclass

import torch

from ..data.folders import DomainFolder, to_float
from ..metrics import ground_truth as gt
from ..metrics.oracle import load_oracle, translation_metrics
from ..viz import error_map, picture, side_by_side
from .synthesis import translate_latent, translate_reference

TRUTH_COLUMNS = ("source", "reference", "output", "ground\ntruth", "|output -\ntruth|")


@dataclass
class ToyfacesJudge:
    """What judges a StarGAN v2 model on toyfaces: the oracle, and the ``Factors`` of every
    image of the validation folder (for the ground truth)."""
    oracle: object
    factors: list


def toyfaces_judge(root, folder: DomainFolder, device="cpu") -> ToyfacesJudge:
    """The judge of ``folder`` (a split of the toyfaces dataset in ``root``)."""
    return ToyfacesJudge(load_oracle(folder.img_size, device=device), gt.factors_of(folder.files, root))


@dataclass
class Translations:
    """What ``translate_val`` produced: sources, their references and every output."""
    idx: torch.Tensor  # (N,) source indices into the folder
    ref_idx: torch.Tensor  # (R, N) reference indices
    x_src: torch.Tensor  # (N, 3, H, W)
    y_trg: torch.Tensor  # (N,) target domains
    latent: torch.Tensor  # (R, N, 3, H, W)
    reference: torch.Tensor  # (R, N, 3, H, W)
    cycle: torch.Tensor  # (R, N, 3, H, W): G(reference output, E(x_src, y_src))


def _pick(folder: DomainFolder, per_domain: int, gen: torch.Generator) -> torch.Tensor:
    picks = [pool[torch.randperm(len(pool), generator=gen)[:per_domain]] for pool in folder.by_domain]
    return torch.cat(picks)


@torch.no_grad()
def translate_val(nets, folder: DomainFolder, latent_dim: int, per_domain: int = 16,
                  num_outs: int = 4, seed: int = 0, device="cpu") -> Translations:
    """``per_domain`` sources of each domain, each sent to another domain (drawn at random)
    ``num_outs`` times latent-guided and reference-guided (a random image of the target domain),
    and each reference-guided output back with the source's own style (the cycle)."""
    gen = torch.Generator().manual_seed(seed)
    k = len(folder.domains)
    idx = _pick(folder, per_domain, gen)
    x_src = to_float(folder.images(idx)).to(device)
    y_src = folder.labels[idx]
    y_trg = ((y_src + torch.randint(1, k, y_src.shape, generator=gen)) % k).to(device)
    s_src = nets.style_encoder(x_src, y_src.to(device))
    latent, reference, cycle, ref_idx = [], [], [], []
    for _ in range(num_outs):
        z = torch.randn(len(idx), latent_dim, generator=gen).to(device)
        latent.append(translate_latent(nets, x_src, y_trg, z))
        refs = torch.stack([pool[torch.randint(len(pool), (), generator=gen)]
                            for pool in (folder.by_domain[y] for y in y_trg.tolist())])
        fake = translate_reference(nets, x_src, to_float(folder.images(refs)).to(device), y_trg)
        reference.append(fake)
        cycle.append(nets.generator(fake, s_src))
        ref_idx.append(refs)
    return Translations(idx, torch.stack(ref_idx), x_src, y_trg, *(torch.stack(t).cpu()
                                                                   for t in (latent, reference, cycle)))


def ground_truth_metrics(t: Translations, folder: DomainFolder, factors: list) -> dict[str, float]:
    """Pixel errors against the rendered right answers (``factors``: the ``Factors`` of every
    image of ``folder``): ``reference_l1/psnr`` (reference-guided outputs) with the baselines
    ``copy_source_l1/psnr`` and ``copy_reference_l1/psnr`` (returning the source or the
    reference instead), and ``cycle_l1/psnr`` (the cycle against the source)."""
    r = len(t.ref_idx)
    x_src = t.x_src.cpu().expand(r, -1, -1, -1, -1).flatten(0, 1)
    errors = gt.reference_guided_errors(
        t.reference.flatten(0, 1), x_src, to_float(folder.images(t.ref_idx.flatten())),
        [factors[i] for i in t.idx.tolist()] * r, [factors[i] for i in t.ref_idx.flatten().tolist()])
    return {**errors, **gt.summary(gt.pixel_errors(t.cycle.flatten(0, 1), x_src), "cycle_")}


@torch.no_grad()
def reference_comparison(nets, folder: DomainFolder, factors: list, idx: torch.Tensor,
                         ref_idx: torch.Tensor):
    """A picture (PIL, enlarged) with one row per source ``idx[i]`` of ``folder``: the source,
    its reference ``ref_idx[i]``, the reference-guided output, the right answer rendered from
    the factors, and the error map ``|output - truth|``."""
    device = next(nets.generator.parameters()).device
    x_src, x_ref = (to_float(folder.images(i)).to(device) for i in (idx, ref_idx))
    y_ref = folder.labels[ref_idx].to(device)
    fake = translate_reference(nets, x_src, x_ref, y_ref)
    truth = gt.render_all([gt.reference_truth(factors[i], factors[j])
                             for i, j in zip(idx.tolist(), ref_idx.tolist())], folder.img_size)
    names = folder.domains
    rows = [f"{names[a]} to\n{names[b]}" for a, b in zip(folder.labels[idx].tolist(), y_ref.tolist())]
    return picture(side_by_side(x_src, x_ref, fake, truth, error_map(fake, truth)), 5,
                   list(TRUTH_COLUMNS), rows)


@torch.no_grad()
def oracle_eval(nets, folder: DomainFolder, oracle, latent_dim: int, per_domain: int = 16,
                num_outs: int = 4, seed: int = 0, device="cpu",
                factors: list | None = None) -> dict[str, float]:
    """Oracle metrics of latent- and reference-guided translation on ``folder`` (a val split).

    Returns ``latent_accuracy, latent_content_error, latent_diversity, latent_frechet``, the
    same four with the prefix ``reference_`` and, with ``factors`` (the ``Factors`` of every
    image of ``folder``), the ``ground_truth_metrics``.
    """
    t = translate_val(nets, folder, latent_dim, per_domain, num_outs, seed, device)
    real = {y: to_float(folder.images(folder.by_domain[y])).to(device)
            for y in range(len(folder.domains))}
    out = {}
    for mode, fakes in (("latent", t.latent), ("reference", t.reference)):
        metrics = translation_metrics(oracle, t.x_src, fakes.to(device), t.y_trg, real)
        out.update({f"{mode}_{name}": float(v) for name, v in metrics.items()})
    if factors is not None:
        out.update(ground_truth_metrics(t, folder, factors))
    return out
