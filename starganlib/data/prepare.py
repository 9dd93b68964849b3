"""Your own photos as a training dataset: domain folders of arbitrary images -> train/val.

    SRC/<domain>/**/*.jpg|png|webp|...   any size, aspect ratio and mode; some files may be corrupt
 -> DIR/train/<domain>/00000.png ...     square RGB PNGs of size N: the layout the trainers read
    DIR/val/<domain>/00000.png ...
    DIR/prepare.json                     the settings, the counts, the source of every output
                                         file, and every skipped file with the reason

Each photo is made square (centre crop, or padding to the longer side), resized with a Lanczos
filter (antialiased) and given to train or val by a shuffle of its domain's readable photos
seeded with ``seed`` and the domain's name: the same folder and settings give the same split.
The dataset is written into a hidden folder beside DIR and renamed to DIR only once complete,
so an interrupted run leaves no DIR behind; SRC is only read.
"""
import json
import math
import os
import shutil
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..v2.config import PRESETS
from .folders import open_rgb

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
FITS = ("crop", "pad")
MIN_SIZE = 16  # the smallest image StarGAN v2 takes
MANIFEST = "prepare.json"


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class DomainCounts:
    found: int = 0  # image files
    unreadable: int = 0
    enlarged: int = 0  # smaller than the output size, so upscaled (blurrier)
    train: int = 0
    val: int = 0


