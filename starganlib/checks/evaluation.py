"""Check of the evaluation exercise (11): the Fréchet distance between two Gaussians."""
import numpy as np

from ..metrics.fid import frechet_distance as reference_distance, gaussian_stats
from .report import call, expect_close, passed


def _random_stats(seed: int, dim: int = 6):
    """Mean and covariance of 50 correlated random feature vectors of size ``dim``."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim))
    return gaussian_stats(rng.normal(size=(50, dim)) @ mixing + rng.normal(size=dim))


def check_frechet_distance(frechet_distance) -> None:
    """``frechet_distance(mu1, sigma1, mu2, sigma2)``
    ``= ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``."""
    zero = np.zeros(3)
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
    expect_close(call(frechet_distance, zero, s1, zero, s2, what="frechet_distance"), 6.0,
                 "equal means, covariances diag(1, 4, 9) and diag(4, 1, 1): "
                 "sum of (sqrt(a) - sqrt(b))^2", atol=1e-6,
                 hint="Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)).",
                 likely=[("the covariance term is missing: add Tr(sigma1 + sigma2 - 2 "
                          "(sigma1 sigma2)^(1/2)).", 0.0),
                         ("the square root is missing: the cross term is 2 Tr((sigma1 sigma2)^(1/2)), with "
                          "scipy.linalg.sqrtm.", -14.0),
                         ("the cross term must be subtracted: - 2 Tr((sigma1 sigma2)^(1/2)).", 34.0)])
    shifted, eye = np.array([1.0, 2.0, 2.0]), np.eye(3)
    expect_close(call(frechet_distance, zero, eye, shifted, eye, what="frechet_distance"), 9.0,
                 "means 0 and (1, 2, 2), both covariances I", atol=1e-6,
                 hint="The mean term is the squared distance ||mu1 - mu2||^2.",
                 likely=[("the mean term is the squared distance ||mu1 - mu2||^2, not the "
                          "distance.", 3.0)])
    mu, sigma = _random_stats(0)
    expect_close(call(frechet_distance, mu, sigma, mu, sigma, what="frechet_distance"), 0.0,
                 "the distance of a Gaussian to itself", atol=1e-6,
                 hint="For equal Gaussians both terms vanish: Tr(2 sigma - 2 (sigma sigma)^(1/2)) "
                      "= 0. Take the square root of the product with scipy.linalg.sqrtm.")
    for seed in range(3):
        stats = (*_random_stats(seed + 1), *_random_stats(seed + 11))
        expect_close(call(frechet_distance, *stats, what="frechet_distance"),
                     reference_distance(*stats), f"random Gaussians {seed} (6 dimensions)",
                     rtol=1e-6,
                     hint="The closed-form cases have diagonal covariances; general ones do not "
                          "commute: take sqrtm of the product sigma1 @ sigma2, not the product "
                          "of two square roots, and keep its real part.")
    passed("frechet_distance matches the reference on 3 random and 3 closed-form cases.")
