import io

import ipywidgets as widgets
import pytest
import torch
from PIL import Image

from starganlib.v2.nets import build_nets
from starganlib.widgets import (TRANSLATION_DEFAULTS, domain_names, translation_explorer,
                                translation_png)
from tests.conftest import tiny_v2_config

SIZE = 24


@pytest.fixture(scope="module")
def setup():
    cfg = tiny_v2_config(num_domains=3)
    torch.manual_seed(0)
    nets = build_nets(cfg).eval()
    gen = torch.Generator().manual_seed(1)
    sources = torch.rand(4, 3, cfg.img_size, cfg.img_size, generator=gen) * 2 - 1
    references = torch.rand(4, 3, cfg.img_size, cfg.img_size, generator=gen) * 2 - 1
    return nets, cfg, sources, torch.tensor([0, 1, 2, 0]), references, torch.tensor([2, 1, 0, 2])


def width_of(png: bytes) -> int:
    return Image.open(io.BytesIO(png)).size[0]


def last_panel(png: bytes) -> bytes:
    """The pixels of the right-most panel (the translation)."""
    image = Image.open(io.BytesIO(png))
    return image.crop((image.size[0] - SIZE, 0, image.size[0], SIZE)).tobytes()


def test_builds_headless_with_described_controls(setup):
    nets, cfg, sources, domains, refs, ref_domains = setup
    box = translation_explorer(nets, cfg, sources, domains, refs, ref_domains, size=SIZE)
    assert set(box.controls) == set(TRANSLATION_DEFAULTS)
    assert all(c.description for c in box.controls.values())
    assert isinstance(box.image, widgets.Image) and box.image.format == "png"
    assert width_of(box.image.value) == 2 * SIZE + 4  # source | translation
    assert box.controls["reference"].disabled and not box.controls["z_seed"].disabled


def test_toyfaces_domains_are_named():
    assert domain_names(tiny_v2_config(num_domains=3, dataset="toyfaces")) == ["cat", "dog", "wild"]
    assert domain_names(tiny_v2_config()) == ["domain 0", "domain 1"]


def test_z_seed_target_and_psi_change_the_picture(setup):
    nets, cfg, sources, domains, refs, ref_domains = setup
    box = translation_explorer(nets, cfg, sources, domains, refs, ref_domains, size=SIZE)
    seen = [box.image.value]
    for name, value in (("z_seed", 5), ("target", 2), ("psi", 0.0), ("source", 3)):
        box.controls[name].value = value
        assert box.image.value not in seen, name
        seen.append(box.image.value)
    values = {**TRANSLATION_DEFAULTS, "z_seed": 5, "target": 2, "psi": 0.0, "source": 3}
    assert box.image.value == translation_png(nets, cfg, sources, refs, ref_domains, values, SIZE)


def test_reference_mode_uses_the_reference(setup):
    nets, cfg, sources, domains, refs, ref_domains = setup
    box = translation_explorer(nets, cfg, sources, domains, refs, ref_domains, size=SIZE)
    box.controls["mode"].value = "reference"
    first = box.image.value
    assert width_of(first) == 3 * SIZE + 8  # source | reference | translation
    assert box.controls["target"].value == 2 and box.controls["target"].disabled
    box.controls["z_seed"].value = 7  # latent-only control: no effect in reference mode
    assert box.image.value == first
    box.controls["reference"].value = 1
    assert box.image.value != first
    assert box.controls["target"].value == 1  # the target follows the reference's domain
    box.controls["reference"].value = 3  # another reference of domain 2, like reference 0
    assert box.controls["target"].value == 2
    assert last_panel(box.image.value) != last_panel(first)  # its style, not just its domain
    values = {**TRANSLATION_DEFAULTS, "mode": "reference", "reference": 3}
    assert box.image.value == translation_png(nets, cfg, sources, refs, ref_domains, values, SIZE)
