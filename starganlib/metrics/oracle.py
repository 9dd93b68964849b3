"""The toyfaces oracle: a small CNN that reads every factor of a toyfaces picture.

Because toyfaces pictures are rendered from known factors, a network trained on fresh renders
can judge translations directly, where FID and LPIPS only approximate:

* ``accuracy``: does the output belong to the target domain?
* ``content_error``: does the output keep the source's pose (position, size, tilt, gaze)?
* ``diversity``: do outputs for different latent codes (or references) differ in style?
* ``frechet``: the Frechet distance between fakes and real images in oracle feature space.

The oracle is trained on first use (under a minute on a CPU) and cached in
``data_dir()/oracles``.
"""
import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from torch import nn
from tqdm.auto import tqdm

from ..checkpoint import load_checkpoint, save_checkpoint
from ..data.folders import to_float
from ..data.toyfaces import (ATTRIBUTES, CONTENT_FACTORS, DOMAINS, EXPRESSION_LABELS, EXPRESSIONS,
                             FORMAT_VERSION, FUR_FAMILIES, MARKINGS, STYLE_DIM, render,
                             sample_factors)
from ..runtime.paths import data_dir, data_lock
from .fid import frechet_distance_of

CHECKPOINT_KIND = "toyfaces-oracle"
ORACLE_SIZE = 64  # the oracle looks at every image at 64 x 64
WIDTHS = (16, 32, 64, 128)  # four stride-2 convolutions: 64 -> 4 pixels
FEATURE_DIM = 64
LEARNING_RATE = 5e-3  # peak of the one-cycle schedule
# output name -> size; forward() splits the last layer in this order
HEADS = {"domain": len(DOMAINS), "content": len(CONTENT_FACTORS), "style": STYLE_DIM,
         "fur": len(FUR_FAMILIES), "glasses": 1, "expression": len(EXPRESSIONS)}
MIRRORED_CONTENT = [CONTENT_FACTORS.index(name) for name in ("cx", "tilt", "gaze_x")]
TRAIN_STREAM, HELD_OUT_STREAM = 0, 1  # the oracle never sees its held-out test pictures


def training_size(img_size: int) -> int:
    """The size of the renders an oracle for toyfaces of ``img_size`` px learns from."""
    if not 32 <= img_size <= 256:
        raise ValueError(f"img_size must be from 32 to 256 pixels (toyfaces sizes), got {img_size}")
    return min(img_size, ORACLE_SIZE)


class Oracle(nn.Module):
    """``forward(x)`` with ``x`` ``(N, 3, S, S)`` in [-1, 1], any S (resized to 64 x 64):

    ``domain (N, 3)``, ``fur (N, 3)``, ``expression (N, 4)`` logits; ``glasses (N,)`` logit;
    ``content (N, 6)`` normalised content factors; ``style (N, 11)`` style vector (see
    ``Factors.content_vector`` / ``style_vector``); ``features (N, 64)`` penultimate features
    (before the ReLU, so that none is constant: the Frechet distance needs their covariance).
    ``img_size`` is the toyfaces size it is trained for (its training renders).
    """

    def __init__(self, img_size: int = 64):
        super().__init__()
        self.img_size = training_size(img_size)
        layers, channels = [], 3
        for width in WIDTHS:
            layers += [nn.Conv2d(channels, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 16, FEATURE_DIM))
        self.heads = nn.Linear(FEATURE_DIM, sum(HEADS.values()))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"x must be (N, 3, H, W) in [-1, 1], got shape {tuple(x.shape)}")
        if x.shape[-2:] != (ORACLE_SIZE, ORACLE_SIZE):
            x = F.interpolate(x, size=(ORACLE_SIZE, ORACLE_SIZE), mode="bilinear",
                              align_corners=False, antialias=True)
        features = self.body(x)
        out = dict(zip(HEADS, self.heads(F.relu(features)).split(list(HEADS.values()), dim=1)))
        out["glasses"] = out["glasses"].squeeze(1)
        out["features"] = features
        return out


# ---------------------------------------------------------------- training

