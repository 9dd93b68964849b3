"""The official StarGAN v2 evaluation protocol (``python -m starganlib eval``).

For every ordered pair of different domains (s, t), each validation image of s is translated
``num_outs`` times to t: latent-guided (a new z each time) and reference-guided (a random
validation image of t each time). Per task and mode:

* ``fid``: Frechet distance between the outputs and the *training* images of t, in the features
  of Inception-v3 (official), or of the toyfaces oracle when Inception's weights are missing;
* ``diversity``: for each source, the mean LPIPS over the pairs of its outputs (official), or
  the oracle's style diversity when LPIPS's backbone weights are missing;
* on toyfaces also the oracle's ``accuracy``, ``content_error`` and ``style_diversity`` and,
  reference-guided, the pixel errors against the rendered right answers (``reference_l1``,
  ``reference_psnr``) beside returning the source or the reference (``copy_source_l1``,
  ``copy_reference_l1``; see ``metrics.ground_truth``).

Sources are processed in batches so that AFHQ at 256 px fits in memory.
"""
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.folders import DomainFolder, to_float
from ..metrics import ground_truth as gt
from ..metrics.fid import frechet_distance_of
from .synthesis import translate_latent, translate_reference

MODES = ("latent", "reference")


@dataclass
class Judges:
    """How outputs are scored: ``features(images (N,3,H,W)) -> (N, D)``, ``diversity(outputs
    (R,N,3,H,W)) -> float``, their ``names`` for the report, and on toyfaces the oracle and the
    ``Factors`` of every validation image (for the ground truth), else None."""
    features: Callable
    diversity: Callable
    names: dict
    oracle: object = None
    factors: list | None = None


def official_judges(device, oracle=None, factors=None) -> Judges:
    """Inception-v3 FID and LPIPS diversity; with no weights offline and an ``oracle`` (toyfaces),
    the oracle's features and style diversity instead, said in one printed line."""
    from ..metrics.fid import InceptionFeatures
    from ..metrics.lpips import LPIPS, lpips_diversity
    try:
        inception, lpips_fn = InceptionFeatures().to(device), LPIPS(device=device)
        return Judges(lambda x: inception(x).cpu(), lambda out: lpips_diversity(lpips_fn, out),
                      {"fid": "FID (Inception-v3)", "diversity": "LPIPS"}, oracle, factors)
    except RuntimeError as err:
        if oracle is None:
            raise
        print(f"ImageNet weights unavailable ({str(err).split('(')[0].strip()}): using the toyfaces "
              f"oracle's features for the Frechet distance and its style diversity.")
        return oracle_judges(oracle, factors)


def oracle_judges(oracle, factors=None) -> Judges:
    """The offline judges of toyfaces: oracle features and oracle style diversity."""
    from ..metrics.oracle import predict, style_diversity
    return Judges(lambda x: predict(oracle, x)["features"], lambda out: style_diversity(oracle, out),
                  {"fid": "Frechet (oracle features)", "diversity": "oracle style diversity"}, oracle,
                  factors)


