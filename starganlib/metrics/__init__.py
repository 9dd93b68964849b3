"""Metrics: the toyfaces oracle, Frechet distance (FID), LPIPS diversity."""
