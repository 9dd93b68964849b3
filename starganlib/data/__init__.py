"""Datasets: the embedded toyfaces, domain folders (AFHQ layout), CelebA attributes, downloads."""
