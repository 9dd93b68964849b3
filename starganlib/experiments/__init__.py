"""Experiments that reproduce results of the papers on toyfaces (``python -m starganlib.experiments.<name>``)."""
