"""Keep the stored outputs of the lessons' ``show_source`` cells equal to the library's source.

A lesson shows library code with a cell such as ``show_source(d_loss)`` (``starganlib.course``);
the notebook stores that code as it was when the lesson last ran. After a library change this
rewrites those outputs from the current source (``starganlib.course.source_markdown``), without
executing any notebook.

A *show_source cell* holds only imports and calls ``show_source(name)``, where ``name`` is a
dotted name whose first part a ``starganlib`` import binds in that cell or an earlier one. Any
other code cell that mentions ``show_source(`` is an error, so that no stored source goes
unchecked.

    python tools/refresh_sources.py            # rewrite stale outputs in notebooks/, solutions/
    python tools/refresh_sources.py --check    # exit 1 naming every stale output (the tests)
    python tools/refresh_sources.py --root DIR # work on another checkout (used by the tests)
"""
import argparse
import ast
import importlib
import json
import sys
from pathlib import Path

from starganlib.course import source_markdown

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions")
CALL = "show_source("
PLAIN = "<IPython.core.display.Markdown object>"  # what IPython stores as text/plain of a Markdown


def display_output(obj) -> dict:
    """The output ``show_source(obj)`` stores: a display of its Markdown, split into lines."""
    return {"data": {"text/markdown": source_markdown(obj).splitlines(keepends=True),
                     "text/plain": [PLAIN]},
            "metadata": {}, "output_type": "display_data"}


def _bind(statement, names: dict) -> None:
    """Add what a ``starganlib`` import statement binds to ``names`` (other imports are ignored)."""
    if isinstance(statement, ast.ImportFrom):
        if statement.level == 0 and statement.module.split(".")[0] == "starganlib":
            module = importlib.import_module(statement.module)
            for alias in statement.names:
                if not hasattr(module, alias.name):  # a submodule not imported by its package
                    importlib.import_module(f"{statement.module}.{alias.name}")
                names[alias.asname or alias.name] = getattr(module, alias.name)
    elif isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.name.split(".")[0] == "starganlib":
                module = importlib.import_module(alias.name)
                if alias.asname:
                    names[alias.asname] = module
                else:  # `import starganlib.v2.losses` binds the top package
                    names["starganlib"] = importlib.import_module("starganlib")


def _shown(statement):
    """The argument of a ``show_source(arg)`` statement, else None."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if isinstance(call.func, ast.Name) and call.func.id == "show_source":
            if len(call.args) == 1 and not call.keywords:
                return call.args[0]
    return None


def _resolve(expression, names: dict, where: str):
    """The object a dotted name (``d_loss``, ``V2Trainer.train_step``) refers to."""
    parts = []
    while isinstance(expression, ast.Attribute):
        parts.insert(0, expression.attr)
        expression = expression.value
    if not isinstance(expression, ast.Name):
        raise ValueError(f"{where}: show_source needs a dotted name, got {ast.unparse(expression)}")
    if expression.id not in names:
        raise ValueError(f"{where}: show_source({'.'.join([expression.id, *parts])}): "
                         f"{expression.id} is not imported from starganlib before this call")
    obj = names[expression.id]
    for part in parts:
        obj = getattr(obj, part)
    return obj


def expected_outputs(nb: dict, where: str) -> dict[int, list[dict]]:
    """For each show_source cell of ``nb`` (``where`` names it in errors): cell index -> the
    outputs it must store. ValueError for a cell that mentions show_source in another form."""
    names, expected = {}, {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        shows = CALL in source
        try:
            statements = ast.parse(source).body
        except SyntaxError:  # e.g. IPython magics: fine unless the cell shows source
            if shows:
                raise ValueError(f"{where} cell {i}: a show_source cell must be plain Python")
            continue
        outputs = []
        for statement in statements:
            _bind(statement, names)
            argument = _shown(statement)
            if argument is not None:
                outputs.append(display_output(_resolve(argument, names, f"{where} cell {i}")))
            elif shows and not isinstance(statement, (ast.Import, ast.ImportFrom)):
                raise ValueError(f"{where} cell {i}: a show_source cell holds only imports and "
                                 f"show_source(name) calls, not `{ast.unparse(statement)}`")
        if shows:
            expected[i] = outputs
    return expected


def main(root: Path, check: bool) -> int:
    stale = []
    for path in sorted(p for folder in FOLDERS for p in (root / folder).glob("*.ipynb")):
        where = path.relative_to(root).as_posix()
        nb = json.loads(path.read_text())
        changed = False
        for i, outputs in expected_outputs(nb, where).items():
            if nb["cells"][i]["outputs"] != outputs:
                calls = "; ".join("".join(nb["cells"][i]["source"]).split("\n"))
                stale.append(f"{where} cell {i}: {calls}")
                nb["cells"][i]["outputs"], changed = outputs, True
        if changed and not check:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    if stale:
        header = ("stale show_source outputs (run `python tools/refresh_sources.py`):" if check
                  else "refreshed show_source outputs:")
        print(header + "\n  " + "\n  ".join(stale))
    return 1 if stale and check else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale outputs")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to work on")
    args = parser.parse_args()
    sys.exit(main(args.root, args.check))
