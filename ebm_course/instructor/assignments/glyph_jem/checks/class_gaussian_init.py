"""Hidden checks of 04_glyph_jem: ``class_gaussian_init``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.grading.common import (
    expect_generator_advances,
    expect_tensor,
    guard_checks,
)

from ._shared import _single_threaded


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm() + 1e-30))


def _class_gaussians(k: int, d: int, r: int, seed: int, dtype=torch.float32):
    """Means well apart (class k sits at 10 * k in every entry) and random factors (K, D, r)."""
    gen = torch.Generator().manual_seed(seed)
    means = (10.0 * torch.arange(k, dtype=torch.float64))[:, None].repeat(1, d)
    means = means + 0.1 * torch.randn(k, d, generator=gen, dtype=torch.float64)
    factors = 0.3 * torch.randn(k, d, r, generator=gen, dtype=torch.float64)
    return means.to(dtype), factors.to(dtype)


def _check_random_classes(init_fn) -> None:
    """y=None: an independent uniform class per draw, whatever n: consecutive draws share
    their class with probability 1/K (no cyclic pattern such as arange(n) % K), and with fewer
    draws than classes every class still starts some chain over several generator seeds."""
    k = 5
    means, factors = _class_gaussians(k, 4, 2, seed=13)

    def classes(x, n, what):
        x = expect_tensor(x, f"class_gaussian_init {what}", (n, 4))
        return (x.double().mean(1) / 10).round().clamp(0, k - 1).long()

    label = classes(init_fn(3000, means, factors, torch.Generator().manual_seed(8)), 3000,
                    "with y=None")
    same = (label[1:] == label[:-1]).double().mean().item()
    assert abs(same - 1 / k) < 6 * math.sqrt((1 / k) * (1 - 1 / k) / 2999), (
        "class_gaussian_init with y=None: consecutive draws should share their class with "
        "probability 1/K: draw each class at random (torch.randint(K, (n,), generator=...)), "
        "not in a fixed pattern such as arange(n) % K")
    seen = set()
    for seed in range(40):
        seen.update(classes(init_fn(2, means, factors, torch.Generator().manual_seed(100 + seed)),
                            2, "with fewer draws than classes").tolist())
    assert seen == set(range(k)), (
        "class_gaussian_init with fewer draws than classes (n < K) and y=None: over many "
        "generator seeds some classes never start a chain: draw the classes at random, not as "
        "arange(n) % K or another fixed assignment")


def _check_class_moments(init_fn, k: int, d: int, r: int, n: int, what: str) -> None:
    """y=None: shape (n, D) in float32, uniform class shares, per class the mean means[k] and the
    covariance factors[k] factors[k]^T, independent neighbouring draws."""
    means, factors = _class_gaussians(k, d, r, seed=k + d)
    x = init_fn(n, means, factors, torch.Generator().manual_seed(3))
    x = expect_tensor(x, f"class_gaussian_init {what}", (n, d), dtype=torch.float32)
    label = (x.double().mean(1) / 10).round().clamp(0, k - 1).long()  # classes lie 10 apart
    share = torch.bincount(label, minlength=k).double() / n
    assert (share - 1 / k).abs().max() < 6 * math.sqrt(1 / (k * n)) + 0.01, (
        f"class_gaussian_init {what} and y=None: the classes should be drawn uniformly, got "
        f"shares {[round(float(s), 3) for s in share]}")
    for c in range(k):
        xc = x[label == c].double()
        cov = factors[c].double() @ factors[c].double().T
        err_mean = (xc.mean(0) - means[c].double()).abs().max().item()
        tol_mean = 6 * math.sqrt(cov.diagonal().max().item() / len(xc)) + 1e-3
        assert err_mean < tol_mean, (
            f"class_gaussian_init {what}: the draws of class {c} should have mean means[{c}] "
            f"(off by {err_mean:.3g}); x = means[y] + factors[y] @ z")
        err_cov = (torch.cov(xc.T) - cov).abs().max().item()
        scale = cov.abs().max().item()
        assert err_cov < 0.15 * scale, (
            f"class_gaussian_init {what}: the draws of class {c} should have covariance "
            f"factors[{c}] @ factors[{c}].T (largest error {err_cov:.3g} against entries up to "
            f"{scale:.3g}): z ~ N(0, I) of length r, one per draw, multiplied by the class's "
            f"factors (not its transpose, not squared)")
    flat = x.double() - means[label].double()
    assert abs(_corr(flat[:-1], flat[1:])) < 6 / math.sqrt(flat.numel()) + 0.01, (
        f"class_gaussian_init {what}: neighbouring draws are correlated; every draw needs its "
        f"own z")


def _check_given_labels(init_fn, means, factors) -> None:
    """With labels y: the draw for y[i] comes from class y[i]'s Gaussian."""
    y = torch.tensor([3, 0, 0, 2, 1, 3] * 1000)
    x = expect_tensor(init_fn(len(y), means, factors, torch.Generator().manual_seed(4), y),
                      "class_gaussian_init with labels y", (len(y), 5))
    for c in range(4):
        err = (x[y == c].double().mean(0) - means[c].double()).abs().max().item()
        assert err < 0.1, (f"class_gaussian_init with labels y: the draw for y[i] = {c} should "
                           f"come from class {c}'s Gaussian (means[y], factors[y])")


