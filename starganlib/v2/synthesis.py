"""Using a trained StarGAN v2: latent- and reference-guided translation, truncation, grids.

Latent-guided:    s = F(z, y_trg) with z ~ N(0, I);  output G(x, s).
Reference-guided: s = E(x_ref, y_ref);               output G(x, s).
Truncation psi:   s = s_avg + psi * (s - s_avg), s_avg the mean style of the domain.
Interpolation:    s(w) = (1 - w) s_1 + w s_2 between two codes, one frame per w.
"""
import torch


@torch.no_grad()
def mean_style(mapping_network, domain: int, latent_dim: int, n: int = 10_000,
               seed: int = 0, device="cpu") -> torch.Tensor:
    """The average style code of ``domain`` over ``n`` latent codes: ``(style_dim,)``."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, latent_dim, generator=gen).to(device)
    y = torch.full((n,), domain, dtype=torch.long, device=device)
    return mapping_network(z, y).mean(0)


def truncate(s: torch.Tensor, s_avg: torch.Tensor, psi: float) -> torch.Tensor:
    """Pull styles ``(N, style_dim)`` toward the domain mean: ``s_avg + psi * (s - s_avg)``."""
    return torch.lerp(s_avg, s, psi)


@torch.no_grad()
def translate_latent(nets, x_src, y_trg, z, psi: float = 1.0, s_avg=None, masks=None):
    """Latent-guided translation: x_src ``(N,3,H,W)``, y_trg ``(N,)``, z ``(N, latent_dim)``."""
    s = nets.mapping_network(z, y_trg)
    if psi != 1.0:
        s = truncate(s, s_avg, psi)
    return nets.generator(x_src, s, masks=masks)


@torch.no_grad()
def translate_reference(nets, x_src, x_ref, y_ref, masks=None):
    """Reference-guided translation: each source takes the style of its reference."""
    return nets.generator(x_src, nets.style_encoder(x_ref, y_ref), masks=masks)


@torch.no_grad()
def latent_grid(nets, x_src, num_domains: int, z: torch.Tensor) -> torch.Tensor:
    """Rows: sources. Columns: the source, then for each domain one output per code in ``z``.

    x_src ``(N,3,H,W)``, z ``(R, latent_dim)`` (each code shared by all sources). Returns
    ``(N * (1 + K * R), 3, H, W)`` in row order, for ``save_grid(..., nrow=1 + K * R)``.
    """
    n = x_src.size(0)
    columns = [x_src]
    for y in range(num_domains):
        y_trg = torch.full((n,), y, dtype=torch.long, device=x_src.device)
        for code in z:
            columns.append(translate_latent(nets, x_src, y_trg, code.expand(n, -1)))
    return torch.stack(columns, dim=1).flatten(0, 1)


@torch.no_grad()
def reference_grid(nets, x_src, x_ref, y_ref) -> torch.Tensor:
    """The official reference layout: a blank corner, sources along the top row; each further
    row is one reference followed by every source translated with its style.

    Returns ``((R + 1) * (N + 1), 3, H, W)`` for ``save_grid(..., nrow=N + 1)``.
    """
    n = x_src.size(0)
    rows = [torch.cat([torch.ones_like(x_src[:1]), x_src])]
    for ref, y in zip(x_ref, y_ref):
        s = nets.style_encoder(ref[None], y[None]).expand(n, -1)
        rows.append(torch.cat([ref[None], nets.generator(x_src, s)]))
    return torch.cat(rows)


@torch.no_grad()
def cycle_grid(nets, x_src, y_src, x_ref, y_ref) -> torch.Tensor:
    """Rows: sources, references, translations, reconstructions (``nrow=N``)."""
    x_fake = translate_reference(nets, x_src, x_ref, y_ref)
    x_rec = nets.generator(x_fake, nets.style_encoder(x_src, y_src))
    return torch.cat([x_src, x_ref, x_fake, x_rec])


@torch.no_grad()
def interpolate_styles(nets, x_src, s_start, s_end, steps: int = 16, masks=None) -> torch.Tensor:
    """Translate ``x_src`` ``(N,3,H,W)`` with styles moving linearly from ``s_start`` to ``s_end``
    (each ``(N, style_dim)``, e.g. ``F(z1, y)`` and ``F(z2, y)``, or ``E(x_ref1, y)`` and
    ``E(x_ref2, y)``). Returns frames ``(steps, N, 3, H, W)``: the first is ``G(x, s_start)``,
    the last ``G(x, s_end)``."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (both ends are frames), got {steps}")
    weights = torch.linspace(0, 1, steps).tolist()
    return torch.stack([nets.generator(x_src, torch.lerp(s_start, s_end, w), masks=masks)
                        for w in weights])

