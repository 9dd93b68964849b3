"""CelebA-format attribute files and AttributeDataset (starganlib.data.celeba)."""
import numpy as np
import pytest
import torch
from PIL import Image

from starganlib.data.celeba import AttributeDataset, read_attributes, split_rows, write_attributes

NAMES = ["Black_Hair", "Blond_Hair", "Male", "Smiling"]


def make_celeba(root, count=10, size=(12, 16), mode="RGB"):
    """A tiny CelebA layout: root/images/000001.jpg ... and root/list_attr_celeba.txt."""
    images = _mkdir(root / "images")
    rows = []
    for i in range(count):
        name = f"{i + 1:06d}.png"
        colour = (20 * i, 0, 0) if mode == "RGB" else 20 * i
        Image.new(mode, size, colour).save(images / name)
        rows.append((name, tuple(1 if (i >> b) & 1 else -1 for b in range(len(NAMES)))))
    return write_attributes(root / "list_attr_celeba.txt", NAMES, rows)


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_read_attributes_parses_runs_of_spaces(tmp_path):
    path = tmp_path / "attrs.txt"
    path.write_text("2\nA B C\na.jpg  1 -1  1\nb.jpg -1 -1 -1\n\n")
    names, rows = read_attributes(path)
    assert names == ["A", "B", "C"]
    assert rows == [("a.jpg", (1, -1, 1)), ("b.jpg", (-1, -1, -1))]


@pytest.mark.parametrize("text, message", [
    ("2\nA B\na.jpg 1 -1\nb.jpg 1\n", "line 4: expected a file name and 2 values, found 2"),
    ("2\nA B\na.jpg 1 -1\nb.jpg 1 0\n", "line 4: values must be 1 or -1, found '0'"),
    ("3\nA B\na.jpg 1 -1\nb.jpg 1 1\n", "line 1: says 3 images but the file lists 2"),
    ("two\nA B\na.jpg 1 -1\n", "line 1: expected the number of images"),
    ("1\n", "expected a count line and a line of attribute names"),
])
def test_read_attributes_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "attrs.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        read_attributes(path)
    assert str(path) in str(info.value)


def test_missing_attribute_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_attributes(tmp_path / "nope.txt")


def test_missing_selected_attribute_lists_available(tmp_path):
    attr_file = make_celeba(tmp_path)
    with pytest.raises(ValueError, match=r"\['Young'\].*available: Black_Hair Blond_Hair Male"):
        AttributeDataset(tmp_path / "images", attr_file, ["Male", "Young"], test_count=2)


def test_split_is_seeded_exact_and_disjoint():
    train, test = split_rows(10, 3, seed=1234)
    assert len(test) == 3 and len(train) == 7
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(10))
    again = split_rows(10, 3, seed=1234)
    assert (again[1] == test).all()
    assert not (split_rows(10, 3, seed=1)[1] == test).all()
    with pytest.raises(ValueError, match="test_count"):
        split_rows(10, 10, seed=0)


