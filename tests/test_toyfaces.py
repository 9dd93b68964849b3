"""toyfaces: deterministic rendering, the dataset layout and label files, reuse, geometry."""
import dataclasses
import re

import numpy as np
import pytest
from PIL import Image

from starganlib.data import toyfaces
from starganlib.data.celeba import read_attributes
from starganlib.data.toyfaces import (ATTRIBUTES, DOMAINS, EXPRESSION_LABELS, FACTOR_RANGES,
                                      STYLE_DIM, Factors, generate, image_factors, load_factors,
                                      render, sample_factors)


def tiny(root, **overrides):
    """A 32 px dataset with 4 training and 3 validation images per domain."""
    kwargs = dict(size=32, train_per_domain=4, val_per_domain=3, seed=0, progress=False)
    kwargs.update(overrides)
    return generate(root, **kwargs)


def factors(**changes) -> Factors:
    return dataclasses.replace(sample_factors(np.random.default_rng(7), domain=0), **changes)


def pixels(f: Factors, size: int = 64) -> np.ndarray:
    return np.asarray(render(f, size), dtype=np.int16)


def silhouette(f: Factors, size: int = 64) -> np.ndarray:
    """Pixels that are not pure background (the background is flat)."""
    image = pixels(f, size)
    return (image != image[0, 0]).any(axis=2)


def test_render_is_deterministic_and_depends_on_the_factors():
    f = factors()
    assert render(f, 48).tobytes() == render(f, 48).tobytes()
    assert render(f, 48).tobytes() != render(factors(gaze_x=-f.gaze_x), 48).tobytes()


def test_render_any_size_from_32_to_256_and_the_same_picture_at_each():
    f = factors()
    for size in (32, 57, 256):
        image = render(f, size)
        assert image.mode == "RGB" and image.size == (size, size)
    for bad in (31, 257, 64.0):
        with pytest.raises(ValueError, match="size"):
            render(f, bad)
    small = pixels(f, 32)
    large_shrunk = np.asarray(render(f, 128).reduce(4), dtype=np.int16)
    assert np.abs(small - large_shrunk).mean() < 3  # same picture, different resolution


def test_factors_are_checked_and_vectorised():
    f = factors()
    content, style = f.content_vector(), f.style_vector()
    assert content.shape == (6,) and ((0 <= content) & (content <= 1)).all()
    assert style.shape == (STYLE_DIM,) and ((0 <= style) & (style <= 1)).all()
    low, high = FACTOR_RANGES["tilt"]
    assert factors(tilt=low).content_vector()[3] == 0 and factors(tilt=high).content_vector()[3] == 1
    with pytest.raises(ValueError, match="tilt"):
        factors(tilt=high + 1)


def test_style_and_content_do_not_depend_on_the_domain():
    by_domain = [sample_factors(np.random.default_rng(3), domain=d) for d in range(len(DOMAINS))]
    assert [f.domain for f in by_domain] == [0, 1, 2]
    assert len({dataclasses.replace(f, domain=0) for f in by_domain}) == 1


def test_domains_differ_in_head_geometry_and_style_keeps_the_silhouette():
    f = factors()
    shapes = [silhouette(dataclasses.replace(f, domain=d)) for d in range(len(DOMAINS))]
    for a in range(len(DOMAINS)):
        for b in range(a + 1, len(DOMAINS)):
            assert (shapes[a] != shapes[b]).mean() > 0.03  # ears, muzzle, ruff
    restyled = factors(fur_family=(f.fur_family + 1) % 3, fur_shade=1 - f.fur_shade,
                       marking=(f.marking + 1) % 4, eye_color=0.6, background=0.3)
    assert (pixels(restyled) != pixels(f)).any()
    np.testing.assert_array_equal(silhouette(restyled), shapes[0])


def test_factors_of_an_image_do_not_depend_on_the_dataset_size(tmp_path):
    small = load_factors(tiny(tmp_path / "small"), "train")
    large = load_factors(tiny(tmp_path / "large", train_per_domain=6), "train")
    assert [row for row in large if row["path"] in {r["path"] for r in small}] == small
    row = small[5]
    assert Factors(**{k: row[k] for k in FACTOR_RANGES}) == image_factors(0, "train", row["domain"], 1)


