"""StarGAN v1 data: the datasets of a config and where their labels go.

One dataset (CelebA attributes, or toyfaces generated on first use), or two in the paper's
mask-vector mode (section 3.2): the second dataset's labels are one class per image, and each
dataset has its own outputs of D_cls and its own position in the mask vector.
"""
from dataclasses import dataclass
from pathlib import Path

from ..data.celeba import AttributeDataset
from .config import TOYFACES, V1Config


def data_paths(cfg: V1Config) -> tuple[Path, Path, Path | None]:
    """``(image_root, attr_file, attr_file2)``; toyfaces is generated on first use."""
    if cfg.image_root == TOYFACES:
        from ..data.toyfaces import ensure_toyfaces
        root = ensure_toyfaces(size=cfg.image_size)
    else:
        root = Path(cfg.image_root)
    in_root = cfg.image_root == TOYFACES
    attr_file = root / cfg.attr_file if in_root else Path(cfg.attr_file)
    attr_file2 = None
    if cfg.joint:
        attr_file2 = root / cfg.attr_file2 if in_root else Path(cfg.attr_file2)
    return root, attr_file, attr_file2


@dataclass
class LabelSource:
    """One dataset, and where its labels go: G's label vector and D_cls's outputs."""
    data: AttributeDataset
    multi_label: bool  # attributes (BCE) or one class each (CE)
    logits: slice  # this dataset's outputs of D_cls
    which: int | None  # its position in the mask vector; None with a single dataset
    tag: str  # prefix of its loss names


def attribute_dataset(cfg: V1Config, split: str, second: bool = False) -> AttributeDataset:
    """The ``split`` of the first (or, with ``second``, the second) dataset of ``cfg``."""
    root, attr_file, attr_file2 = data_paths(cfg)
    path, attrs = (attr_file2, cfg.selected_attrs2) if second else (attr_file, cfg.selected_attrs)
    return AttributeDataset(root, path, list(attrs), split, cfg.image_size, cfg.crop_size,
                            cfg.test_count, cfg.split_seed)


def label_sources(cfg: V1Config, split: str = "train") -> list[LabelSource]:
    """The datasets of ``cfg`` (one, or two in mask-vector mode) for ``split``."""
    first = attribute_dataset(cfg, split)
    if not cfg.joint:
        return [LabelSource(first, True, slice(None), None, "")]
    second = attribute_dataset(cfg, split, second=True)
    bad = (second.labels.sum(dim=1) != 1).nonzero().flatten()
    if len(bad):
        raise ValueError(f"{second.attr_file}: the second dataset needs exactly one of "
                         f"{list(cfg.selected_attrs2)} set to 1 per image; "
                         f"{second.filenames[bad[0]]} has {int(second.labels[bad[0]].sum())}")
    k1 = len(cfg.selected_attrs)
    return [LabelSource(first, True, slice(0, k1), 0, "set1_"),
            LabelSource(second, False, slice(k1, cfg.cls_dim), 1, "set2_")]
