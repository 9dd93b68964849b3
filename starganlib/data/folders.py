"""Domain folders (the AFHQ / CelebA-HQ layout) and StarGAN v2 training batches.

Layout: ``root/<split>/<domain>/*.png|jpg|jpeg``; the domain index is the position of the folder
name in sorted order (as in the official code). Training batches are a pure function of
``(seed, step)``: sources, references, augmentation and latent codes of step t are drawn from a
generator seeded with (seed, t). A run resumed at step t therefore sees exactly the batches an
uninterrupted run would, and DataLoader workers can build batches in any order.
"""
import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
PRELOAD_LIMIT_BYTES = 2 << 30  # preload a split into memory when it fits in 2 GiB


def list_domains(split_dir: Path) -> list[str]:
    """Sorted domain folder names of a split folder, with clear errors for a wrong layout."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"{split_dir} does not exist: expected a folder with one sub-folder of images per "
            f"domain, e.g. {split_dir}/cat/*.png and {split_dir}/dog/*.png")
    domains = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(domains) < 2:
        raise ValueError(
            f"{split_dir} has {len(domains)} domain folder(s) {domains}: StarGAN needs at least "
            f"two, one sub-folder of images per domain")
    return domains


def open_rgb(path: Path, min_size: int | None = None) -> Image.Image:
    """An image file as an upright RGB PIL image.

    Grey, palette, CMYK and 16-bit images are converted; transparent pixels are composited on
    white; the EXIF orientation of phone photos is applied. ``min_size``: a JPEG may be decoded
    at a reduced scale whose sides stay >= min_size (much faster for large photos). Raises
    ValueError naming the file when it cannot be decoded.
    """
    try:
        with Image.open(path) as img:
            if min_size is not None:
                img.draft(None, (min_size, min_size))
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257).astype(np.uint8))
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise ValueError(f"cannot read image {path}: {e} (corrupt or truncated file?)") from e


def load_image(path: Path, size: int) -> torch.Tensor:
    """An image file as ``(3, size, size)`` uint8 (converted as by ``open_rgb``)."""
    img = open_rgb(path)
    if img.size != (size, size):
        img = img.resize((size, size), Image.BICUBIC)
    return TF.pil_to_tensor(img)


def _readable(files: list[Path], size: int) -> list[Path]:
    """The files of ``files`` that decode, with a warning naming those that do not."""
    good, bad = [], []
    for f in files:
        try:
            load_image(f, size)
            good.append(f)
        except ValueError:
            bad.append(f)
    if bad:
        names = ", ".join(str(f) for f in bad[:5]) + (" ..." if len(bad) > 5 else "")
        warnings.warn(f"skipped {len(bad)} unreadable image(s) of {len(files)}: {names}")
    return good


class DomainFolder:
    """The images of one split (``root/<split>``): file paths, labels, and loaded pixels.

    ``images(indices)`` returns ``(N, 3, S, S)`` uint8. Splits that fit in memory are decoded
    once (``preload``); larger ones are read from disk on demand. An unreadable image is an
    error naming the file, unless ``skip_bad``: then every file is decoded once here, and the
    unreadable ones are left out with a warning that counts and names them.
    """

    def __init__(self, split_dir: Path, img_size: int, preload: bool | None = None,
                 skip_bad: bool = False):
        self.root = Path(split_dir)
        self.img_size = img_size
        self.domains = list_domains(self.root)
        self.files, labels = [], []
        for y, domain in enumerate(self.domains):
            files = sorted(p for p in (self.root / domain).rglob("*")
                           if p.suffix.lower() in IMAGE_EXTENSIONS)
            if skip_bad:
                files = _readable(files, img_size)
            if not files:
                raise ValueError(f"{self.root / domain} contains no {'readable ' if skip_bad else ''}"
                                 f".png/.jpg/.jpeg images")
            self.files += files
            labels += [y] * len(files)
        self.labels = torch.tensor(labels)
        self.by_domain = [torch.nonzero(self.labels == y).flatten() for y in range(len(self.domains))]
        if preload is None:
            preload = len(self.files) * 3 * img_size * img_size <= PRELOAD_LIMIT_BYTES
        self._pixels = self._load_all() if preload else None

    def __len__(self):
        return len(self.files)

    def _load_all(self) -> torch.Tensor:
        from tqdm.auto import tqdm
        images = [load_image(f, self.img_size)
                  for f in tqdm(self.files, desc=f"loading {self.root}", leave=False,
                                disable=len(self.files) < 2000)]
        return torch.stack(images)

    def images(self, indices: torch.Tensor) -> torch.Tensor:
        if self._pixels is not None:
            return self._pixels[indices]
        return torch.stack([load_image(self.files[i], self.img_size) for i in indices.tolist()])


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """The random generator of one training step (and one process rank)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 1_009 + rank)


