"""The lesson diagrams draw the patches they promise, where they promise."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

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


def annotations(ax):
    return [t for t in ax.texts if isinstance(t, Annotation)]


PARTS = [("A", "tab:grey", ["a0", "a1", "a2"]), ("B", "tab:blue", ["b3", "b4"])]


def test_lesson_map_numbers_the_lessons_and_centres_the_rows(ax):
    boxes = diagrams.lesson_map(ax, PARTS, row_lengths=[3, 2])
    assert len(boxes) == 5 and len(annotations(ax)) == 4  # one arrow from each lesson to the next
    labels = [t.get_text() for t in ax.texts]
    assert [f"{n:02d}" for n in range(5)] == [t for t in labels if t.isdigit()]
    assert boxes[3].get_y() < boxes[2].get_y()  # the second row lies below the first
    assert boxes[3].get_x() > boxes[0].get_x()  # and, shorter, is centred under it
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A", "B"]


def test_lesson_map_rejects_rows_that_miss_lessons(ax):
    with pytest.raises(ValueError, match="row_lengths must add up to the 5 lessons, got 4"):
        diagrams.lesson_map(ax, PARTS, row_lengths=[2, 2])


def test_domain_graph_draws_one_generator_per_pair_or_one_in_total(ax):
    discs = diagrams.domain_graph(ax, 4, star=False)
    assert len(discs) == 4 and len(annotations(ax)) == 4 * 3
    ax.clear()
    diagrams.domain_graph(ax, 4, star=True)
    assert len(annotations(ax)) == 4
    assert "G" in [t.get_text() for t in ax.texts]


def test_v1_generator_diagram_boxes_follow_size_and_channels(ax):
    stages = [("input", 8, 128), ("Conv", 64, 128), ("Res", 256, 32), ("Res", 256, 32),
              ("ConvT", 64, 128)]
    boxes = diagrams.v1_generator_diagram(ax, stages)
    assert [b.get_height() for b in boxes] == [128, 128, 32, 32, 128]
    assert [b.get_width() for b in boxes] == pytest.approx([0.2, 1.6, 6.4, 6.4, 1.6])
    assert boxes[1].get_facecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb("tab:blue"))
    assert boxes[2].get_facecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb("tab:orange"))
    assert ax.get_title().startswith("G at 128 px: encoder (blue), 2 residual blocks")


def test_mapping_network_diagram_has_a_head_per_domain_with_the_sizes(ax):
    boxes = diagrams.mapping_network_diagram(ax, ["cat", "dog"], 16, 512, 64)
    assert set(boxes) == {"trunk", "pick", "cat", "dog"}
    labels = " ".join(t.get_text() for t in ax.texts)
    for text in ("head 'cat'", "head 'dog'", "Linear 16→512", "Linear 512→64", "(N, K, 64)"):
        assert text in labels
    assert boxes["cat"].get_y() > boxes["dog"].get_y()


def test_discriminator_diagrams_v1_two_heads_v2_one_head_per_domain():
    fig, (a1, a2) = plt.subplots(1, 2)
    assert set(diagrams.v1_discriminator_diagram(a1)) == {"trunk", "D_src", "D_cls"}
    boxes = diagrams.v2_discriminator_diagram(a2, ["cat", "dog", "wild"])
    assert set(boxes) == {"trunk", "pick", "cat", "dog", "wild"}
    assert {"real cat?", "real dog?", "real wild?"} <= {t.get_text() for t in a2.texts}
    plt.close(fig)


def test_style_reconstruction_label_sits_above_its_arc(ax):
    boxes = diagrams.style_reconstruction_diagram(ax)
    assert boxes["F"].get_x() < boxes["G"].get_x() < boxes["E"].get_x()
    ax.figure.canvas.draw()
    label, = [t for t in ax.texts if t.get_text().startswith("L_sty")]
    arc, = [p for p in ax.patches if isinstance(p, FancyArrowPatch) and p.get_edgecolor()[0] > 0.5]
    curve = np.concatenate([segment(np.linspace(0, 1, 21)) for segment, _ in
                            arc.get_path().iter_bezier()])  # drawn points, not control points
    arc_top = ax.transData.transform(curve)[:, 1].max()
    assert label.get_window_extent().y0 > arc_top  # the arc does not cross its label


def test_substep_roles_diagram_marks_trained_used_and_unused(ax):
    cells = diagrams.substep_roles_diagram(ax, {"D/x": "D", "G/x": "GF"}, {"D/x": "GD", "G/x": "GFD"})
    assert len(cells) == 2 * 4
    texts = [t.get_text() for t in ax.texts]  # column by column, rows G, F, E, D
    assert texts == ["used,\nfrozen", "not used", "not used", "trained",
                     "trained", "trained", "not used", "used,\nfrozen"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1. D/x", "2. G/x"]


def test_substep_roles_diagram_rejects_unmatched_substeps(ax):
    with pytest.raises(ValueError, match="trained and used must name the same sub-steps"):
        diagrams.substep_roles_diagram(ax, {"D/x": "D"}, {"G/x": "G"})
