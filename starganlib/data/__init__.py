"""Datasets: the embedded toyfaces, domain folders (AFHQ layout), CelebA attributes, downloads,
and your own photos made into domain folders (prepare)."""
