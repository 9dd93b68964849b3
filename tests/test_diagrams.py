"""The lesson diagrams draw the patches they promise, where they promise."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

from starganlib import diagrams  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_canvas_sets_limits_and_hides_frame(ax):
    diagrams.canvas(ax, (0, 5), (-1, 2))
    assert ax.get_xlim() == (0, 5) and ax.get_ylim() == (-1, 2)
    assert not ax.axison


def test_box_is_centred_and_labelled(ax):
    patch = diagrams.box(ax, (3.0, 2.0), "G", width=2.0, height=1.0)
    assert isinstance(patch, FancyBboxPatch)
    assert patch.get_x() == pytest.approx(2.0) and patch.get_y() == pytest.approx(1.5)
    assert patch.get_width() == pytest.approx(2.0) and patch.get_height() == pytest.approx(1.0)
    assert [t.get_text() for t in ax.texts] == ["G"]


def test_arrow_goes_from_start_to_end_with_label(ax):
    patch = diagrams.arrow(ax, (0, 0), (2, 0), "s", dashed=True)
    assert isinstance(patch, FancyArrowPatch)
    assert patch.get_linestyle() == "--"
    assert [t.get_text() for t in ax.texts] == ["s"]
    assert ax.texts[0].get_position()[0] == pytest.approx(1.0)  # the middle of the arrow
    assert diagrams.arrow(ax, (0, 0), (1, 1)) in ax.patches
    assert len(ax.texts) == 1  # no label, no text


def test_stargan_v2_diagram_has_the_four_networks(ax):
    boxes = diagrams.stargan_v2_diagram(ax)
    assert set(boxes) == {"G", "F", "E", "D"}
    labels = " ".join(t.get_text() for t in ax.texts)
    for name in ("MappingNetwork", "StyleEncoder", "Generator", "Discriminator", "G(x, s)"):
        assert name in labels
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == 8
    # the generator sits between the style networks and the discriminator
    assert boxes["F"].get_x() < boxes["G"].get_x() < boxes["D"].get_x()


def test_generator_diagram_sizes_and_colours(ax):
    blocks = [("enc", 16, 32, False), ("mid", 64, 8, False), ("dec", 16, 32, True)]
    bars = diagrams.generator_diagram(ax, blocks)
    assert all(isinstance(b, Rectangle) for b in bars) and len(bars) == 3
    assert bars[0].get_height() > bars[1].get_height()  # larger feature map, taller bar
    assert bars[1].get_width() > bars[0].get_width()  # more channels, wider bar
    assert bars[0].get_height() == pytest.approx(bars[2].get_height())
    assert bars[2].get_facecolor() != bars[0].get_facecolor()  # styled blocks stand out
