"""CelebA-format attribute files and the image dataset they describe (StarGAN v1's data).

An attribute file (``list_attr_celeba.txt``, ``list_attr_toyfaces.txt``) has:

    202599                                   <- line 1: the number of images
    5_o_Clock_Shadow Arched_Eyebrows ...     <- line 2: the attribute names
    000001.jpg -1  1  1 -1 ...               <- one line per image: file name, then 1 or -1 per
                                                attribute, separated by runs of spaces

File names are relative to the image folder (``images/000001.jpg`` for CelebA; ``train/cat/
cat_00000.png`` for toyfaces, whose root holds the file).
"""
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image, UnidentifiedImageError

from .folders import PRELOAD_LIMIT_BYTES, to_float


def read_attributes(attr_file) -> tuple[list[str], list[tuple[str, tuple[int, ...]]]]:
    """Parse an attribute file into ``(names, rows)``, each row ``(file_name, (+-1, ...))``.

    Raises FileNotFoundError for a missing file and ValueError naming the file and line for a
    malformed one (bad count line, wrong number of columns, a value other than 1 / -1, or a count
    that differs from the number of rows).
    """
    attr_file = Path(attr_file)
    if not attr_file.is_file():
        raise FileNotFoundError(f"attribute file {attr_file} does not exist")
    lines = attr_file.read_text().splitlines()
    if len(lines) < 2:
        raise ValueError(f"{attr_file}: expected a count line and a line of attribute names, "
                         f"found {len(lines)} line(s)")
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise ValueError(f"{attr_file}, line 1: expected the number of images, "
                         f"got {lines[0].strip()!r}") from None
    names = lines[1].split()
    if not names:
        raise ValueError(f"{attr_file}, line 2: expected the attribute names, found none")
    rows = []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 1 + len(names):
            raise ValueError(f"{attr_file}, line {number}: expected a file name and "
                             f"{len(names)} values, found {len(fields)} columns")
        values = fields[1:]
        bad = [v for v in values if v not in ("1", "-1")]
        if bad:
            raise ValueError(f"{attr_file}, line {number}: values must be 1 or -1, "
                             f"found {bad[0]!r}")
        rows.append((fields[0], tuple(int(v) for v in values)))
    if count != len(rows):
        raise ValueError(f"{attr_file}, line 1: says {count} images but the file lists "
                         f"{len(rows)}")
    return names, rows


def write_attributes(attr_file, names: list[str], rows) -> Path:
    """Write ``(file_name, (+-1, ...))`` rows as an attribute file (e.g. for your own images)."""
    attr_file = Path(attr_file)
    lines = [str(len(rows)), " ".join(names)]
    for file_name, values in rows:
        if len(values) != len(names) or any(v not in (1, -1) for v in values):
            raise ValueError(f"row {file_name!r}: expected {len(names)} values of 1 or -1, "
                             f"got {list(values)}")
        lines.append(file_name + " " + " ".join(f"{v:2d}" for v in values))
    attr_file.parent.mkdir(parents=True, exist_ok=True)
    attr_file.write_text("\n".join(lines) + "\n")
    return attr_file


def attribute_indices(names: list[str], selected_attrs: list[str], attr_file="") -> list[int]:
    """The column of each selected attribute; ValueError naming any that is missing."""
    missing = [a for a in selected_attrs if a not in names]
    if missing:
        raise ValueError(f"selected attribute(s) {missing} not in {attr_file or 'the file'}; "
                         f"available: {' '.join(names)}")
    return [names.index(a) for a in selected_attrs]


