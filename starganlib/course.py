"""Small helpers the lessons share: show library source, get a trained toy model once."""
import contextlib
import inspect
from pathlib import Path

from .paths import data_dir


def show_source(obj) -> None:
    """Display the source code of a library function or class in a notebook."""
    from IPython.display import Markdown, display
    display(Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```"))


def device() -> str:
    """``"cuda"`` when a GPU is available, else ``"cpu"``."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """Hold an exclusive lock on ``lock_path`` (no-op where fcntl is missing, e.g. Windows)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock_path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def toy_model(iters: int, seed: int = 777):
    """StarGAN v2 (toy preset) trained for ``iters`` iterations on toyfaces, trained once and cached.

    Returns ``(nets_ema, cfg, run_dir)``. The run lives in ``data/runs/toy-v2-<iters>`` and is
    reused by every lesson that asks for the same length; lessons running at the same time wait
    for the one that trains.
    """
    from .checkpoint import CheckpointManager
    from .v2.config import preset
    from .v2.run import train
    from .v2.sample import load_ema_nets
    cfg = preset("toy", total_iters=iters, seed=seed,
                 sample_every=max(1, iters // 4), save_every=iters, eval_every=max(1, iters // 4))
    run_dir = data_dir() / "runs" / f"toy-v2-{iters}-seed{seed}"
    with _exclusive(data_dir() / "runs" / ".lock"):
        manager = CheckpointManager(run_dir)
        latest = manager.latest()
        if latest is None or not latest.name.endswith(f"{iters:06d}.pt"):
            train(cfg, run_dir, resume=latest is not None, device=device())
        nets, cfg = load_ema_nets(manager.latest(), device())
    return nets, cfg, run_dir

