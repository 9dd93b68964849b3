"""starganlib: StarGAN v1 and StarGAN v2, written to be read.

Subpackages: ``data`` (toyfaces, domain folders, CelebA attributes, downloads),
``v1`` and ``v2`` (models, losses, training), ``metrics`` (oracle, FID, LPIPS).
"""

__version__ = "0.1.0"
