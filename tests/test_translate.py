"""`translate`: your own pictures through StarGAN v2 (domain, seed, psi, reference) and v1."""
import numpy as np
import pytest
import torch
from PIL import Image

from starganlib.__main__ import main
from starganlib.checkpoint import save_checkpoint
from starganlib.translate import (domain_index, load_pictures, translate_files, translate_v2,
                                  v1_condition)
from starganlib.v1.config import V1Config
from starganlib.v1.sample import load_generator
from starganlib.v1.train import V1Trainer
from starganlib.v2.official import load_official
from starganlib.v2.run import train
from starganlib.v2.sample import load_ema_nets
from starganlib.v2.synthesis import translate_reference
from tests.conftest import save_16bit_rgb, tiny_v2_config, write_domain_folder
from tests.test_official import TINY, official_file

V1_ATTRS = ("Black_Fur", "Ginger_Fur", "Glasses")


@pytest.fixture(scope="module")
def v2_checkpoint(tmp_path_factory):
    """A StarGAN v2 checkpoint of two training steps on domains cat and dog."""
    root = write_domain_folder(tmp_path_factory.mktemp("ds"), domains=("cat", "dog"))
    cfg = tiny_v2_config(dataset=str(root), total_iters=2, save_every=2, sample_every=2)
    return train(cfg, tmp_path_factory.mktemp("run"), progress=False)["checkpoint"]


def v1_config(**changes) -> V1Config:
    return V1Config(**{**dict(image_root="unused", attr_file="unused", selected_attrs=V1_ATTRS,
                              crop_size=None, image_size=16, g_conv_dim=4, d_conv_dim=4,
                              g_repeat_num=1, d_repeat_num=2), **changes})


@pytest.fixture(scope="module")
def v1_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("v1") / "ckpt_000000.pt"
    save_checkpoint(path, V1Trainer(v1_config()).state_dict())
    return path