def test_dataset_labels_follow_selected_order(tmp_path):
    attr_file = make_celeba(tmp_path, count=10)
    train = AttributeDataset(tmp_path / "images", attr_file, ["Male", "Black_Hair"], "train",
                             image_size=8, test_count=3)
    test = AttributeDataset(tmp_path / "images", attr_file, ["Male", "Black_Hair"], "test",
                            image_size=8, test_count=3)
    assert (len(train), len(test)) == (7, 3)
    assert not set(train.filenames) & set(test.filenames)
    for ds in (train, test):
        for name, label in zip(ds.filenames, ds.labels):
            i = int(name[:6]) - 1  # make_celeba: bit b of i is attribute b
            assert label.tolist() == [float((i >> 2) & 1), float(i & 1)]
    x, label = test[0]
    assert x.shape == (3, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert label.shape == (2,)


def test_center_crop_then_resize(tmp_path):
    _mkdir(tmp_path / "images")
    img = np.zeros((20, 10, 3), dtype=np.uint8)  # 10 wide, 20 tall; the middle 10 x 10 is white
    img[5:15] = 255
    Image.fromarray(img).save(tmp_path / "images" / "a.png")
    Image.fromarray(img).save(tmp_path / "images" / "b.png")
    write_attributes(tmp_path / "a.txt", ["A"], [("a.png", (1,)), ("b.png", (-1,))])
    ds = AttributeDataset(tmp_path / "images", tmp_path / "a.txt", ["A"], "test", image_size=4,
                          crop_size=10, test_count=1)
    assert torch.equal(ds[0][0], torch.ones(3, 4, 4))


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_non_rgb_images_become_rgb(tmp_path, mode):
    attr_file = make_celeba(tmp_path, count=4, mode=mode)
    ds = AttributeDataset(tmp_path / "images", attr_file, NAMES, "test", image_size=8,
                          test_count=2)
    assert ds[0][0].shape == (3, 8, 8)


def test_missing_image_is_named(tmp_path):
    attr_file = make_celeba(tmp_path, count=4)
    (tmp_path / "images" / "000003.png").unlink()
    with pytest.raises(FileNotFoundError, match="000003.png"):
        AttributeDataset(tmp_path / "images", attr_file, NAMES, "train", image_size=8,
                         test_count=1)


def test_check_files_counts_missing(tmp_path):
    attr_file = make_celeba(tmp_path, count=4)
    ds = AttributeDataset(tmp_path / "images", attr_file, NAMES, "train", image_size=8,
                          test_count=1)
    (tmp_path / "images" / ds.filenames[0]).unlink()
    with pytest.raises(FileNotFoundError, match=f"1 image.*{ds.filenames[0]}"):
        ds.check_files()


def test_toyfaces_layout_with_relative_paths(tmp_path):
    rows = []
    for domain in ("cat", "dog"):
        for i in range(3):
            name = f"train/{domain}/{domain}_{i:05d}.png"
            _mkdir((tmp_path / name).parent)
            Image.new("RGB", (8, 8), (0, 200, 0)).save(tmp_path / name)
            rows.append((name, (1, -1) if domain == "cat" else (-1, 1)))
    attr_file = write_attributes(tmp_path / "list_attr_toyfaces.txt", ["Black_Fur", "Smiling"], rows)
    ds = AttributeDataset(tmp_path, attr_file, ["Smiling"], "train", image_size=8, test_count=2)
    assert len(ds) == 4
    assert ds.labels.tolist() == [[float(n.startswith("train/dog"))] for n in ds.filenames]


def test_random_batch_is_seeded_and_flips(tmp_path):
    _mkdir(tmp_path / "images")
    rows = []
    for i in range(6):  # left half bright, right half dark: a flip is visible
        img = np.zeros((8, 8, 3), dtype=np.uint8)
        img[:, :4] = 200 + i
        Image.fromarray(img).save(tmp_path / "images" / f"{i}.png")
        rows.append((f"{i}.png", (1,)))
    write_attributes(tmp_path / "a.txt", ["A"], rows)
    ds = AttributeDataset(tmp_path / "images", tmp_path / "a.txt", ["A"], "train", image_size=8,
                          test_count=1)
    x1, y1 = ds.random_batch(5, torch.Generator().manual_seed(3))
    x2, _ = ds.random_batch(5, torch.Generator().manual_seed(3))
    assert torch.equal(x1, x2) and y1.shape == (5, 1)
    left_bright = x1[:, 0, 0, 0] > 0
    assert 0 < left_bright.sum() < 5  # some flipped, some not (this seed)
    no_flip = AttributeDataset(tmp_path / "images", tmp_path / "a.txt", ["A"], "train",
                               image_size=8, test_count=1, flip=False)
    assert (no_flip.random_batch(5, torch.Generator().manual_seed(3))[0][:, 0, 0, 0] > 0).all()
    with pytest.raises(ValueError, match="batch_size 6 exceeds"):
        ds.random_batch(6, torch.Generator())
