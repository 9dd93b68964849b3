"""StarGAN v2 (Choi et al., CVPR 2020): diverse multi-domain translation with style codes."""
