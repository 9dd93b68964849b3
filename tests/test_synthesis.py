"""Style interpolation frames and the animated GIF."""
import pytest
import torch
from PIL import Image

from starganlib.v2.synthesis import interpolate_styles, translate_latent
from starganlib.v2.nets import build_nets
from starganlib.viz import save_gif
from tests.conftest import tiny_v2_config


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return build_nets(tiny_v2_config()).eval()


def test_interpolation_runs_from_one_style_to_the_other(nets):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 16, 16, generator=gen) * 2 - 1
    y = torch.tensor([0, 1, 1])
    z1, z2 = torch.randn(2, 3, 4, generator=gen)
    s1, s2 = nets.mapping_network(z1, y), nets.mapping_network(z2, y)
    frames = interpolate_styles(nets, x, s1, s2, steps=5)
    assert frames.shape == (5, 3, 3, 16, 16)
    assert torch.allclose(frames[0], translate_latent(nets, x, y, z1), atol=1e-6)
    assert torch.allclose(frames[-1], translate_latent(nets, x, y, z2), atol=1e-6)
    assert not torch.allclose(frames[1], frames[0])
    with pytest.raises(ValueError, match="steps must be >= 2"):
        interpolate_styles(nets, x, s1, s2, steps=1)


def test_gif_loops_forth_and_back(tmp_path):
    frames = torch.linspace(-1, 1, 4).view(4, 1, 1, 1, 1).expand(4, 2, 3, 8, 8)
    path = save_gif(frames, tmp_path / "gif" / "styles.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == 6  # 4 frames, then 2 back to the start
        assert gif.size == (2 * 8 + 3 * 2, 8 + 2 * 2)  # two images in a row, 2 px padding
        assert gif.info["duration"] == 100 and gif.info["loop"] == 0