def random_resized_crop_box(size: int, gen: torch.Generator) -> tuple[int, int, int, int]:
    """(top, left, height, width) with area in [0.8, 1] of the image and aspect in [0.9, 1.1]."""
    for _ in range(10):
        area = size * size * (0.8 + 0.2 * torch.rand((), generator=gen).item())
        log_ratio = math.log(0.9) + (math.log(1.1) - math.log(0.9)) * torch.rand((), generator=gen).item()
        w = round(math.sqrt(area * math.exp(log_ratio)))
        h = round(math.sqrt(area / math.exp(log_ratio)))
        if 0 < w <= size and 0 < h <= size:
            top = int(torch.randint(0, size - h + 1, (), generator=gen))
            left = int(torch.randint(0, size - w + 1, (), generator=gen))
            return top, left, h, w
    return 0, 0, size, size


def augment(images: torch.Tensor, gen: torch.Generator, randcrop_prob: float) -> torch.Tensor:
    """The official training transform on uint8 ``(N, 3, S, S)`` -> float in [-1, 1].

    With probability ``randcrop_prob`` a random resized crop (scale [0.8, 1], ratio [0.9, 1.1])
    back to S, then a horizontal flip with probability 0.5.
    """
    size = images.size(-1)
    out = []
    for img in images:
        if torch.rand((), generator=gen).item() < randcrop_prob:
            top, left, h, w = random_resized_crop_box(size, gen)
            img = TF.resized_crop(img, top, left, h, w, [size, size], antialias=True)
        if torch.rand((), generator=gen).item() < 0.5:
            img = img.flip(-1)
        out.append(img)
    return to_float(torch.stack(out))


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return images.float().div(127.5).sub(1)


class TrainBatches(torch.utils.data.Dataset):
    """Item ``step`` is the whole training batch of that step (balanced over domains).

    Returns a dict: ``x_src (N,3,S,S)``, ``y_src (N,)``, ``x_ref, x_ref2 (N,3,S,S)`` two images
    of domain ``y_ref (N,)``, and ``z_trg, z_trg2 (N, latent_dim)`` ~ N(0, I). Domains are drawn
    uniformly (the official balanced sampler), images uniformly within the domain. Each process
    ``rank`` (under torchrun) draws its own batch from its own random stream.
    """

    def __init__(self, folder: DomainFolder, batch_size: int, latent_dim: int, seed: int,
                 randcrop_prob: float = 0.5, rank: int = 0):
        self.folder, self.batch_size, self.latent_dim = folder, batch_size, latent_dim
        self.seed, self.randcrop_prob, self.rank = seed, randcrop_prob, rank

    def __len__(self):
        return 2**62  # indexed by step; the sampler says which steps are drawn

    def _draw(self, domains: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        picks = []
        for y in domains.tolist():
            pool = self.folder.by_domain[y]
            picks.append(pool[torch.randint(len(pool), (), generator=gen)])
        return torch.stack(picks)

    def __getitem__(self, step: int) -> dict:
        gen = step_generator(self.seed, step, self.rank)
        k, n = len(self.folder.domains), self.batch_size
        y_src = torch.randint(k, (n,), generator=gen)
        y_ref = torch.randint(k, (n,), generator=gen)
        idx_src, idx_ref, idx_ref2 = self._draw(y_src, gen), self._draw(y_ref, gen), self._draw(y_ref, gen)
        crop = self.randcrop_prob
        return {
            "x_src": augment(self.folder.images(idx_src), gen, crop), "y_src": y_src,
            "x_ref": augment(self.folder.images(idx_ref), gen, crop),
            "x_ref2": augment(self.folder.images(idx_ref2), gen, crop), "y_ref": y_ref,
            "z_trg": torch.randn(n, self.latent_dim, generator=gen),
            "z_trg2": torch.randn(n, self.latent_dim, generator=gen),
        }


def check_splits(root: Path) -> list[str]:
    """The domains of ``root/train``, after checking that ``root/val`` has the same ones."""
    root = Path(root)
    train, val = list_domains(root / "train"), list_domains(root / "val")
    if train != val:
        raise ValueError(f"{root}: train domains {train} and val domains {val} differ; "
                         f"both splits need the same domain folders")
    return train
