"""The Colab set-up cell of every lesson (tools/lessons.py SETUP), run as a script beside a stub
``google.colab``: a failed clone stops with the address, a re-run skips the clone, and outside
Colab the cell does nothing. tools/simulate_colab.py runs the whole cell in a simulated Colab."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lessons():
    spec = importlib.util.spec_from_file_location("lessons_tool", ROOT / "tools" / "lessons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cell(lessons, folder: Path, on_colab: bool, clone_from: str) -> subprocess.CompletedProcess:
    """The set-up cell in a fresh Python, working folder ``folder``; git fetches the course's
    address from ``clone_from`` instead (git's url.<base>.insteadOf, so no network)."""
    stub = folder / "stub" / "google" / "colab"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    (stub / "output.py").write_text("def enable_custom_widget_manager():\n    print('widgets on')\n")
    env = {**os.environ, "PYTHONPATH": str(folder / "stub"), "GIT_CONFIG_COUNT": "1",
           "GIT_CONFIG_KEY_0": f"url.{clone_from}.insteadOf",
           "GIT_CONFIG_VALUE_0": f"https://github.com/{lessons.REPOSITORY}"}
    script = ("import google.colab\n" if on_colab else "") + lessons.SETUP
    return subprocess.run([sys.executable, "-c", script], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_failed_clone_stops_with_the_address_and_gits_message(lessons, tmp_path):
    result = run_cell(lessons, tmp_path, on_colab=True, clone_from=f"file://{tmp_path}/missing")
    assert result.returncode != 0
    assert (f"RuntimeError: could not clone the course from https://github.com/{lessons.REPOSITORY}"
            in result.stderr), result.stderr
    assert "does not appear to be a git repository" in result.stderr  # git's own words
    assert "pip" not in result.stderr
    assert not (tmp_path / "stargan-course").exists()


def test_a_rerun_skips_the_clone_and_installs_the_folder_it_finds(lessons, tmp_path):
    (tmp_path / "stargan-course").mkdir()  # left by an earlier run (here: not a project at all)
    result = run_cell(lessons, tmp_path, on_colab=True, clone_from=f"file://{tmp_path}/missing")
    assert "could not clone" not in result.stderr
    assert "CalledProcessError" in result.stderr and "pip" in result.stderr, result.stderr
    assert str(tmp_path / "stargan-course") in result.stderr


def test_outside_colab_the_cell_does_nothing(lessons, tmp_path):
    result = run_cell(lessons, tmp_path, on_colab=False, clone_from=f"file://{tmp_path}/missing")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not (tmp_path / "stargan-course").exists()


def test_every_lesson_and_badge_point_at_the_one_repository_setting(lessons):
    for path in lessons.notebooks():
        text = (ROOT / path).read_text()
        assert text.count(f"github/{lessons.REPOSITORY}/blob/main/{path.as_posix()}") == 1, path
        assert text.count(f"https://github.com/{lessons.REPOSITORY}") == 1, path
