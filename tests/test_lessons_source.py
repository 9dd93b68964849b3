"""Every stored ``show_source`` output of notebooks/ and solutions/ is the library's current
source (tools/refresh_sources.py checks and rewrites them)."""
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from starganlib.course import source_markdown
from starganlib.v1.losses import gradient_penalty

ROOT = Path(__file__).resolve().parents[1]
LESSON = "notebooks/04_stargan_v1_losses.ipynb"
CELL = 12  # show_source(gradient_penalty)


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("refresh_sources",
                                                  ROOT / "tools" / "refresh_sources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_cell(source: str, outputs=()) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {},
            "outputs": list(outputs), "source": source.splitlines(keepends=True)}


def test_stored_show_source_outputs_are_the_current_library_source(tool, capsys):
    assert tool.main(ROOT, check=True) == 0, capsys.readouterr().out


def test_the_lessons_show_library_source(tool):
    nb = json.loads((ROOT / LESSON).read_text())
    assert list(tool.expected_outputs(nb, LESSON)) == [12, 25, 28, 30]
    output, = nb["cells"][CELL]["outputs"]
    assert "".join(output["data"]["text/markdown"]) == source_markdown(gradient_penalty)


def test_check_names_a_stale_output_and_write_mode_repairs_it(tool, tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    path = tmp_path / LESSON
    shutil.copy(ROOT / LESSON, path)
    original = path.read_text()
    nb = json.loads(original)
    nb["cells"][CELL]["outputs"][0]["data"]["text/markdown"][1] = "def old_version():\n"
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    assert tool.main(tmp_path, check=True) == 1
    report = capsys.readouterr().out
    assert f"{LESSON} cell {CELL}: show_source(gradient_penalty)" in report
    assert report.count("cell ") == 1, report
    assert tool.main(tmp_path, check=False) == 0
    assert path.read_text() == original


def test_a_missing_output_is_stale(tool):
    nb = {"cells": [code_cell("from starganlib.v1.losses import gradient_penalty\n"
                              "show_source(gradient_penalty)")]}
    assert tool.expected_outputs(nb, "nb") == {0: [tool.display_output(gradient_penalty)]}


def test_names_resolve_through_modules_aliases_and_attributes(tool):
    from starganlib.v2.train import V2Trainer
    nb = {"cells": [code_cell("import starganlib.v2.losses as L\nfrom starganlib.v2 import run\n"
                              "from starganlib.v2.train import V2Trainer as T"),
                    code_cell("show_source(L.cycle_loss)\nshow_source(run.save_samples)\n"
                              "show_source(T.train_step)")]}
    import starganlib.v2.losses
    import starganlib.v2.run
    expected = [starganlib.v2.losses.cycle_loss, starganlib.v2.run.save_samples,
                V2Trainer.train_step]
    assert tool.expected_outputs(nb, "nb") == {1: [tool.display_output(o) for o in expected]}


@pytest.mark.parametrize("source, message", [
    ("show_source(gradient_penalty)", "gradient_penalty is not imported from starganlib"),
    ("from starganlib.v1.losses import gradient_penalty\nx = 1\nshow_source(gradient_penalty)",
     "holds only imports and show_source(name) calls, not `x = 1`"),
    ("from starganlib.v1 import losses\nshow_source(getattr(losses, 'd_loss'))",
     "show_source needs a dotted name"),
    ("%time show_source(d_loss)", "must be plain Python"),
])
def test_a_show_source_cell_it_cannot_check_is_an_error_naming_the_cell(tool, source, message):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
                    code_cell(source)]}
    with pytest.raises(ValueError, match="nb cell 1: ") as error:
        tool.expected_outputs(nb, "nb")
    assert message in str(error.value)
