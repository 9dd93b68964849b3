"""The official StarGAN v2 pretrained checkpoints (``100000_nets_ema.ckpt``, AFHQ and CelebA-HQ).

Such a file is a dict of state dicts keyed by network: ``generator``, ``mapping_network``,
``style_encoder`` (and ``fan``, the landmark network, for CelebA-HQ; not used here). Our modules
use the official attribute names, so keys map one to one, with two known wrinkles:

* some files carry the ``module.`` prefix of DataParallel (official issues #152, #173);
* the released CelebA-HQ generator has no ``hpf.filter``: it became a buffer in 2021 (#103).
  It is a constant set from w_hpf, so the value our generator computes is kept.

The file is read with ``weights_only=True``: a file that would run code is refused.
"""
from pathlib import Path

from ..checkpoint import CheckpointError, load_checkpoint
from .config import V2Config, preset
from .nets import AVERAGED, Nets, build_ema_nets

OPTIONAL_KEYS = {"generator": {"hpf.filter"}}  # buffers the released files may lack
DOMAINS = {"afhq": ("cat", "dog", "wild"), "celeba-hq": ("female", "male")}  # in label order


def strip_prefix(state: dict, prefix: str = "module.") -> dict:
    """``state`` with ``prefix`` removed from every key that starts with it."""
    return {k.removeprefix(prefix): v for k, v in state.items()}


def load_official(path: Path, preset_name: str, device="cpu", **overrides) -> tuple[Nets, V2Config]:
    """The EMA networks G, F, E (eval mode) of an official checkpoint, built from ``preset_name``
    (``afhq`` or ``celeba-hq``; ``overrides`` such as ``img_size`` for a model trained at another
    size); the config names the released models' domains. Raises CheckpointError naming the
    file and every missing or unexpected key."""
    cfg = preset(preset_name, **{"domains": DOMAINS.get(preset_name, ()), **overrides})
    state = load_checkpoint(path, device)
    if "kind" in state:
        raise CheckpointError(f"{path}: a {state['kind']!r} checkpoint written by this library's "
                              f"training, not an official one: load it without the official "
                              f"option (--official)")
    missing_nets = [n for n in AVERAGED if n not in state]
    if missing_nets:
        raise CheckpointError(f"{path}: not an official StarGAN v2 nets_ema checkpoint: no "
                              f"{', '.join(missing_nets)} (found {', '.join(map(str, state))})")
    nets = build_ema_nets(cfg)
    for name in AVERAGED:
        _load_net(getattr(nets, name), strip_prefix(state[name]), name, path, preset_name)
    return nets.to(device).eval(), cfg


def _load_net(module, state: dict, name: str, path: Path, preset_name: str) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(state) - OPTIONAL_KEYS.get(name, set()))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        details = [f"{label}: {', '.join(keys[:6])}{' ...' if len(keys) > 6 else ''}"
                   for label, keys in (("missing", missing), ("unexpected", unexpected),
                                       ("other shape", wrong)) if keys]
        raise CheckpointError(f"{path}: its {name} does not fit the {preset_name!r} preset "
                              f"(check num_domains, w_hpf, img_size): " + "; ".join(details))
    module.load_state_dict({**own, **state})
