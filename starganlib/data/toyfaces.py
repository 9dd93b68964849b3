"""toyfaces: procedural cartoon animal heads with known ground truth (the embedded dataset).

Every picture is a pure function of its ``Factors``:

* domain (``cat``, ``dog``, ``wild``), told apart by head geometry only: cats have pointed
  triangular ears, a small nose and whiskers; dogs long floppy ears hanging beside the head, a
  big muzzle and a large nose; wild animals (fox, wolf) tall narrow ears, a long pointed snout
  and a spiky cheek ruff. Colours never reveal the domain.
* style (what StarGAN v2's style code must capture; same distribution in every domain): fur
  colour family and shade, marking pattern and colour, eye colour, background colour.
* content (what a translation must keep): head position, size, tilt, gaze direction.
* labels for StarGAN v1: glasses and facial expression (mouth and eyebrows).

Shapes are drawn in head coordinates (head radius 1, y pointing down), mapped onto a canvas 4x
larger than the image, then box-downsampled: anti-aliased, and the same factors give the same
picture at every size. ``generate`` writes the AFHQ folder layout plus factor tables and
CelebA-format label files.
"""
import colorsys
import csv
import dataclasses
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw
from tqdm.auto import tqdm

from ..runtime.paths import data_dir, data_lock
from .celeba import write_attributes

DOMAINS = ("cat", "dog", "wild")
FUR_FAMILIES = ("black", "ginger", "grey")
MARKINGS = ("none", "stripes", "spots", "mask")
EXPRESSIONS = ("neutral", "happy", "surprised", "angry")
SPLITS = ("train", "val")
ATTRIBUTES = ("Black_Fur", "Ginger_Fur", "Grey_Fur", "Glasses", "Smiling")
EXPRESSION_LABELS = ("Neutral", "Happy", "Surprised", "Angry")
FORMAT_VERSION = 4  # 3: glasses frames contrast with the fur; 4: a wider mouth (both invisible at 32 px)
SUPERSAMPLING = 4
MIN_SIZE, MAX_SIZE = 32, 256

# (low, high) of every factor, inclusive; integers are indices into the name tuples above.
FACTOR_RANGES = {
    "domain": (0, len(DOMAINS) - 1),
    "fur_family": (0, len(FUR_FAMILIES) - 1),
    "fur_shade": (0.0, 1.0),  # lightness (and for ginger hue) within the family
    "marking": (0, len(MARKINGS) - 1),
    "marking_color": (0.0, 1.0),  # lightness of the markings
    "eye_color": (0.05, 0.7),  # iris hue: amber, yellow, green, cyan, blue
    "background": (0.25, 0.85),  # background hue: green to purple, never fur-like
    "cx": (0.42, 0.58),  # head centre, fraction of the image width
    "cy": (0.52, 0.6),  # head centre, fraction of the image height
    "size": (0.21, 0.29),  # head radius, fraction of the image width
    "tilt": (-20.0, 20.0),  # head rotation in degrees, clockwise
    "gaze_x": (-1.0, 1.0),  # pupil offset, left to right
    "gaze_y": (-1.0, 1.0),  # pupil offset, up to down
    "glasses": (0, 1),
    "expression": (0, len(EXPRESSIONS) - 1),
}
CONTENT_FACTORS = ("cx", "cy", "size", "tilt", "gaze_x", "gaze_y")
STYLE_FACTORS = ("fur_family", "fur_shade", "marking", "marking_color", "eye_color", "background")
STYLE_DIM = len(FUR_FAMILIES) + 1 + len(MARKINGS) + 3  # one-hots and numbers of style_vector()


