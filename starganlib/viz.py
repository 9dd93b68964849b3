"""Pictures: image grids (saved or shown), animations, and a run's logs for plotting."""
import csv
from pathlib import Path

import numpy as np
import torch
import torchvision.utils as vutils
from PIL import Image


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (possibly outside: G has no tanh) -> [0, 1], clamped."""
    return images.detach().float().cpu().add(1).div(2).clamp(0, 1)


def to_pil(image: torch.Tensor) -> Image.Image:
    """One image ``(3, H, W)`` in [0, 1] -> an RGB PIL image."""
    return Image.fromarray(image.mul(255).round().byte().permute(1, 2, 0).numpy())


def grid(images: torch.Tensor, nrow: int, padding: int = 2) -> torch.Tensor:
    """``(N, 3, H, W)`` in [-1, 1] -> one ``(3, H', W')`` grid image in [0, 1], ``nrow`` per row."""
    return vutils.make_grid(to_unit(images), nrow=nrow, padding=padding, pad_value=1.0)


def enlarged(image: Image.Image, scale: int) -> Image.Image:
    """``image`` scaled up ``scale`` times, nearest neighbour: every pixel stays a sharp square."""
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def labelled(image: Image.Image, tile: int, padding: int, labels: list[str] | None = None,
             row_labels: list[str] | None = None) -> Image.Image:
    """``image`` (a grid of ``tile``-pixel images with ``padding``) with a header that names
    each column and a margin on the left that names each row (a newline in a label starts a
    second line)."""
    from PIL import ImageDraw, ImageFont
    font = ImageFont.load_default(size=max(10, tile // 9))
    top = 2 * font.size + 4 if labels else 0
    left = round(0.9 * tile) if row_labels else 0
    out = Image.new("RGB", (image.width + left, image.height + top), "white")
    out.paste(image, (left, top))
    draw = ImageDraw.Draw(out)
    for column, text in enumerate(labels or []):
        x = left + padding + column * (tile + padding) + tile / 2
        draw.multiline_text((x, 2), text, fill="black", font=font, anchor="ma", align="center")
    for row, text in enumerate(row_labels or []):
        y = top + padding + row * (tile + padding) + tile / 2
        draw.multiline_text((left - 4, y), text, fill="black", font=font, anchor="rm", align="right")
    return out


def picture(images: torch.Tensor, nrow: int, labels: list[str] | None = None,
            row_labels: list[str] | None = None, min_tile: int = 128) -> Image.Image:
    """``(N, 3, H, W)`` images in [-1, 1] as one PIL grid with ``nrow`` images per row,
    enlarged (nearest neighbour) until each image is at least ``min_tile`` pixels wide, with
    ``labels`` naming the columns and ``row_labels`` the rows (see ``labelled``). A notebook
    shows the returned image as it is."""
    tile = images.shape[-1]
    rows = -(-len(images) // nrow)
    for names, count, what in ((labels, nrow, "columns"), (row_labels, rows, "rows")):
        if names is not None and len(names) != count:
            raise ValueError(f"{what} labels must name the {count} {what}, got {len(names)}")
    scale = max(1, -(-min_tile // tile))
    image = enlarged(to_pil(grid(images, nrow)), scale)
    if labels or row_labels:
        image = labelled(image, tile * scale, 2 * scale, labels, row_labels)
    return image


def save_grid(images: torch.Tensor, path: Path, nrow: int, labels: list[str] | None = None,
              row_labels: list[str] | None = None, min_tile: int = 128) -> Path:
    """Save ``picture(images, nrow, labels, row_labels, min_tile)`` as a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture(images, nrow, labels, row_labels, min_tile).save(path)
    return path


def side_by_side(*columns: torch.Tensor) -> torch.Tensor:
    """Columns of images, each ``(N, 3, H, W)``, as rows: ``(N * C, 3, H, W)`` for
    ``save_grid(..., nrow=C)`` (row i shows image i of every column)."""
    return torch.stack([c.detach().float().cpu() for c in columns], dim=1).flatten(0, 1)


def error_map(output: torch.Tensor, truth: torch.Tensor, full_scale: float = 0.5) -> torch.Tensor:
    """``|output - truth|`` per pixel (mean over RGB, in [0, 1] units) as heat-map images
    ``(N, 3, H, W)`` in [-1, 1]: black where right, through red and yellow to white at an error
    of ``full_scale`` or more."""
    from matplotlib import colormaps
    error = (to_unit(output) - to_unit(truth)).abs().mean(1) / full_scale
    heat = colormaps["inferno"](error.clamp(0, 1).numpy())[..., :3]
    return torch.from_numpy(heat).permute(0, 3, 1, 2).float().mul(2).sub(1)


def show_grid(images: torch.Tensor, nrow: int, title: str | None = None, ax=None, scale=1.0):
    """Draw a grid of ``(N, 3, H, W)`` images in [-1, 1] with matplotlib; returns the axes."""
    import matplotlib.pyplot as plt
    g = grid(images, nrow).permute(1, 2, 0).numpy()
    if ax is None:
        h, w = g.shape[:2]
        _, ax = plt.subplots(figsize=(scale * w / 40, scale * h / 40))
    ax.imshow(g, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def save_gif(frames: torch.Tensor, path: Path, fps: int = 8, nrow: int | None = None) -> Path:
    """An animated GIF, looping forth and back, of frames ``(T, N, 3, H, W)`` in [-1, 1]; each
    frame shows its N images as a grid with ``nrow`` per row (default: one row)."""
    pictures = [to_pil(grid(frame, nrow or frame.size(0))) for frame in frames]
    pictures += pictures[-2:0:-1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=round(1000 / fps),
                     loop=0)
    return path


def read_log(path: Path) -> dict[str, np.ndarray]:
    """A run's CSV log (``losses.csv``, ``metrics.csv``) as one float array per column, keyed
    by the names of its header (``"step"``, ``"D/latent_real"``, ...)."""
    with Path(path).open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"path {path} holds no rows of numbers (an empty log?)")
    return {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """The running mean of ``values`` over ``window`` entries, as long as ``values``: entry i
    is the mean of entries i - window + 1 to i, and NaN (which a plot leaves out) for the first
    ``window - 1`` entries, which have fewer predecessors; so ``plt.plot(log["step"],
    smooth(log[key], 50))`` draws each mean at the last step it covers."""
    if window < 1:
        raise ValueError(f"window must be a positive number of entries, got {window}")
    sums = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=float))])
    means = (sums[window:] - sums[:-window]) / window  # the windows that fit: len - window + 1
    return np.concatenate([np.full(len(sums) - 1 - len(means), np.nan), means])
