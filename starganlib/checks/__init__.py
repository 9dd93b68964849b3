"""Checks for the course exercises: ``from starganlib import checks; checks.check_adain(AdaIN)``.

Each check compares the student's function or class with starganlib's reference on seeded random
inputs and on closed-form cases. It prints one line starting with ✓ when everything matches, and
otherwise raises an ``AssertionError`` that says what was expected, what came out and the likely
mistake. An unfinished exercise (``NotImplementedError``) is passed on unchanged.
"""
from .capstone import check_capstone, check_plugged
from .evaluation import check_frechet_distance
from .v1 import check_gradient_penalty, check_tile_label, check_v1_losses
from .v2 import (check_adain, check_adain_resblk, check_discriminator_and_adv_loss,
                 check_mapping_network, check_resblk)
from .v2_training import check_ema_and_lambda_ds, check_r1, check_v2_losses

__all__ = [
    "check_tile_label", "check_gradient_penalty", "check_v1_losses", "check_adain",
    "check_resblk", "check_adain_resblk", "check_mapping_network",
    "check_discriminator_and_adv_loss", "check_r1", "check_v2_losses", "check_ema_and_lambda_ds",
    "check_frechet_distance", "check_plugged", "check_capstone",
]