@dataclass(frozen=True)
class Factors:
    """Everything that determines one toyfaces picture (ranges in ``FACTOR_RANGES``)."""
    domain: int
    fur_family: int
    fur_shade: float
    marking: int
    marking_color: float
    eye_color: float
    background: float
    cx: float
    cy: float
    size: float
    tilt: float
    gaze_x: float
    gaze_y: float
    glasses: bool
    expression: int

    def __post_init__(self):
        for name, (low, high) in FACTOR_RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"factor {name}={value} is outside its range [{low}, {high}]")

    def content_vector(self) -> np.ndarray:
        """``(6,)`` float32: the content factors, each scaled to [0, 1] by its range."""
        return np.array([_normalised(name, getattr(self, name)) for name in CONTENT_FACTORS],
                        dtype=np.float32)

    def style_vector(self) -> np.ndarray:
        """``(STYLE_DIM,)`` = ``(11,)`` float32 in [0, 1]: one-hot fur family, fur shade,
        one-hot marking, marking colour, eye colour and background (each scaled by its range)."""
        fur = np.eye(len(FUR_FAMILIES))[self.fur_family]
        marking = np.eye(len(MARKINGS))[self.marking]
        numbers = [self.fur_shade, self.marking_color, _normalised("eye_color", self.eye_color),
                   _normalised("background", self.background)]
        return np.concatenate([fur, numbers[:1], marking, numbers[1:]]).astype(np.float32)


def _normalised(name: str, value: float) -> float:
    low, high = FACTOR_RANGES[name]
    return (value - low) / (high - low)


def sample_factors(rng: np.random.Generator, domain: int | None = None) -> Factors:
    """Random factors; the domain is uniform unless given. Style, content and labels are drawn
    independently of the domain (marking colour is kept at least 0.3 in lightness from the fur,
    so markings stay visible)."""
    def uniform(name):
        return float(rng.uniform(*FACTOR_RANGES[name]))

    if domain is None:
        domain = int(rng.integers(len(DOMAINS)))
    fur_family, fur_shade = int(rng.integers(len(FUR_FAMILIES))), uniform("fur_shade")
    fur_lightness = colorsys.rgb_to_hls(*_fur_rgb(fur_family, fur_shade))[1]
    marking_color = uniform("marking_color")
    while abs(marking_color - fur_lightness) < 0.3:
        marking_color = uniform("marking_color")
    return Factors(
        domain=domain, fur_family=fur_family, fur_shade=fur_shade,
        marking=int(rng.integers(len(MARKINGS))), marking_color=marking_color,
        eye_color=uniform("eye_color"), background=uniform("background"),
        cx=uniform("cx"), cy=uniform("cy"), size=uniform("size"), tilt=uniform("tilt"),
        gaze_x=uniform("gaze_x"), gaze_y=uniform("gaze_y"),
        glasses=bool(rng.integers(2)), expression=int(rng.integers(len(EXPRESSIONS))))


# ---------------------------------------------------------------- colours (RGB floats in [0, 1])

def _fur_rgb(family: int, shade: float) -> tuple[float, float, float]:
    if FUR_FAMILIES[family] == "black":
        return colorsys.hls_to_rgb(0.6, 0.08 + 0.14 * shade, 0.1)
    if FUR_FAMILIES[family] == "ginger":
        return colorsys.hls_to_rgb(0.05 + 0.04 * shade, 0.45 + 0.15 * shade, 0.8)
    return colorsys.hls_to_rgb(0.6, 0.45 + 0.25 * shade, 0.06)


def _mix(a, b, t: float) -> tuple[float, ...]:
    return tuple((1 - t) * x + t * y for x, y in zip(a, b))


def _to_255(rgb) -> tuple[int, ...]:
    return tuple(round(255 * c) for c in rgb)


def _palette(f: Factors) -> dict[str, tuple[int, ...]]:
    """The RGB colours of every part of the picture."""
    fur = _fur_rgb(f.fur_family, f.fur_shade)
    hue, lightness, saturation = colorsys.rgb_to_hls(*fur)
    cream, pink, black = (0.96, 0.92, 0.86), (0.92, 0.63, 0.67), (0.0, 0.0, 0.0)
    colours = {
        "background": colorsys.hls_to_rgb(f.background, 0.82, 0.45),
        "fur": fur,
        "fur_dark": _mix(fur, black, 0.25),
        "fur_light": _mix(fur, cream, 0.35),
        "muzzle": _mix(fur, cream, 0.55),
        "inner_ear": _mix(fur, pink, 0.6),
        "marking": colorsys.hls_to_rgb(hue, f.marking_color, 0.6 * saturation),
        "iris": colorsys.hls_to_rgb(f.eye_color, 0.45, 0.75),
        "ink": (0.88, 0.86, 0.84) if lightness < 0.35 else (0.1, 0.08, 0.08),  # brows, whiskers
        "frame": (0.95, 0.93, 0.9) if lightness < 0.35 else (0.12, 0.12, 0.16),  # glasses
        "mouth": (0.2, 0.08, 0.1),
        "nose": (0.18, 0.12, 0.14),
        "eye_white": (0.97, 0.97, 0.95),
        "pupil": (0.03, 0.03, 0.05),
        "lens": (0.55, 0.75, 0.92),
    }
    return {name: _to_255(rgb) for name, rgb in colours.items()}


