"""Checkpoints that survive interruption and cannot run code.

* ``save_checkpoint`` writes to a temporary file in the same folder, flushes and fsyncs it, then
  renames it over the target: a process killed at any moment leaves either the old file or the
  new one, never half of one.
* ``load_checkpoint`` uses ``torch.load(weights_only=True)``: tensors, numbers, strings, lists,
  tuples and dicts load; a pickle that would build arbitrary objects (and so run code) is refused.
* ``CheckpointManager`` keeps the last ``keep`` checkpoints of a run and a ``latest`` pointer file
  (written the same atomic way) naming the newest one.
"""
import os
import pickle
import tempfile
from pathlib import Path

import torch

LATEST = "latest"


class CheckpointError(ValueError):
    """A file that is not a loadable checkpoint of the expected kind."""


def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomically write ``state`` (a dict of tensors, numbers, strings, lists and dicts)."""
    _atomic_write(Path(path), lambda f: torch.save(state, f))


def load_checkpoint(path: Path, map_location="cpu", kind: str | None = None) -> dict:
    """Load a checkpoint written by ``save_checkpoint`` without running any code.

    ``kind`` (e.g. ``"stargan-v2"``), when given, must equal the checkpoint's ``"kind"`` entry.
    Raises ``FileNotFoundError`` for a missing file and ``CheckpointError`` (naming the file) for
    a file that is truncated, is not a torch checkpoint, contains objects other than plain data,
    or belongs to another model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    with path.open("rb") as f:
        start = f.read(2)
    if start != b"PK" and start[:1] != b"\x80":  # a zip archive, or a pickle's PROTO opcode
        raise CheckpointError(f"{path}: not a checkpoint (torch.save writes a zip archive, or a "
                              f"pickle in torch before 1.6; this file starts with {start!r})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{path}: refused to load: it holds objects other than tensors and plain data "
            f"(loading it could run code). Detail: {str(e).splitlines()[0]}") from e
    except Exception as e:  # truncated or foreign files fail in many ways inside the unpickler
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated, or not written by torch.save): {e}"
        ) from e
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict of states, found {type(state).__name__}")
    if kind is not None and state.get("kind") != kind:
        raise CheckpointError(
            f"{path}: this is a {state.get('kind', 'unknown')!r} checkpoint, expected {kind!r}")
    return state


def check_architecture(saved: dict, cfg, fields, source) -> None:
    """ValueError naming ``source`` and every field of ``fields`` where the checkpoint's config
    ``saved`` (a dict) and ``cfg`` (a config dataclass) differ: their networks would not load."""
    def same(a, b):
        return (tuple(a) if isinstance(a, list) else a) == b
    wrong = [f"{f}: checkpoint {saved.get(f)!r}, config {getattr(cfg, f)!r}"
             for f in fields if not same(saved.get(f), getattr(cfg, f))]
    if wrong:
        raise ValueError(f"{source} was trained with another architecture: " + "; ".join(wrong))


class CheckpointManager:
    """The checkpoints of one run folder: ``ckpt_{step:06d}.pt`` files and a ``latest`` pointer."""

    def __init__(self, run_dir: Path, keep: int = 3):
        if keep < 1:
            raise ValueError(f"keep must be >= 1 (checkpoints to keep), got {keep}")
        self.dir = Path(run_dir) / "checkpoints"
        self.keep = keep

    def save(self, step: int, state: dict) -> Path:
        """Write the checkpoint of ``step``, point ``latest`` at it, then drop the oldest ones."""
        path = self.dir / f"ckpt_{step:06d}.pt"
        save_checkpoint(path, state)
        _atomic_write(self.dir / LATEST, lambda f: f.write(path.name.encode() + b"\n"))
        for old in self.all()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    def all(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        return sorted(self.dir.glob("ckpt_*.pt"))

    def latest(self) -> Path | None:
        """The newest checkpoint, following the ``latest`` pointer (None if there is none)."""
        pointer = self.dir / LATEST
        if pointer.is_file():
            path = self.dir / pointer.read_text().strip()
            if path.is_file():
                return path
        existing = self.all()
        return existing[-1] if existing else None
