import pytest
import torch

from starganlib.gan2d import (Discriminator2D, Generator2D, covered_modes, discriminator_field,
                              generator_loss, mixture_of_gaussians, mode_centers, train_gan2d)


def mean_distance_to_nearest_mode(points):
    return torch.cdist(points, mode_centers()).min(dim=1).values.mean().item()


def test_mixture_lies_on_the_ring_and_is_seeded():
    x = mixture_of_gaussians(4000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2)
    assert abs(x.norm(dim=1).mean().item() - 2.0) < 0.01
    assert covered_modes(x) == (8, pytest.approx(1.0, abs=0.01))
    y = mixture_of_gaussians(4000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, y)


def test_shapes_and_field_range():
    G, D = Generator2D(latent_dim=3, hidden=16), Discriminator2D(hidden=16)
    assert G(torch.randn(5, 3)).shape == (5, 2)
    assert D(torch.randn(5, 2)).shape == (5,)
    field = discriminator_field(D, lim=2.0, resolution=7)
    assert field.shape == (7, 7)
    assert (field > 0).all() and (field < 1).all()


def test_field_rows_are_y_and_columns_are_x():
    class Linear(torch.nn.Module):
        def forward(self, x):
            return x[:, 0] + 10 * x[:, 1]
    field = discriminator_field(Linear(), lim=1.0, resolution=5)
    assert field[0, 4] < field[4, 0]  # bottom row (y = -1) is darker than the top row (y = 1)
    assert (field[:, 1:] > field[:, :-1]).all()  # increases with x along each row


def test_generator_losses():
    logits = torch.tensor([-3.0, 0.0, 2.0])
    d = torch.sigmoid(logits)
    assert torch.isclose(generator_loss(logits, "non-saturating"), -torch.log(d).mean())
    assert torch.isclose(generator_loss(logits, "minimax"), torch.log(1 - d).mean())


def test_short_training_is_deterministic_and_moves_toward_the_ring():
    a = train_gan2d(steps=100, batch_size=64, seed=3, snapshot_every=50, progress=False)
    b = train_gan2d(steps=100, batch_size=64, seed=3, snapshot_every=50, progress=False)
    assert [s.step for s in a] == [0, 50, 100]
    assert torch.equal(a[-1].samples, b[-1].samples) and torch.equal(a[-1].field, b[-1].field)
    assert a[-1].samples.shape == (1000, 2) and a[-1].field.shape == (60, 60)
    before = mean_distance_to_nearest_mode(a[0].samples)
    after = mean_distance_to_nearest_mode(a[-1].samples)
    assert after < 0.6 * before


def test_minimax_and_r1_run():
    s = train_gan2d(steps=20, batch_size=32, g_loss="minimax", r1_gamma=1.0, seed=0,
                    snapshot_every=10, progress=False)
    assert len(s) == 3 and all(torch.isfinite(x.samples).all() for x in s)
    assert s[-1].g_loss < 0  # log(1 - D(G(z))) is negative


def test_unknown_generator_loss_names_the_argument():
    with pytest.raises(ValueError, match="g_loss"):
        train_gan2d(steps=1, g_loss="wasserstein", progress=False)
