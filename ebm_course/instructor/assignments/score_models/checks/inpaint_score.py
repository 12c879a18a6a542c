"""Hidden checks of 07_score_models: ``inpaint_score``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.score_models import reference as ref
from ebm_course.instructor.grading.common import (
    expect_no_graph,
    expect_not_aliased,
    expect_seeded_by_generator,
    expect_tensor,
    guard_checks,
    one_thread,
    reference_in,
)

from ._shared import _gen

RHO = 0.8  # the correlation of the 2D Gaussian whose second coordinate is filled in


def _joint_score(z: torch.Tensor, s) -> torch.Tensor:
    """The exact score of N(0, [[1, RHO], [RHO, 1]]) blurred by N(0, sigma^2 I), per sample."""
    s2 = torch.as_tensor(s, dtype=z.dtype, device=z.device) ** 2  # a number or (B,)
    a = 1 + s2
    det = a * a - RHO ** 2
    x1, x2 = z[:, 0], z[:, 1]
    return -torch.stack([(a * x1 - RHO * x2) / det, (a * x2 - RHO * x1) / det], 1)


def _fit(x: torch.Tensor) -> tuple[float, float, float]:
    """Regression of the filled coordinate on the known one: slope, intercept, residual var."""
    x1, x2 = x[:, 0].double(), x[:, 1].double()
    slope = float(((x1 - x1.mean()) * (x2 - x2.mean())).sum() / (x1 - x1.mean()).pow(2).sum())
    intercept = float(x2.mean() - slope * x1.mean())
    resid = float((x2 - intercept - slope * x1).var())
    return slope, intercept, resid


def _coupled_score(z: torch.Tensor, s) -> torch.Tensor:
    """A linear score that pulls the second coordinate hard towards 5 times the first: what
    the filled pixel becomes depends on how noisy the known one is at each step."""
    return torch.stack([-z[:, 0], -(z[:, 1] - 5.0 * z[:, 0])], 1)


def _compare(fill, score, sigmas, n_each, eps, what: str) -> None:
    """The filled coordinate's law given the known one, against the reference's (5,000 chains
    each, independent noise): slope, intercept and residual variance within 6 standard errors."""
    n = 5000
    x_known = torch.stack([torch.randn(n, generator=_gen(120), dtype=torch.float64),
                           torch.full((n,), 1e6, dtype=torch.float64)], 1)  # ignored values
    mask = torch.tensor([False, True])
    got = expect_tensor(fill(score, x_known, mask, sigmas, n_each, eps, _gen(121)),
                        what, (n, 2))
    assert torch.equal(got[:, 0], x_known[:, 0]), (
        f"{what}: the known pixels must come back exactly as given (x_known where mask is False)")
    want = ref.inpaint_score(score, x_known, mask, sigmas, n_each, eps, _gen(122))
    (b_got, a_got, r_got), (b_want, a_want, r_want) = _fit(got), _fit(want)
    se_b = math.sqrt(2 * r_want / n)
    assert abs(b_got - b_want) < 6 * se_b and abs(a_got - a_want) < 6 * math.sqrt(2 * r_want / n) \
        and abs(r_got / r_want - 1) < 6 * math.sqrt(4 / n), (
            f"{what}: the filled-in pixels do not have the law the algorithm gives them given the "
            "known ones (start x_known + sigma_1 z and sigma_1 z; at each step the Langevin step, "
            "then the known pixels reset to x_known + sigma_i z'; Tweedie's step at sigma_L; the "
            "known pixels restored)")


def check_inpaint_score(fill) -> None:
    """Inpainting by annealed Langevin with the known pixels re-noised to each level: on a
    correlated 2D Gaussian (exact score) the filled coordinate's law given the known one, both
    near equilibrium (long last level: the conditional), and with a score that ties the filled
    pixel to the known one (large steps: how noisy the known pixel is at each level shows),
    against the reference's; known
    pixels exactly as given, values under the mask ignored; levels passed as (B,) tensors, in
    order; images with a broadcast mask, a batch of one, dtype kept; generator (seeded,
    advancing); x_known untouched, the result detached and new. Graded with the reference
    tweedie_denoise."""
    with one_thread(), reference_in(fill, "tweedie_denoise", ref.tweedie_denoise):
        _compare(fill, _joint_score, [0.5, 0.2, 0.1], 150, 0.02,
                 "inpaint_score on a correlated Gaussian, long chains")
        _compare(fill, _coupled_score, torch.tensor([1.0, 0.5], dtype=torch.float64), 2, 0.4,
                 "inpaint_score with a score that ties the missing pixel to the known one, "
                 "large steps")
        # the call sequence
        levels = []

        def rec(z, s):
            assert isinstance(s, torch.Tensor) and s.shape == (z.shape[0],), (
                "inpaint_score: call score_fn(x, sigma_i) with sigma_i a (B,) tensor")
            levels.append(float(s[0]))
            return -z

        gen = _gen(123)
        img = torch.rand(3, 1, 4, 4, generator=gen) * 2 - 1
        mask = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
        mask[..., 2:, :] = True
        before = img.clone()
        out = expect_tensor(fill(rec, img, mask, [0.6, 0.3], 3, 0.01, _gen(124)),
                            "inpaint_score on images with a mask broadcast over the batch",
                            (3, 1, 4, 4))
        want = [0.6] * 3 + [0.3] * 3 + [0.3]
        assert len(levels) == len(want) and all(abs(a - b) < 1e-6 for a, b in zip(levels, want)), (
            "inpaint_score: score_fn should be called n_steps_each times per level, largest "
            "first, and once more at sigma_L for Tweedie's step")
        assert out.dtype == img.dtype, "inpaint_score: keep x_known's dtype"
        keep = (~mask).expand_as(img)
        assert torch.equal(out[keep], img[keep]), (
            "inpaint_score: the known pixels must come back exactly as given")
        assert not torch.allclose(out[mask.expand_as(img)], img[mask.expand_as(img)]), (
            "inpaint_score: the masked pixels were not filled in")
        assert torch.equal(img, before), "inpaint_score: modified x_known in place"
        expect_not_aliased(out, img, "inpaint_score: the completed images")
        one = expect_tensor(fill(lambda z, s: -z, img[:1], mask, [0.6, 0.3], 2, 0.01, _gen(1)),
                            "inpaint_score on a batch of one", (1, 1, 4, 4))
        assert torch.equal(one[(~mask).expand_as(one)], img[:1][(~mask).expand_as(one)])
        w = torch.tensor(1.0, requires_grad=True)
        leaf = img.clone().requires_grad_(True)
        expect_no_graph(fill(lambda z, s: -w * z, leaf, mask, [0.6, 0.3], 2, 0.01, _gen(2)),
                        "inpaint_score with a score that has parameters, from x_known that "
                        "requires grad: the completed images")
        assert leaf.grad is None, "inpaint_score: a gradient was left in x_known.grad"
        expect_seeded_by_generator(
            lambda g: fill(lambda z, s: -z, img, mask, [0.6, 0.3], 2, 0.01, g),
            "inpaint_score", img)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
