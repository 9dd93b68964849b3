"""Box-and-arrow diagrams for the lessons, drawn with matplotlib patches.

Coordinates are data units of an axes whose aspect is equal and whose frame is hidden
(``canvas``). ``box`` draws a labelled rounded rectangle, ``arrow`` joins two points with an
optional label. ``stargan_v2_diagram`` draws the four StarGAN v2 networks and what flows between
them; ``generator_diagram`` draws an encoder-decoder as a row of blocks sized by their shapes.
"""
import math

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

NET_COLOURS = {"G": "#f4cccc", "F": "#d9ead3", "E": "#cfe2f3", "D": "#fff2cc"}


def canvas(ax, xlim: tuple[float, float], ylim: tuple[float, float]):
    """Prepare ``ax`` for drawing: fixed limits, equal aspect, no frame or ticks. Returns ``ax``."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def box(ax, center: tuple[float, float], text: str, width: float = 1.6, height: float = 0.8,
        color: str = "#eeeeee", fontsize: float = 10) -> FancyBboxPatch:
    """A rounded rectangle of ``width x height`` centred on ``center`` with ``text`` inside."""
    x, y = center
    patch = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                           boxstyle="round,pad=0.02,rounding_size=0.12",
                           facecolor=color, edgecolor="black", linewidth=1.2)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return patch


def arrow(ax, start: tuple[float, float], end: tuple[float, float], label: str | None = None,
          color: str = "black", dashed: bool = False, fontsize: float = 9,
          label_offset: tuple[float, float] = (0.0, 0.15)) -> FancyArrowPatch:
    """An arrow from ``start`` to ``end``; ``label`` is written near its middle, shifted by
    ``label_offset``."""
    patch = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color,
                            linewidth=1.4, linestyle="--" if dashed else "-",
                            shrinkA=0, shrinkB=0)
    ax.add_patch(patch)
    if label:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        ax.text(mx + label_offset[0], my + label_offset[1], label, ha="center", va="bottom",
                fontsize=fontsize, color=color)
    return patch


def stargan_v2_diagram(ax):
    """The StarGAN v2 picture: F(z, y) or E(x_ref, y) gives a style code s; G(x, s) translates
    x; D(., y) judges the result for domain y. Returns a dict of the four boxes, keyed by the
    paper's letters ``G, F, E, D``."""
    canvas(ax, (-0.2, 11.2), (0.0, 5.0))
    boxes = {
        "F": box(ax, (2.6, 3.6), "F\nMappingNetwork", 2.4, 0.9, NET_COLOURS["F"]),
        "E": box(ax, (2.6, 1.2), "E\nStyleEncoder", 2.4, 0.9, NET_COLOURS["E"]),
        "G": box(ax, (6.4, 2.4), "G\nGenerator", 1.8, 1.0, NET_COLOURS["G"]),
        "D": box(ax, (9.6, 2.4), "D\nDiscriminator", 2.2, 1.0, NET_COLOURS["D"]),
    }
    arrow(ax, (0.0, 3.6), (1.4, 3.6), "z, y", label_offset=(0, 0.05))
    arrow(ax, (0.0, 1.2), (1.4, 1.2), "x_ref, y", label_offset=(0, 0.05))
    arrow(ax, (3.8, 3.6), (5.5, 2.65), "s", label_offset=(0.1, 0.1))
    arrow(ax, (3.8, 1.2), (5.5, 2.15), "or s", label_offset=(0.15, -0.45))
    arrow(ax, (6.4, 4.4), (6.4, 2.9), "x (source)", label_offset=(0.0, 0.8))
    arrow(ax, (7.3, 2.4), (8.5, 2.4), "G(x, s)", label_offset=(0, 0.05))
    arrow(ax, (9.6, 4.4), (9.6, 2.9), "y (which head)", label_offset=(0.0, 0.8))
    arrow(ax, (9.6, 1.9), (9.6, 0.6), "real/fake\nlogit for y", label_offset=(0.75, -0.35))
    return boxes


def generator_diagram(ax, blocks: list[tuple[str, int, int, bool]], max_height: float = 3.0):
    """An encoder-decoder as a row of bars, one per block: ``blocks`` lists
    ``(name, channels, size, styled)``; a bar's height grows with the feature map's side
    ``size`` (log scale) and its width with ``channels`` (log scale); ``styled`` bars (those that
    read the style code) are red, the others grey. Returns the list of bar patches."""
    sizes = [size for _, _, size, _ in blocks]
    top, bottom = math.log2(max(sizes)), math.log2(min(sizes))
    canvas(ax, (-0.5, 1.3 * len(blocks) + 0.2), (-1.6, max_height + 0.6))
    patches, x = [], 0.0
    for name, channels, size, styled in blocks:
        height = max_height * (0.25 + 0.75 * (math.log2(size) - bottom) / max(top - bottom, 1))
        width = 0.25 + 0.12 * math.log2(channels)
        patch = Rectangle((x, (max_height - height) / 2), width, height,
                          facecolor="#e06666" if styled else "#bbbbbb", edgecolor="black")
        ax.add_patch(patch)
        ax.text(x + width / 2, -0.15, name, ha="center", va="top", fontsize=7, rotation=90)
        ax.text(x + width / 2, max_height + 0.1, f"{channels}\n{size}", ha="center",
                va="bottom", fontsize=6)
        patches.append(patch)
        x += 1.3
    return patches
