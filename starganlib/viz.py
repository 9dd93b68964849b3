"""Pictures: image grids (saved or shown) and animations."""
from pathlib import Path

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


def save_grid(images: torch.Tensor, path: Path, nrow: int) -> Path:
    """Save ``(N, 3, H, W)`` images in [-1, 1] as one PNG grid with ``nrow`` images per row."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vutils.save_image(grid(images, nrow), path)
    return path


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
