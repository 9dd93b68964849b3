"""StarGAN v2 configuration: one dataclass and named presets.

Paper presets (``afhq``, ``celeba-hq``) are the official settings: 256 px, batch 8, 100k
iterations, the official widths. ``toy`` is the CPU preset for the embedded toyfaces dataset.
``custom`` is the toy preset scaled to the image size of your own dataset folder.
"""
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from ..runtime.precision import check_precision
from .model import default_num_down, first_width, size_log2

CHECKPOINT_KIND = "stargan-v2"  # the "kind" entry of the checkpoints a V2Config run writes
# config fields that define the networks' shapes: a checkpoint only loads if they match
ARCHITECTURE_FIELDS = ("img_size", "num_domains", "latent_dim", "style_dim", "mapping_dim",
                       "base_dim", "max_conv_dim", "num_down", "w_hpf")


@dataclass
class V2Config:
    # data: "toyfaces" (generated on first use) or a folder with train/<domain> and val/<domain>
    dataset: str = "toyfaces"
    img_size: int = 256
    num_domains: int = 2
    domains: tuple[str, ...] = ()  # domain names in label order, recorded when training starts
    skip_bad_images: bool = False  # True: leave unreadable images out (with a warning), not stop
    # architecture
    latent_dim: int = 16
    style_dim: int = 64
    mapping_dim: int = 512  # hidden width of F (official: 512, hard-coded)
    base_dim: int | None = None  # first conv width of G, E, D (None: official 2**14 // img_size)
    max_conv_dim: int = 512
    num_down: int | None = None  # G's down blocks (None: official log2(img_size) - 4 [+1])
    w_hpf: float = 0.0  # > 0: high-pass skips with face masks (CelebA-HQ)
    # loss weights (paper eq. 5) and the diversity-weight schedule
    lambda_reg: float = 1.0  # R1
    lambda_sty: float = 1.0
    lambda_ds: float = 1.0  # initial value, decays linearly to 0 over ds_iter iterations
    lambda_cyc: float = 1.0
    ds_iter: int = 100_000
    # optimisation
    total_iters: int = 100_000
    batch_size: int = 8
    lr: float = 1e-4  # G, E, D
    f_lr: float = 1e-6  # mapping network
    beta1: float = 0.0
    beta2: float = 0.99
    weight_decay: float = 1e-4
    ema_beta: float = 0.999
    randcrop_prob: float = 0.5
    precision: str = "fp32"  # "bf16": bfloat16 autocast for the forward passes (CPU and CUDA)
    compile: bool = False  # torch.compile G: minutes of compiling first, then faster steps
    seed: int = 777
    # periods (iterations) and bookkeeping
    sample_every: int = 5_000
    save_every: int = 10_000
    eval_every: int = 50_000
    keep: int = 3  # checkpoints kept

    def __post_init__(self):
        self.domains = tuple(self.domains)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the field for settings that cannot work."""
        size_log2(self.img_size)
        if self.num_domains < 2:
            raise ValueError(f"num_domains must be >= 2 (translation needs two domains), "
                             f"got {self.num_domains}")
        if self.domains and len(self.domains) != self.num_domains:
            raise ValueError(f"domains {list(self.domains)} are {len(self.domains)} names, but "
                             f"num_domains is {self.num_domains}")
        check_precision(self.precision)
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {self.batch_size}")
        for name in ("total_iters", "ds_iter", "latent_dim", "style_dim", "mapping_dim",
                     "max_conv_dim", "sample_every", "save_every", "eval_every", "keep"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        num_down = self.num_down or default_num_down(self.img_size, self.w_hpf)
        if num_down > size_log2(self.img_size) - 2:
            raise ValueError(f"num_down={num_down} is too deep for img_size={self.img_size}")

    def replace(self, **changes) -> "V2Config":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS: dict[str, V2Config] = {
    "afhq": V2Config(dataset="data/afhq", num_domains=3, w_hpf=0.0, lambda_ds=2.0),
    "celeba-hq": V2Config(dataset="data/celeba_hq", num_domains=2, w_hpf=1.0),
    # toyfaces on a CPU (about 18 minutes on 2 cores). Deviations from the paper, chosen by
    # measuring oracle metrics against wall-clock time: narrow nets (16 -> 64 channels, 2 down
    # blocks at 32 px); lr 5e-4 (paper 1e-4) and f_lr 5e-5 so that 3,000 iterations suffice;
    # lambda_cyc 10 (paper 1): with few iterations G otherwise ignores the source and draws a
    # domain template; lambda_ds 0.5 (AFHQ 2), a weaker push to differ that leaves room to
    # learn content first; EMA beta 0.99 (paper 0.999) because 3,000 steps is a short average.
    "toy": V2Config(
        dataset="toyfaces", img_size=32, num_domains=3, style_dim=16, mapping_dim=128,
        base_dim=16, max_conv_dim=64, num_down=2, total_iters=3000, ds_iter=3000,
        lr=5e-4, f_lr=5e-5, lambda_ds=0.5, lambda_cyc=10.0, ema_beta=0.99,
        sample_every=500, save_every=500, eval_every=250),
}


CUSTOM = "custom"  # the toy preset scaled to a dataset folder's image size: see custom()


def scaled_toy(img_size: int, **overrides) -> V2Config:
    """The toy preset with its networks scaled to ``img_size`` (a power of two >= 16).

    Every doubling of the image over the toy's size adds one down block to each network, so that
    G's bottleneck keeps the toy's size (8 x 8 today), and doubles the deepest width
    (max_conv_dim); the full-resolution features keep the toy's first width (base_dim). The
    official rule does the opposite, 2**14 // img_size channels at full resolution, so that a
    64 px generator costs half as much as a 256 px one instead of a sixteenth. Everything else
    (losses, learning rates, iterations, batch) is the toy preset's.
    """
    toy = PRESETS["toy"]
    doublings = size_log2(img_size) - size_log2(toy.img_size)
    base_dim = first_width(toy.img_size, toy.base_dim, toy.max_conv_dim)
    bottleneck = toy.img_size >> (toy.num_down or default_num_down(toy.img_size, toy.w_hpf))
    return toy.replace(**{
        "img_size": img_size, "base_dim": base_dim,
        "max_conv_dim": max(base_dim, round(toy.max_conv_dim * 2.0**doublings)),
        "num_down": max(1, round(math.log2(img_size / bottleneck))), **overrides})


def custom(dataset, img_size: int | None = None, **overrides) -> V2Config:
    """``scaled_toy`` for a dataset folder with ``train/<domain>`` and ``val/<domain>``: one
    domain per folder, at ``img_size`` or else the size ``data prepare`` wrote (prepare.json)."""
    from ..data.folders import check_splits
    from ..data.prepare import read_manifest
    root = Path(dataset)
    domains = check_splits(root)
    if img_size is None:
        manifest = read_manifest(root)
        if manifest is None:
            raise ValueError(f"{root} has no prepare.json (it was not written by `python -m "
                             f"starganlib data prepare`): give the image size (--img-size)")
        img_size = manifest["size"]
    return scaled_toy(img_size, **{"dataset": str(root), "num_domains": len(domains), **overrides})


def preset(name: str, **overrides) -> V2Config:
    """A copy of the named preset with ``overrides`` applied (ValueError for an unknown name).
    ``custom`` needs the ``dataset`` folder (see ``custom``)."""
    if name == CUSTOM:
        if overrides.get("dataset") is None:
            raise ValueError("the custom preset needs a dataset folder (--dataset DIR), e.g. one "
                             "written by `python -m starganlib data prepare`")
        return custom(**overrides)
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join([*PRESETS, CUSTOM])}")
    return PRESETS[name].replace(**overrides)
