"""Ground-truth translation metrics on toyfaces: the right answer, rendered, against the output.

Every toyfaces picture is a pure function of its ``Factors``, so for most translations the
correct output is known and ``render`` draws it:

* StarGAN v2, reference-guided ``G(x_src, E(x_ref))``: the reference's domain and style
  factors with the source's content factors and labels, ``reference_truth``. Style is what the
  course asks the style code to carry (``STYLE_FACTORS``: fur colour, markings, eye colour,
  background), the things that vary within a domain and that a reference shows. Content is
  what a translation must keep (``CONTENT_FACTORS``: position, size, tilt, gaze) and the
  StarGAN v1 labels (glasses, expression), which belong to one particular face.
* StarGAN v2, cycle ``G(G(x_src, s_ref), E(x_src))``: the source itself.
* StarGAN v2, latent-guided: no unique answer (the style is drawn at random), so the oracle
  judges it (``metrics.oracle``): the domain, and the content against ``content_baselines``.
* StarGAN v1, attribute edit: the source's factors with the target attribute changed,
  ``edit_truths``. Where the label leaves a factor open (the shade of a new fur colour; which
  expression "not smiling" is) every admissible rendering is a right answer, and an output is
  scored against the nearest one. The background, which an edit must leave alone, is scored on
  its own (``background_mask``).

Errors are on pixels in [0, 1]: the mean absolute error ``l1`` and ``psnr`` =
10 log10(1 / MSE) in dB (infinite for a perfect output), each averaged over images. They are
always reported beside the trivial baselines (return the source; return the reference), so
that a number has a scale.
"""
import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..data.toyfaces import (ATTRIBUTES, CONTENT_FACTORS, EXPRESSIONS, FACTOR_RANGES, STYLE_FACTORS,
                             Factors, background_rgb, load_factors, render)

FUR_SHADES = (0.0, 0.25, 0.5, 0.75, 1.0)  # the admissible shades of a new fur colour


def factors_of(files: list[Path], root: Path) -> list[Factors]:
    """The ``Factors`` of toyfaces image files under ``root`` (from ``<split>/factors.csv``)."""
    table = {}
    for split in {Path(f).relative_to(root).parts[0] for f in files}:
        for row in load_factors(root, split):
            table[row["path"]] = Factors(**{k: row[k] for k in FACTOR_RANGES})
    missing = [str(f) for f in files if Path(f).relative_to(root).as_posix() not in table]
    if missing:
        raise ValueError(f"no factors in {root}/<split>/factors.csv for {missing[:3]}: "
                         "ground truth needs a toyfaces dataset")
    return [table[Path(f).relative_to(root).as_posix()] for f in files]


def reference_truth(source: Factors, reference: Factors) -> Factors:
    """The factors of the right reference-guided output: the reference's domain and style, the
    source's content and labels."""
    taken = {name: getattr(reference, name) for name in ("domain", *STYLE_FACTORS)}
    return dataclasses.replace(source, **taken)


def edit_truths(source: Factors, attribute: str, on: bool) -> list[Factors]:
    """The factors of every right output of a StarGAN v1 edit that sets ``attribute`` (one of
    ``ATTRIBUTES``) to ``on``: one for glasses, one shade per ``FUR_SHADES`` for a fur colour,
    and each non-happy expression for "not smiling". An edit that changes nothing (the source
    already has it) has the source as its only answer."""
    if attribute not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {attribute!r}; toyfaces has {list(ATTRIBUTES)}")
    index = ATTRIBUTES.index(attribute)
    if index < 3:  # Black_Fur, Ginger_Fur, Grey_Fur: mutually exclusive (create_labels)
        if not on or source.fur_family == index:
            return [source]
        return [dataclasses.replace(source, fur_family=index, fur_shade=s) for s in FUR_SHADES]
    if attribute == "Glasses":
        return [dataclasses.replace(source, glasses=on)]
    happy = EXPRESSIONS.index("happy")
    if on == (source.expression == happy):
        return [source]
    if on:
        return [dataclasses.replace(source, expression=happy)]
    return [dataclasses.replace(source, expression=k) for k in range(len(EXPRESSIONS)) if k != happy]


def render_all(factors: list[Factors], size: int) -> torch.Tensor:
    """``render`` of each factor set: ``(N, 3, size, size)`` in [-1, 1]."""
    pixels = np.stack([np.asarray(render(f, size)) for f in factors])
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def background_mask(factors: list[Factors], size: int) -> torch.Tensor:
    """``(N, 1, size, size)`` bool: the pixels that show only background. Found by rendering
    each picture again on another background colour: exactly those pixels change completely."""
    def shows_background(batch):
        pixels = render_all(batch, size)
        colours = torch.tensor([background_rgb(f) for f in batch]).float().div(127.5).sub(1)
        return (pixels == colours[:, :, None, None]).all(dim=1, keepdim=True)

    probe = [dataclasses.replace(f, background=0.7 if f.background < 0.5 else 0.3) for f in factors]
    return shows_background(factors) & shows_background(probe)


