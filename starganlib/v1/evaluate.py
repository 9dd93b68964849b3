"""Judging a trained StarGAN v1 on toyfaces: the oracle's reading and the ground truth.

Every test image is translated to each target of ``create_labels`` (one attribute changed per
target, as the official test code does). The oracle says whether the edit is seen
(``oracle_report``); the renderer draws what the edited picture should be, and the output is
compared with it pixel by pixel, beside returning the unchanged source, and on the background
alone, which an edit must leave as it is (``ground_truth_report``).
"""
from pathlib import Path

import torch

from ..data.celeba import AttributeDataset
from ..data.toyfaces import DOMAINS
from ..metrics import ground_truth as gt
from ..metrics.oracle import attribute_accuracy, translation_metrics
from ..viz import error_map, picture, side_by_side
from .config import V1Config
from .labels import condition, create_labels

TRUTH_COLUMNS = ("source", "output", "ground\ntruth", "|output -\ntruth|")


def sample_batch(data: AttributeDataset, count: int):
    """The first ``count`` images of a (test) split and their labels: a fixed sample batch."""
    x, labels = zip(*(data[i] for i in range(min(count, len(data)))))
    return torch.stack(x), torch.stack(labels)


def _factors(data: AttributeDataset, count: int) -> list:
    """The toyfaces ``Factors`` of the first ``count`` images of ``data``."""
    return gt.factors_of([data.image_root / f for f in data.filenames[:count]], data.image_root)


def _first_set(c, cfg: V1Config):
    """G's label vector for target labels ``c`` of the first dataset (with the mask vector in
    two-dataset mode)."""
    return condition(c, 0 if cfg.joint else None, cfg)


@torch.no_grad()
def diversity_of_v1(G, x, c_trg, repeats: int = 10) -> float:
    """Mean pairwise L1 distance between ``repeats`` outputs ``G(x, c_trg)`` of the same inputs.

    StarGAN v1 has no noise or style input, so this is exactly 0: one output per target.
    ``x`` ``(N, 3, H, W)``, ``c_trg`` ``(N, c_dim)``.
    """
    outputs = [G(x, c_trg) for _ in range(repeats)]
    distances = [torch.mean(torch.abs(outputs[a] - outputs[b])).item()
                 for a in range(repeats) for b in range(a + 1, repeats)]
    return sum(distances) / len(distances)


def toyfaces_domains(filenames: list[str]) -> torch.Tensor:
    """Domain index ``(N,)`` of toyfaces images from their paths (``train/<domain>/...``)."""
    return torch.tensor([DOMAINS.index(Path(name).parent.name) for name in filenames])


@torch.no_grad()
def oracle_report(G, oracle, data: AttributeDataset, cfg: V1Config, num_images: int = 200,
                  repeats: int = 10) -> dict[str, float]:
    """Judge G's test-time translations of toyfaces with the oracle.

    The first ``num_images`` images of ``data`` (a toyfaces test split) are translated to every
    target of ``create_labels``. Returns, per attribute a:
    ``changed/<a>``: how often the oracle sees attribute a as the target says in the translations
    whose target changed a (the edit worked), and ``all/<a>``: the same over every translation
    (the edit worked and the other attributes were kept). From ``translation_metrics`` with R =
    ``repeats`` outputs per input: ``domain_kept`` (the oracle still sees the source's cat, dog or
    wild: attribute edits keep the domain), ``content_error`` (pose kept) and ``diversity`` (the
    R outputs of v1 are identical, so 0).
    """
    x, label_org = sample_batch(data, num_images)
    device = next(G.parameters()).device
    x, label_org = x.to(device), label_org.to(device)
    names = list(cfg.selected_attrs)
    targets = create_labels(label_org, names)
    fakes = [G(x, _first_set(c, cfg)) for c in targets]
    report = {}
    for i, (fake, c_trg) in enumerate(zip(fakes, targets)):
        changed = (c_trg[:, i] != label_org[:, i])
        if changed.any():
            acc = attribute_accuracy(oracle, fake[changed], c_trg[changed][:, i:i + 1], [names[i]])
            report[f"changed/{names[i]}"] = acc[names[i]]
    all_fakes, all_targets = torch.cat(fakes), torch.cat(targets)
    report.update({f"all/{k}": v for k, v in
                   attribute_accuracy(oracle, all_fakes, all_targets, names).items()})
    x_src = x.repeat(len(targets), 1, 1, 1)
    c_all = torch.cat([_first_set(c, cfg) for c in targets])
    repeated = torch.stack([G(x_src, c_all) for _ in range(repeats)])  # (R, K N, 3, H, W)
    y_src = toyfaces_domains(data.filenames[:len(x)]).repeat(len(targets))
    metrics = translation_metrics(oracle, x_src, repeated, y_src)
    report.update(domain_kept=metrics["accuracy"], content_error=metrics["content_error"],
                  diversity=metrics["diversity"])
    return report


