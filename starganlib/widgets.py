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


# --- translation_explorer: a trained StarGAN v2, one source at a time ------------------------

TRANSLATION_DEFAULTS = {"source": 0, "target": 1, "mode": "latent", "z_seed": 0, "psi": 1.0,
                        "reference": 0}


def domain_names(cfg) -> list[str]:
    """The names of ``cfg``'s domains: cat / dog / wild on toyfaces, else ``domain 0``, ..."""
    if cfg.dataset == "toyfaces":
        return list(DOMAINS)
    return [f"domain {k}" for k in range(cfg.num_domains)]


def _panel_strip(images, size: int) -> bytes:
    """PNG bytes of images ``(K, 3, H, W)`` in [-1, 1] side by side, each scaled to ``size`` px
    (nearest neighbour, so pixels stay sharp), with a 4 px white gap."""
    from PIL import Image

    from .viz import to_pil, to_unit
    gap = 4
    strip = Image.new("RGB", (len(images) * (size + gap) - gap, size), "white")
    for k, image in enumerate(images):
        strip.paste(to_pil(to_unit(image)).resize((size, size), Image.NEAREST), (k * (size + gap), 0))
    buffer = io.BytesIO()
    strip.save(buffer, format="PNG")
    return buffer.getvalue()


def translation_png(nets, cfg, sources, references, reference_domains, values: dict,
                    size: int = 128, mean_styles: dict | None = None) -> bytes:
    """PNG bytes of one translation chosen by the control ``values`` (keys of
    ``TRANSLATION_DEFAULTS``): latent mode shows ``[source | G(x, s)]`` with
    ``s = F(z, target)``, ``z`` drawn from ``z_seed`` and truncated by ``psi`` toward the
    target's mean style; reference mode shows ``[source | reference | G(x, E(x_ref, y_ref))]``,
    the reference's own domain being the target. ``sources`` ``(N, 3, H, W)`` and
    ``references`` ``(M, 3, H, W)`` in [-1, 1], ``reference_domains`` ``(M,)``. ``mean_styles``
    (domain -> ``(style_dim,)``) caches the means that ``psi`` needs; missing ones are computed.
    """
    import torch

    from .v2.synthesis import mean_style, translate_latent, translate_reference
    device = next(nets.generator.parameters()).device
    x = sources[values["source"]][None].to(device)
    if values["mode"] == "reference":
        x_ref = references[values["reference"]][None].to(device)
        y_ref = reference_domains[values["reference"]].view(1).to(device)
        fake = translate_reference(nets, x, x_ref, y_ref)
        return _panel_strip(torch.cat([x, x_ref, fake]), size)
    target = values["target"]
    mean_styles = {} if mean_styles is None else mean_styles
    if values["psi"] != 1.0 and target not in mean_styles:
        mean_styles[target] = mean_style(nets.mapping_network, target, cfg.latent_dim, device=device)
    z = torch.randn(1, cfg.latent_dim, generator=torch.Generator().manual_seed(values["z_seed"]))
    y = torch.tensor([target], device=device)
    fake = translate_latent(nets, x, y, z.to(device), psi=values["psi"], s_avg=mean_styles.get(target))
    return _panel_strip(torch.cat([x, fake]), size)


def translation_controls(cfg, num_sources: int, num_references: int) -> dict:
    """The explorer's controls (name -> widget, each with a ``description``)."""
    style = {"description_width": "110px"}
    names = domain_names(cfg)
    return {
        "source": widgets.IntSlider(value=0, min=0, max=num_sources - 1, description="source index",
                                    style=style),
        "target": widgets.Dropdown(options=[(n, k) for k, n in enumerate(names)],
                                   value=TRANSLATION_DEFAULTS["target"] % len(names),
                                   description="target domain", style=style),
        "mode": widgets.ToggleButtons(options=["latent", "reference"], value="latent",
                                      description="mode", style=style),
        "z_seed": widgets.IntSlider(value=0, min=0, max=99, description="z seed", style=style),
        "psi": widgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="psi (truncation)",
                                   readout_format=".2f", style=style),
        "reference": widgets.IntSlider(value=0, min=0, max=num_references - 1,
                                       description="reference index", style=style),
    }


def translation_explorer(nets, cfg, sources, source_domains, references=None,
                         reference_domains=None, size: int = 128) -> widgets.Widget:
    """Explore a trained StarGAN v2 (its EMA ``nets``): pick a source, a target domain, latent or
    reference mode, a z seed, the truncation psi and a reference; the translation is drawn next
    to the source in an ``ipywidgets.Image`` (PNG) re-rendered on every change.

    ``sources`` ``(N, 3, H, W)`` in [-1, 1] with ``source_domains`` ``(N,)``; the references
    default to the sources. In reference mode the target is the reference's domain (the target
    dropdown follows it and is disabled); z seed and psi apply to latent mode only. The returned
    box has ``.controls`` (name -> widget), ``.image`` and ``.caption`` for scripting.
    """
    if references is None:
        references, reference_domains = sources, source_domains
    controls = translation_controls(cfg, len(sources), len(references))
    names, mean_styles = domain_names(cfg), {}
    image = widgets.Image(format="png")  # shown at its natural size: 2 or 3 panels wide
    caption = widgets.HTML()
    busy = []  # set while redrawing: the target follows the reference without a second redraw

    def redraw(_change=None):
        if busy:
            return
        busy.append(True)
        try:
            _render()
        finally:
            busy.clear()

    def _render():
        values = {name: c.value for name, c in controls.items()}
        reference_mode = values["mode"] == "reference"
        if reference_mode:  # the reference decides the domain
            controls["target"].value = int(reference_domains[values["reference"]])
            values["target"] = controls["target"].value
        controls["target"].disabled = reference_mode
        controls["z_seed"].disabled = controls["psi"].disabled = reference_mode
        controls["reference"].disabled = not reference_mode
        image.value = translation_png(nets, cfg, sources, references, reference_domains, values,
                                      size, mean_styles)
        how = (f"style of reference {values['reference']}" if reference_mode
               else f"z seed {values['z_seed']}, psi {values['psi']:.2f}")
        caption.value = (f"source {values['source']} ({names[int(source_domains[values['source']])]})"
                         f" &rarr; {names[values['target']]}: {how}")

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    box = widgets.HBox([widgets.VBox(list(controls.values())), widgets.VBox([image, caption])])
    box.controls, box.image, box.caption = controls, image, caption
    return box
