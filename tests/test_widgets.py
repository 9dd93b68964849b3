import io

import ipywidgets as widgets
from PIL import Image

from starganlib.data.toyfaces import FACTOR_RANGES
from starganlib.widgets import DEFAULT_VALUES, FACTOR_GROUPS, factors_png, toyfaces_explorer


def test_factors_png_is_a_png_of_the_requested_size():
    png = factors_png(DEFAULT_VALUES, size=48)
    assert Image.open(io.BytesIO(png)).size == (48, 48)
    assert factors_png({**DEFAULT_VALUES, "domain": 2}, size=48) != png


def test_every_factor_has_exactly_one_group_and_a_described_control():
    grouped = [name for names in FACTOR_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(FACTOR_RANGES)
    box = toyfaces_explorer(size=48)
    assert set(box.controls) == set(FACTOR_RANGES)
    assert all(c.description == name for name, c in box.controls.items())
    assert isinstance(box.image, widgets.Image)


def test_changing_a_control_rerenders_the_image():
    box = toyfaces_explorer(size=48)
    first = box.image.value
    assert first == factors_png(DEFAULT_VALUES, size=48)
    box.controls["tilt"].value = 15.0
    second = box.image.value
    assert second != first
    box.controls["domain"].value = 1
    assert box.image.value != second
    values = {**DEFAULT_VALUES, "tilt": 15.0, "domain": 1}
    assert box.image.value == factors_png(values, size=48)