def split_rows(num_rows: int, test_count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)``: a seeded shuffle, whose first ``test_count`` rows are test.

    The official code shuffles with Python's ``random.seed(1234)`` and keeps rows with
    ``(i + 1) < 2000``, i.e. 1,999 test images by an off-by-one; this takes exactly test_count.
    """
    if not 0 < test_count < num_rows:
        raise ValueError(f"test_count must be between 1 and {num_rows - 1} (the file lists "
                         f"{num_rows} images), got {test_count}")
    order = np.random.default_rng(seed).permutation(num_rows)
    return order[test_count:], order[:test_count]


def load_transformed(path: Path, image_size: int, crop_size: int | None) -> torch.Tensor:
    """An image file -> ``(3, image_size, image_size)`` uint8: RGB, CenterCrop, Resize."""
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
    except FileNotFoundError:
        raise FileNotFoundError(f"image {path} listed in the attribute file does not exist") from None
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e} (corrupt or truncated file?)") from e
    if crop_size is not None:
        img = TF.center_crop(img, [crop_size, crop_size])
    img = TF.resize(img, [image_size, image_size], antialias=True)
    return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()


class AttributeDataset(torch.utils.data.Dataset):
    """The images of one split of an attribute file, with their selected labels.

    ``labels`` ``(M, k)`` float in {0, 1} (1 where the file says 1), in ``selected_attrs`` order.
    Item i is ``(image (3, S, S) in [-1, 1], label (k,))`` without any random flip;
    ``random_batch`` draws training batches with the official training transform: random
    horizontal flip, CenterCrop(crop_size), Resize(image_size). The flip is applied last, which is
    the same image (crop and resize are symmetric). Splits that fit in memory are decoded once.
    """

    def __init__(self, image_root, attr_file, selected_attrs: list[str], split: str = "train",
                 image_size: int = 128, crop_size: int | None = None, test_count: int = 2000,
                 seed: int = 1234, flip: bool = True):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.image_root, self.attr_file = Path(image_root), Path(attr_file)
        if not self.image_root.is_dir():
            raise FileNotFoundError(f"image folder {self.image_root} does not exist")
        names, rows = read_attributes(self.attr_file)
        columns = attribute_indices(names, selected_attrs, self.attr_file)
        train_rows, test_rows = split_rows(len(rows), test_count, seed)
        picked = [rows[i] for i in (train_rows if split == "train" else test_rows)]
        self.selected_attrs = list(selected_attrs)
        self.filenames = [name for name, _ in picked]
        self.labels = torch.tensor([[float(values[c] == 1) for c in columns]
                                    for _, values in picked]).reshape(len(picked), len(columns))
        self.image_size, self.crop_size = image_size, crop_size
        self.flip = flip and split == "train"
        self._pixels = None
        if len(picked) * 3 * image_size ** 2 <= PRELOAD_LIMIT_BYTES:
            self._pixels = self.images(torch.arange(len(picked)))

    def __len__(self):
        return len(self.filenames)

    def images(self, indices: torch.Tensor) -> torch.Tensor:
        """The images at ``indices`` as ``(N, 3, S, S)`` uint8, unflipped."""
        if self._pixels is not None:
            return self._pixels[indices]
        return torch.stack([load_transformed(self.image_root / self.filenames[i],
                                             self.image_size, self.crop_size)
                            for i in indices.tolist()])

    def __getitem__(self, index: int):
        return to_float(self.images(torch.tensor([index])))[0], self.labels[index]

    def random_batch(self, batch_size: int, generator: torch.Generator):
        """``batch_size`` distinct random images ``(N, 3, S, S)`` in [-1, 1] and labels ``(N, k)``.

        Each image is flipped horizontally with probability 1/2 (train split, ``flip=True``).
        All draws come from ``generator``.
        """
        if batch_size > len(self):
            raise ValueError(f"batch_size {batch_size} exceeds the {len(self)} images of "
                             f"{self.attr_file}")
        indices = torch.randperm(len(self), generator=generator)[:batch_size]
        x = self.images(indices)
        if self.flip:
            flipped = torch.rand(batch_size, generator=generator) < 0.5
            x = torch.where(flipped.view(-1, 1, 1, 1), x.flip(-1), x)
        return to_float(x), self.labels[indices]

    def check_files(self) -> None:
        """FileNotFoundError naming the first missing image (and how many are missing)."""
        missing = [f for f in self.filenames if not (self.image_root / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} image(s) listed in {self.attr_file} are "
                                    f"missing under {self.image_root}, e.g. {missing[0]}")
