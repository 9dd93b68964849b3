"""StarGAN v1 labels, config and training (starganlib.v1.labels / config / train)."""
import csv
import math
import os
import signal

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from starganlib.checkpoint import CheckpointManager
from starganlib.data.celeba import write_attributes
from starganlib.double_backward import Conv2d
from starganlib.v1.config import PRESETS, V1Config, preset
from starganlib.v1.labels import create_labels, mask_vector_labels
from starganlib.v1.model import Discriminator, Generator, count_parameters
from starganlib.v1.evaluate import diversity_of_v1
from starganlib.v1.data import label_sources
from starganlib.v1.run import train
from starganlib.v1.sample import sample, save_result_grid
from starganlib.v1.train import V1Trainer, learning_rate

ATTRS = ["Black_Hair", "Blond_Hair", "Male"]
EXPRESSIONS = ["Neutral", "Happy"]


# ---- target labels -------------------------------------------------------------------------

def test_create_labels_hair_colours_exclusive_others_flipped():
    c_org = torch.tensor([[1.0, 0, 0, 1, 0], [0, 0, 1, 0, 1]])
    attrs = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    targets = create_labels(c_org, attrs)
    assert len(targets) == 5
    assert targets[1].tolist() == [[0, 1, 0, 1, 0], [0, 1, 0, 0, 1]]  # blond, the rest kept
    assert targets[0].tolist() == [[1, 0, 0, 1, 0], [1, 0, 0, 0, 1]]
    assert targets[3].tolist() == [[1, 0, 0, 0, 0], [0, 0, 1, 1, 1]]  # Male flipped
    assert targets[4].tolist() == [[1, 0, 0, 1, 1], [0, 0, 1, 0, 0]]  # Young flipped
    assert c_org.tolist() == [[1, 0, 0, 1, 0], [0, 0, 1, 0, 1]]  # input untouched


def test_create_labels_fur_colours_found_by_name():
    attrs = ["Smiling", "Grey_Fur", "Glasses", "Black_Fur"]
    targets = create_labels(torch.tensor([[1.0, 1, 0, 0]]), attrs)
    assert targets[3].tolist() == [[1, 0, 0, 1]]
    assert targets[0].tolist() == [[0, 1, 0, 0]]
    assert targets[2].tolist() == [[1, 1, 1, 0]]


def test_create_labels_single_label_is_one_hot():
    targets = create_labels(torch.zeros(2, 3), ["Neutral", "Happy", "Angry"], multi_label=False)
    assert [t[0].tolist() for t in targets] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        create_labels(torch.zeros(2, 3), ["A", "B"])


def test_mask_vector_layout():
    c1 = torch.tensor([[1.0, 0, 1]])
    assert mask_vector_labels(c1, None, 0, (3, 2)).tolist() == [[1, 0, 1, 0, 0, 1, 0]]
    c2 = torch.tensor([[0.0, 1]])
    assert mask_vector_labels(None, c2, 1, (3, 2)).tolist() == [[0, 0, 0, 0, 1, 0, 1]]
    with pytest.raises(ValueError, match="dataset 1"):
        mask_vector_labels(c1, None, 1, (3, 2))
    with pytest.raises(ValueError, match=r"c2 must have shape \(1, 2\)"):
        mask_vector_labels(c1, torch.zeros(1, 3), 0, (3, 2))


# ---- config --------------------------------------------------------------------------------

def test_paper_preset_is_the_official_setting():
    cfg = PRESETS["celeba-paper"]
    assert (cfg.image_size, cfg.c_dim, cfg.batch_size, cfg.num_iters, cfg.num_iters_decay) == \
        (128, 5, 16, 200_000, 100_000)
    assert (cfg.lambda_cls, cfg.lambda_rec, cfg.lambda_gp, cfg.n_critic) == (1, 10, 10, 5)
    assert cfg.selected_attrs == ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    assert count_parameters(Generator(cfg.g_conv_dim, cfg.c_dim, cfg.g_repeat_num)) == 8_430_528
    joint = PRESETS["toy-v1-joint"]
    assert (joint.c_dim, joint.cls_dim) == (5 + 4 + 2, 5 + 4)


@pytest.mark.parametrize("changes, field", [
    ({"image_size": 48}, "image_size"),
    ({"image_size": 32, "d_repeat_num": 6}, "d_repeat_num"),
    ({"batch_size": 1}, "batch_size"),
    ({"selected_attrs": ("Male", "Male")}, "selected_attrs"),
    ({"c_dim": 7}, "c_dim"),
    ({"attr_file2": "expr.txt"}, "attr_file2"),
    ({"num_iters_decay": 300_000}, "num_iters_decay"),
    ({"g_lr": 0.0}, "g_lr"),
    ({"precision": "fp16"}, "precision"),
])
def test_config_errors_name_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        preset("celeba-paper", **changes)


def test_unknown_preset():
    with pytest.raises(ValueError, match="toy-v1"):
        preset("toy")


