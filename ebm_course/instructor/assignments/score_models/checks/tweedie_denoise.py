"""Hidden checks of 07_score_models: ``tweedie_denoise``."""

from __future__ import annotations

import torch

from ebm_course.instructor.grading.common import expect_not_aliased, guard_checks

from ._shared import _bcast, _close, _gen, gaussian_score


def _same_sigma(seen, sigma) -> bool:
    """The score got sigma's value in sigma's form: a number (or 0-d tensor) for a float, a
    (B,) tensor for a (B,) tensor."""
    if isinstance(sigma, torch.Tensor) and sigma.dim() == 1:
        return isinstance(seen, torch.Tensor) and seen.shape == sigma.shape and \
            torch.allclose(seen.to(sigma.dtype), sigma)
    return torch.as_tensor(seen).numel() == 1 and abs(float(seen) - float(sigma)) <= 1e-6 * abs(float(sigma))


def check_tweedie_denoise(denoise_fn) -> None:
    """Tweedie: x + sigma^2 score(x, sigma), sigma a float or one per sample (each sample with
    its own sigma^2, also when B equals the last size): exactly the posterior mean of Gaussian
    data (v, mean m: m + v / (v + sigma^2) (x - m)), a batch of one, float64, tiny and huge
    sigmas; the score called with sigma as given; x untouched, the result a new tensor."""
    gen = _gen(41)
    m, v = 0.3, 0.6
    exact = gaussian_score(m, v)
    img = torch.randn(4, 1, 3, 5, generator=gen)
    pts = torch.randn(3, 3, generator=gen)
    cases = [
        ("images and a float sigma", img, 0.5),
        ("images and one sigma per sample", img, torch.tensor([0.01, 0.3, 1.0, 4.0])),
        ("2D points and one sigma per sample", pts, torch.tensor([0.2, 1.5, 3.0])),
        ("a batch of one", img[:1], torch.tensor([0.9])),
        ("a tiny sigma", pts, 1e-4),
        ("a huge sigma", pts, torch.full((3,), 1e3)),
        ("float64 inputs", pts.double(), torch.tensor([0.2, 1.5, 3.0], dtype=torch.float64)),
    ]
    for kind, x, sigma in cases:
        seen = []

        def score(z, s, seen=seen):
            seen.append(s)
            return exact(z, s)

        before = x.clone()
        s2 = _bcast(sigma, x) ** 2
        want = m + v / (v + s2) * (x - m)  # the posterior mean E[x_clean | x]
        tol = dict(atol=1e-9, rtol=1e-9) if x.dtype == torch.float64 else dict(atol=2e-5, rtol=1e-4)
        got = _close(denoise_fn(score, x, sigma), want,
                     f"tweedie_denoise on {kind} (expected x + sigma^2 * score(x, sigma), the "
                     "posterior mean of the clean data)", **tol)
        assert torch.equal(x, before), "tweedie_denoise must not modify x in place"
        expect_not_aliased(got, x, "tweedie_denoise")
        assert seen and all(_same_sigma(s, sigma) for s in seen), (
            "tweedie_denoise: call score_fn(x, sigma) with sigma as it was given (a float, or "
            "the (B,) tensor)")
    # a score with parameters: the result keeps the graph (a caller may differentiate it)
    w = torch.tensor(-1.0, requires_grad=True)
    out = denoise_fn(lambda z, s: w * z, pts, 0.5)
    assert out.requires_grad, "tweedie_denoise: keep the score's graph (do not detach)"


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
