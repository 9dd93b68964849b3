"""The StarGAN v2 networks assembled: G, F, E and D of a config, under their paper names.

``build_nets`` makes the four networks a training run needs; ``build_ema_nets`` makes the three
that are averaged (EMA) and used for every translation after training (D is only a critic).
Sampling, official checkpoints, the lessons and the trainer all build networks here.
"""
from torch import nn

from .config import V2Config
from .model import Discriminator, Generator, MappingNetwork, StyleEncoder, he_init

TRAINED = ("generator", "mapping_network", "style_encoder", "discriminator")
AVERAGED = ("generator", "mapping_network", "style_encoder")  # the EMA copies: no D


class Nets(nn.Module):
    """The networks of StarGAN v2 under their paper names (D is absent from the EMA copy)."""

    def __init__(self, generator, mapping_network, style_encoder, discriminator=None):
        super().__init__()
        self.generator = generator
        self.mapping_network = mapping_network
        self.style_encoder = style_encoder
        self.discriminator = discriminator


def build_nets(cfg: V2Config) -> Nets:
    """G, F, E, D for ``cfg``, He-initialised (seed the global RNG first for repeatable weights)."""
    nets = Nets(
        Generator(cfg.img_size, cfg.style_dim, cfg.max_conv_dim, cfg.w_hpf, cfg.base_dim,
                  cfg.num_down),
        MappingNetwork(cfg.latent_dim, cfg.style_dim, cfg.num_domains, cfg.mapping_dim),
        StyleEncoder(cfg.img_size, cfg.style_dim, cfg.num_domains, cfg.max_conv_dim, cfg.base_dim),
        Discriminator(cfg.img_size, cfg.num_domains, cfg.max_conv_dim, cfg.base_dim))
    nets.apply(he_init)
    return nets


def build_ema_nets(cfg: V2Config) -> Nets:
    """G, F, E for ``cfg`` (no D): the networks a trained model translates with."""
    full = build_nets(cfg)
    return Nets(*(getattr(full, n) for n in AVERAGED))