@torch.no_grad()
def _outputs(nets, x_src, t: int, mode: str, num_outs: int, val: DomainFolder, latent_dim: int,
             gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``num_outs`` translations of x_src ``(N,3,H,W)`` to domain t: ``(R, N, 3, H, W)``, and
    the indices ``(R, N)`` of the references used (None for latent-guided)."""
    n, device = x_src.size(0), x_src.device
    y_trg = torch.full((n,), t, dtype=torch.long, device=device)
    outputs, references = [], []
    for _ in range(num_outs):
        if mode == "latent":
            z = torch.randn(n, latent_dim, generator=gen).to(device)
            outputs.append(translate_latent(nets, x_src, y_trg, z))
        else:
            pool = val.by_domain[t]
            refs = pool[torch.randint(len(pool), (n,), generator=gen)]
            outputs.append(translate_reference(nets, x_src, to_float(val.images(refs)).to(device), y_trg))
            references.append(refs)
    return torch.stack(outputs), torch.stack(references) if references else None


def _ground_truth(out: torch.Tensor, x_src: torch.Tensor, idx: torch.Tensor, refs: torch.Tensor,
                  val: DomainFolder, factors: list) -> dict[str, float]:
    """``ground_truth.reference_guided_errors`` of outputs ``(R, N, 3, H, W)`` made from the
    sources ``idx`` ``(N,)`` and the references ``refs`` ``(R, N)``."""
    sources = [factors[i] for i in idx.tolist()] * len(refs)
    x_src = x_src.cpu().expand(len(refs), -1, -1, -1, -1).flatten(0, 1)
    return gt.reference_guided_errors(out.flatten(0, 1), x_src, to_float(val.images(refs.flatten())),
                                      sources, [factors[r] for r in refs.flatten().tolist()])


def _task(nets, judges: Judges, s: int, t: int, mode: str, train, val, cfg, num_outs: int,
          batch_size: int, gen, device) -> dict:
    """The metrics of one task (s -> t) in one mode."""
    from ..metrics.oracle import translation_metrics
    features, sums, count = [], {}, 0
    for idx in val.by_domain[s].split(batch_size):
        x_src = to_float(val.images(idx)).to(device)
        out, refs = _outputs(nets, x_src, t, mode, num_outs, val, cfg.latent_dim, gen)
        features.append(judges.features(out.flatten(0, 1)).cpu())
        values = {"diversity": judges.diversity(out)}
        if judges.oracle is not None:
            m = translation_metrics(judges.oracle, x_src, out, torch.full((len(idx),), t))
            values.update(accuracy=m["accuracy"], content_error=m["content_error"],
                          style_diversity=m["diversity"])
        if judges.factors is not None and refs is not None:
            values.update(_ground_truth(out, x_src, idx, refs, val, judges.factors))
        sums = {k: sums.get(k, 0.0) + v * len(idx) for k, v in values.items()}
        count += len(idx)
    real = torch.cat([judges.features(to_float(train.images(i)).to(device)).cpu()
                      for i in train.by_domain[t].split(batch_size)])
    return {"fid": frechet_distance_of(torch.cat(features).numpy(), real.numpy()),
            **{k: v / count for k, v in sums.items()}}


def evaluate(nets, cfg, root, judges: Judges, num_outs: int = 10, batch_size: int = 32,
             seed: int = 0, device="cpu", progress: bool = True) -> dict:
    """Every ordered pair of domains of ``root`` (train/ and val/), both modes.

    Returns ``{mode: {"<s>2<t>": {metric: value}, ..., "mean": {metric: value}}, "judges": names}``.
    """
    if num_outs < 2:
        raise ValueError(f"num_outs must be >= 2 (diversity compares outputs), got {num_outs}")
    train, val = DomainFolder(root / "train", cfg.img_size), DomainFolder(root / "val", cfg.img_size)
    gen = torch.Generator().manual_seed(seed)
    pairs = [(s, t) for s in range(len(val.domains)) for t in range(len(val.domains)) if s != t]
    report = {mode: {} for mode in MODES}
    for s, t in tqdm(pairs, desc="tasks", disable=not progress):
        for mode in MODES:
            report[mode][f"{val.domains[s]}2{val.domains[t]}"] = _task(
                nets, judges, s, t, mode, train, val, cfg, num_outs, batch_size, gen, device)
    for mode in MODES:
        tasks = list(report[mode].values())
        report[mode]["mean"] = {k: float(np.mean([task[k] for task in tasks])) for k in tasks[0]}
    report["judges"] = judges.names
    return report


def format_table(report: dict) -> str:
    """The report as a text table: one line per mode and task (blank where a metric is not
    computed in that mode)."""
    metrics = list(dict.fromkeys(k for mode in MODES for k in report[mode]["mean"]))
    lines = [f"{'mode':<10} {'task':<14} " + " ".join(f"{m:>17}" for m in metrics)]
    for mode in MODES:
        for task, values in report[mode].items():
            cells = [f"{values[m]:>17.4f}" if m in values else " " * 17 for m in metrics]
            lines.append(f"{mode:<10} {task:<14} " + " ".join(cells))
    return "\n".join(lines)