@pytest.fixture
def pictures(tmp_path):
    """Pictures as people have them: a wide JPEG, a grey PNG, a transparent PNG, 16-bit RGB."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "mine"
    folder.mkdir()
    Image.fromarray(rng.integers(0, 256, (30, 70, 3), dtype=np.uint8)).save(folder / "wide.jpg")
    Image.new("L", (40, 50), 100).save(folder / "grey.png")
    Image.new("RGBA", (20, 20), (0, 0, 255, 128)).save(folder / "glass.png")
    save_16bit_rgb(folder / "deep.png")
    return sorted(folder.iterdir())


def read(path):
    return np.asarray(Image.open(path))


def test_the_checkpoint_names_its_domains(v2_checkpoint):
    _, cfg = load_ema_nets(v2_checkpoint)
    assert cfg.domains == ("cat", "dog")
    assert domain_index("dog", cfg) == 1 and domain_index("0", cfg) == 0


def test_latent_guided_outputs_strips_and_seeds(v2_checkpoint, pictures, tmp_path):
    written = translate_files(pictures, tmp_path / "out", v2_checkpoint, domain="dog", seed=3,
                              strip=True)
    names = sorted(p.name for p in written)
    assert names == sorted([f"{p.stem}_dog_seed3{end}" for p in pictures
                            for end in (".png", "_strip.png")])
    assert read(tmp_path / "out" / "wide_dog_seed3.png").shape == (16, 16, 3)
    strip = read(tmp_path / "out" / "wide_dog_seed3_strip.png")
    assert strip.shape == (16, 32, 3)
    assert np.array_equal(strip[:, 16:], read(tmp_path / "out" / "wide_dog_seed3.png"))
    again = translate_files(pictures[:1], tmp_path / "again", v2_checkpoint, domain="dog", seed=3)
    other = translate_files(pictures[:1], tmp_path / "other", v2_checkpoint, domain="dog", seed=4)
    assert np.array_equal(read(again[0]), read(tmp_path / "out" / again[0].name))
    assert not np.array_equal(read(again[0]), read(other[0]))


def test_psi_zero_gives_the_mean_style_whatever_the_seed(v2_checkpoint, pictures):
    nets, cfg = load_ema_nets(v2_checkpoint)
    x = load_pictures(pictures, cfg.img_size)
    outs = [translate_v2(nets, cfg, x, 1, seed=s, psi=psi) for psi in (0.0, 1.0) for s in (0, 1)]
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    assert not torch.allclose(outs[2], outs[3], atol=1e-3)


def test_reference_guided_takes_the_style_of_the_reference(v2_checkpoint, pictures, tmp_path):
    written = translate_files(pictures[:2], tmp_path / "out", v2_checkpoint, domain="cat",
                              ref=pictures[3])
    assert [p.name for p in written] == [f"{p.stem}_cat_ref-{pictures[3].stem}.png"
                                         for p in pictures[:2]]
    nets, cfg = load_ema_nets(v2_checkpoint)
    x, x_ref = load_pictures(pictures[:2], 16), load_pictures(pictures[3:], 16)
    expected = translate_reference(nets, x, x_ref.expand(2, -1, -1, -1), torch.tensor([0, 0]))
    got = torch.stack([torch.from_numpy(read(p).copy()).permute(2, 0, 1) for p in written])
    assert (got.float() - expected.add(1).mul(127.5).clamp(0, 255)).abs().max() <= 1


def test_official_checkpoints_name_the_afhq_domains(tmp_path, pictures):
    official_file(tmp_path / "nets_ema.ckpt", "afhq")
    nets, cfg = load_official(tmp_path / "nets_ema.ckpt", "afhq", **TINY)
    assert cfg.domains == ("cat", "dog", "wild")
    out = translate_v2(nets, cfg, load_pictures(pictures, 32), domain_index("wild", cfg))
    assert out.shape == (4, 3, 32, 32)


def test_v1_translates_to_the_attributes_given(v1_checkpoint, pictures, tmp_path):
    written = translate_files(pictures, tmp_path / "out", v1_checkpoint,
                              attrs="Ginger_Fur=1,Glasses=1")
    assert [p.name for p in written] == [f"{p.stem}_Ginger_Fur=1,Glasses=1.png" for p in pictures]
    G, cfg = load_generator(v1_checkpoint)
    c = v1_condition({"Ginger_Fur": 1, "Glasses": 1}, cfg)
    assert c.tolist() == [[0.0, 1.0, 1.0]]  # Black_Fur, not given, is 0
    with torch.no_grad():
        expected = G(load_pictures(pictures, 16), c.expand(4, -1))
    got = torch.stack([torch.from_numpy(read(p).copy()).permute(2, 0, 1) for p in written])
    assert (got.float() - expected.add(1).mul(127.5).clamp(0, 255)).abs().max() <= 1


def test_v1_two_label_sets_use_the_mask_vector():
    cfg = v1_config(attr_file2="unused", selected_attrs2=("Happy", "Sad"))
    assert v1_condition({"Sad": 1}, cfg).tolist() == [[0, 0, 0, 0, 1, 0, 1]]
    assert v1_condition({"Glasses": 1}, cfg).tolist() == [[0, 0, 1, 0, 0, 1, 0]]
    with pytest.raises(ValueError, match="one label set at a time"):
        v1_condition({"Sad": 1, "Glasses": 1}, cfg)
    with pytest.raises(ValueError, match="set exactly one of Happy, Sad to 1"):
        v1_condition({"Sad": 0}, cfg)


def write_broken(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return str(tmp_path / "broken.jpg")


def write_twins(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / folder / "me.png")
    return f"{tmp_path / 'a' / 'me.png'} {tmp_path / 'b' / 'me.png'}"


def write_official(tmp_path):
    torch.save({"generator": {}, "mapping_network": {}, "style_encoder": {}}, tmp_path / "o.ckpt")
    return str(tmp_path / "o.ckpt")


def write_foreign(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    return str(tmp_path / "other.pt")


def write_text(tmp_path):
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    return str(tmp_path / "notes.pt")


GOOD = "{picture}"
V2, V1 = "v2", "v1"
CASES = [  # (checkpoint, pictures, extra arguments, what the user reads)
    (V2, GOOD, "--domain bird", "unknown domain 'bird': this model's domains are cat, dog (or "
                                "their indices 0 to 1)"),
    (V2, GOOD, "--domain 2", "unknown domain '2'"),
    (V2, GOOD, "--attrs Glasses=1", "is a StarGAN v2 model, which translates to a domain: give "
                                    "the target domain (--domain cat|dog), not --attrs"),
    (V2, GOOD, "", "is a StarGAN v2 model, which translates to a domain: give the target "
                   "domain (--domain cat|dog)\n"),
    (V2, write_broken, "--domain cat", "cannot read image"),
    (V2, lambda tmp_path: str(tmp_path / "nope.jpg"), "--domain cat", "nope.jpg does not exist"),
    (V2, lambda tmp_path: str(tmp_path), "--domain cat", "is a folder: give its picture files"),
    (V2, write_twins, "--domain cat", "several pictures are named me: their outputs would "
                                      "overwrite one another"),
    (V2, GOOD, "--domain cat --ref {picture} --psi 0.5", "it does not apply to a reference"),
    (V2, GOOD, "--domain cat --official afhq", "a 'stargan-v2' checkpoint written by this "
                                               "library's training, not an official one"),
    (V1, GOOD, "--attrs Hat=1", "unknown attribute(s) Hat: this model's attributes are "
                                "Black_Fur, Ginger_Fur, Glasses"),
    (V1, GOOD, "--attrs Black_Fur", "--attrs: expected NAME=0 or NAME=1 separated by commas"),
    (V1, GOOD, "--attrs Black_Fur=2", "got 'Black_Fur=2'"),
    (V1, GOOD, "--attrs Glasses=1,Glasses=0", "--attrs: Glasses is given twice"),
    (V1, GOOD, "--attrs Black_Fur=1,Ginger_Fur=1", "Black_Fur and Ginger_Fur are colours, which "
                                                   "exclude one another"),
    (V1, GOOD, "--domain cat", "is a StarGAN v1 model, which translates to target attributes: "
                               "give --attrs NAME=0|1,... (its attributes: Black_Fur, "
                               "Ginger_Fur, Glasses)"),
    (write_official, GOOD, "--domain cat", "looks like an official StarGAN v2 file (nets_ema): "
                                           "add --official afhq"),
    (write_foreign, GOOD, "--domain cat", "not a StarGAN checkpoint (kind 'unknown')"),
    (write_text, GOOD, "--domain cat", "notes.pt: not a checkpoint (torch.save writes a zip "
                                       "archive, or a pickle in torch before 1.6; this file "
                                       "starts with b'no')"),
    (lambda tmp_path: str(tmp_path / "none.pt"), GOOD, "--domain cat", "none.pt does not exist"),
]


@pytest.mark.parametrize("checkpoint, picture, extra, message", CASES)
def test_bad_input_is_a_clear_error_and_writes_nothing(v2_checkpoint, v1_checkpoint, pictures,
                                                       tmp_path, capsys, checkpoint, picture,
                                                       extra, message):
    ckpt = {V2: v2_checkpoint, V1: v1_checkpoint}.get(checkpoint) or checkpoint(tmp_path)
    given = picture.format(picture=pictures[0]) if picture == GOOD else picture(tmp_path)
    args = ["translate", *given.split(), "--checkpoint", str(ckpt), "--out", str(tmp_path / "out"),
            *extra.format(picture=pictures[1]).split()]
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "out").exists()


def test_the_cli_prints_the_files_written(v2_checkpoint, pictures, tmp_path, capsys):
    main(["translate", str(pictures[0]), "--checkpoint", str(v2_checkpoint), "--domain", "cat",
          "--psi", "0.5", "--out", str(tmp_path / "out"), "--fit", "pad"])
    assert capsys.readouterr().out.strip() == str(tmp_path / "out" / "deep_cat_seed0_psi0.5.png")
