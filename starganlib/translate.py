"""Translating your own pictures with a trained model.

* StarGAN v2 (our checkpoints, or an official ``nets_ema`` file): a target domain, with a style
  from a seeded latent code (optionally truncated by psi) or from a reference picture of that
  domain.
* StarGAN v1: target attributes, e.g. ``{"Black_Fur": 1, "Glasses": 0}``; the attributes not
  given are 0 (absent), as the model cannot know those of your picture.

A picture is made square and resized to the model's size as ``data prepare`` does (centre crop
or padding, Lanczos filter). Every input ``<name>.<ext>`` gives ``<out>/<name>_<target>.png``
and, with ``strip``, ``<out>/<name>_<target>_strip.png``: the input beside its translation.
Every picture is read before anything is written.
"""
from pathlib import Path

import torch
import torchvision.transforms.v2.functional as TF
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_checkpoint
from .data.folders import to_float
from .data.prepare import read_square, resize
from .v1.labels import is_colour_attribute
from .v1.config import CHECKPOINT_KIND as V1_KIND
from .v1.labels import condition
from .v1.sample import generator_from_state
from .v2.config import V2Config
from .v2.official import load_official
from .v2.sample import ema_nets
from .v2.synthesis import mean_style, truncate
from .v2.config import CHECKPOINT_KIND as V2_KIND
from .v2.nets import AVERAGED
from .viz import to_pil, to_unit

BATCH = 16  # pictures per forward pass


def load_pictures(paths: list[Path], size: int, fit: str = "crop") -> torch.Tensor:
    """Picture files as ``(N, 3, size, size)`` in [-1, 1]; ValueError naming a file that cannot
    be read, or two files whose outputs would have the same name."""
    paths = [Path(p) for p in paths]
    stems = [p.stem for p in paths]
    twins = sorted({s for s in stems if stems.count(s) > 1})
    if twins:
        raise ValueError(f"several pictures are named {', '.join(twins)}: their outputs would "
                         f"overwrite one another; rename them or translate them separately")
    for p in paths:
        if p.is_dir():
            raise ValueError(f"{p} is a folder: give its picture files (e.g. {p}/*.jpg)")
        if not p.is_file():
            raise FileNotFoundError(f"picture {p} does not exist")
    return to_float(torch.stack([TF.pil_to_tensor(resize(read_square(p, size, fit), size))
                                 for p in paths]))


def domain_index(domain: str, cfg) -> int:
    """The label of ``domain`` (a name the checkpoint records, or an index) in a V2Config."""
    if domain in cfg.domains:
        return cfg.domains.index(domain)
    if domain.isdigit() and int(domain) < cfg.num_domains:
        return int(domain)
    names = ", ".join(cfg.domains) if cfg.domains else "not recorded in this checkpoint"
    raise ValueError(f"unknown domain {domain!r}: this model's domains are {names} "
                     f"(or their indices 0 to {cfg.num_domains - 1})")


@torch.no_grad()
def translate_v2(nets, cfg, x: torch.Tensor, domain: int, seed: int = 0, psi: float = 1.0,
                 x_ref: torch.Tensor | None = None) -> torch.Tensor:
    """``(N, 3, S, S)`` -> ``(N, 3, S, S)`` in ``domain``, every picture with the same style:
    ``E(x_ref, domain)`` of a reference ``(1, 3, S, S)``, or else ``F(z, domain)`` of the latent
    code z ~ N(0, I) drawn with ``seed``, truncated toward the domain's mean style by ``psi``."""
    device = next(nets.generator.parameters()).device
    y = torch.tensor([domain], device=device)
    if x_ref is not None:
        s = nets.style_encoder(x_ref.to(device), y)
    else:
        z = torch.randn(1, cfg.latent_dim, generator=torch.Generator().manual_seed(seed))
        s = nets.mapping_network(z.to(device), y)
        if psi != 1.0:
            s = truncate(s, mean_style(nets.mapping_network, domain, cfg.latent_dim, device=device),
                         psi)
    return _batched(lambda xb: nets.generator(xb, s.expand(len(xb), -1)), x, device)


def parse_attributes(text: str) -> dict[str, int]:
    """``"Black_Fur=1,Glasses=0"`` -> ``{"Black_Fur": 1, "Glasses": 0}``."""
    attrs = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not name or value.strip() not in ("0", "1"):
            raise ValueError(f"--attrs: expected NAME=0 or NAME=1 separated by commas (e.g. "
                             f"Black_Fur=1,Glasses=0), got {item.strip()!r}")
        if name in attrs:
            raise ValueError(f"--attrs: {name} is given twice")
        attrs[name] = int(value)
    return attrs


def v1_condition(attrs: dict[str, int], cfg) -> torch.Tensor:
    """G's label vector ``(1, c_dim)`` for target attributes of a V1Config (those not given: 0).

    In two-dataset mode the attributes come from one label set: the first (multi-label), or the
    second, where exactly one class is 1.
    """
    first, second = list(cfg.selected_attrs), list(cfg.selected_attrs2)
    unknown = [a for a in attrs if a not in first + second]
    if unknown:
        raise ValueError(f"unknown attribute(s) {', '.join(unknown)}: this model's attributes "
                         f"are {', '.join(first)}"
                         + (f"; its second label set (one at a time): {', '.join(second)}"
                            if second else ""))
    use_second = any(a in second for a in attrs)
    if use_second and any(a in first for a in attrs):
        raise ValueError(f"give attributes of one label set at a time: {', '.join(first)}, or "
                         f"one of {', '.join(second)}")
    names = second if use_second else first
    if use_second and sum(attrs.values()) != 1:
        raise ValueError(f"the second label set is one class per picture: set exactly one of "
                         f"{', '.join(second)} to 1")
    colours = [a for a, v in attrs.items() if v == 1 and is_colour_attribute(a)]
    if len(colours) > 1:
        raise ValueError(f"{' and '.join(colours)} are colours, which exclude one another: set "
                         f"at most one to 1")
    labels = torch.zeros(1, len(names))
    for a, v in attrs.items():
        labels[0, names.index(a)] = v
    return condition(labels, (1 if use_second else 0) if cfg.joint else None, cfg)