def render_batch(n: int, size: int, rng: np.random.Generator,
                 progress: bool = False) -> tuple[torch.Tensor, dict]:
    """``n`` fresh random toyfaces ``(n, 3, size, size)`` uint8 and their targets (tensors):
    ``domain, fur, expression (n,)`` classes, ``glasses (n,)`` 0/1, ``content (n, 6)``, ``style
    (n, 11)``."""
    factors = [sample_factors(rng) for _ in range(n)]
    pixels = np.stack([np.asarray(render(f, size))
                       for f in tqdm(factors, desc="rendering toyfaces", disable=not progress)])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()
    targets = {
        "domain": torch.tensor([f.domain for f in factors]),
        "content": torch.from_numpy(np.stack([f.content_vector() for f in factors])),
        "style": torch.from_numpy(np.stack([f.style_vector() for f in factors])),
        "fur": torch.tensor([f.fur_family for f in factors]),
        "glasses": torch.tensor([float(f.glasses) for f in factors]),
        "expression": torch.tensor([f.expression for f in factors]),
    }
    return x, targets


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mild damage so the oracle also judges imperfect GAN outputs: a slight blur on a third
    of the images, brightness and per-channel colour jitter, Gaussian noise (sigma <= 0.06)."""
    n = x.shape[0]

    def uniform(*shape, low=-1.0, high=1.0):
        return low + (high - low) * torch.rand(*shape, generator=gen)

    sigma = float(uniform(1, low=0.3, high=1.0))
    blurred = TF.gaussian_blur(x, kernel_size=5, sigma=sigma)
    x = torch.where(torch.rand(n, 1, 1, 1, generator=gen) < 1 / 3, blurred, x)
    x = (x + 1) * (1 + 0.1 * uniform(n, 1, 1, 1)) - 1 + 0.05 * uniform(n, 3, 1, 1)
    x = x + uniform(n, 1, 1, 1, low=0.0, high=0.06) * torch.randn(x.shape, generator=gen)
    return x.clamp(-1, 1)


def mirror(x: torch.Tensor, content: torch.Tensor, flip: torch.Tensor):
    """Mirror the images where ``flip`` ``(N,)`` is True: a mirrored toyface has mirrored
    content factors (cx, tilt and gaze_x reflect about the middle of their ranges)."""
    mirrored = content.clone()
    mirrored[:, MIRRORED_CONTENT] = 1 - mirrored[:, MIRRORED_CONTENT]
    return (torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x),
            torch.where(flip.view(-1, 1), mirrored, content))


def oracle_loss(out: dict, targets: dict) -> torch.Tensor:
    """Cross-entropy for the classes, binary cross-entropy for glasses, mean squared error
    (weighted 30 for content, 10 for style) for the regressed vectors."""
    return (F.cross_entropy(out["domain"], targets["domain"])
            + F.cross_entropy(out["fur"], targets["fur"])
            + F.cross_entropy(out["expression"], targets["expression"])
            + F.binary_cross_entropy_with_logits(out["glasses"], targets["glasses"])
            + 30 * F.mse_loss(out["content"], targets["content"])
            + 10 * F.mse_loss(out["style"], targets["style"]))


def train_oracle(img_size: int = 64, steps: int = 1000, batch_size: int = 64, pool: int = 8000,
                 seed: int = 0, device="cpu", progress: bool = True) -> Oracle:
    """Train an oracle for toyfaces of ``img_size`` px (returned in eval mode).

    Renders ``pool`` pictures once (``training_size(img_size)`` px), then takes ``steps`` Adam
    steps on random batches of them, mirrored (with mirrored targets) and mildly damaged
    (``augment``). Everything random comes from ``seed``.
    """
    if steps < 1 or batch_size < 2 or pool < batch_size:
        raise ValueError(f"need steps >= 1, batch_size >= 2 and pool >= batch_size; got steps="
                         f"{steps}, batch_size={batch_size}, pool={pool}")
    with torch.random.fork_rng(devices=[]):  # seeded weights, global RNG left untouched
        torch.manual_seed(seed)
        oracle = Oracle(img_size).to(device)
    x_pool, t_pool = render_batch(pool, oracle.img_size, np.random.default_rng([seed, TRAIN_STREAM]),
                                  progress)
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(oracle.parameters())
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LEARNING_RATE, total_steps=steps)
    oracle.train()
    for _ in tqdm(range(steps), desc=f"training the toyfaces oracle ({img_size}px)",
                  disable=not progress):
        idx = torch.randint(pool, (batch_size,), generator=gen)
        targets = {k: v[idx] for k, v in t_pool.items()}
        x, targets["content"] = mirror(x_pool[idx], targets["content"],
                                       torch.rand(batch_size, generator=gen) < 0.5)
        x = augment(to_float(x), gen)
        loss = oracle_loss(oracle(x.to(device)), {k: v.to(device) for k, v in targets.items()})
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return oracle.eval()


def oracle_path(img_size: int, seed: int = 0) -> Path:
    """Where ``load_oracle`` caches the oracle for ``img_size`` (one per training size)."""
    return data_dir() / "oracles" / f"oracle-{training_size(img_size)}-seed{seed}.pt"


def load_oracle(img_size: int = 64, device="cpu", seed: int = 0) -> Oracle:
    """The oracle for toyfaces of ``img_size`` px, frozen in eval mode on ``device``.

    Trained on first use (with a progress bar) and cached in ``oracle_path(img_size, seed)``
    (written atomically); later calls load the cache (``torch.load(weights_only=True)``). A
    cache made for another version of the toyfaces pictures is replaced.
    """
    path = oracle_path(img_size, seed)
    with data_lock(path.name):
        state = load_checkpoint(path, kind=CHECKPOINT_KIND) if path.is_file() else None
        if state is not None and state["toyfaces_version"] == FORMAT_VERSION:
            oracle = Oracle(state["img_size"])
            oracle.load_state_dict(state["state_dict"])
        else:
            oracle = train_oracle(img_size, seed=seed, device=device)
            save_checkpoint(path, {"kind": CHECKPOINT_KIND, "toyfaces_version": FORMAT_VERSION,
                                   "img_size": oracle.img_size,
                                   "state_dict": {k: v.cpu() for k, v in oracle.state_dict().items()}})
    return oracle.to(device).eval().requires_grad_(False)


# ---------------------------------------------------------------- metrics

@torch.no_grad()
def predict(oracle: Oracle, x: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
    """``oracle(x)`` in batches, on the oracle's device; outputs on the CPU."""
    device = next(oracle.parameters()).device
    parts = [oracle(chunk.to(device)) for chunk in x.split(batch_size)]
    return {k: torch.cat([p[k] for p in parts]).cpu() for k in parts[0]}


