"""Where generated data, cached oracles and runs live."""
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
