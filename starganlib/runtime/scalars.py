"""Loss values to Python floats with one host synchronisation."""
import torch


def loss_values(terms: dict[str, torch.Tensor]) -> dict[str, float]:
    """``{name: 0-d tensor}`` -> ``{name: float}``, copied from the device all at once.

    ``.item()`` on each tensor would make the host wait for a GPU once per loss term (13 times
    in a StarGAN v2 iteration); stacking them first waits once.
    """
    if not terms:
        return {}
    return dict(zip(terms, torch.stack([v.float() for v in terms.values()]).tolist()))