@torch.no_grad()
def ground_truth_report(G, data: AttributeDataset, cfg: V1Config,
                        num_images: int = 200) -> dict[str, float]:
    """Pixel errors of G's edits of the first ``num_images`` toyfaces of ``data`` against the
    rendered right answers (``ground_truth.edit_truths``; the nearest one where a label leaves
    a factor open). Only edits that change the attribute count. Per attribute a:
    ``edit_l1/<a>`` and ``edit_psnr/<a>``; ``copy_source_l1/<a>`` and ``copy_source_psnr/<a>``,
    the same for returning the source unchanged (the baseline an edit must beat);
    ``background_l1/<a>``, the error on the pixels that show only background, which should stay
    near 0. ``background_l1`` and ``edit_l1`` without a suffix average over the attributes."""
    x, label_org = sample_batch(data, num_images)
    device = next(G.parameters()).device
    factors = _factors(data, len(x))
    names, size = list(cfg.selected_attrs), x.shape[-1]
    report = {}
    for i, c_trg in enumerate(create_labels(label_org, names)):
        changed = (c_trg[:, i] != label_org[:, i]).nonzero().flatten().tolist()
        if not changed:
            continue
        fake = G(x[changed].to(device), _first_set(c_trg[changed], cfg).to(device)).cpu()
        answers = [gt.edit_truths(factors[j], names[i], bool(c_trg[j, i])) for j in changed]
        mask = gt.background_mask([factors[j] for j in changed], size) & \
            gt.background_mask([a[0] for a in answers], size)
        name = names[i]
        report.update(gt.summary(gt.pixel_errors(fake, gt.nearest_truth(fake, answers, size)),
                                 "edit_", f"/{name}"))
        copy = gt.pixel_errors(x[changed], gt.nearest_truth(x[changed], answers, size))
        report.update(gt.summary(copy, "copy_source_", f"/{name}"))
        report[f"background_l1/{name}"] = float(gt.pixel_errors(fake, x[changed], mask)["l1"].mean())
    for key in ("edit_l1", "background_l1"):
        values = [v for k, v in report.items() if k.startswith(key + "/")]
        report[key] = sum(values) / len(values)
    return report


def toyfaces_report(G, oracle, data: AttributeDataset, cfg: V1Config) -> dict[str, float]:
    """``oracle_report`` and ``ground_truth_report`` of G (put in eval mode) in one dict."""
    G.eval()
    return {**oracle_report(G, oracle, data, cfg), **ground_truth_report(G, data, cfg)}


@torch.no_grad()
def edit_comparison(G, data: AttributeDataset, cfg: V1Config):
    """A picture (PIL, enlarged) with one row per attribute: the first test image whose edit
    changes it, G's edit, the right answer nearest to it and the error map."""
    x, label_org = sample_batch(data, min(len(data), 50))
    factors = _factors(data, len(x))
    device, names = next(G.parameters()).device, list(cfg.selected_attrs)
    was_training = G.training
    G.eval()
    rows, row_labels = [], []
    for i, c_trg in enumerate(create_labels(label_org, names)):
        changed = (c_trg[:, i] != label_org[:, i]).nonzero().flatten()
        if len(changed) == 0:
            continue
        j = int(changed[0])
        fake = G(x[j:j + 1].to(device), _first_set(c_trg[j:j + 1], cfg).to(device)).cpu()
        answers = [gt.edit_truths(factors[j], names[i], bool(c_trg[j, i]))]
        truth = gt.nearest_truth(fake, answers, x.shape[-1])
        rows.append(side_by_side(x[j:j + 1], fake, truth, error_map(fake, truth)))
        row_labels.append(f"{names[i]}\n{'on' if c_trg[j, i] else 'off'}")
    G.train(was_training)
    return picture(torch.cat(rows), 4, list(TRUTH_COLUMNS), row_labels)
