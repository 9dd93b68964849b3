"""A training run in one folder, the same for every trainer of the library (StarGAN v1 and v2).

    run_dir/config.json            the configuration
    run_dir/checkpoints/ckpt_*.pt  the last ``keep`` checkpoints and a ``latest`` pointer
    run_dir/losses.csv             the loss terms, every ``log_every`` steps
    run_dir/samples/               the model's sample grids, every ``sample_every`` steps
    run_dir/metrics.csv            the model's evaluation with the training seconds so far,
                                   every ``eval_every`` steps (only where the model evaluates)
    run_dir/metrics.json           the summary at the end

This module owns the folder and the loop's bookkeeping:

* a folder that already holds checkpoints is refused unless the run resumes; resuming loads the
  newest checkpoint and forgets the log rows written after it, so a resumed run's logs equal
  those of a run that was never interrupted;
* a NaN or Inf loss stops the run at once and keeps the last good checkpoint;
* Ctrl-C or SIGTERM saves a checkpoint at the next step boundary, then stops;
* under torchrun only rank 0 writes, and every rank stops at the same step.

A model brings a trainer (``step``, ``train_step(batch)``, ``state_dict()``,
``load_state_dict(state, source)``) and ``RunHooks``: its log row, samples, evaluation and summary.
"""
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .checkpoint import CheckpointManager, load_checkpoint
from .csv_log import CsvLog
from .runtime.distributed import World
from .runtime.interrupt import StopRequest
from .runtime.scalars import loss_values


@dataclass(frozen=True)
class Periods:
    """How long a run is and how often it logs, samples, evaluates and saves (in steps)."""
    total: int
    log_every: int
    sample_every: int
    eval_every: int
    save_every: int
    keep: int  # checkpoints kept


class RunHooks:
    """What a model adds to a run; the defaults add nothing."""

    def log_row(self, values: dict[str, float]) -> dict[str, float]:
        """The losses.csv row of a logged step (``values``: the step's loss terms)."""
        return values

    def samples(self, samples_dir: Path, step: int) -> None:
        """Write the sample grids of ``step`` into ``samples_dir``."""

    def evaluate(self) -> dict[str, float] | None:
        """The metrics.csv row (without step and seconds), or None: this model is not evaluated."""
        return None

    def summary(self, metrics: dict | None) -> dict:
        """Entries for metrics.json, given the last metrics row (None if there is none)."""
        return {}


class RunFolder:
    """The files of one run folder (see the module docstring); rank 0 alone writes."""

    def __init__(self, run_dir: Path, keep: int, kind: str, main: bool = True):
        self.dir, self.kind, self.main = Path(run_dir), kind, main
        self.checkpoints = CheckpointManager(self.dir, keep)
        self.losses = self.metrics = None

    def open(self, trainer, config: dict, resume: bool) -> float:
        """Refuse an existing run unless ``resume``; resume loads the newest checkpoint into
        ``trainer``. Writes config.json, opens the logs; returns the seconds trained before."""
        latest = self.checkpoints.latest()
        if latest is not None and not resume:
            raise FileExistsError(f"{self.dir} already holds checkpoints ({latest.name}); pass "
                                  f"--resume (resume=True) to continue that run or choose another "
                                  f"folder")
        if latest is not None:
            trainer.load_state_dict(load_checkpoint(latest, trainer.device, kind=self.kind), latest)
            if self.main:
                print(f"resumed from {latest} at step {trainer.step}")
        if not self.main:
            return 0.0
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config.json").write_text(json.dumps(config, indent=2))
        since = trainer.step if latest is not None else None
        self.losses = CsvLog(self.dir / "losses.csv", since)
        self.metrics = CsvLog(self.dir / "metrics.csv", since)
        rows = self.metrics.rows()
        return rows[-1]["seconds"] if rows else 0.0

    def check_finite(self, values: dict[str, float], step: int) -> None:
        """FloatingPointError naming the non-finite terms and the last good checkpoint."""
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            kept = self.checkpoints.latest()
            raise FloatingPointError(
                f"loss {', '.join(f'{k}={v}' for k, v in bad.items())} at step {step}; training "
                f"stopped. Last good checkpoint kept: {kept or 'none saved yet'}")

    def after_step(self, trainer, hooks: RunHooks, values: dict, periods: Periods,
                   seconds: float, stop: bool) -> None:
        """Rank 0's bookkeeping after a step: log, samples, evaluation, checkpoint."""
        step = trainer.step
        done = step == periods.total
        if step % periods.log_every == 0 or done:
            self.losses.write({"step": step, **hooks.log_row(values)})
        if step % periods.sample_every == 0 or done:
            hooks.samples(self.dir / "samples", step)
        if step % periods.eval_every == 0 or done:
            row = hooks.evaluate()
            if row is not None:
                self.metrics.write({"step": step, "seconds": round(seconds, 1), **row})
        if step % periods.save_every == 0 or done or stop:
            self.checkpoints.save(step, trainer.state_dict())

    def write_summary(self, trainer, hooks: RunHooks, seconds: float) -> dict:
        """metrics.json: steps, training seconds, the checkpoint, the last losses row, the last
        metrics row (``final``, where the model evaluates) and the model's summary."""
        losses, rows = self.losses.rows(), self.metrics.rows()
        final = rows[-1] if rows else None
        summary = {"step": trainer.step, "train_seconds": round(seconds, 1),
                   "checkpoint": str(self.checkpoints.latest()),
                   "losses": losses[-1] if losses else {}, "final": final or {},
                   **hooks.summary(final)}
        (self.dir / "metrics.json").write_text(json.dumps(summary, indent=2))
        return summary


def train_in_folder(trainer, hooks: RunHooks, batches_from: Callable[[int], Iterable],
                    folder: RunFolder, config: dict, periods: Periods, resume: bool = False,
                    desc: str = "training", progress: bool = True, world: World = World()) -> dict:
    """Train ``trainer`` up to ``periods.total`` steps with the run folder's bookkeeping; returns
    the summary (also in metrics.json; ``{"step": ...}`` on ranks other than 0).

    ``batches_from(step)`` gives the batches of the steps from ``step`` on (after a resume, the
    checkpoint's step), one per ``trainer.train_step``. ``KeyboardInterrupt`` after Ctrl-C or
    SIGTERM, once the checkpoint is written.
    """
    started = time.perf_counter() - folder.open(trainer, config, resume)
    with StopRequest() as stop:
        for batch in tqdm(batches_from(trainer.step), initial=trainer.step, total=periods.total,
                          desc=desc, disable=not (progress and world.is_main), dynamic_ncols=True):
            values = loss_values(trainer.train_step(batch))
            folder.check_finite(values, trainer.step)
            stop_now = world.any(stop.requested)
            if world.is_main:
                folder.after_step(trainer, hooks, values, periods,
                                  time.perf_counter() - started, stop_now)
            if stop_now:
                world.barrier()  # the checkpoint is written before any process exits
                raise KeyboardInterrupt(f"stopped at step {trainer.step}; saved "
                                        f"{folder.checkpoints.latest()}; continue with --resume")
    world.barrier()
    if not world.is_main:
        return {"step": trainer.step}
    return folder.write_summary(trainer, hooks, time.perf_counter() - started)
