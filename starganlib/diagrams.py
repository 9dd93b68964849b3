"""Box-and-arrow diagrams for the lessons, drawn with matplotlib patches.

Coordinates are data units of an axes whose aspect is equal and whose frame is hidden
(``canvas``), except in the two pictures drawn to a scale of their own (the StarGAN v1
generator, the table of sub-steps). ``box`` draws a labelled rounded rectangle, ``arrow`` joins
two points with an optional label. The other functions each draw one lesson's picture on a
given axes: the course road map (00), the graphs of domains (02), the StarGAN v1 generator (03),
the StarGAN v2 networks (06, 08, 09), the two discriminators (11), the style reconstruction loop
(13) and the networks each training sub-step trains (16).
"""
import math

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

NET_COLOURS = {"G": "#f4cccc", "F": "#d9ead3", "E": "#cfe2f3", "D": "#fff2cc"}
NET_NAMES = {"G": "generator", "F": "mapping", "E": "style encoder", "D": "discriminator"}


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


def lesson_map(ax, parts: list[tuple[str, str, list[str]]], row_lengths: list[int]):
    """The course as numbered boxes in reading order, an arrow from each lesson to the next.
    ``parts`` lists ``(name, colour, lesson titles)`` (lessons are numbered from 00 across the
    parts); ``row_lengths`` says how many lessons each row holds (rows are centred). Returns
    the list of boxes."""
    titles = [(title, colour) for _, colour, names in parts for title in names]
    if sum(row_lengths) != len(titles):
        raise ValueError(f"row_lengths must add up to the {len(titles)} lessons, "
                         f"got {sum(row_lengths)}")
    step, width, height = 1.45, 1.25, 0.95
    widest = max(row_lengths) * step
    canvas(ax, (-0.1, widest), (-1.3 * (len(row_lengths) - 1) - 0.1, 1.0))
    corners = [((widest - length * step) / 2 + col * step, -1.3 * row)
               for row, length in enumerate(row_lengths) for col in range(length)]
    patches = []
    for number, ((x, y), (title, colour)) in enumerate(zip(corners, titles)):
        patches.append(ax.add_patch(Rectangle((x, y), width, height, color=colour, alpha=0.35)))
        ax.text(x + width / 2, y + 0.66, f"{number:02d}", ha="center", fontsize=9, weight="bold")
        ax.text(x + width / 2, y + 0.3, title, ha="center", va="center", fontsize=7)
    for (x0, y0), (x1, y1) in zip(corners, corners[1:]):
        if y0 == y1:  # the next lesson in the same row
            start, end = (x0 + width, y0 + height / 2), (x1, y1 + height / 2)
        else:  # from the end of a row to the start of the next one
            start, end = (x0 + width / 2, y0), (x1 + width / 2, y1 + height)
        ax.annotate("", end, start, arrowprops=dict(arrowstyle="->"))
    for name, colour, _ in parts:
        ax.plot([], [], "s", color=colour, alpha=0.5, markersize=10, label=name)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, -0.02), ncol=len(parts), fontsize=8,
              frameon=False)
    ax.set_title("The lessons, in reading order")
    return patches


def domain_graph(ax, k: int, star: bool):
    """``k`` domains on a circle. ``star=False``: one arrow per ordered pair of domains, i.e.
    one two-domain generator each (``k (k - 1)`` arrows); ``star=True``: a single generator G
    in the middle, joined to every domain. Returns the list of domain discs."""
    angles = np.pi / 2 + 2 * np.pi * np.arange(k) / k
    points = np.stack([np.cos(angles), np.sin(angles)], 1)
    canvas(ax, (-1.3, 1.3), (-1.3, 1.3))
    if star:
        for p in points:
            ax.annotate("", p * 0.82, (0, 0), arrowprops=dict(arrowstyle="<->", color="tab:orange",
                                                              lw=1.5))
        ax.add_patch(Circle((0, 0), 0.2, color="tab:orange"))
        ax.text(0, 0, "G", ha="center", va="center", color="white", weight="bold")
    else:  # bent arrows, so that both directions of a pair show
        for i in range(k):
            for j in range(k):
                if i != j:
                    ax.annotate("", points[j] * 0.85, points[i] * 0.85, arrowprops=dict(
                        arrowstyle="->", color="tab:blue", lw=0.8, connectionstyle="arc3,rad=0.12"))
    discs = []
    for i, p in enumerate(points):
        discs.append(ax.add_patch(Circle(p, 0.16, color="lightgrey", zorder=3)))
        ax.text(*p, str(i + 1), ha="center", va="center", zorder=4)
    return discs


V1_LAYER_COLOURS = {"Conv": "tab:blue", "Res": "tab:orange", "ConvT": "tab:green"}


