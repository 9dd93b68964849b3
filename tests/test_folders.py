import numpy as np
import pytest
import torch
from PIL import Image

from starganlib.data.folders import (DomainFolder, TrainBatches, augment, check_splits,
                                     load_image, random_resized_crop_box)
from tests.conftest import write_domain_folder


def test_domains_are_sorted_folder_names_with_balanced_batches(tmp_path):
    root = write_domain_folder(tmp_path, domains=("zebra", "cat", "dog"), per_domain=2)
    folder = DomainFolder(root / "train", 16)
    assert folder.domains == ["cat", "dog", "zebra"]
    assert folder.labels.tolist() == [0, 0, 1, 1, 2, 2]
    batches = TrainBatches(folder, batch_size=300, latent_dim=4, seed=0)
    counts = torch.bincount(batches[0]["y_src"], minlength=3)
    assert counts.min() > 70  # each domain about a third
    b = batches[1]
    assert torch.equal(folder.labels[torch.tensor([0])], torch.tensor([0]))
    assert b["x_ref"].shape == b["x_ref2"].shape == (300, 3, 16, 16)


def test_reference_pairs_come_from_the_reference_domain(tmp_path):
    root = tmp_path / "ds"
    for split in ("train", "val"):
        for value, d in ((0, "black"), (255, "white")):
            (root / split / d).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(np.full((16, 16, 3), value, np.uint8)).save(root / split / d / f"{i}.png")
    b = TrainBatches(DomainFolder(root / "train", 16), 8, 4, seed=1, randcrop_prob=0)[0]
    for key in ("x_ref", "x_ref2"):
        expected = torch.where(b["y_ref"] == 1, 1.0, -1.0)
        assert torch.equal(b[key].mean((1, 2, 3)), expected)


def test_layout_errors_say_what_is_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="one sub-folder of images per domain"):
        DomainFolder(tmp_path / "nothing", 16)
    (tmp_path / "one" / "cat").mkdir(parents=True)
    with pytest.raises(ValueError, match="1 domain folder"):
        DomainFolder(tmp_path / "one", 16)
    (tmp_path / "one" / "dog").mkdir()
    with pytest.raises(ValueError, match="no .png/.jpg/.jpeg images"):
        DomainFolder(tmp_path / "one", 16)
    root = write_domain_folder(tmp_path / "mismatch")
    (root / "val" / "c").mkdir()
    with pytest.raises(ValueError, match="train domains .* and val domains .* differ"):
        check_splits(root)


def test_corrupt_image_names_the_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="bad.png"):
        load_image(bad, 16)
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:40])
    with pytest.raises(ValueError, match="cut.png"):
        load_image(cut, 16)


def test_bad_images_stop_training_data_unless_skipping_is_asked(tmp_path):
    write_domain_folder(tmp_path, per_domain=3)
    train = tmp_path / "train"
    bad = train / "a" / "zz_truncated.png"
    bad.write_bytes((train / "a" / "0.png").read_bytes()[:40])
    with pytest.raises(ValueError, match="zz_truncated.png"):
        DomainFolder(train, 16)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image\(s\) of 4: .*zz_truncated.png"):
        folder = DomainFolder(train, 16, skip_bad=True)
    assert len(folder) == 6 and bad not in folder.files
    assert bad.exists()  # the user's file is reported, never deleted


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_non_rgb_images_are_converted(tmp_path, mode):
    path = tmp_path / "img.png"
    if mode == "I;16":
        Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(path)
    else:
        Image.new(mode, (8, 8)).save(path)
    img = load_image(path, 16)
    assert img.shape == (3, 16, 16) and img.dtype == torch.uint8
    if mode == "I;16":
        assert img.max() == 255


def test_crop_boxes_respect_scale_and_ratio():
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        top, left, h, w = random_resized_crop_box(64, gen)
        assert 0.8 * 64 * 64 * 0.95 <= h * w <= 64 * 64
        assert 0 <= top <= 64 - h and 0 <= left <= 64 - w


def test_augment_output_range_and_determinism():
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    a = augment(images, torch.Generator().manual_seed(5), 0.5)
    b = augment(images, torch.Generator().manual_seed(5), 0.5)
    assert torch.equal(a, b) and a.min() >= -1 and a.max() <= 1