def _mean_pairwise_distance(style: torch.Tensor) -> float:
    """``style (R, N, D)``: mean over the N sources of the mean L2 distance between its R rows."""
    r = style.shape[0]
    if r < 2:
        return 0.0
    distances = torch.cdist(style.transpose(0, 1), style.transpose(0, 1))  # (N, R, R)
    return float(distances.sum(dim=(1, 2)).mean() / (r * (r - 1)))


@torch.no_grad()
def style_diversity(oracle: Oracle, outputs: torch.Tensor) -> float:
    """The ``diversity`` of ``translation_metrics`` alone, for outputs ``(R, N, 3, H, W)``."""
    r, n = outputs.shape[:2]
    return _mean_pairwise_distance(predict(oracle, outputs.flatten(0, 1))["style"].view(r, n, -1))


def _frechet(fake_features: torch.Tensor, y_trg: torch.Tensor, oracle, real_target) -> float:
    """Frechet distance of oracle features, per target domain when ``real_target`` is a dict."""
    if not isinstance(real_target, dict):
        return frechet_distance_of(fake_features, predict(oracle, real_target)["features"])
    distances = []
    for domain in sorted(set(y_trg.tolist())):
        if domain not in real_target:
            raise ValueError(f"real_target has no images of target domain {domain} "
                             f"(keys: {sorted(real_target)})")
        real = predict(oracle, real_target[domain])["features"]
        distances.append(frechet_distance_of(fake_features[y_trg == domain], real))
    return float(np.mean(distances))