def test_generate_layout_and_factor_tables(tmp_path):
    root = tiny(tmp_path / "toy")
    for split, count in (("train", 4), ("val", 3)):
        rows = load_factors(root, split)
        assert len(rows) == 3 * count
        assert [r["path"] for r in rows[:2]] == [f"{split}/cat/cat_00000.png", f"{split}/cat/cat_00001.png"]
        for domain in DOMAINS:
            assert len(list((root / split / domain).glob("*.png"))) == count
        for row in rows:
            assert row["split"] == split and DOMAINS[row["domain"]] in row["path"]
            with Image.open(root / row["path"]) as image:
                assert image.size == (32, 32) and image.mode == "RGB"
            assert isinstance(row["glasses"], bool) and isinstance(row["tilt"], float)
    assert not list(tmp_path.glob(".toy.*"))  # no temporary folder left behind
    with pytest.raises(ValueError, match="split"):
        load_factors(root, "test")
    with pytest.raises(FileNotFoundError, match="factors.csv"):
        load_factors(tmp_path / "missing", "train")


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    a, b, c = tiny(tmp_path / "a"), tiny(tmp_path / "b"), tiny(tmp_path / "c", seed=1)
    name = "val/dog/dog_00002.png"
    assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / name).read_bytes() != (c / name).read_bytes()
    for table in ("train/factors.csv", "list_attr_toyfaces.txt", "list_expr_toyfaces.txt"):
        assert (a / table).read_text() == (b / table).read_text()


def test_celeba_format_attribute_file(tmp_path):
    root = tiny(tmp_path / "toy")
    lines = (root / "list_attr_toyfaces.txt").read_text().splitlines()
    assert lines[1] == " ".join(ATTRIBUTES)
    assert all(re.fullmatch(r"\S+\.png( +-?1){5}", line) for line in lines[2:])
    names, rows = read_attributes(root / "list_attr_toyfaces.txt")
    assert int(lines[0]) == len(rows) == 3 * (2 + 2)  # even indices: train 0, 2; val 0, 2
    truth = {r["path"]: r for split in ("train", "val") for r in load_factors(root, split)}
    for path, values in rows:
        assert int(path[-9:-4]) % 2 == 0
        assert values[:3].count(1) == 1  # fur colours exclude one another
        f = truth[path]
        assert values[f["fur_family"]] == 1
        assert values[3] == (1 if f["glasses"] else -1)
        assert values[4] == (1 if f["expression"] == 1 else -1)


def test_expression_file_is_one_hot_over_odd_indices(tmp_path):
    root = tiny(tmp_path / "toy")
    names, rows = read_attributes(root / "list_expr_toyfaces.txt")
    assert names == list(EXPRESSION_LABELS) and len(rows) == 3 * (2 + 1)
    truth = {r["path"]: r for split in ("train", "val") for r in load_factors(root, split)}
    for path, values in rows:
        assert int(path[-9:-4]) % 2 == 1
        assert values == tuple(1 if k == truth[path]["expression"] else -1 for k in range(4))


def test_reuse_without_rendering_and_regenerate_on_new_parameters(tmp_path, monkeypatch):
    root = tiny(tmp_path / "toy")
    image = root / "train/cat/cat_00000.png"
    stamp = image.stat().st_mtime_ns

    def no_render(*args):
        raise AssertionError("render called on reuse")

    with monkeypatch.context() as patch:
        patch.setattr(toyfaces, "render", no_render)
        assert tiny(root) == root
    assert image.stat().st_mtime_ns == stamp
    tiny(root, val_per_domain=2)
    assert len(load_factors(root, "val")) == 6
    assert not (root / "val/cat/cat_00002.png").exists()


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a toyfaces dataset"):
        tiny(tmp_path / "mine")
    with pytest.raises(ValueError, match="train_per_domain"):
        tiny(tmp_path / "new", train_per_domain=0)


def test_ensure_toyfaces_lives_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STARGANLIB_DATA", str(tmp_path))
    counts = dict(train_per_domain=1, val_per_domain=1)
    assert toyfaces.ensure_toyfaces(32, **counts) == tmp_path / "toyfaces-32"
    assert toyfaces.ensure_toyfaces(32, seed=2, **counts) == tmp_path / "toyfaces-32-seed2"
    assert (tmp_path / "toyfaces-32-seed2" / "manifest.json").is_file()
