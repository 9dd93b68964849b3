"""Small helpers the lessons share: show library source, get a trained toy model once."""
import inspect
from pathlib import Path

from .runtime.paths import data_dir, data_lock


def source_markdown(obj) -> str:
    """The source code of a library function or class as Markdown: a python code fence."""
    return f"```python\n{inspect.getsource(obj).rstrip()}\n```"


def show_source(obj) -> None:
    """Display the source code of a library function or class in a notebook (tools/
    refresh_sources.py rewrites these stored outputs after a library change)."""
    from IPython.display import Markdown, display
    display(Markdown(source_markdown(obj)))


def device() -> str:
    """``"cuda"`` when a GPU is available, else ``"cpu"``."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def _cached_run(run_dir: Path, iters: int, train_fn) -> Path:
    """Train into ``run_dir`` up to ``iters`` iterations unless a checkpoint of that length exists
    (resuming a shorter one); return the checkpoint. Concurrent callers wait for the one training."""
    from .checkpoint import CheckpointManager
    with data_lock(f"run-{run_dir.name}"):
        manager = CheckpointManager(run_dir)
        latest = manager.latest()
        if latest is None or not latest.name.endswith(f"{iters:06d}.pt"):
            train_fn(run_dir, resume=latest is not None, device=device())
        return manager.latest()


def toy_model(iters: int, seed: int = 777):
    """StarGAN v2 (toy preset) trained for ``iters`` iterations on toyfaces, trained once and cached.

    Returns ``(nets_ema, cfg, run_dir)``. The run lives in ``data/runs/toy-v2-<iters>-seed<seed>``
    and is reused by every lesson that asks for the same length.
    """
    from .v2.config import preset
    from .v2.run import train
    from .v2.sample import load_ema_nets
    cfg = preset("toy", total_iters=iters, seed=seed,
                 sample_every=max(1, iters // 4), save_every=iters, eval_every=max(1, iters // 4))
    run_dir = data_dir() / "runs" / f"toy-v2-{iters}-seed{seed}"
    checkpoint = _cached_run(run_dir, iters, lambda *a, **k: train(cfg, *a, **k))
    nets, cfg = load_ema_nets(checkpoint, device())
    return nets, cfg, run_dir


def toy_v1_model(iters: int, seed: int = 0):
    """StarGAN v1 (``toy-v1`` preset) trained for ``iters`` iterations on toyfaces, trained once
    and cached.

    The learning rate decays over the last half, as in the preset (3,000 iterations, decay over
    the last 1,500). Returns ``(G, cfg, run_dir)``: the generator in eval mode, its
    ``V1Config`` and the run folder ``data/runs/toy-v1-<iters>-seed<seed>`` (``losses.csv``,
    ``samples/``, ``metrics.json`` with the oracle report).
    """
    from .v1.config import preset
    from .v1.run import train
    from .v1.sample import load_generator
    cfg = preset("toy-v1", num_iters=iters, num_iters_decay=iters // 2, seed=seed,
                 sample_every=max(1, iters // 4), save_every=iters)
    run_dir = data_dir() / "runs" / f"toy-v1-{iters}-seed{seed}"
    checkpoint = _cached_run(run_dir, iters, lambda *a, **k: train(cfg, *a, **k))
    G, cfg = load_generator(checkpoint, device())
    return G, cfg, run_dir


LESSON_ITERS = {"fast": 60, "full": 3000}  # the toy preset's full length is 3,000 iterations


def lesson_v2_model(fast: bool):
    """The StarGAN v2 every lesson from 09 on looks at: ``toy_model`` of the full toy preset
    (3,000 iterations: about 18 minutes on 2 CPU cores the first time, cached after), or in fast
    mode a 60-iteration run that only shows the code paths. Returns ``(nets_ema, cfg, run_dir)``."""
    return toy_model(LESSON_ITERS["fast" if fast else "full"])


def prepare_lessons(fast: bool) -> None:
    """Make once what several lessons share, so that none of them waits for it: toyfaces at
    32 px, the oracle that judges it, and the StarGAN v1 and v2 models the lessons look at."""
    from .metrics.oracle import load_oracle
    load_oracle(32)
    toy_v1_model(300 if fast else 3000)
    lesson_v2_model(fast)
