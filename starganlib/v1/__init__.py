"""StarGAN v1 (Choi et al., CVPR 2018): one generator for many domains, conditioned on labels."""
