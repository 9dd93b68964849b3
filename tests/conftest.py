"""Shared test fixtures: tiny configurations and a tiny domain-folder dataset."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from starganlib.v2.config import V2Config


def tiny_v2_config(**overrides) -> V2Config:
    """A StarGAN v2 small enough for a unit test (16 px, widths 8..16)."""
    base = dict(dataset="unused", img_size=16, num_domains=2, latent_dim=4, style_dim=8,
                mapping_dim=16, base_dim=8, max_conv_dim=16, num_down=1, batch_size=2,
                total_iters=4, ds_iter=4, sample_every=2, save_every=2, eval_every=2, seed=3)
    base.update(overrides)
    return V2Config(**base)


def write_domain_folder(root, domains=("a", "b"), per_domain=3, size=16, seed=0):
    """``root/{train,val}/<domain>/*.png`` with random pixels; returns root."""
    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        for d in domains:
            folder = root / split / d
            folder.mkdir(parents=True)
            for i in range(per_domain):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def save_16bit_rgb(path, size=(24, 16)):
    """A 16-bit-per-channel RGB PNG (PIL writes none), red at full scale, green at half."""
    w, h = size
    pixels = np.zeros((h, w, 3), ">u2")
    pixels[..., 0], pixels[..., 1] = 65535, 32768
    rows = b"".join(b"\0" + row.tobytes() for row in pixels)  # filter type 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)  # 16 bits, colour type 2 (RGB)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def tiny_dataset(tmp_path):
    return write_domain_folder(tmp_path / "ds")
