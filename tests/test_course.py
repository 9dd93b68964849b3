"""Course helpers (starganlib.course): the cached toy StarGAN v1 model."""
import numpy as np
import torch
from PIL import Image

import starganlib.v1.run as v1_run
from starganlib.course import toy_v1_model
from starganlib.data.celeba import write_attributes
from starganlib.v1.config import PRESETS, V1Config


def tiny_toy_v1(root) -> V1Config:
    """A toy-v1 stand-in on 8 random 16 px images (no toyfaces, no oracle): trains in a second."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(8):
        name = f"images/{i}.png"
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / name)
        rows.append((name, (1 if i % 2 else -1, -1 if i % 2 else 1)))
    write_attributes(root / "attrs.txt", ["Black_Fur", "Ginger_Fur"], rows)
    return V1Config(image_root=str(root), attr_file=str(root / "attrs.txt"),
                    selected_attrs=("Black_Fur", "Ginger_Fur"), crop_size=None, image_size=16,
                    test_count=2, g_conv_dim=4, d_conv_dim=4, g_repeat_num=1, d_repeat_num=2,
                    batch_size=2, n_critic=2)


def test_toy_v1_model_trains_once_then_loads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STARGANLIB_DATA", str(tmp_path / "store"))
    monkeypatch.setitem(PRESETS, "toy-v1", tiny_toy_v1(tmp_path / "data"))
    G, cfg, run_dir = toy_v1_model(4, seed=3)
    assert run_dir == tmp_path / "store" / "runs" / "toy-v1-4-seed3"
    assert (cfg.num_iters, cfg.num_iters_decay, cfg.seed, cfg.save_every) == (4, 2, 3, 4)
    assert (run_dir / "checkpoints" / "ckpt_000004.pt").is_file()
    assert (run_dir / "losses.csv").is_file()
    assert not G.training
    x, c = torch.zeros(1, 3, 16, 16), torch.tensor([[1.0, 0.0]])
    first = G(x, c)
    assert first.shape == (1, 3, 16, 16)

    def no_training(*args, **kwargs):
        raise AssertionError("the cached run should have been loaded, not trained again")

    monkeypatch.setattr(v1_run, "train", no_training)
    G2, cfg2, run_dir2 = toy_v1_model(4, seed=3)
    assert run_dir2 == run_dir and cfg2 == cfg
    assert torch.equal(G2(x, c), first)
