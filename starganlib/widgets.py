"""Interactive ipywidgets for the lessons (they need a live Jupyter kernel to respond).

``toyfaces_explorer`` shows one toyface and a control for every factor that draws it, grouped
into domain, style, content and labels, so that students can see what each factor changes
before any model exists. The picture itself is built by the pure function ``factors_png``.
"""
import io

import ipywidgets as widgets

from .data.toyfaces import (CONTENT_FACTORS, DOMAINS, EXPRESSIONS, FACTOR_RANGES, FUR_FAMILIES,
                            MARKINGS, STYLE_FACTORS, Factors, render)

FACTOR_GROUPS = {
    "domain": ("domain",),
    "style": STYLE_FACTORS,
    "content": CONTENT_FACTORS,
    "labels": ("glasses", "expression"),
}
CHOICES = {"domain": DOMAINS, "fur_family": FUR_FAMILIES, "marking": MARKINGS,
           "expression": EXPRESSIONS}
DEFAULT_VALUES = {
    "domain": 0, "fur_family": 1, "fur_shade": 0.5, "marking": 1, "marking_color": 0.15,
    "eye_color": 0.3, "background": 0.55, "cx": 0.5, "cy": 0.56, "size": 0.25, "tilt": 0.0,
    "gaze_x": 0.0, "gaze_y": 0.0, "glasses": False, "expression": 1,
}


def factors_png(values: dict, size: int = 128) -> bytes:
    """PNG bytes of the toyface drawn from ``values`` (one entry per ``Factors`` field)."""
    buffer = io.BytesIO()
    render(Factors(**values), size).save(buffer, format="PNG")
    return buffer.getvalue()


def factor_control(name: str, value) -> widgets.Widget:
    """The control of one factor: a dropdown for a category, a checkbox for glasses, a slider
    (over ``FACTOR_RANGES[name]``) for a number; its ``description`` is the factor's name."""
    style = {"description_width": "110px"}
    if name in CHOICES:
        options = [(label, index) for index, label in enumerate(CHOICES[name])]
        return widgets.Dropdown(options=options, value=value, description=name, style=style)
    if name == "glasses":
        return widgets.Checkbox(value=value, description=name, indent=True, style=style)
    low, high = FACTOR_RANGES[name]
    return widgets.FloatSlider(value=value, min=low, max=high, step=(high - low) / 100,
                               description=name, continuous_update=True, style=style,
                               readout_format=".2f")


def toyfaces_explorer(size: int = 128) -> widgets.Widget:
    """Controls for every toyfaces factor, grouped into domain / style / content / labels, next
    to the face they draw (an ``ipywidgets.Image`` re-rendered whenever a control changes).

    The returned box has ``.controls`` (factor name -> control) and ``.image`` for scripting.
    """
    controls = {name: factor_control(name, DEFAULT_VALUES[name]) for name in FACTOR_RANGES}
    image = widgets.Image(value=factors_png(DEFAULT_VALUES, size), format="png",
                          width=max(size, 192), height=max(size, 192))

    def redraw(_change=None):
        image.value = factors_png({name: c.value for name, c in controls.items()}, size)

    for control in controls.values():
        control.observe(redraw, names="value")
    groups = [widgets.VBox([widgets.HTML(f"<b>{group}</b>")] + [controls[n] for n in names],
                           layout=widgets.Layout(border="1px solid #ccc", padding="4px",
                                                 margin="2px"))
              for group, names in FACTOR_GROUPS.items()]
    left = widgets.VBox(groups[:1] + groups[3:] + [image])
    box = widgets.HBox([left, widgets.VBox(groups[1:3])])
    box.controls, box.image = controls, image
    return box
