"""Run the lessons' Colab set-up cell in a simulated Colab, then lesson cells that use widgets.

The simulated Colab is a fresh virtual environment (no system site-packages) holding what a
Colab runtime has before the cell runs: torch and the usual scientific packages, and, at the
versions Colab ships, the packages the course could disturb (``COLAB_PINS``: ipywidgets 7,
IPython, ipykernel, notebook); a stub ``google.colab`` whose ``output`` records the calls; and a
kernel of that environment that nbclient runs like Colab's, after ``import google.colab``. The
cell's clone of ``https://github.com/<REPOSITORY>`` is sent by git's ``url.<base>.insteadOf`` to
a copy of this checkout's last commit, so only the package registry is needed.

Checks: the cell installs the course (from the clone) without changing any package Colab had; a
second run of the cell works (nbclient stops at a cell's error); lesson 00's explorer and a
``tqdm.auto`` bar draw ipywidgets 7 widgets; the cell switched Colab's custom widget manager on. Prints what it saw, exits 1 if a
check fails. Building the environment takes a few minutes the first time (torch alone is GBs).

    python tools/simulate_colab.py                 # environment kept in the system's temp dir
    python tools/simulate_colab.py --venv DIR      # ... or in DIR (built if missing, else reused)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from lessons import REPOSITORY

ROOT = Path(__file__).resolve().parents[1]
# Colab's versions (pip's resolver messages in Colab runtimes, 2024): google-colab 1.0.0 pins
# ipykernel 5.5.6 and IPython 7.34.0, Colab's notebook is 6.5.5 and its ipywidgets 7.7.1.
COLAB_PINS = ("ipywidgets==7.7.1", "ipykernel==5.5.6", "ipython==7.34.0", "notebook==6.5.5")
PREINSTALLED = ("torch", "torchvision", "numpy", "scipy", "matplotlib", "pillow", "tqdm")
STUB_OUTPUT = '''"""Stand-in for google.colab.output (tools/simulate_colab.py): records the calls."""
calls = []


def enable_custom_widget_manager():
    calls.append("enable_custom_widget_manager")
'''
TQDM_CELL = "from tqdm.auto import tqdm\n\nfor _ in tqdm(range(3), desc=\"a progress bar\"):\n    pass"
REPORT_CELL = '''import json, ipywidgets, starganlib, torch
from google.colab import output
print(json.dumps({"ipywidgets": ipywidgets.__version__, "torch": torch.__version__,
                  "starganlib": starganlib.__file__, "colab output calls": output.calls}))'''


def run(*command, **kwargs) -> str:
    """Run a command; on failure stop with its output."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stdout}{result.stderr}")
    return result.stdout


