"""StarGAN v1 after training: the generator back from a checkpoint, and its result grids."""
from pathlib import Path

import torch
import torchvision.utils as vutils

from ..checkpoint import load_checkpoint
from ..viz import picture, side_by_side, to_unit
from .config import CHECKPOINT_KIND, V1Config
from .data import attribute_dataset
from .evaluate import sample_batch
from .labels import condition, create_labels, is_colour_attribute
from .model import Generator


@torch.no_grad()
def translate_to_targets(G, x, label_org, cfg: V1Config) -> list:
    """G(x, c) for every test target of ``create_labels`` (``(N, 3, H, W)`` each).

    ``label_org`` ``(N, k1)`` are the labels of ``x`` in the first dataset. In two-dataset mode the
    targets also include every class of the second dataset (official ``test_multi``).
    """
    targets = [condition(c, 0 if cfg.joint else None, cfg)
               for c in create_labels(label_org, list(cfg.selected_attrs))]
    if cfg.joint:
        no_class = label_org.new_zeros(len(label_org), len(cfg.selected_attrs2))
        targets += [condition(c, 1, cfg) for c in
                    create_labels(no_class, list(cfg.selected_attrs2), multi_label=False)]
    return [G(x, c) for c in targets]


def save_result_grid(x_real, fakes: list, path: Path) -> Path:
    """The official result layout: one row per input, ``[input | fake 1 | ... | fake K]``.

    ``x_real`` and each fake ``(N, 3, H, W)`` in [-1, 1] -> a PNG of size ``(N H) x ((K+1) W)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = torch.cat([x_real, *fakes], dim=3)
    vutils.save_image(to_unit(rows), path, nrow=1, padding=0)
    return path


def target_names(cfg: V1Config) -> list[str]:
    """Column names of ``translate_to_targets``: a colour is set, any other attribute flipped."""
    names = [a if is_colour_attribute(a) else f"{a}\nflipped" for a in cfg.selected_attrs]
    return names + list(cfg.selected_attrs2)


def save_samples(G, x, label_org, cfg: V1Config, path: Path) -> Path:
    """The sample grid of a run folder: one row per input, ``[input | one column per target]``,
    enlarged (each image at least 64 pixels) under a header naming the targets."""
    was_training = G.training
    G.eval()  # only stops the IN running-average updates: outputs are the same (model.py)
    fakes = translate_to_targets(G, x, label_org, cfg)
    G.train(was_training)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture(side_by_side(x, *fakes), len(fakes) + 1, ["input", *target_names(cfg)],
            min_tile=64).save(path)
    return path


def load_generator(checkpoint_path, device="cpu") -> tuple[Generator, V1Config]:
    """G and its config from a checkpoint written by ``train``."""
    return generator_from_state(load_checkpoint(checkpoint_path, device, kind=CHECKPOINT_KIND),
                                device)


def generator_from_state(state: dict, device="cpu") -> tuple[Generator, V1Config]:
    """``load_generator`` for a checkpoint already loaded (``load_checkpoint``)."""
    cfg = V1Config(**state["config"])
    G = Generator(cfg.g_conv_dim, cfg.c_dim, cfg.g_repeat_num).to(device)
    G.load_state_dict(state["G"])
    return G.eval(), cfg


def sample(checkpoint_path, image_root=None, attr_file=None, out_path="samples.png",
           num_images: int = 16, device="cpu") -> Path:
    """Save the official result grid for the first ``num_images`` test images.

    ``image_root`` / ``attr_file`` default to the checkpoint's dataset; the test split is the one
    of training (``test_count`` images, ``split_seed``).
    """
    G, cfg = load_generator(checkpoint_path, device)
    changes = {k: str(v) for k, v in (("image_root", image_root), ("attr_file", attr_file))
               if v is not None}
    if changes:
        cfg = cfg.replace(c_dim=cfg.c_dim, **changes)
    test = attribute_dataset(cfg, "test")
    x, labels = (t.to(device) for t in sample_batch(test, num_images))
    return save_result_grid(x, translate_to_targets(G, x, labels, cfg), out_path)