def background_rgb(f: Factors) -> tuple[int, ...]:
    """The 0..255 RGB colour of the background of ``f``'s picture."""
    return _palette(f)["background"]


# ---------------------------------------------------------------- shapes in head coordinates

_UNIT_CIRCLE = np.stack([np.cos(np.linspace(0, 2 * np.pi, 48, endpoint=False)),
                         np.sin(np.linspace(0, 2 * np.pi, 48, endpoint=False))], axis=1)
EYES = ((-0.38, -0.12), (0.38, -0.12))  # eye centres
EYE_RADIUS, IRIS_RADIUS, PUPIL_RADIUS, GAZE_SHIFT = 0.28, 0.16, 0.09, 0.12
LENS_RADIUS, FRAME_WIDTH = 0.37, 0.14  # the frame is over a pixel wide at 32 px


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> np.ndarray:
    """``(48, 2)`` points of an ellipse rotated by ``angle`` degrees."""
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    p = _UNIT_CIRCLE * (rx, ry)
    return p @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _curve(p0, p1, p2, n: int = 10) -> np.ndarray:
    """``(n, 2)`` points of the quadratic Bezier curve with control point ``p1``."""
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * np.array(p0) + 2 * t * (1 - t) * np.array(p1) + t ** 2 * np.array(p2)


class _Canvas:
    """Draws shapes given in head coordinates onto a supersampled image (or a mask)."""

    def __init__(self, f: Factors, canvas_size: int):
        radius = f.size * canvas_size
        c, s = np.cos(np.radians(f.tilt)), np.sin(np.radians(f.tilt))
        self.matrix = radius * np.array([[c, s], [-s, c]])  # row vectors: p @ matrix
        self.offset = np.array([f.cx, f.cy]) * canvas_size
        self.radius = radius

    def xy(self, points) -> list[float]:
        return (np.asarray(points, dtype=float) @ self.matrix + self.offset).ravel().tolist()

    def polygon(self, draw: ImageDraw.ImageDraw, points, fill) -> None:
        draw.polygon(self.xy(points), fill=fill)

    def line(self, draw: ImageDraw.ImageDraw, points, fill, width: float) -> None:
        draw.line(self.xy(points), fill=fill, width=max(1, round(width * self.radius)),
                  joint="curve")


HEAD = _ellipse(0, 0, 1.0, 0.92)


def _ears(domain: str) -> list[tuple[np.ndarray, str]]:
    """Outer and inner ear polygons (right side; mirrored for the left) with their colours."""
    if domain == "cat":
        return [(np.array([(0.88, -0.3), (0.22, -0.86), (0.78, -1.38)]), "fur"),
                (np.array([(0.72, -0.45), (0.38, -0.78), (0.73, -1.16)]), "inner_ear")]
    if domain == "dog":
        return [(_ellipse(0.98, 0.0, 0.3, 0.7, angle=-14), "fur_dark")]
    return [(np.array([(0.68, -0.55), (0.18, -0.86), (0.5, -1.8)]), "fur"),
            (np.array([(0.56, -0.66), (0.3, -0.82), (0.49, -1.5)]), "inner_ear")]


def _ruff() -> np.ndarray:
    """The spiky cheek ruff of wild animals: a zigzag around the lower half of the head."""
    angles = np.radians(np.linspace(-5, 185, 21))
    radii = np.where(np.arange(21) % 2 == 0, 1.28, 0.95)
    return np.stack([radii * np.cos(angles), 0.85 * radii * np.sin(angles) + 0.1], axis=1)