def build_colab_venv(venv: Path) -> Path:
    """The simulated runtime's Python, with Colab's packages and the stub google.colab; a kept
    environment is first put back as it was built (an earlier run's cell may have changed it)."""
    python, pristine = venv / "bin" / "python", venv / "colab-packages.json"
    if not pristine.exists():
        print(f"building the simulated Colab in {venv} (a few minutes) ...", flush=True)
        run(sys.executable, "-m", "venv", "--clear", venv)
        run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
            *PREINSTALLED, *COLAB_PINS)
        pristine.write_text(json.dumps(packages(python)))
    built, now = json.loads(pristine.read_text()), packages(python)
    if set(now) - set(built):
        run(python, "-m", "pip", "uninstall", "-q", "-y", *sorted(set(now) - set(built)))
    changed = [f"{name}=={version}" for name, version in built.items() if now.get(name) != version]
    if changed:
        run(python, "-m", "pip", "install", "-q", "--no-deps", *changed)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    stub = site / "google" / "colab"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab."""\n')
    (stub / "output.py").write_text(STUB_OUTPUT)
    return python


def packages(python: Path) -> dict[str, str]:
    """name -> version of every package installed for ``python``."""
    listed = json.loads(run(python, "-m", "pip", "list", "--format", "json",
                            "--disable-pip-version-check"))
    return {p["name"].lower(): p["version"] for p in listed}


def course_source(work: Path) -> Path:
    """A bare copy of this checkout whose default branch is the last commit (what the cell's
    clone gets instead of GitHub's)."""
    if run("git", "-C", ROOT, "status", "--porcelain").strip():
        print("note: uncommitted changes are not part of the test (it clones the last commit)")
    source = work / "course.git"
    commit = run("git", "-C", ROOT, "rev-parse", "HEAD").strip()
    run("git", "clone", "-q", "--bare", ROOT, source)
    run("git", "-C", source, "update-ref", "refs/heads/colab-simulation", commit)
    run("git", "-C", source, "symbolic-ref", "HEAD", "refs/heads/colab-simulation")
    return source


def lesson_notebook() -> nbformat.NotebookNode:
    """Colab's start-up import, the set-up cell twice (a re-run), the parameters, and lesson
    00's cells that draw the toyfaces explorer, then a tqdm bar and a report."""
    lesson = json.loads((ROOT / "notebooks" / "00_welcome.ipynb").read_text())
    code = ["".join(c["source"]) for c in lesson["cells"] if c["cell_type"] == "code"]
    setup, parameters = code[0], code[1]
    imports = next(c for c in code if "from starganlib.widgets import toyfaces_explorer" in c)
    explorer = next(c for c in code if "toyfaces_explorer(size" in c)
    cells = ["import google.colab  # Colab's kernel imports it before the first cell runs",
             setup, setup, parameters, imports, explorer, TQDM_CELL, REPORT_CELL]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def execute(nb, python: Path, work: Path, source: Path) -> None:
    """Run ``nb`` in a kernel of the simulated Colab, working folder ``work``."""
    kernels = work / "kernels" / "colab"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "simulated Colab", "language": "python"}))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.file://{source}.insteadOf",
                "GIT_CONFIG_VALUE_0": f"https://github.com/{REPOSITORY}",
                "STARGAN_FAST": "1", "STARGANLIB_DATA": str(work / "data")})
    km = KernelManager(kernel_name="colab",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels.parent)]))
    client = NotebookClient(nb, km=km, timeout=900, resources={"metadata": {"path": str(work)}})
    client.execute(env=env)


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def widget_versions(nb) -> set[str]:
    """The model module versions of the widgets the kernel created (ipywidgets 7: 1.x)."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return {m["model_module_version"] for m in state.get("state", {}).values()}


def views(cell) -> int:
    return sum("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)


def main(venv: Path) -> int:
    python = build_colab_venv(venv)
    before = packages(python)
    print("simulated Colab:", ", ".join(f"{n} {before[n]}" for n in
                                         ("torch", "ipywidgets", "ipykernel", "ipython", "notebook")))
    with tempfile.TemporaryDirectory(prefix="colab-") as folder:
        work = Path(folder)
        source, commit = course_source(work), run("git", "-C", ROOT, "rev-parse", "HEAD")
        nb = lesson_notebook()
        execute(nb, python, work, source)
        after = packages(python)
        report = json.loads(text_of(nb.cells[-1]).strip().splitlines()[-1])
        checks = {
            "the course comes from the clone of this checkout's last commit":
                report["starganlib"].startswith(str(work / "stargan-course")) and
                run("git", "-C", work / "stargan-course", "rev-parse", "HEAD") == commit,
            "no package Colab had changed version": all(after.get(n) == v for n, v in before.items()),
            "the explorer is a widget": views(nb.cells[5]) == 1,
            "the tqdm bar is a widget": views(nb.cells[6]) == 1,
            "all widgets are ipywidgets 7 models": widget_versions(nb) and all(
                v.startswith("1.") for v in widget_versions(nb)),
            "the custom widget manager was switched on": report["colab output calls"] == [
                "enable_custom_widget_manager"] * 2,
        }
    print("cells run, without an error:", " | ".join(c.source.splitlines()[0] for c in nb.cells))
    print("installed by the cell:", ", ".join(f"{n} {v}" for n, v in after.items() if n not in before))
    print("changed by the cell:", ", ".join(f"{n} {v} -> {after.get(n)}" for n, v in before.items()
                                            if after.get(n) != v) or "nothing")
    print("kernel report:", json.dumps(report))
    print("widget model versions:", sorted(widget_versions(nb)))
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path,
                        default=Path(tempfile.gettempdir()) / "stargan-colab-simulation",
                        help="the simulated runtime's environment (built if missing)")
    sys.exit(main(parser.parse_args().venv))