@torch.no_grad()
def translation_metrics(oracle: Oracle, x_src: torch.Tensor, fakes: torch.Tensor,
                        y_trg: torch.Tensor, real_target=None) -> dict[str, float]:
    """How well ``fakes`` translate ``x_src`` to the domains ``y_trg``, judged by the oracle.

    x_src ``(N, 3, H, W)`` in [-1, 1]; fakes ``(R, N, 3, H, W)``: R outputs per source (different
    latent codes or references); y_trg ``(N,)``; real_target (optional) ``(M, 3, H, W)`` real
    images of the target domains, or a dict domain -> such a tensor.

    Returns ``accuracy`` (fraction of fakes classified as y_trg), ``content_error`` (mean
    absolute difference of normalised content factors, source vs fake), ``diversity`` (mean
    over sources of the mean pairwise L2 distance between the style vectors of its R outputs; 0
    for R = 1) and, with real_target, ``frechet`` (averaged over target domains for a dict).
    """
    if fakes.ndim != 5 or fakes.shape[1:] != x_src.shape or y_trg.shape != x_src.shape[:1]:
        raise ValueError(f"expected x_src (N, 3, H, W), fakes (R, N, 3, H, W) and y_trg (N,); got "
                         f"{tuple(x_src.shape)}, {tuple(fakes.shape)} and {tuple(y_trg.shape)}")
    r, n = fakes.shape[:2]
    y_trg = y_trg.cpu()
    src = predict(oracle, x_src)
    out = predict(oracle, fakes.flatten(0, 1))
    metrics = {
        "accuracy": float((out["domain"].argmax(1) == y_trg.repeat(r)).float().mean()),
        "content_error": float((out["content"].view(r, n, -1) - src["content"]).abs().mean()),
        "diversity": _mean_pairwise_distance(out["style"].view(r, n, -1)),
    }
    if real_target is not None:
        metrics["frechet"] = _frechet(out["features"], y_trg.repeat(r), oracle, real_target)
    return metrics


_ATTRIBUTE_PREDICTIONS = {  # attribute name -> is it on, from the oracle outputs
    **{name: (lambda out, k=k: out["fur"].argmax(1) == k) for k, name in enumerate(ATTRIBUTES[:3])},
    "Glasses": lambda out: out["glasses"] > 0,
    "Smiling": lambda out: out["expression"].argmax(1) == EXPRESSIONS.index("happy"),
    **{name: (lambda out, k=k: out["expression"].argmax(1) == k)
       for k, name in enumerate(EXPRESSION_LABELS)},
}


@torch.no_grad()
def attribute_accuracy(oracle: Oracle, x: torch.Tensor, attrs: torch.Tensor,
                       names=ATTRIBUTES) -> dict[str, float]:
    """Per-attribute accuracy of the oracle's reading of ``x`` ``(N, 3, H, W)`` against target
    attributes ``attrs`` ``(N, len(names))`` in {0, 1} (e.g. StarGAN v1 translations).

    ``names`` come from ``list_attr_toyfaces.txt`` (Black_Fur Ginger_Fur Grey_Fur Glasses
    Smiling) or ``list_expr_toyfaces.txt`` (Neutral Happy Surprised Angry).
    """
    unknown = [name for name in names if name not in _ATTRIBUTE_PREDICTIONS]
    if unknown:
        raise ValueError(f"unknown attribute(s) {unknown}; known: {list(_ATTRIBUTE_PREDICTIONS)}")
    if attrs.shape != (x.shape[0], len(names)):
        raise ValueError(f"attrs must be (N, {len(names)}) = ({x.shape[0]}, {len(names)}) for "
                         f"names {list(names)}, got {tuple(attrs.shape)}")
    out = predict(oracle, x)
    return {name: float((_ATTRIBUTE_PREDICTIONS[name](out) == attrs[:, i].cpu().bool()).float().mean())
            for i, name in enumerate(names)}


@torch.no_grad()
def content_baselines(oracle: Oracle, n: int = 300, size: int | None = None,
                      seed: int = 0) -> dict[str, float]:
    """The two ends of the ``content_error`` scale, measured on ``n`` fresh renders:

    ``ideal``: a perfect translation, i.e. the same content re-rendered with another domain and
    a new style (what is left is the oracle's own reading error); ``unrelated``: two independent
    toyfaces (no content kept at all). A translation's content error sits between the two.
    """
    size = size or oracle.img_size
    rng = np.random.default_rng([seed, HELD_OUT_STREAM])
    sources = [sample_factors(rng) for _ in range(n)]
    content = [dataclasses.asdict(f) for f in sources]
    ideal = [dataclasses.replace(sample_factors(rng, (f.domain + 1 + i % 2) % len(DOMAINS)),
                                 **{k: content[i][k] for k in CONTENT_FACTORS})
             for i, f in enumerate(sources)]
    unrelated = [sample_factors(rng) for _ in range(n)]

    def read(factors):
        pixels = np.stack([np.asarray(render(f, size)) for f in factors])
        return predict(oracle, to_float(torch.from_numpy(pixels).permute(0, 3, 1, 2)))["content"]

    src = read(sources)
    return {"ideal": float((read(ideal) - src).abs().mean()),
            "unrelated": float((read(unrelated) - src).abs().mean())}