def _snout(domain: str, draw, canvas: _Canvas, colours) -> float:
    """Muzzle, nose (and whiskers for cats); returns the mouth height."""
    if domain == "cat":
        for side in (-1, 1):
            canvas.polygon(draw, _ellipse(0.13 * side, 0.44, 0.18, 0.13), colours["muzzle"])
        canvas.polygon(draw, [(-0.09, 0.3), (0.09, 0.3), (0.0, 0.39)], colours["nose"])
        for k in range(3):
            for side in (-1, 1):
                whisker = _curve((0.3, 0.42 + 0.06 * k), (0.7, 0.36 + 0.1 * k), (1.12, 0.3 + 0.16 * k))
                canvas.line(draw, whisker * (side, 1), colours["ink"], 0.035)
        return 0.56
    if domain == "dog":
        canvas.polygon(draw, _ellipse(0.0, 0.42, 0.52, 0.37), colours["muzzle"])
        canvas.polygon(draw, _ellipse(0.0, 0.22, 0.21, 0.14), colours["nose"])
        return 0.6
    canvas.polygon(draw, [(-0.42, 0.08), (0.42, 0.08), (0.2, 0.9), (0.0, 1.3), (-0.2, 0.9)],
                   colours["muzzle"])
    canvas.polygon(draw, _ellipse(0.0, 1.17, 0.12, 0.09), colours["nose"])
    return 0.8


def _markings(marking: str, draw, canvas: _Canvas) -> None:
    """The marking pattern (white on a mask image), later clipped to the head."""
    if marking == "stripes":
        for x in (-0.3, 0.0, 0.3):
            canvas.polygon(draw, [(x - 0.08, -1.0), (x + 0.08, -1.0), (x, -0.45)], 255)
        for side in (-1, 1):
            for y in (0.1, 0.3):
                canvas.polygon(draw, np.array([(1.05, y - 0.06), (1.05, y + 0.06), (0.6, y)])
                               * (side, 1), 255)
    elif marking == "spots":
        for x, y, r in ((-0.55, -0.5, 0.14), (0.45, -0.6, 0.12), (0.05, -0.72, 0.1),
                        (-0.75, 0.25, 0.13), (0.7, 0.3, 0.14), (-0.15, -0.5, 0.08)):
            canvas.polygon(draw, _ellipse(x, y, r, r), 255)
    elif marking == "mask":
        canvas.polygon(draw, _ellipse(0.0, -0.12, 1.0, 0.3), 255)


def _eyes(f: Factors, draw, canvas: _Canvas, colours) -> None:
    shift = (GAZE_SHIFT * f.gaze_x, GAZE_SHIFT * f.gaze_y)
    for x, y in EYES:
        if f.glasses:
            canvas.polygon(draw, _ellipse(x, y, LENS_RADIUS, LENS_RADIUS), colours["lens"])
        canvas.polygon(draw, _ellipse(x, y, EYE_RADIUS, EYE_RADIUS), colours["eye_white"])
        canvas.polygon(draw, _ellipse(x + shift[0], y + shift[1], IRIS_RADIUS, IRIS_RADIUS),
                       colours["iris"])
        canvas.polygon(draw, _ellipse(x + shift[0], y + shift[1], PUPIL_RADIUS, PUPIL_RADIUS),
                       colours["pupil"])
    if f.glasses:
        for x, y in EYES:
            rim = _ellipse(x, y, LENS_RADIUS, LENS_RADIUS)
            canvas.line(draw, np.concatenate([rim, rim[:1]]), colours["frame"], FRAME_WIDTH)
        for side in (-1, 1):
            canvas.line(draw, [(0.75 * side, -0.14), (0.98 * side, -0.24)], colours["frame"],
                        FRAME_WIDTH)