@torch.no_grad()
def translate_v1(G, cfg, x: torch.Tensor, attrs: dict[str, int]) -> torch.Tensor:
    """``(N, 3, S, S)`` -> ``G(x, c)`` with c the label vector of ``attrs`` (see v1_condition)."""
    device = next(G.parameters()).device
    c = v1_condition(attrs, cfg).to(device)
    return _batched(lambda xb: G(xb, c.expand(len(xb), -1)), x, device)


def _batched(fn, x: torch.Tensor, device) -> torch.Tensor:
    chunks = list(x.split(BATCH))
    return torch.cat([fn(xb.to(device)).cpu()
                      for xb in tqdm(chunks, desc="translating", disable=len(chunks) < 2)])


def load_model(checkpoint: Path, official: str | None = None, device="cpu"):
    """``(model, cfg)``: the EMA networks and V2Config of a StarGAN v2 checkpoint (ours, or an
    official file of the preset ``official``), or G and the V1Config of a StarGAN v1 one."""
    if official is not None:
        return load_official(checkpoint, official, device)
    state = load_checkpoint(checkpoint, device)
    if state.get("kind") == V2_KIND:
        return ema_nets(state, device)
    if state.get("kind") == V1_KIND:
        return generator_from_state(state, device)
    if all(n in state for n in AVERAGED):
        raise CheckpointError(f"{checkpoint} looks like an official StarGAN v2 file (nets_ema): "
                              f"add --official afhq")
    raise CheckpointError(f"{checkpoint}: not a StarGAN checkpoint (kind "
                          f"{state.get('kind', 'unknown')!r}); expected one written by `train` "
                          f"({V1_KIND} or {V2_KIND}) or an official StarGAN v2 file")


def translate_files(pictures: list[Path], out: Path, checkpoint: Path, domain: str | None = None,
                    ref: Path | None = None, attrs: str | None = None, official: str | None = None,
                    seed: int = 0, psi: float = 1.0, strip: bool = False, fit: str = "crop",
                    device="cpu") -> list[Path]:
    """Translate picture files with a checkpoint and write the outputs into ``out``; returns
    the files written. StarGAN v2 takes ``domain`` (and ``ref``, a reference picture of that
    domain, or ``seed`` and ``psi``); StarGAN v1 takes ``attrs`` ("Black_Fur=1,Glasses=0")."""
    model, cfg = load_model(checkpoint, official, device)
    if isinstance(cfg, V2Config):
        if attrs is not None or domain is None:
            raise ValueError(f"{checkpoint} is a StarGAN v2 model, which translates to a domain: "
                             f"give the target domain (--domain {'|'.join(cfg.domains) or 'INDEX'})"
                             + (", not --attrs" if attrs is not None else ""))
        if ref is not None and psi != 1.0:
            raise ValueError("--psi truncates latent codes toward the mean style; it does not "
                             "apply to a reference (--ref)")
        label = domain_index(domain, cfg)
        x = load_pictures(pictures, cfg.img_size, fit)
        x_ref = None if ref is None else load_pictures([ref], cfg.img_size, fit)
        name = cfg.domains[label] if cfg.domains else str(label)
        tag = f"{name}_ref-{Path(ref).stem}" if ref is not None else \
            f"{name}_seed{seed}" + (f"_psi{psi:g}" if psi != 1.0 else "")
        fakes = translate_v2(model, cfg, x, label, seed, psi, x_ref)
    else:
        if attrs is None or domain is not None or ref is not None:
            raise ValueError(f"{checkpoint} is a StarGAN v1 model, which translates to target "
                             f"attributes: give --attrs NAME=0|1,... (its attributes: "
                             f"{', '.join(cfg.selected_attrs + cfg.selected_attrs2)}), not "
                             f"--domain or --ref")
        targets = parse_attributes(attrs)
        x = load_pictures(pictures, cfg.image_size, fit)
        tag = ",".join(f"{k}={v}" for k, v in targets.items())
        fakes = translate_v1(model, cfg, x, targets)
    return write_outputs(pictures, x, fakes, Path(out), tag, strip)


def write_outputs(pictures: list[Path], x: torch.Tensor, fakes: torch.Tensor, out: Path,
                  tag: str, strip: bool) -> list[Path]:
    """``<out>/<name>_<tag>.png`` per translation (and its ``_strip.png``: input | output)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for picture, x_in, fake in zip(pictures, x, fakes):
        base = out / f"{Path(picture).stem}_{tag}"
        images = {base.with_name(base.name + ".png"): fake}
        if strip:
            images[base.with_name(base.name + "_strip.png")] = torch.cat([x_in, fake], dim=2)
        for path, image in images.items():
            to_pil(to_unit(image)).save(path)
            written.append(path)
    return written
