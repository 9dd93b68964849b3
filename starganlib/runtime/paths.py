"""Where generated data, cached oracles and runs live, and a lock for making them once."""
import contextlib
import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The folder for generated datasets and cached models.

    ``$STARGANLIB_DATA`` if set; else ``data/`` of the course checkout when the library is
    used from one (editable install); else ``~/.cache/starganlib``.
    """
    if os.environ.get("STARGANLIB_DATA"):
        return Path(os.environ["STARGANLIB_DATA"])
    if (_REPO_ROOT / "pyproject.toml").is_file() and (_REPO_ROOT / "data").is_dir():
        return _REPO_ROOT / "data"
    return Path.home() / ".cache" / "starganlib"


@contextlib.contextmanager
def data_lock(name: str):
    """Hold the lock ``data_dir()/.locks/<name>`` so that processes needing the same cached thing
    (a dataset, an oracle, a trained model) make it once: the others wait, then load it. A no-op
    where ``fcntl`` is missing (Windows)."""
    path = data_dir() / ".locks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
