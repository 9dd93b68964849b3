"""exercises/ is generated from solutions/ (tools/exercises.py), and every exercise notebook,
executed as a student first opens it, fails only with the NotImplementedError of its stubs."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "exercises.py"
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True)


@pytest.fixture
def tool(monkeypatch):
    """tools/exercises.py imported as a module (it imports tools/lessons.py)."""
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location("exercises_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def checkout(tmp_path):
    """A copy of solutions/ and exercises/ to damage."""
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_exercises_are_up_to_date():
    result = run_tool("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_exercise_per_solution():
    assert [p.name for p in EXERCISES] == sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert len(EXERCISES) == 12


def test_check_mode_names_a_stale_exercise_and_write_mode_repairs_it(checkout):
    path = checkout / "solutions" / "04_adain.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][3]["source"].append("\nOne more sentence.")
    path.write_text(json.dumps(nb, indent=1))
    result = run_tool("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert "stale   exercises/04_adain.ipynb" in result.stdout
    assert result.stdout.count("exercises/") == 1, result.stdout
    assert run_tool("--root", str(checkout)).returncode == 0
    assert run_tool("--check", "--root", str(checkout)).returncode == 0


def test_check_mode_names_missing_and_extra_exercises(checkout):
    (checkout / "exercises" / "01_tile_label.ipynb").unlink()
    shutil.copy(checkout / "exercises" / "02_gradient_penalty.ipynb",
                checkout / "exercises" / "99_orphan.ipynb")
    result = run_tool("--check", "--root", str(checkout))
    assert result.returncode == 1
    assert "missing exercises/01_tile_label.ipynb" in result.stdout
    assert "extra   exercises/99_orphan.ipynb" in result.stdout


def test_code_stub_keeps_indentation_and_uses_the_hint(tool):
    source = ("def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    # HINT: add y\n"
              "    # HINT: to x\n    return x + y\n    ### END SOLUTION\n")
    assert tool.stub_code(source, "cell") == (
        'def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError("add y to x")\n')
    assert "write your code here" in tool.stub_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                                                    "cell")


def test_markdown_answer_becomes_a_placeholder(tool):
    source = "Question?\n<!-- BEGIN SOLUTION -->\nThe answer.\n<!-- END SOLUTION -->"
    assert tool.stub_markdown(source, "cell") == "Question?\n_Your answer here._"


@pytest.mark.parametrize("source", ["### BEGIN SOLUTION\nx = 1",
                                    "x = 1\n### END SOLUTION",
                                    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_unbalanced_markers_are_refused(tool, source):
    with pytest.raises(ValueError, match="solutions/x.ipynb, cell 2"):
        tool.stub_code(source, "solutions/x.ipynb, cell 2")


def test_a_solution_without_an_answer_is_refused(tool):
    solution = {"cells": [{"cell_type": "code", "metadata": {}, "source": ["x = 1"],
                           "outputs": [], "execution_count": None}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    with pytest.raises(ValueError, match="no '### BEGIN SOLUTION'"):
        tool.exercise_notebook(solution, Path("exercises/00_x.ipynb"), "solutions/00_x.ipynb")


def test_exercises_have_no_outputs_and_the_standard_header():
    for path in EXERCISES:
        nb = json.loads(path.read_text())
        tags = [c["metadata"].get("tags", [None])[0] for c in nb["cells"][:3]]
        assert tags == ["colab-badge", "colab-setup", "parameters"], path.name
        assert f"blob/main/exercises/{path.name}" in "".join(nb["cells"][0]["source"])
        for cell in nb["cells"]:
            assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
            assert "SOLUTION" not in "".join(cell["source"]), path.name


@pytest.fixture(scope="module")
def kernel():
    """One Python kernel for every exercise, in fast mode: torch and starganlib load once, and
    each exercise starts from an empty namespace (%reset -f)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STARGAN_FAST", "1")
        env.setenv("OMP_NUM_THREADS", "1")
        client = NotebookClient(nbformat.v4.new_notebook(), kernel_name="python3",
                                allow_errors=True, timeout=120,
                                resources={"metadata": {"path": str(ROOT / "exercises")}})
        with client.setup_kernel():
            yield client


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_fails_only_with_not_implemented_error(path, kernel):
    nb = nbformat.read(path, as_version=4)
    kernel.nb = nb
    kernel.execute_cell(nbformat.v4.new_code_cell("%reset -f"), 0)
    for index, cell in enumerate(nb.cells):
        kernel.execute_cell(cell, index)
    errors = {i: out.ename for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"}
    assert errors, "no cell raised: the exercise has nothing left to do"
    assert set(errors.values()) == {"NotImplementedError"}, errors
    check_cells = [i for i, cell in enumerate(nb.cells) if "checks.check_" in cell.source]
    assert check_cells and all(i in errors for i in check_cells), (check_cells, errors)