def pixel_errors(output: torch.Tensor, truth: torch.Tensor,
                 mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Per-image ``l1`` and ``psnr`` (dB) of ``output`` against ``truth``, both ``(N, 3, H, W)``
    in [-1, 1] (``output`` is clamped there, as when saved); compared in [0, 1]. ``mask``
    ``(N, 1, H, W)`` bool: only those pixels count."""
    if output.shape != truth.shape:
        raise ValueError(f"output {tuple(output.shape)} and truth {tuple(truth.shape)} differ in shape")
    a = output.detach().float().cpu().clamp(-1, 1).add(1).div(2)
    b = truth.detach().float().cpu().add(1).div(2)
    weight = torch.ones_like(a[:, :1]) if mask is None else mask.float().cpu()
    weight = weight.expand_as(a)
    count = weight.flatten(1).sum(1).clamp_min(1)
    l1 = ((a - b).abs() * weight).flatten(1).sum(1) / count
    mse = ((a - b).square() * weight).flatten(1).sum(1) / count
    return {"l1": l1, "psnr": 10 * torch.log10(1 / mse)}


def summary(errors: dict[str, torch.Tensor], prefix: str, suffix: str = "") -> dict[str, float]:
    """Means over images of ``pixel_errors``: ``{prefix}l1{suffix}`` and ``{prefix}psnr{suffix}``."""
    return {f"{prefix}{name}{suffix}": float(values.mean()) for name, values in errors.items()}


def reference_guided_errors(outputs: torch.Tensor, x_src: torch.Tensor, x_ref: torch.Tensor,
                            sources: list[Factors], references: list[Factors]) -> dict[str, float]:
    """Reference-guided outputs, their sources and references (each ``(M, 3, H, W)`` in
    [-1, 1]) and the sources' and references' factors (M each) -> ``reference_l1/psnr`` of the
    outputs against the right answers, and ``copy_source_l1/psnr``, ``copy_reference_l1/psnr``
    of the two trivial baselines."""
    truth = render_all([reference_truth(s, r) for s, r in zip(sources, references)],
                         outputs.shape[-1])
    return {**summary(pixel_errors(outputs, truth), "reference_"),
            **summary(pixel_errors(x_src, truth), "copy_source_"),
            **summary(pixel_errors(x_ref, truth), "copy_reference_")}


def nearest_truth(output: torch.Tensor, candidates: list[list[Factors]], size: int) -> torch.Tensor:
    """For each output ``(N, 3, H, W)``, the rendering of its candidates (one list of right
    answers per output, e.g. from ``edit_truths``) closest to it in L1: ``(N, 3, H, W)``."""
    picked = []
    for image, answers in zip(output, candidates):
        renders = render_all(answers, size)
        errors = pixel_errors(image.expand_as(renders), renders)["l1"]
        picked.append(renders[int(errors.argmin())])
    return torch.stack(picked)


def v2_quality_bar(row: dict, ideal_content_error: float) -> dict[str, bool]:
    """Which criteria of the course's quality bar a StarGAN v2 model meets, from a row of
    ``oracle_eval`` (``metrics.csv``) and the oracle's error on perfect translations
    (``content_baselines()["ideal"]``): reference-guided outputs close to the ground truth
    (L1 <= 0.032, PSNR >= 22 dB), the target domain read by the oracle in both modes (>= 0.95),
    clearly different outputs for different latent codes (oracle style diversity >= 0.5), and
    latent-guided outputs that keep the source's content (oracle content error <= 1.5 times its
    error on perfect translations)."""
    return {"reference_l1 <= 0.032": row["reference_l1"] <= 0.032,
            "reference_psnr >= 22": row["reference_psnr"] >= 22,
            "latent_accuracy >= 0.95": row["latent_accuracy"] >= 0.95,
            "reference_accuracy >= 0.95": row["reference_accuracy"] >= 0.95,
            "latent_diversity >= 0.5": row["latent_diversity"] >= 0.5,
            "latent content kept": row["latent_content_error"] <= 1.5 * ideal_content_error}


def v1_quality_bar(row: dict, attributes) -> dict[str, bool]:
    """Which criteria of the course's quality bar a StarGAN v1 model meets, from a row of
    ``v1.evaluate.toyfaces_report``: for every attribute the edit is closer to the ground truth
    than returning the source unchanged (at most 0.8 times its L1), the oracle sees the edit
    (>= 0.9), and the background stays as it was (L1 <= 0.02)."""
    bar = {}
    for a in attributes:
        bar[f"edit_l1/{a} <= 0.8 copy_source"] = row[f"edit_l1/{a}"] <= 0.8 * row[f"copy_source_l1/{a}"]
        bar[f"changed/{a} >= 0.9"] = row[f"changed/{a}"] >= 0.9
    bar["background_l1 <= 0.02"] = row["background_l1"] <= 0.02
    return bar