def test_learning_rate_decays_linearly_to_zero():
    cfg = V1Config(num_iters=100, num_iters_decay=40)
    assert learning_rate(1.0, 0, cfg) == 1.0
    assert learning_rate(1.0, 60, cfg) == 1.0
    assert learning_rate(1.0, 80, cfg) == pytest.approx(0.5)
    assert learning_rate(1.0, 99, cfg) == pytest.approx(1 / 40)


# ---- training ------------------------------------------------------------------------------

def make_data(root, count=16, size=16):
    """Random images and two attribute files: ATTRS on every image, EXPRESSIONS (one-hot)."""
    rng = np.random.default_rng(0)
    attr_rows, expr_rows = [], []
    (root / "images").mkdir(parents=True)
    for i in range(count):
        name = f"images/{i:04d}.png"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / name)
        attr_rows.append((name, (1 if i % 2 else -1, -1 if i % 2 else 1, 1 if i % 3 else -1)))
        expr_rows.append((name, (1, -1) if i % 2 else (-1, 1)))
    write_attributes(root / "attrs.txt", ATTRS, attr_rows)
    write_attributes(root / "expr.txt", EXPRESSIONS, expr_rows)


def tiny_config(root, **changes) -> V1Config:
    settings = dict(image_root=str(root), attr_file=str(root / "attrs.txt"),
                    selected_attrs=tuple(ATTRS), crop_size=None, image_size=16, test_count=4,
                    g_conv_dim=4, d_conv_dim=4, g_repeat_num=1, d_repeat_num=2, batch_size=4,
                    n_critic=2, num_iters=6, num_iters_decay=4, log_every=1, sample_every=3,
                    save_every=3)
    return V1Config(**{**settings, **changes})


def all_tensors(trainer: V1Trainer) -> dict:
    return {**{f"G.{k}": v for k, v in trainer.G.state_dict().items()},
            **{f"D.{k}": v for k, v in trainer.D.state_dict().items()}}


def test_resume_equals_uninterrupted_training(tmp_path, monkeypatch):
    make_data(tmp_path)
    cfg = tiny_config(tmp_path)  # 6 iterations, checkpoints at 3 and 6
    straight = train(cfg, tmp_path / "straight", progress=False)
    step = V1Trainer.train_step

    def crash_in_iteration_5(self, sources):
        if self.step == 4:
            raise KeyboardInterrupt("simulated crash")
        return step(self, sources)

    monkeypatch.setattr(V1Trainer, "train_step", crash_in_iteration_5)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "resumed", progress=False)  # crashes after 4 logged, saved at 3
    monkeypatch.undo()
    resumed = train(cfg, tmp_path / "resumed", resume=True, progress=False)
    assert resumed["step"] == straight["step"] == 6
    a, b = V1Trainer(cfg), V1Trainer(cfg)
    for trainer, run in ((a, "straight"), (b, "resumed")):
        path = CheckpointManager(tmp_path / run).latest()
        trainer.load_state_dict(torch.load(path, weights_only=True))
    ta, tb = all_tensors(a), all_tensors(b)
    assert ta.keys() == tb.keys()
    assert all(torch.equal(ta[k], tb[k]) for k in ta)
    assert repr(a.latest) == repr(b.latest)  # exact floats
    logged = {run: (tmp_path / run / "losses.csv").read_text() for run in ("straight", "resumed")}
    assert logged["resumed"] == logged["straight"]  # G terms are nan before G's first step
    with open(tmp_path / "resumed" / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4, 5, 6]
    # the resumed run's LR was not reset: it ends at lr0 / num_iters_decay
    assert b.g_optimizer.param_groups[0]["lr"] == pytest.approx(cfg.g_lr / 4)


def test_sigint_saves_a_checkpoint_at_the_iteration_boundary(tmp_path, monkeypatch):
    make_data(tmp_path)
    cfg = tiny_config(tmp_path, save_every=100)  # no periodic checkpoint before the end
    step = V1Trainer.train_step

    def interrupted_in_iteration_2(self, sources):
        if self.step == 1:
            os.kill(os.getpid(), signal.SIGINT)  # arrives mid-iteration, honoured after it
        return step(self, sources)

    monkeypatch.setattr(V1Trainer, "train_step", interrupted_in_iteration_2)
    with pytest.raises(KeyboardInterrupt, match="stopped at step 2.*--resume"):
        train(cfg, tmp_path / "run", progress=False)
    assert CheckpointManager(tmp_path / "run").latest().name == "ckpt_000002.pt"


def test_training_refuses_to_overwrite_a_run(tmp_path):
    make_data(tmp_path)
    cfg = tiny_config(tmp_path, num_iters=1, num_iters_decay=1, save_every=1, sample_every=1)
    train(cfg, tmp_path / "run", progress=False)
    with pytest.raises(FileExistsError, match="resume"):
        train(cfg, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="g_conv_dim"):
        train(cfg.replace(g_conv_dim=8), tmp_path / "run", resume=True, progress=False)