@dataclass
class PrepareReport:
    out: Path
    size: int
    fit: str
    counts: dict[str, DomainCounts]
    skipped: list[Skipped] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"prepared {len(self.counts)} domains at {self.size} px ({self.fit}) in {self.out}",
                 f"{'domain':16s} {'found':>6s} {'unreadable':>10s} {'enlarged':>8s} "
                 f"{'train':>6s} {'val':>5s}"]
        for name, c in self.counts.items():
            lines.append(f"{name:16s} {c.found:6d} {c.unreadable:10d} {c.enlarged:8d} "
                         f"{c.train:6d} {c.val:5d}")
        lines.append(f"skipped {len(self.skipped)} file(s)" + (":" if self.skipped else ""))
        lines += [f"  {s.path}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def square(img: Image.Image, fit: str) -> Image.Image:
    """A square crop of the centre (``fit="crop"``) or the whole image centred on a black square
    (``fit="pad"``)."""
    w, h = img.size
    if fit == "crop":
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        return img.crop((left, top, left + side, top + side))
    side = max(w, h)
    canvas = Image.new("RGB", (side, side))
    canvas.paste(img, ((side - w) // 2, (side - h) // 2))
    return canvas


def read_square(path: Path, size: int, fit: str = "crop") -> Image.Image:
    """The photo at ``path``, upright RGB and square (see ``square``); large JPEGs are decoded at
    a reduced scale that keeps the square's side >= ``size``. ValueError if unreadable."""
    return square(open_rgb(path, min_size=size), fit)


def resize(img: Image.Image, size: int) -> Image.Image:
    """A square image resized to ``size`` x ``size`` with the Lanczos filter."""
    return img.resize((size, size), Image.Resampling.LANCZOS)


def check_settings(size: int, fit: str, val_fraction: float, batch_size: int) -> None:
    if size < MIN_SIZE or size & (size - 1):
        raise ValueError(f"--size must be a power of two >= {MIN_SIZE} (the StarGAN networks "
                         f"halve the image down to 4 px), got {size}")
    if fit not in FITS:
        raise ValueError(f"--fit must be one of {', '.join(FITS)}, got {fit!r}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"--val-fraction must be between 0 and 1 (the share of each domain "
                         f"held out for validation), got {val_fraction}")
    if batch_size < 2:
        raise ValueError(f"--batch-size must be >= 2, got {batch_size}")


def find_photos(src: Path) -> tuple[dict[str, list[Path]], list[Skipped]]:
    """The image files of every domain folder of ``src`` (sorted), and the files passed over
    (hidden files, other file types). ValueError when ``src`` is not a folder of >= 2 domains."""
    if not src.is_dir():
        raise FileNotFoundError(f"{src} is not a folder: expected one sub-folder of photos per "
                                f"domain, e.g. {src}/cat/*.jpg and {src}/dog/*.jpg")
    domains = sorted(p.name for p in src.iterdir() if p.is_dir() and not p.name.startswith("."))
    if {"train", "val"} <= set(domains):
        raise ValueError(f"{src} holds train/ and val/ folders: it looks already split. Train on "
                         f"it as it is, or prepare from a folder of domain folders")
    if len(domains) < 2:
        loose = sum(p.suffix.lower() in PHOTO_EXTENSIONS for p in src.iterdir() if p.is_file())
        raise ValueError(
            f"{src} has {len(domains)} domain folder(s) {domains}"
            + (f" and {loose} photos directly inside it" if loose else "")
            + f": StarGAN translates between at least two domains; put the photos into one "
              f"sub-folder per domain, e.g. {src}/cat/ and {src}/dog/")
    photos, skipped = {}, []
    for domain in domains:
        photos[domain] = []
        for path in sorted(p for p in (src / domain).rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in path.relative_to(src).parts):
                skipped.append(Skipped(str(path), "hidden file"))
            elif path.suffix.lower() not in PHOTO_EXTENSIONS:
                kind = path.suffix or "no extension"
                skipped.append(Skipped(str(path), f"not a photo type read here ({kind}; read: "
                                                  f"{' '.join(PHOTO_EXTENSIONS)})"))
            else:
                photos[domain].append(path)
    return photos, skipped


def split(count: int, val_fraction: float, seed: int, domain: str) -> tuple[list[int], list[int]]:
    """Indices ``(train, val)`` of a domain's ``count`` photos: a seeded shuffle, whose first
    ``round(val_fraction * count)`` are val."""
    order = np.random.default_rng([seed, zlib.crc32(domain.encode())]).permutation(count).tolist()
    n_val = math.floor(val_fraction * count + 0.5)
    return sorted(order[n_val:]), sorted(order[:n_val])


def check_out(out: Path, src: Path) -> None:
    """``out`` must be new or an empty folder, outside ``src``."""
    if out.resolve().is_relative_to(src.resolve()):
        raise ValueError(f"--out {out} is inside the source folder {src}: choose a folder outside")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"--out {out} already exists and is not an empty folder: choose a "
                              f"new folder (nothing was written)")


def prepare(src: Path, out: Path, size: int = 64, fit: str = "crop", val_fraction: float = 0.1,
            seed: int = 0, batch_size: int = PRESETS["toy"].batch_size,
            progress: bool = True) -> PrepareReport:
    """Write the train/val dataset of the photos in ``src`` into the new folder ``out``.

    Every domain needs at least one val photo and ``batch_size`` train photos that decode;
    otherwise nothing is written and the ValueError names each domain that falls short.
    """
    src, out = Path(src), Path(out)
    check_settings(size, fit, val_fraction, batch_size)
    photos, skipped = find_photos(src)
    check_out(out, src)
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
        report = PrepareReport(out, size, fit, {d: DomainCounts(found=len(p)) for d, p in photos.items()},
                               skipped)
        readable = _convert_all(photos, partial, size, fit, report, progress)
        report.skipped.sort(key=lambda s: s.path)
        _check_counts(src, readable, report, val_fraction, seed, batch_size)
        files = _place(partial, readable, report, val_fraction, seed, src)
        (partial / MANIFEST).write_text(json.dumps({
            "size": size, "fit": fit, "val_fraction": val_fraction, "seed": seed,
            "source": str(src.resolve()), "counts": {d: asdict(c) for d, c in report.counts.items()},
            "files": files, "skipped": [asdict(s) for s in skipped]}, indent=1) + "\n")
        if out.exists():
            out.rmdir()  # empty (checked): the rename needs the name free on every system
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return report


def _convert_all(photos: dict, partial: Path, size: int, fit: str, report: PrepareReport,
                 progress: bool) -> dict[str, list[tuple[Path, Path]]]:
    """Convert every photo to ``partial/<domain>/<k>.png``; returns, per domain, the
    ``(source, converted)`` pairs of the photos that decoded (the others go to report.skipped)."""
    readable = {}
    with tqdm(total=sum(map(len, photos.values())), desc="preparing", disable=not progress) as bar:
        for domain, paths in photos.items():
            (partial / domain).mkdir()
            readable[domain] = []
            for k, path in enumerate(paths):
                bar.update()
                try:
                    img = read_square(path, size, fit)
                except ValueError as e:
                    report.counts[domain].unreadable += 1
                    detail = str(e.__cause__).replace(f" '{path}'", "")
                    report.skipped.append(Skipped(str(path), f"unreadable, corrupt or truncated "
                                                             f"({detail})"))
                    continue
                report.counts[domain].enlarged += img.width < size
                converted = partial / domain / f"{k:05d}.png"
                resize(img, size).save(converted)
                readable[domain].append((path, converted))
    return readable


def _check_counts(src: Path, readable: dict, report: PrepareReport, val_fraction: float,
                  seed: int, batch_size: int) -> None:
    problems = []
    for domain, pairs in readable.items():
        train, val = split(len(pairs), val_fraction, seed, domain)
        unreadable = report.counts[domain].unreadable
        have = f"{src / domain}: {len(pairs)} readable photos" + (
            f" ({unreadable} unreadable)" if unreadable else "")
        if not val:
            problems.append(f"{have} leave the validation split empty at --val-fraction "
                            f"{val_fraction}; add photos or raise --val-fraction")
        elif len(train) < batch_size:
            problems.append(f"{have} leave {len(train)} for training, fewer than the batch size "
                            f"{batch_size}; add photos or lower --batch-size")
    if problems:
        skipped = [f"{s.path}: {s.reason}" for s in report.skipped]
        raise ValueError("too few photos (nothing was written):\n  " + "\n  ".join(problems)
                         + ("\nskipped:\n  " + "\n  ".join(skipped) if skipped else ""))


def _place(partial: Path, readable: dict, report: PrepareReport, val_fraction: float, seed: int,
           src: Path) -> dict[str, str]:
    """Move the converted photos into ``partial/{train,val}/<domain>/``; returns the source of
    every output file (paths relative to the dataset and to ``src``)."""
    files = {}
    for domain, pairs in readable.items():
        for name, indices in zip(("train", "val"), split(len(pairs), val_fraction, seed, domain)):
            folder = partial / name / domain
            folder.mkdir(parents=True)
            for i, k in enumerate(indices):
                source, converted = pairs[k]
                os.replace(converted, folder / f"{i:05d}.png")
                files[f"{name}/{domain}/{i:05d}.png"] = source.relative_to(src).as_posix()
            setattr(report.counts[domain], name, len(indices))
        (partial / domain).rmdir()
    return files


def read_manifest(root: Path) -> dict | None:
    """The ``prepare.json`` of a dataset written by ``prepare`` (None if there is none)."""
    path = Path(root) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None
