"""Maintain the standard top cells of every lesson and solution notebook, and README's lesson table.

Each notebook in notebooks/ and solutions/ starts with three cells this script owns, recognised
by their tags (exercises/ get the same cells from tools/exercises.py, which generates them):

* ``colab-badge``  (markdown) an "Open in Colab" badge for this notebook;
* ``colab-setup``  (code) on Colab: clone the course (a failed clone stops with the address and
  git's message), install it without touching Colab's torch and ipywidgets 7, enable the widget
  manager; elsewhere it does nothing (tools/simulate_colab.py runs it in a simulated Colab);
* ``parameters``   (code) the fast-mode switch, overridable by papermill-style tools.

It also rewrites what viewers without widgets (GitHub, nbviewer) show of each ``tqdm.auto``
progress bar: the bar is a widget whose text fallback holds its state when first drawn
("0%| 0/3000"), so the fallback is set to the bar's final text, read from the widget state that
nbconvert stores in the notebook; a bar that tqdm hid at its end (``leave=False``) loses its
output. Jupyter still draws the widget, and a run of the cell replaces the output.

    python tools/lessons.py          # rewrite the cells, the bars' texts and the README table
    python tools/lessons.py --check  # exit 1 if anything is out of date (used by the tests)
"""
import html
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where the course is published: the GitHub owner/name (default branch `main`) that every Colab
# badge opens and every set-up cell clones. To publish elsewhere, change it and rerun this script
# and tools/exercises.py (README, "Publishing the course").
REPOSITORY = "stargan-course/stargan-course"
FOLDERS = ("notebooks", "solutions")
TABLE_START, TABLE_END = "<!-- lessons:start -->", "<!-- lessons:end -->"

SETUP = f'''# Colab: install the course, keeping Colab's torch and ipywidgets. Elsewhere this does nothing.
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    url = "https://github.com/{REPOSITORY}"
    course = os.path.abspath("stargan-course")  # /content/stargan-course on Colab
    if not os.path.isdir(course):  # cloned by an earlier run of this cell
        clone = subprocess.run(["git", "clone", "-q", "--depth", "1", url, course],
                               capture_output=True, text=True)
        if clone.returncode != 0:
            raise RuntimeError(f"could not clone the course from {{url}} (is that the course's "
                               f"address, and is the repository public?):\\n{{clone.stderr}}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", course], check=True)
    sys.path.insert(0, course)
    from google.colab import output
    output.enable_custom_widget_manager()'''

PARAMETERS = '''# parameters: FAST=True runs a short version of every long computation (set STARGAN_FAST=1;
# on automatically in CI). Full mode trains longer and gives nicer results.
import os
FAST = os.environ.get("STARGAN_FAST", "1" if os.environ.get("CI") else "0") == "1"'''


