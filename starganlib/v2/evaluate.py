"""Quick evaluation of a StarGAN v2 model on toyfaces with the oracle (used during training).

Each validation source is translated to a different domain, ``num_outs`` times with different
latent codes (latent-guided) and with different references (reference-guided); the oracle then
judges domain accuracy, content preservation, style diversity and a Frechet distance.
"""
import torch

from ..data.folders import DomainFolder, to_float
from ..metrics.oracle import translation_metrics
from .synthesis import translate_latent, translate_reference


def _pick(folder: DomainFolder, per_domain: int, gen: torch.Generator) -> torch.Tensor:
    picks = [pool[torch.randperm(len(pool), generator=gen)[:per_domain]] for pool in folder.by_domain]
    return torch.cat(picks)


@torch.no_grad()
def oracle_eval(nets, folder: DomainFolder, oracle, latent_dim: int, per_domain: int = 16,
                num_outs: int = 4, seed: int = 0, device="cpu") -> dict[str, float]:
    """Oracle metrics of latent- and reference-guided translation on ``folder`` (a val split).

    Returns ``latent_accuracy, latent_content_error, latent_diversity, latent_frechet`` and the
    same four with the prefix ``reference_``.
    """
    gen = torch.Generator().manual_seed(seed)
    k = len(folder.domains)
    idx = _pick(folder, per_domain, gen)
    x_src = to_float(folder.images(idx)).to(device)
    y_src = folder.labels[idx]
    y_trg = ((y_src + torch.randint(1, k, y_src.shape, generator=gen)) % k).to(device)
    real = {y: to_float(folder.images(folder.by_domain[y])).to(device) for y in range(k)}
    latent, reference = [], []
    for _ in range(num_outs):
        z = torch.randn(len(idx), latent_dim, generator=gen).to(device)
        latent.append(translate_latent(nets, x_src, y_trg, z))
        ref_idx = torch.stack([pool[torch.randint(len(pool), (), generator=gen)]
                               for pool in (folder.by_domain[y] for y in y_trg.tolist())])
        x_ref = to_float(folder.images(ref_idx)).to(device)
        reference.append(translate_reference(nets, x_src, x_ref, y_trg))
    out = {}
    for mode, fakes in (("latent", latent), ("reference", reference)):
        metrics = translation_metrics(oracle, x_src, torch.stack(fakes), y_trg, real)
        out.update({f"{mode}_{name}": float(v) for name, v in metrics.items()})
    return out