def v1_generator_diagram(ax, stages: list[tuple[str, int, int]]):
    """The StarGAN v1 generator as a row of boxes, one per stage: ``stages`` lists
    ``(kind, channels, size)`` with ``kind`` one of ``Conv`` (blue), ``Res`` (a residual block,
    orange), ``ConvT`` (green), anything else grey (the input). A box is ``size`` high and
    ``channels / 40`` wide (linear scales, unlike ``generator_diagram``). Returns the boxes."""
    left, patches = 0.0, []
    for kind, channels, size in stages:
        width = channels / 40
        patches.append(ax.add_patch(Rectangle((left, -size / 2), width, size, alpha=0.7,
                                              color=V1_LAYER_COLOURS.get(kind, "grey"))))
        ax.text(left + width / 2, size / 2 + 4, f"{channels}\n@{size}", ha="center", fontsize=7)
        left += width + 1.2
    top = max(size for _, _, size in stages)
    ax.set_xlim(-1, left)
    ax.set_ylim(-0.6 * top, 0.67 * top)
    ax.axis("off")
    blocks = sum(kind == "Res" for kind, _, _ in stages)
    ax.set_title(f"G at {top} px: encoder (blue), {blocks} residual blocks (orange), decoder "
                 "(green); box height = size, width = channels")
    return patches


def mapping_network_diagram(ax, domains: list[str], latent_dim: int, hidden_dim: int,
                            style_dim: int):
    """The mapping network F(z, y) with its layer sizes: a shared trunk, one head per domain,
    the head of domain y picked for each sample. Returns the dict of boxes (``trunk``,
    ``pick``, and each domain's name)."""
    k, h = len(domains), hidden_dim
    centre = [2.0 + 1.4 * ((k - 1) / 2 - i) for i in range(k)]
    canvas(ax, (-0.1, 10.1), (centre[-1] - 0.5, centre[0] + 0.5))
    small = dict(fontsize=8, color="#dddddd")
    box(ax, (0.55, 2.0), f"z ~ N(0, I)\n(N, {latent_dim})", 1.1, 0.8, **small)
    boxes = {"trunk": box(ax, (2.6, 2.0), f"shared trunk\nLinear {latent_dim}→{h}, ReLU\n"
                                         f"3 × (Linear {h}→{h},\nReLU)", 2.3, 1.4, "#ccddee", 8)}
    for name, y in zip(domains, centre):
        boxes[name] = box(ax, (5.45, y), f"head '{name}'\n3 × (Linear {h}→{h}, ReLU)\n"
                                         f"Linear {h}→{style_dim}", 2.3, 0.8, "#ffddbb", 8)
        arrow(ax, (3.75, 2.0), (4.3, y))
        arrow(ax, (6.6, y), (7.3, 2.0))
    boxes["pick"] = box(ax, (7.95, 2.0), f"stack\n(N, K, {style_dim})\n\npick row y", 1.3, 1.4,
                        "#eeffcc", 8)
    box(ax, (9.55, 2.0), f"s\n(N, {style_dim})", 0.9, 0.8, **small)
    arrow(ax, (1.1, 2.0), (1.45, 2.0))
    arrow(ax, (8.6, 2.0), (9.1, 2.0))
    ax.text(7.95, 1.15, "y (N,) chooses\nthe domain's head", ha="center", va="top", fontsize=8)
    ax.set_title("MappingNetwork F(z, y): one trunk for all domains, one head per domain")
    return boxes


def v1_discriminator_diagram(ax):
    """StarGAN v1's discriminator at 128 px: one trunk, two heads (real/fake patches D_src and
    the attribute classifier D_cls). Returns the dict of boxes ``trunk, D_src, D_cls``."""
    canvas(ax, (-0.1, 5.2), (0.2, 3.8))
    box(ax, (0.4, 2.0), "x", 0.8, 0.8, "#dddddd", 8)
    boxes = {"trunk": box(ax, (2.0, 2.0), "trunk\n6 × conv 4×4\nstride 2", 1.6, 1.6, "#ccddee", 8),
             "D_src": box(ax, (4.15, 3.0), "D_src: conv 3×3\n(N, 1, 2, 2)\nreal or fake?", 1.7,
                          1.0, "#ffddbb", 8),
             "D_cls": box(ax, (4.15, 1.0), "D_cls: conv\n(N, c)\nwhich labels?", 1.7, 1.0,
                          "#eeffcc", 8)}
    for start, end in [((0.8, 2.0), (1.2, 2.0)), ((2.8, 2.2), (3.3, 3.0)), ((2.8, 1.8), (3.3, 1.0))]:
        arrow(ax, start, end)
    ax.set_title("StarGAN v1 (128 px): real/fake + auxiliary classifier")
    return boxes