def _expression(expression: str, mouth_y: float, draw, canvas: _Canvas, colours) -> None:
    """Eyebrows and mouth of one of the ``EXPRESSIONS``."""
    brows = {  # right eyebrow: (inner end, control point, outer end)
        "neutral": ((0.18, -0.52), (0.38, -0.52), (0.58, -0.52)),
        "happy": ((0.18, -0.5), (0.38, -0.76), (0.58, -0.5)),
        "surprised": ((0.2, -0.64), (0.38, -0.84), (0.56, -0.64)),
        "angry": ((0.14, -0.4), (0.36, -0.5), (0.58, -0.68)),
    }[expression]
    for side in (-1, 1):
        canvas.line(draw, _curve(*brows) * (side, 1), colours["ink"], 0.09)
    if expression == "surprised":
        canvas.polygon(draw, _ellipse(0.0, mouth_y + 0.04, 0.13, 0.17), colours["mouth"])
        return
    bend = {"neutral": 0.0, "happy": 0.4, "angry": -0.32}[expression]
    mouth = _curve((-0.28, mouth_y), (0.0, mouth_y + bend), (0.28, mouth_y))
    canvas.line(draw, mouth, colours["mouth"], 0.12)  # about a pixel wide at 32 px


def render(factors: Factors, size: int) -> Image.Image:
    """The picture of ``factors``: an RGB ``PIL.Image`` of ``size x size``, size in 32..256.

    Drawn at 4x the size and box-downsampled (anti-aliasing); deterministic.
    """
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer from {MIN_SIZE} to {MAX_SIZE} pixels, got {size!r}")
    f, domain = factors, DOMAINS[factors.domain]
    canvas_size = SUPERSAMPLING * size
    colours = _palette(f)
    image = Image.new("RGB", (canvas_size, canvas_size), colours["background"])
    draw = ImageDraw.Draw(image)
    canvas = _Canvas(f, canvas_size)
    for outline, colour in _ears(domain):
        for side in (-1, 1):
            canvas.polygon(draw, outline * (side, 1), colours[colour])
    if domain == "wild":
        canvas.polygon(draw, _ruff(), colours["fur_light"])
    canvas.polygon(draw, HEAD, colours["fur"])
    if MARKINGS[f.marking] != "none":
        head_mask = Image.new("L", image.size, 0)
        canvas.polygon(ImageDraw.Draw(head_mask), HEAD, 255)
        pattern = Image.new("L", image.size, 0)
        _markings(MARKINGS[f.marking], ImageDraw.Draw(pattern), canvas)
        image.paste(colours["marking"], mask=ImageChops.multiply(pattern, head_mask))
    mouth_y = _snout(domain, draw, canvas, colours)
    _eyes(f, draw, canvas, colours)
    _expression(EXPRESSIONS[f.expression], mouth_y, draw, canvas, colours)
    return image.reduce(SUPERSAMPLING)


# ---------------------------------------------------------------- the dataset on disk

def image_factors(seed: int, split: str, domain: int, index: int) -> Factors:
    """The factors of image ``index`` of ``domain`` in ``split``: a pure function of these four
    numbers, so a larger dataset starts with the same images as a smaller one."""
    rng = np.random.default_rng([seed, SPLITS.index(split), domain, index])
    return sample_factors(rng, domain)


def _attribute_values(f: Factors) -> tuple[int, ...]:
    on = [f.fur_family == 0, f.fur_family == 1, f.fur_family == 2, f.glasses,
          EXPRESSIONS[f.expression] == "happy"]
    return tuple(1 if v else -1 for v in on)


def _expression_values(f: Factors) -> tuple[int, ...]:
    return tuple(1 if k == f.expression else -1 for k in range(len(EXPRESSIONS)))


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _render_split(folder: Path, split: str, counts: dict, size: int, seed: int, bar) -> list:
    """Render one split into ``folder``; returns ``(relative path, Factors)`` per image."""
    written = []
    for domain, name in enumerate(DOMAINS):
        (folder / split / name).mkdir(parents=True)
        for index in range(counts[split]):
            relative = f"{split}/{name}/{name}_{index:05d}.png"
            f = image_factors(seed, split, domain, index)
            render(f, size).save(folder / relative, compress_level=1)
            written.append((relative, f))
            bar.update()
    return written


def _write_tables(folder: Path, images: list) -> None:
    """factors.csv per split, and the two CelebA-format label files (even / odd indices)."""
    for split in SPLITS:
        rows = [{"path": path, "split": split, **{k: int(v) if isinstance(v, bool) else v
                                                  for k, v in dataclasses.asdict(f).items()}}
                for path, f in images if path.startswith(split + "/")]
        _write_csv(folder / split / "factors.csv", rows)

    def index_of(path):
        return int(path[-9:-4])

    write_attributes(folder / "list_attr_toyfaces.txt", list(ATTRIBUTES),
                     [(p, _attribute_values(f)) for p, f in images if index_of(p) % 2 == 0])
    write_attributes(folder / "list_expr_toyfaces.txt", list(EXPRESSION_LABELS),
                     [(p, _expression_values(f)) for p, f in images if index_of(p) % 2 == 1])


