"""Target labels for StarGAN v1: the test-time targets and the mask vector (paper section 3.2).

* ``create_labels``: one target label vector per attribute, as the official test and sampling
  code builds them. Colour attributes (hair or fur colours) are mutually exclusive: the target
  for a colour switches it on and the other colours off. Any other attribute is flipped.
  Training never uses these: its targets are shuffles of the batch's own labels.
* ``mask_vector_labels``: training on two datasets with different label sets (CelebA attributes
  and RaFD expressions in the paper). G's label is ``[c1 | c2 | m]``: the labels of the dataset the
  image comes from, zeros for the other dataset's unknown labels, and a one-hot mask m that says
  which part is known.
"""
import torch

from .config import V1Config

HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")


def is_colour_attribute(name: str) -> bool:
    """Hair colours (CelebA) and fur colours (toyfaces ``*_Fur``) exclude one another."""
    return name in HAIR_COLOURS or name.endswith("_Fur")


def create_labels(c_org, selected_attrs: list[str], multi_label: bool = True) -> list:
    """The ``c_dim`` target label vectors for images with labels ``c_org`` ``(N, c_dim)``.

    Target i is ``(N, c_dim)``. Multi-label (attributes): if attribute i is a colour, it is set to
    1 and every other colour to 0; otherwise attribute i is flipped (0 <-> 1) and the others kept.
    Single-label (e.g. expressions): target i is the one-hot vector of class i for every image.
    """
    if c_org.dim() != 2 or c_org.size(1) != len(selected_attrs):
        raise ValueError(f"c_org must have shape (N, {len(selected_attrs)}) to match "
                         f"selected_attrs {selected_attrs}, got {tuple(c_org.shape)}")
    colours = [i for i, name in enumerate(selected_attrs) if is_colour_attribute(name)]
    targets = []
    for i in range(len(selected_attrs)):
        c_trg = c_org.clone()
        if not multi_label:
            c_trg.zero_()
            c_trg[:, i] = 1
        elif i in colours:
            c_trg[:, colours] = 0
            c_trg[:, i] = 1
        else:
            c_trg[:, i] = 1 - c_trg[:, i]
        targets.append(c_trg)
    return targets


def mask_vector_labels(c1, c2, which: int, dims: tuple[int, int]):
    """G's label ``[c1 | c2 | mask]`` ``(N, dims[0] + dims[1] + 2)`` for a batch of dataset ``which``.

    ``c1`` ``(N, dims[0])`` and ``c2`` ``(N, dims[1])`` are the labels of the two datasets; the
    unknown one is None and becomes zeros. ``mask`` is one-hot: ``[1, 0]`` when the labels of
    dataset 0 are the ones to use, ``[0, 1]`` for dataset 1.
    """
    if which not in (0, 1):
        raise ValueError(f"which must be 0 (first dataset) or 1 (second dataset), got {which}")
    parts = [c1, c2]
    if parts[which] is None:
        raise ValueError(f"the labels of dataset {which} (which={which}) are needed, got None")
    known = parts[which]
    for k, (part, dim) in enumerate(zip(parts, dims)):
        if part is None:
            parts[k] = known.new_zeros(known.size(0), dim)
        elif part.dim() != 2 or part.shape != (known.size(0), dim):
            raise ValueError(f"c{k + 1} must have shape ({known.size(0)}, {dim}), "
                             f"got {tuple(part.shape)}")
    mask = known.new_zeros(known.size(0), 2)
    mask[:, which] = 1
    return torch.cat([parts[0], parts[1], mask], dim=1)


def condition(labels, which: int | None, cfg: V1Config):
    """G's label vector: the labels themselves, or ``[c1 | c2 | mask]`` in two-dataset mode."""
    if which is None:
        return labels
    dims = (len(cfg.selected_attrs), len(cfg.selected_attrs2))
    return mask_vector_labels(labels if which == 0 else None, labels if which == 1 else None,
                              which, dims)
