"""Generate exercises/ from solutions/: every answer in a solution notebook becomes a stub.

Conventions in ``solutions/NN_name.ipynb`` (nbgrader-compatible markers, no nbgrader needed):

* code: the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are the answer. The
  exercise has, at the indentation of the BEGIN line, ``# YOUR CODE HERE`` and
  ``raise NotImplementedError("<hint>")``. The hint is the text of the ``# HINT: ...`` lines
  inside the region (joined by spaces), so it shows in the solution as a comment and in the
  exercise as the error message; without HINT lines it is "write your code here".
* markdown: the text between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` becomes
  ``_Your answer here._``.
* outputs, execution counts and cell metadata other than tags are dropped; the notebook keeps
  only its kernelspec; the standard header cells come from tools/lessons.py (``with_header``).

    python tools/exercises.py              # write exercises/ (and delete orphaned exercises)
    python tools/exercises.py --check      # exit 1 naming stale, missing or extra exercises
    python tools/exercises.py --root DIR   # work on another checkout (used by the tests)
"""
import argparse
import json
import sys
from pathlib import Path

from lessons import with_header

ROOT = Path(__file__).resolve().parents[1]
CODE_BEGIN, CODE_END = "### BEGIN SOLUTION", "### END SOLUTION"
MARKDOWN_BEGIN, MARKDOWN_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
HINT = "# HINT:"
DEFAULT_HINT = "write your code here"
MARKDOWN_PLACEHOLDER = "_Your answer here._"


def _regions(lines: list[str], begin: str, end: str, where: str):
    """Yield ``(start, stop)`` line indices of each marked region (markers included)."""
    start = None
    for i, line in enumerate(lines):
        marker = line.strip()
        if marker == begin:
            if start is not None:
                raise ValueError(f"{where}: {begin!r} inside another solution region (line {i + 1})")
            start = i
        elif marker == end:
            if start is None:
                raise ValueError(f"{where}: {end!r} without {begin!r} (line {i + 1})")
            yield start, i
            start = None
    if start is not None:
        raise ValueError(f"{where}: {begin!r} without {end!r} (line {start + 1})")


def stub_code(source: str, where: str) -> str:
    """The code cell ``source`` with every solution region replaced by a stub."""
    lines = source.split("\n")
    out, done = [], 0
    for start, stop in _regions(lines, CODE_BEGIN, CODE_END, where):
        indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]
        hints = [line.strip()[len(HINT):].strip() for line in lines[start + 1:stop]
                 if line.strip().startswith(HINT)]
        hint = " ".join(hints) or DEFAULT_HINT
        out += lines[done:start] + [f"{indent}# YOUR CODE HERE",
                                    f"{indent}raise NotImplementedError({json.dumps(hint)})"]
        done = stop + 1
    return "\n".join(out + lines[done:])


def stub_markdown(source: str, where: str) -> str:
    """The markdown cell ``source`` with every answer replaced by a placeholder."""
    lines = source.split("\n")
    out, done = [], 0
    for start, stop in _regions(lines, MARKDOWN_BEGIN, MARKDOWN_END, where):
        out += lines[done:start] + [MARKDOWN_PLACEHOLDER]
        done = stop + 1
    return "\n".join(out + lines[done:])


def _has_region(cell: dict) -> bool:
    begin = CODE_BEGIN if cell["cell_type"] == "code" else MARKDOWN_BEGIN
    return any(line.strip() == begin for line in "".join(cell["source"]).split("\n"))


def exercise_cell(cell: dict, where: str) -> dict:
    """One solution cell as it appears in the exercise."""
    source = "".join(cell["source"])
    if cell["cell_type"] == "code":
        source = stub_code(source, where)
    elif cell["cell_type"] == "markdown":
        source = stub_markdown(source, where)
    tags = cell.get("metadata", {}).get("tags")
    new = {"cell_type": cell["cell_type"], "metadata": {"tags": tags} if tags else {},
           "source": source.splitlines(keepends=True)}
    if cell["cell_type"] == "code":
        new.update(execution_count=None, outputs=[])
    return new


def exercise_notebook(solution: dict, path: Path, where: str) -> dict:
    """The exercise generated from the ``solution`` notebook; ``path`` relative to the root."""
    if not any(_has_region(c) for c in solution["cells"]):
        raise ValueError(f"{where} has no {CODE_BEGIN!r} or {MARKDOWN_BEGIN!r} region: "
                         "nothing for the student to do")
    cells = [exercise_cell(c, f"{where}, cell {i}") for i, c in enumerate(solution["cells"])]
    metadata = {"kernelspec": solution.get("metadata", {}).get("kernelspec", {})}
    nb = {"cells": cells, "metadata": metadata, "nbformat": solution["nbformat"],
          "nbformat_minor": solution["nbformat_minor"]}
    return with_header(nb, path)


def render(nb: dict) -> str:
    """A notebook as the text written to disk (the same bytes every time)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def expected_exercises(root: Path) -> dict[Path, str]:
    """``{exercises/NN_name.ipynb (relative): text}`` for every ``solutions/NN_name.ipynb``."""
    expected = {}
    for solution_path in sorted((root / "solutions").glob("*.ipynb")):
        path = Path("exercises") / solution_path.name
        solution = json.loads(solution_path.read_text(encoding="utf-8"))
        expected[path] = render(exercise_notebook(solution, path, f"solutions/{solution_path.name}"))
    return expected


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if an exercise is stale, missing or extra")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course checkout")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "solutions").is_dir():
        parser.error(f"{root / 'solutions'} does not exist: --root must be the course checkout")
    expected = expected_exercises(root)
    present = {p.relative_to(root) for p in (root / "exercises").glob("*.ipynb")}
    problems = []
    for path, text in expected.items():
        if path not in present:
            problems.append(f"missing {path.as_posix()}")
        elif (root / path).read_text(encoding="utf-8") != text:
            problems.append(f"stale   {path.as_posix()}")
        else:
            continue
        if not args.check:
            (root / path).parent.mkdir(exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
    for path in sorted(present - set(expected)):
        problems.append(f"extra   {path.as_posix()} (no solutions/{path.name})")
        if not args.check:
            (root / path).unlink()
    if args.check and problems:
        print("exercises out of date (run `python tools/exercises.py`):\n  " + "\n  ".join(problems))
        return 1
    for problem in problems:
        print(("removed " if problem.startswith("extra") else "wrote   ") + problem.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
