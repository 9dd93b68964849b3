"""The files generated for the course are up to date (lesson headers, README table, the texts
of the progress bars)."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COUNT = re.compile(r"\| *(\d+)/(\d+) \[")  # what tqdm writes after a bar: "| n/total [time"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("lessons", ROOT / "tools" / "lessons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lesson_headers_and_readme_table_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "lessons.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_progress_bars_show_a_finished_state(tool):
    bars, unfinished = 0, []
    for path in tool.notebooks():
        for index, c in enumerate(json.loads((ROOT / path).read_text())["cells"]):
            for output in c.get("outputs", []):
                if tool.WIDGET_VIEW not in output.get("data", {}):
                    continue
                text = "".join(output["data"]["text/plain"])
                count = COUNT.search(text)
                bars += count is not None
                if count and count[1] != count[2]:
                    unfinished.append(f"{path} cell {index}: {text}")
    assert bars >= 10  # the lessons' bars are found (01, 12, 16, 17, 18 and 19 have some)
    assert not unfinished, "\n".join(unfinished)


def widget(name: str, **state) -> dict:
    return {"model_name": name, "state": state}


def bar_notebook(visibility: str | None, value: float) -> dict:
    """A notebook whose one cell shows the tqdm bar "steps" of 4 iterations stopped at ``value``,
    with the text fallback of its first drawing."""
    models = {
        "box": widget("HBoxModel", children=["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"],
                      layout="IPY_MODEL_layout"),
        "l": widget("HTMLModel", value=f"steps:\u2007{round(25 * value):3d}%".replace(" ", "\u2007")),
        "p": widget("FloatProgressModel", value=value, max=4.0),
        "r": widget("HTMLModel", value=f"\u2007{value:g}/4\u2007[00:02&lt;00:00,\u20071.5it/s]"),
        "layout": widget("LayoutModel", **({"visibility": visibility} if visibility else {})),
    }
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    outputs = [{"output_type": "display_data", "metadata": {},
                "data": {"text/plain": ["steps:   0%|          | 0/4 [00:00<?, ?it/s]"],
                         "application/vnd.jupyter.widget-view+json": view}},
               {"output_type": "stream", "name": "stdout", "text": ["done\n"]}]
    return {"cells": [{"cell_type": "code", "source": [], "metadata": {}, "outputs": outputs}],
            "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {
                "state": models, "version_major": 2, "version_minor": 0}}}}


def test_a_bar_text_is_rewritten_to_the_bars_final_state(tool):
    nb = tool.with_finished_bars(bar_notebook(None, 4.0), Path("x.ipynb"))
    bar, stream = nb["cells"][0]["outputs"]
    assert bar["data"]["text/plain"] == ["steps: 100%|██████████| 4/4 [00:02<00:00, 1.5it/s]"]
    assert tool.WIDGET_VIEW in bar["data"] and stream["text"] == ["done\n"]
    assert tool.with_finished_bars(nb, Path("x.ipynb")) == nb  # a second pass changes nothing
    stopped = tool.with_finished_bars(bar_notebook(None, 3.0), Path("x.ipynb"))
    assert stopped["cells"][0]["outputs"][0]["data"]["text/plain"] == [
        "steps:  75%|████████  | 3/4 [00:02<00:00, 1.5it/s]"]


def test_a_bar_that_tqdm_hid_loses_its_output(tool):
    nb = tool.with_finished_bars(bar_notebook("hidden", 4.0), Path("x.ipynb"))
    assert [o["output_type"] for o in nb["cells"][0]["outputs"]] == ["stream"]


def test_a_widget_without_stored_state_is_an_error_naming_the_cell(tool):
    nb = bar_notebook(None, 4.0)
    del nb["metadata"]["widgets"]
    with pytest.raises(ValueError, match=r"x.ipynb cell 0: a widget whose state is not stored"):
        tool.with_finished_bars(nb, Path("x.ipynb"))
