"""Hidden checks of 07_score_models: ``dsm_loss`` and ``eps_loss``."""

from __future__ import annotations

import math

import torch
from torch import nn

from ebm_course.instructor.grading.common import expect_tensor, guard_checks

from ._shared import _bcast, _close, _gen, gaussian_score


class _LinearScore(nn.Module):
    """score(x, sigma) = (a * x + c) / sigma: records what it is called with."""

    def __init__(self, dtype=torch.float32) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(-0.7, dtype=dtype))
        self.c = nn.Parameter(torch.tensor(0.2, dtype=dtype))
        self.calls = []

    def forward(self, x, sigma):
        self.calls.append((x.detach().clone(), sigma))
        return (self.a * x + self.c) / _bcast(sigma, x)


def _dsm_expected(score, x, sigma, z):
    s = sigma.view(-1, *[1] * (x.dim() - 1))
    r = score(x + s * z, sigma) + z / s
    return (sigma ** 2 * r.pow(2).flatten(1).sum(1)).mean()


def _eps_expected(eps, x, sigma, z):
    s = sigma.view(-1, *[1] * (x.dim() - 1))
    return (eps(x + s * z, sigma) - z).pow(2).flatten(1).sum(1).mean()


def _cases(gen):
    img = torch.randn(5, 1, 4, 6, generator=gen)
    pts = torch.randn(2, 2, generator=gen)  # B == last size: a wrong broadcast goes unnoticed
    return [
        ("images, one sigma per sample", img, torch.tensor([0.02, 0.1, 0.5, 1.0, 3.0]),
         torch.randn(img.shape, generator=gen)),
        ("2D points", pts, torch.tensor([0.3, 2.0]), torch.randn(pts.shape, generator=gen)),
        ("a batch of one", img[:1], torch.tensor([0.7]), torch.randn(img[:1].shape, generator=gen)),
    ]


def _check_loss(loss_fn, name: str, expected_fn, make_fn) -> None:
    """Values, the call it makes, dtype, gradients, inputs untouched, extreme sigmas."""
    gen = _gen(31)
    for kind, x, sigma, z in _cases(gen):
        fn = _LinearScore()
        before = (x.clone(), sigma.clone(), z.clone())
        got = expect_tensor(loss_fn(make_fn(fn), x, sigma, z), f"{name} on {kind}")
        assert got.dim() == 0, f"{name} on {kind}: expected a scalar (0-d) tensor, got shape " \
            f"{tuple(got.shape)}"
        want = expected_fn(make_fn(fn), x, sigma, z)
        _close(got, want, f"{name} on {kind}", rtol=1e-4)
        assert all(torch.equal(a, b) for a, b in zip((x, sigma, z), before)), (
            f"{name} must not modify x, sigma or z in place")
        # gradients reach the network's parameters, and match the expected loss's
        got.backward()
        ref = _LinearScore()
        expected_fn(make_fn(ref), x, sigma, z).backward()
        assert fn.a.grad is not None and torch.allclose(fn.a.grad, ref.a.grad, rtol=1e-3,
                                                        atol=1e-6), (
            f"{name} on {kind}: the gradient with respect to the network's parameters is wrong "
            "or missing (return a tensor built from the network's output, not a number)")
    # float64 and extreme noise levels
    x = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    z = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    sigma = torch.tensor([1e-3, 1e-3, 0.1, 10.0, 100.0, 100.0], dtype=torch.float64)
    fn = _LinearScore(torch.float64)
    _close(loss_fn(make_fn(fn), x, sigma, z), expected_fn(make_fn(fn), x, sigma, z),
           f"{name} with float64 inputs and sigmas from 1e-3 to 100", atol=1e-9, rtol=1e-7)


def _gaussian_mean_loss(loss_fn, make_fn, what: str) -> None:
    """With the exact score of Gaussian data the loss has a closed-form mean: for data
    N(0, v I) in d dimensions, sigma^2 |s + z/sigma|^2 averages to d v / (v + sigma^2)."""
    gen = _gen(32)
    v, d, n = 0.5, 4, 8000
    x = math.sqrt(v) * torch.randn(n, d, generator=gen, dtype=torch.float64)
    z = torch.randn(n, d, generator=gen, dtype=torch.float64)
    levels = torch.tensor([0.05, 0.5, 2.0], dtype=torch.float64)
    sigma = levels[torch.randint(3, (n,), generator=gen)]
    got = float(loss_fn(make_fn(gaussian_score(0.0, v)), x, sigma, z))
    want = float((d * v / (v + sigma ** 2)).mean())
    assert abs(got / want - 1) < 0.03, (
        f"{what}: with the exact score of Gaussian data, the loss should average to "
        "d v / (v + sigma^2) (it is the part of the noise the best denoiser cannot predict)")


def check_dsm_loss(loss_fn) -> None:
    """DSM: the batch mean of sigma^2 |score(x + sigma z, sigma) + z / sigma|^2, summed over
    each sample's elements, one sigma per sample: values (images, 2D points with B equal to the
    last size, a batch of one, float64, sigmas from 1e-3 to 100), the network evaluated at the
    noisy data, gradients to its parameters, inputs untouched, and the closed-form mean with the
    exact score of Gaussian data."""
    _check_loss(loss_fn, "dsm_loss", _dsm_expected, lambda f: f)
    _gaussian_mean_loss(loss_fn, lambda f: f, "dsm_loss")


def check_eps_loss(loss_fn) -> None:
    """Noise prediction: the batch mean of |eps(x + sigma z, sigma) - z|^2, summed over each
    sample's elements: values (images, 2D points with B equal to the last size, a batch of one,
    float64, sigmas from 1e-3 to 100), the network evaluated at the noisy data, gradients to its
    parameters, inputs untouched, and the closed-form mean of an exact Gaussian denoiser (the
    same as the sigma^2-weighted DSM loss: eps = -sigma * score)."""
    _check_loss(loss_fn, "eps_loss", _eps_expected, lambda f: f)

    def eps_of(score):
        return lambda x, s: -_bcast(s, x) * score(x, s)
    _gaussian_mean_loss(loss_fn, eps_of, "eps_loss")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