def v2_discriminator_diagram(ax, domains: list[str]):
    """StarGAN v2's multi-task discriminator: one trunk, a 1x1 convolution to one real/fake
    logit per domain, and the logit of domain y picked for each sample. Returns the dict of
    boxes (``trunk``, ``pick``, and each domain's name)."""
    k = len(domains)
    centre = [2.0 + 0.95 * ((k - 1) / 2 - i) for i in range(k)]
    canvas(ax, (-0.1, 7.4), (min(0.2, centre[-1] - 0.5), max(3.8, centre[0] + 0.5)))
    box(ax, (0.4, 2.0), "x, y", 0.8, 0.8, "#dddddd", 8)
    boxes = {"trunk": box(ax, (2.0, 2.0), "trunk\nResBlks → 4×4\n→ 1×1", 1.6, 1.6, "#ccddee", 8)}
    box(ax, (3.75, 2.0), "conv 1×1\n→ (N, K)", 1.1, 1.6, "#ffddbb", 8)
    for name, y in zip(domains, centre):
        boxes[name] = box(ax, (5.3, y), f"real {name}?", 1.2, 0.7, "#ffddbb", 8)
        arrow(ax, (4.3, 2.0), (4.7, y))
        arrow(ax, (5.9, y), (6.3, 2.0))
    boxes["pick"] = box(ax, (6.8, 2.0), "pick\ncolumn y\n→ (N,)", 1.0, 0.8, "#eeffcc", 8)
    arrow(ax, (0.8, 2.0), (1.2, 2.0))
    arrow(ax, (2.8, 2.0), (3.2, 2.0))
    ax.set_title("StarGAN v2: one real/fake head per domain")
    return boxes


def style_reconstruction_diagram(ax):
    """The style reconstruction loop of StarGAN v2: s = F(z, y) styles G(x, s), E reads the
    style back from the fake as ŝ, and L_sty compares ŝ with s. Returns the dict of boxes
    ``F, G, E``."""
    canvas(ax, (-0.2, 10.5), (-0.3, 3.3))
    boxes = {"F": box(ax, (2.95, 1.6), "F(z, y)", 1.5, 0.8, NET_COLOURS["F"]),
             "G": box(ax, (5.15, 1.6), "G(x, s)", 1.5, 0.8, NET_COLOURS["G"]),
             "E": box(ax, (7.35, 1.6), "E(·, y)", 1.5, 0.8, NET_COLOURS["E"])}
    box(ax, (0.75, 1.6), "z ~ N(0, I)\ndomain y", 1.5, 0.8, "white")
    box(ax, (5.15, 0.2), "source x", 1.5, 0.8, "white")
    box(ax, (9.55, 1.6), "ŝ", 1.5, 0.8, "white")
    arrow(ax, (1.5, 1.6), (2.2, 1.6))
    arrow(ax, (3.7, 1.6), (4.4, 1.6), "s", label_offset=(0, 0.05))
    arrow(ax, (5.15, 0.6), (5.15, 1.2))
    arrow(ax, (5.9, 1.6), (6.6, 1.6), "fake", label_offset=(0, 0.05))
    arrow(ax, (8.1, 1.6), (8.8, 1.6))
    bend = 0.25  # the arc's top is bend * length / 2 above its ends; the label sits above it
    ax.add_patch(FancyArrowPatch((2.95, 2.05), (9.55, 2.05), arrowstyle="<->", mutation_scale=12,
                                 color="crimson", connectionstyle=f"arc3,rad=-{bend}"))
    ax.text(6.25, 2.05 + bend * 6.6 / 2 + 0.1, "L_sty = mean |s - ŝ|", color="crimson",
            ha="center", va="bottom", fontsize=11)
    ax.set_title("Style reconstruction: the style code must survive the trip through the image")
    return boxes


def substep_roles_diagram(ax, trained: dict[str, str], used: dict[str, str]):
    """A table of the four networks (rows G, F, E, D) against the training sub-steps
    (columns): ``trained`` and ``used`` map each sub-step's name to the letters of the
    networks it updates and of those its loss runs (e.g. ``{"G/ref": "G"}`` and
    ``{"G/ref": "EGD"}``). A cell says ``trained``, ``used, frozen`` or ``not used``.
    Returns the list of cells, column by column."""
    if set(trained) != set(used):
        raise ValueError(f"trained and used must name the same sub-steps, got {sorted(trained)} "
                         f"and {sorted(used)}")
    nets, cells = list(NET_NAMES), []
    for j, sub in enumerate(trained):
        for i, net in enumerate(nets):
            colour, text = (("#7fc97f", "trained") if net in trained[sub] else
                            ("#cfe2f3", "used,\nfrozen") if net in used[sub] else
                            ("white", "not used"))
            cells.append(ax.add_patch(Rectangle((j, -i), 0.95, 0.9, facecolor=colour,
                                                edgecolor="grey")))
            ax.text(j + 0.475, -i + 0.45, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(np.arange(len(trained)) + 0.475,
                  [f"{k + 1}. {sub}" for k, sub in enumerate(trained)])
    ax.set_yticks(-np.arange(len(nets)) + 0.45, [f"{n} {NET_NAMES[n]}" for n in nets])
    ax.set_xlim(0, len(trained))
    ax.set_ylim(-len(nets) + 0.9, 1)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("One StarGAN v2 iteration: who learns in each sub-step (then EMA of G, F, E)")
    return cells