def _check_float64(init_fn) -> None:
    """Float64 means and factors give float64 starts."""
    m64, f64 = _class_gaussians(3, 4, 2, seed=5, dtype=torch.float64)
    x64 = init_fn(50, m64, f64, torch.Generator().manual_seed(1))
    expect_tensor(x64, "class_gaussian_init with float64 means and factors", (50, 4),
                  dtype=torch.float64)


def _check_generator(init_fn, means, factors) -> None:
    """Drawn from the given generator only: the global RNG untouched, reproducible whatever the
    global seed, the generator advancing."""
    gen = torch.Generator().manual_seed(5)
    state = torch.get_rng_state()
    a = init_fn(300, means, factors, gen)
    assert torch.equal(torch.get_rng_state(), state), (
        "class_gaussian_init must neither draw from nor re-seed the global random generator: "
        "pass generator=generator to every draw (the classes and z)")
    torch.manual_seed(123)
    b = init_fn(300, means, factors, torch.Generator().manual_seed(5))
    assert torch.equal(a, b), (
        "class_gaussian_init must draw from the generator it is given: the same generator "
        "state should give the same starts whatever the global seed")
    expect_generator_advances(lambda g: init_fn(300, means, factors, g), gen,
                              "class_gaussian_init called twice with one generator")


def _check_small_n(init_fn, means, factors) -> None:
    """n of one and zero."""
    one = expect_tensor(init_fn(1, means, factors, torch.Generator().manual_seed(7)),
                        "class_gaussian_init of a single chain (n = 1)", (1, 5))
    zero = init_fn(0, means, factors, torch.Generator().manual_seed(7))
    expect_tensor(zero, "class_gaussian_init with n = 0 (an iteration where no chain restarts)",
                  (0, 5))
    del one


@_single_threaded
def check_class_gaussian_init(init_fn) -> None:
    """Class-Gaussian chain starts: shape (n, D), the inputs' dtype; classes uniform and
    independent when y is None (no fixed pattern, every class reachable when n < K), else the
    given ones; per class the mean means[k] and the covariance factors[k]
    factors[k]^T; independent draws; drawn from the given generator only (reproducible,
    advancing, the global RNG untouched); n of one and zero."""
    for k, d, r, n, what in [(3, 6, 2, 6000, "with 3 classes, D = 6, rank 2"),
                             (5, 4, 4, 10000, "with 5 classes, D = 4, full rank"),
                             (2, 9, 1, 6000, "with rank 1")]:
        _check_class_moments(init_fn, k, d, r, n, what)
    means, factors = _class_gaussians(4, 5, 2, seed=11)
    _check_given_labels(init_fn, means, factors)
    _check_float64(init_fn)
    _check_generator(init_fn, means, factors)
    _check_random_classes(init_fn)
    _check_small_n(init_fn, means, factors)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
