"""`data prepare`: photos of any kind -> the train/val layout, and clear refusals that write nothing."""
import json

import numpy as np
import pytest
from PIL import Image

from starganlib.__main__ import main, parser
from starganlib.data import prepare as prep
from starganlib.data.folders import DomainFolder, check_splits, open_rgb
from starganlib.v2.config import PRESETS, preset, scaled_toy

from tests.conftest import save_16bit_rgb


def photo(rng, width, height):
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def make_photos(src, counts=None, seed=0):
    """SRC/<domain>/ with photos of mixed sizes, aspects and formats; cat/ also holds a grey, an
    RGBA, a 16-bit grey and a 16-bit RGB picture, a corrupt JPEG, a text file and a hidden file."""
    rng = np.random.default_rng(seed)
    counts = counts or {"cat": 12, "dog": 12}
    formats = ("jpg", "png", "webp", "JPEG")
    for domain, n in counts.items():
        (src / domain / "nested").mkdir(parents=True)
        for i in range(n):
            folder = src / domain / ("nested" if i % 5 == 4 else "")
            w, h = rng.integers(12, 120, 2)
            photo(rng, int(w), int(h)).save(folder / f"{i}.{formats[i % 4]}")
    cat = src / "cat"
    Image.new("L", (50, 30), 90).save(cat / "grey.png")
    Image.new("RGBA", (30, 40), (255, 0, 0, 0)).save(cat / "transparent.png")
    Image.fromarray(np.full((20, 20), 65535, np.uint16)).save(cat / "grey16.png")
    save_16bit_rgb(cat / "rgb16.png")
    (cat / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (cat / "notes.txt").write_text("not a photo")
    (cat / ".DS_Store").write_bytes(b"\0")
    return src


def test_the_layout_and_report(tmp_path):
    src = make_photos(tmp_path / "src")
    report = prep.prepare(src, tmp_path / "out", size=32, val_fraction=0.2, progress=False)
    out = tmp_path / "out"
    assert check_splits(out) == ["cat", "dog"]
    counts = report.counts
    assert (counts["cat"].found, counts["cat"].unreadable) == (17, 1)  # 12 + 4 special + corrupt
    assert (counts["cat"].train, counts["cat"].val) == (13, 3)  # round(0.2 * 16) = 3
    assert (counts["dog"].found, counts["dog"].train, counts["dog"].val) == (12, 10, 2)
    for split in ("train", "val"):
        for domain in ("cat", "dog"):
            files = sorted((out / split / domain).iterdir())
            assert len(files) == getattr(counts[domain], split)
            for f in files:
                with Image.open(f) as img:
                    assert (img.format, img.mode, img.size) == ("PNG", "RGB", (32, 32))
    reasons = {s.path.split("/")[-1]: s.reason for s in report.skipped}
    assert set(reasons) == {"broken.jpg", "notes.txt", ".DS_Store"}
    assert "corrupt" in reasons["broken.jpg"] and ".txt" in reasons["notes.txt"]
    manifest = json.loads((out / "prepare.json").read_text())
    assert manifest["size"] == 32 and len(manifest["files"]) == 13 + 3 + 10 + 2
    assert {"cat/grey.png", "cat/transparent.png", "cat/grey16.png", "cat/rgb16.png",
            "cat/nested/4.jpg"} <= set(manifest["files"].values())
    assert "cat/broken.jpg" not in manifest["files"].values()
    assert len(DomainFolder(out / "train", 32)) == 23  # the trainers read it as it is
    text = str(report)
    assert "broken.jpg: unreadable" in text and "cat" in text and "skipped 3 file(s)" in text


def test_the_split_is_reproducible_and_seeded(tmp_path):
    src = make_photos(tmp_path / "src")
    files = []
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        prep.prepare(src, tmp_path / name, size=16, seed=seed, progress=False)
        files.append(json.loads((tmp_path / name / "prepare.json").read_text())["files"])
    assert files[0] == files[1] and files[0] != files[2]
    pixels = [np.asarray(Image.open(tmp_path / n / "val" / "dog" / "00000.png")) for n in "ab"]
    assert np.array_equal(*pixels)


def test_crop_keeps_the_centre_and_pad_the_whole_photo(tmp_path):
    wide = np.zeros((40, 120, 3), np.uint8)
    wide[:, :40] = (255, 0, 0)
    wide[:, 40:80] = (0, 255, 0)
    wide[:, 80:] = (0, 0, 255)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    crop = np.asarray(prep.resize(prep.read_square(tmp_path / "wide.png", 16, "crop"), 16))
    pad = np.asarray(prep.resize(prep.read_square(tmp_path / "wide.png", 16, "pad"), 16))
    assert crop.shape == pad.shape == (16, 16, 3)
    assert (crop[..., 1] > 250).all() and (crop[..., [0, 2]] < 5).all()  # only the green centre
    assert pad[0].max() == 0 and pad[-1].max() == 0  # black bars above and below
    assert pad[8, 2, 0] > 230 and pad[8, 8, 1] > 230 and pad[8, 13, 2] > 230  # the three bands


def test_phone_photos_are_turned_upright(tmp_path):
    img = Image.new("RGB", (40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to display
    img.save(tmp_path / "phone.jpg", exif=exif)
    assert open_rgb(tmp_path / "phone.jpg").size == (20, 40)


def test_an_empty_output_folder_is_used(tmp_path):
    src = make_photos(tmp_path / "src")
    (tmp_path / "out").mkdir()
    prep.prepare(src, tmp_path / "out", size=16, progress=False)
    assert check_splits(tmp_path / "out") == ["cat", "dog"]


def test_an_interrupted_run_leaves_no_dataset(tmp_path, monkeypatch):
    src = make_photos(tmp_path / "src")
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    calls = []

    def interrupted(img, size):
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return img.resize((size, size))

    monkeypatch.setattr(prep, "resize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prep.prepare(src, tmp_path / "out", size=16, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no dataset, no partial folder
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before


def one_domain(tmp_path):
    make_photos(tmp_path / "src", {"cat": 12})


def loose_photos(tmp_path):
    (tmp_path / "src").mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        photo(rng, 20, 30).save(tmp_path / "src" / f"{i}.jpg")


def already_split(tmp_path):
    make_photos(tmp_path / "src" / "train", {"cat": 3})
    make_photos(tmp_path / "src" / "val", {"cat": 3})


def too_few(tmp_path):
    make_photos(tmp_path / "src", {"cat": 4, "dog": 12})


def output_exists(tmp_path):
    make_photos(tmp_path / "src")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("my data")


@pytest.mark.parametrize("setup, args, message", [
    (None, [], "src is not a folder: expected one sub-folder of photos per domain"),
    (one_domain, [], "has 1 domain folder(s) ['cat']: StarGAN translates between at least two"),
    (loose_photos, [], "has 0 domain folder(s) [] and 10 photos directly inside it"),
    (already_split, [], "holds train/ and val/ folders: it looks already split"),
    (too_few, ["--batch-size", "8"],
     "cat: 8 readable photos (1 unreadable) leave 7 for training, fewer than the batch size 8"),
    (make_photos, ["--val-fraction", "0.01"],
     "dog: 12 readable photos leave the validation split empty at --val-fraction 0.01"),
    (output_exists, [], "out already exists and is not an empty folder"),
    (make_photos, ["--size", "48"], "--size must be a power of two >= 16"),
    (make_photos, ["--size", "8"], "--size must be a power of two >= 16"),
    (make_photos, ["--val-fraction", "1"], "--val-fraction must be between 0 and 1"),
    (make_photos, ["--batch-size", "1"], "--batch-size must be >= 2"),
])
def test_bad_input_is_refused_and_writes_nothing(tmp_path, capsys, setup, args, message):
    if setup is make_photos:
        make_photos(tmp_path / "src")
    elif setup is not None:
        setup(tmp_path)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as stop:
        main(["data", "prepare", str(tmp_path / "src"), "--out", str(tmp_path / "out"), *args])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "\nerror: " in "\n" + err and message in err  # after the progress bar, if any
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_too_few_photos_lists_every_domain_and_the_skipped_files(tmp_path):
    make_photos(tmp_path / "src", {"cat": 3, "dog": 4})
    with pytest.raises(ValueError) as error:
        prep.prepare(tmp_path / "src", tmp_path / "out", progress=False)
    text = str(error.value)
    assert "cat: 7 readable photos (1 unreadable)" in text and "dog: 4 readable photos" in text
    assert "broken.jpg: unreadable" in text


def test_an_output_inside_the_source_is_refused(tmp_path):
    src = make_photos(tmp_path / "src")
    with pytest.raises(ValueError, match="is inside the source folder"):
        prep.prepare(src, src / "prepared", progress=False)


def test_the_cli_prints_the_report(tmp_path, capsys):
    src = make_photos(tmp_path / "src")
    main(["data", "prepare", str(src), "--out", str(tmp_path / "out"), "--size", "16"])
    out = capsys.readouterr().out
    assert "prepared 2 domains at 16 px (crop)" in out and "notes.txt: not a photo type" in out


def test_the_custom_preset_is_the_toy_preset_scaled(monkeypatch):
    toy = PRESETS["toy"]
    assert scaled_toy(toy.img_size) == toy
    big = scaled_toy(4 * toy.img_size)
    assert (big.base_dim, big.max_conv_dim, big.num_down) == (
        toy.base_dim, 4 * toy.max_conv_dim, toy.num_down + 2)
    assert (big.lr, big.total_iters, big.batch_size) == (toy.lr, toy.total_iters, toy.batch_size)
    retuned = toy.replace(base_dim=8, max_conv_dim=24, num_down=1, lr=1e-3, batch_size=4)
    monkeypatch.setitem(PRESETS, "toy", retuned)  # the custom preset follows a retuned toy
    cfg = scaled_toy(2 * retuned.img_size)
    assert (cfg.base_dim, cfg.max_conv_dim, cfg.num_down, cfg.lr, cfg.batch_size) == (
        8, 48, 2, 1e-3, 4)


def test_the_custom_preset_reads_the_dataset_folder(tmp_path):
    make_photos(tmp_path / "src", {"cat": 9, "dog": 9, "fox": 9})
    prep.prepare(tmp_path / "src", tmp_path / "out", size=64, progress=False)
    cfg = preset("custom", dataset=str(tmp_path / "out"))
    assert (cfg.num_domains, cfg.img_size) == (3, 64)
    assert preset("custom", dataset=str(tmp_path / "out"), img_size=32).img_size == 32
    (tmp_path / "out" / "prepare.json").unlink()
    with pytest.raises(ValueError, match="has no prepare.json .*give the image size"):
        preset("custom", dataset=str(tmp_path / "out"))


def test_prepare_train_translate(tmp_path, capsys):
    make_photos(tmp_path / "src", {"cat": 9, "dog": 9, "fox": 9})
    main(["data", "prepare", str(tmp_path / "src"), "--out", str(tmp_path / "ds"), "--size", "16"])
    main(["train", "--preset", "custom", "--dataset", str(tmp_path / "ds"), "--iters", "2",
          "--out", str(tmp_path / "run"), "--device", "cpu"])
    main(["translate", str(tmp_path / "src" / "cat" / "0.jpg"), "--domain", "fox", "--checkpoint",
          str(tmp_path / "run" / "checkpoints" / "ckpt_000002.pt"), "--out", str(tmp_path / "t")])
    assert capsys.readouterr().out.strip().endswith(str(tmp_path / "t" / "0_fox_seed0.png"))
    with Image.open(tmp_path / "t" / "0_fox_seed0.png") as img:
        assert img.size == (16, 16)


def test_the_other_data_commands_still_parse():
    args = parser().parse_args(["data", "toyfaces", "--size", "32"])
    assert (args.name, args.size, args.root) == ("toyfaces", 32, None)
    args = parser().parse_args(["data", "afhq", "--sha256", "ab"])
    assert (args.name, args.sha256) == ("afhq", "ab")