def badge(path: Path) -> str:
    url = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/{path.as_posix()}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def cell(kind: str, source: str, tag: str) -> dict:
    c = {"cell_type": kind, "metadata": {"tags": [tag]}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        c.update(execution_count=None, outputs=[])
    return c


def header(path: Path) -> list[dict]:
    return [cell("markdown", badge(path), "colab-badge"), cell("code", SETUP, "colab-setup"),
            cell("code", PARAMETERS, "parameters")]


def _tags(c: dict) -> set:
    return set(c.get("metadata", {}).get("tags", []))


def with_header(nb: dict, path: Path) -> dict:
    """The notebook with its owned cells replaced (outputs of kept cells untouched)."""
    owned = {"colab-badge", "colab-setup", "parameters"}
    old = {t: c for c in nb["cells"] for t in _tags(c) & owned}
    new_cells = []
    for fresh in header(path):
        tag = _tags(fresh).pop()
        if tag in old and old[tag]["cell_type"] == "code" and "".join(old[tag]["source"]) == "".join(fresh["source"]):
            fresh = old[tag]  # unchanged: keep its stored outputs and execution count
        new_cells.append(fresh)
    rest = [c for c in nb["cells"] if not (_tags(c) & owned)]
    return {**nb, "cells": new_cells + rest}


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
BAR_WIDGETS = ["HTMLModel", "FloatProgressModel", "HTMLModel"]  # a tqdm.auto bar's HBox holds these
BAR_WIDTH = 10  # characters, as tqdm draws a bar of unknown width


def progress_bar(models: dict, model_id: str) -> dict | None:
    """The final state of the tqdm.auto bar drawn by widget ``model_id``, read from the stored
    widget ``models``: ``{"text": "name: 100%|██████████| 3/3 [00:02<00:00, 1.41it/s]",
    "hidden": False}``; None when that widget is not a progress bar."""
    box = models[model_id]["state"]
    children = [models[c.removeprefix("IPY_MODEL_")] for c in box.get("children", [])]
    if [c["model_name"] for c in children] != BAR_WIDGETS:
        return None
    left, progress, right = (c["state"] for c in children)
    filled = round(BAR_WIDTH * min(max(progress["value"] / progress["max"], 0), 1))
    bar = "|" + ("█" * filled).ljust(BAR_WIDTH) + "|" if left["value"] else ""  # no total: no bar
    layout = models[box["layout"].removeprefix("IPY_MODEL_")]["state"]
    return {"text": _plain(left["value"]) + bar + _plain(right["value"]),
            "hidden": layout.get("visibility") == "hidden"}


def _plain(value: str) -> str:
    """The text of a tqdm HTML widget's value (tqdm escapes it and pads with figure spaces)."""
    return html.unescape(value).replace("\u2007", " ")


def with_finished_bars(nb: dict, path: Path) -> dict:
    """The notebook with each progress bar's text fallback showing the bar's final state, and
    the bars tqdm hid at their end removed (see the module's docstring). Raises ValueError
    naming the cell of a widget output whose state the notebook does not store."""
    models = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    cells = []
    for index, c in enumerate(nb["cells"]):
        outputs = []
        for output in c.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None and view["model_id"] not in models:
                raise ValueError(f"{path} cell {index}: a widget whose state is not stored in the "
                                 "notebook; execute it with jupyter nbconvert --execute, which "
                                 "stores the widgets' state")
            bar = progress_bar(models, view["model_id"]) if view is not None else None
            if bar is not None and bar["hidden"]:
                continue
            if bar is not None:
                output = {**output, "data": {**output["data"], "text/plain": [bar["text"]]}}
            outputs.append(output)
        cells.append({**c, "outputs": outputs} if "outputs" in c else c)
    return {**nb, "cells": cells}


def title(nb: dict) -> str:
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            for line in "".join(c["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "(untitled)"


def readme_table(lessons: list[Path]) -> str:
    rows = ["| Lesson | Open in Colab |", "| --- | --- |"]
    for path in lessons:
        nb = json.loads((ROOT / path).read_text())
        rows.append(f"| [{title(nb)}]({path.as_posix()}) | {badge(path)} |")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def notebooks() -> list[Path]:
    return sorted(p.relative_to(ROOT) for f in FOLDERS for p in (ROOT / f).glob("*.ipynb"))


def main(check: bool) -> int:
    stale, broken = [], []
    for path in notebooks():
        text = (ROOT / path).read_text()
        try:
            nb = with_finished_bars(with_header(json.loads(text), path), path)
        except ValueError as error:
            broken.append(str(error))
            continue
        updated = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        if updated != text:
            stale.append(str(path))
            if not check:
                (ROOT / path).write_text(updated)
    readme = (ROOT / "README.md").read_text()
    table = readme_table([p for p in notebooks() if p.parts[0] == "notebooks"])
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    new_readme = pattern.sub(lambda m: table, readme)
    if new_readme != readme:
        stale.append("README.md")
        if not check:
            (ROOT / "README.md").write_text(new_readme)
    if broken:
        print("cannot be normalised:\n  " + "\n  ".join(broken))
    if stale and check:
        print("out of date (run `python tools/lessons.py`):\n  " + "\n  ".join(stale))
    return 1 if broken or (stale and check) else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