def test_joint_training_and_sample_grid(tmp_path):
    make_data(tmp_path)
    cfg = tiny_config(tmp_path, attr_file2=str(tmp_path / "expr.txt"),
                      selected_attrs2=tuple(EXPRESSIONS), num_iters=2, num_iters_decay=1, n_critic=1)
    result = train(cfg, tmp_path / "run", progress=False)
    assert {"D/set1_loss_cls", "D/set2_loss_cls", "G/set2_loss_rec"} <= result["losses"].keys()
    grid = Image.open(tmp_path / "run" / "samples" / "000002.png")
    # input + 3 attributes + 2 expressions, 16 px enlarged 4x to 64 px with 8 px gaps, 4 rows
    # under a header that names the columns
    tile = 64 + 8
    assert grid.size[0] == 6 * tile + 8 and grid.size[1] > 4 * tile + 8
    out = sample(result["checkpoint"], out_path=tmp_path / "test.png", num_images=2)
    assert Image.open(out).size == (16 * 6, 16 * 2)


def test_second_dataset_must_be_one_hot(tmp_path):
    make_data(tmp_path)
    cfg = tiny_config(tmp_path, attr_file2=str(tmp_path / "attrs.txt"),
                      selected_attrs2=("Black_Hair", "Male"))
    with pytest.raises(ValueError, match="exactly one of"):
        train(cfg, tmp_path / "run", progress=False)


def test_result_grid_layout(tmp_path):
    x = -torch.ones(2, 3, 4, 4)
    fakes = [torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)]
    grid = np.array(Image.open(save_result_grid(x, fakes, tmp_path / "g.png")))
    assert grid.shape == (8, 12, 3)
    assert (grid[:, :4] == 0).all() and (grid[:, 4:8] == 255).all() and (grid[:, 8:] == 128).all()


def test_v1_has_no_diversity():
    torch.manual_seed(0)
    G = Generator(conv_dim=4, c_dim=3, repeat_num=1).eval()
    x, c = torch.randn(2, 3, 16, 16), torch.tensor([[1.0, 0, 1], [0, 1, 0]])
    assert diversity_of_v1(G, x, c, repeats=4) == 0.0


def test_bf16_iteration_is_close_to_fp32_and_keeps_float32_weights(tmp_path):
    make_data(tmp_path)
    terms = {}
    for precision in ("fp32", "bf16"):
        cfg = tiny_config(tmp_path, precision=precision)
        trainer = V1Trainer(cfg)
        sources = label_sources(cfg)
        for _ in range(cfg.n_critic):  # D steps, then one G step
            trainer.train_step(sources)
        terms[precision] = dict(trainer.latest)
        assert all(p.dtype == torch.float32 for p in trainer.G.parameters())
        assert all(p.dtype == torch.float32 for p in trainer.D.parameters())
    for k, v in terms["fp32"].items():
        assert math.isfinite(terms["bf16"][k]), k
        assert terms["bf16"][k] == pytest.approx(v, rel=0.05, abs=0.05), k


def test_cli_sample_writes_the_v1_result_grid(tmp_path, capsys):
    from starganlib.__main__ import main
    make_data(tmp_path)
    cfg = tiny_config(tmp_path, num_iters=1, num_iters_decay=1, save_every=1, sample_every=1)
    checkpoint = train(cfg, tmp_path / "run", progress=False)["checkpoint"]
    main(["sample", "--model", "v1", "--checkpoint", checkpoint, "--out", str(tmp_path / "out"),
          "--count", "3"])
    grid = tmp_path / "out" / "results.png"
    assert capsys.readouterr().out.strip() == str(grid)
    assert Image.open(grid).size == (16 * (1 + len(ATTRS)), 16 * 3)  # input + one per target
    with pytest.raises(SystemExit):  # a v1 checkpoint is not a v2 one: a clear error, exit 2
        main(["sample", "--checkpoint", checkpoint, "--out", str(tmp_path / "v2"),
              "--src", str(tmp_path), "--ref", str(tmp_path)])
    assert "stargan-v1" in capsys.readouterr().err


def test_bf16_loss_terms_are_float32(tmp_path):
    make_data(tmp_path)
    cfg = tiny_config(tmp_path, precision="bf16")
    trainer, generator = V1Trainer(cfg), torch.Generator().manual_seed(0)
    batch = trainer.make_batch(label_sources(cfg)[0], generator)
    terms = {**trainer.d_step(batch, generator), **trainer.g_step(batch)}
    assert {k: v.dtype for k, v in terms.items()} == {k: torch.float32 for k in terms}


def test_the_trainer_makes_only_the_discriminator_convolutions_fast(tmp_path):
    cfg = tiny_config(tmp_path)
    trainer = V1Trainer(cfg)
    assert {type(m) for m in trainer.D.modules() if isinstance(m, nn.Conv2d)} == {Conv2d}
    assert {type(m) for m in trainer.G.modules() if isinstance(m, nn.Conv2d)} == {nn.Conv2d}
    plain = Discriminator(cfg.image_size, cfg.d_conv_dim, cfg.cls_dim, cfg.d_repeat_num)
    assert trainer.D.state_dict().keys() == plain.state_dict().keys()