def _read_manifest(root: Path) -> dict | None:
    try:
        return json.loads((root / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def generate(root: Path, size: int = 64, train_per_domain: int = 1000, val_per_domain: int = 100,
             seed: int = 0, progress: bool = True) -> Path:
    """Write the toyfaces dataset into ``root`` and return ``root``.

    Layout: ``train/<domain>/<domain>_00000.png`` ... and ``val/...``; ``<split>/factors.csv``
    (relative path, split and every factor per image); ``list_attr_toyfaces.txt`` (CelebA format:
    Black_Fur Ginger_Fur Grey_Fur Glasses Smiling) over the images of even index and
    ``list_expr_toyfaces.txt`` (one-hot Neutral Happy Surprised Angry) over those of odd index;
    ``manifest.json``. A dataset already there with the same parameters is reused as is. The
    data is written to a temporary sibling folder renamed into place when complete.
    """
    root = Path(root)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be from {MIN_SIZE} to {MAX_SIZE} pixels, got {size}")
    if train_per_domain < 1 or val_per_domain < 1:
        raise ValueError(f"train_per_domain and val_per_domain must be >= 1, got "
                         f"{train_per_domain} and {val_per_domain}")
    counts = {"train": train_per_domain, "val": val_per_domain}
    manifest = {"format_version": FORMAT_VERSION, "size": size, "seed": seed,
                "train_per_domain": train_per_domain, "val_per_domain": val_per_domain,
                "domains": list(DOMAINS), "attributes": list(ATTRIBUTES),
                "expressions": list(EXPRESSION_LABELS)}
    if _read_manifest(root) == manifest:
        return root
    if root.is_dir() and any(root.iterdir()) and _read_manifest(root) is None:
        raise ValueError(f"{root} exists and is not a toyfaces dataset (no manifest.json): "
                         "choose a new or empty folder")
    partial = root.parent / f".{root.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
        total = len(DOMAINS) * (train_per_domain + val_per_domain)
        with tqdm(total=total, desc=f"toyfaces {size}px", disable=not progress) as bar:
            images = [item for split in SPLITS
                      for item in _render_split(partial, split, counts, size, seed, bar)]
        _write_tables(partial, images)
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _move_into_place(partial, root, manifest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return root


def _move_into_place(partial: Path, root: Path, manifest: dict) -> None:
    """Rename ``partial`` to ``root``, replacing an older toyfaces dataset there."""
    if _read_manifest(root) == manifest:  # another process finished the same dataset first
        shutil.rmtree(partial)
        return
    old = root.parent / f".{root.name}.old-{os.getpid()}"
    if root.exists():
        os.replace(root, old)
    os.replace(partial, root)
    shutil.rmtree(old, ignore_errors=True)


def ensure_toyfaces(size: int = 64, seed: int = 0, **counts) -> Path:
    """The toyfaces dataset in ``data_dir()``, generated on first use (``counts``:
    ``train_per_domain``, ``val_per_domain``, as in ``generate``)."""
    name = f"toyfaces-{size}" if seed == 0 else f"toyfaces-{size}-seed{seed}"
    with data_lock(name):
        return generate(data_dir() / name, size=size, seed=seed, **counts)


def load_factors(root: Path, split: str) -> list[dict]:
    """The rows of ``root/<split>/factors.csv`` as dicts with typed values (``path``, ``split``
    and every ``Factors`` field); ``Factors(**{k: row[k] for k in FACTOR_RANGES})`` rebuilds one."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = Path(root) / split / "factors.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: generate the dataset with "
                                "starganlib.data.toyfaces.generate")
    types = {field.name: field.type for field in dataclasses.fields(Factors)}
    with open(path, newline="") as file:
        return [{k: (bool(int(v)) if types.get(k) is bool else types[k](v)) if k in types else v
                 for k, v in row.items()} for row in csv.DictReader(file)]
