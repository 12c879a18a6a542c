"""Hidden checks of 07_score_models: helpers shared by several checks."""

from __future__ import annotations

import torch

from ebm_course.instructor.grading.common import expect_tensor


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _bcast(sigma, x: torch.Tensor) -> torch.Tensor:
    """sigma (a float, 0-d or (B,) tensor) shaped to broadcast over x (B, ...) sample by sample."""
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if s.dim() == 1:
        s = s.view(-1, *[1] * (x.dim() - 1))
    return s


def gaussian_score(mean, var):
    """The exact score of N(mean, var I) blurred by N(0, sigma^2 I); sigma float or (B,)."""
    def score(x, sigma):
        return -(x - mean) / (var + _bcast(sigma, x) ** 2)
    return score


def _close(actual, expected: torch.Tensor, what: str, atol: float = 1e-5,
           rtol: float = 1e-4) -> torch.Tensor:
    """A finite tensor of ``expected``'s shape and dtype, close to it; messages name no case."""
    actual = expect_tensor(actual, what)
    assert tuple(actual.shape) == tuple(expected.shape), (
        f"{what}: returned a tensor of the wrong shape (expected the shape of "
        f"{'a scalar' if expected.dim() == 0 else 'the input x'}, got {tuple(actual.shape)})")
    assert actual.dtype == expected.dtype, (
        f"{what}: expected dtype {expected.dtype} (the dtype of the inputs), got {actual.dtype}")
    got = actual.detach()
    if not torch.allclose(got, expected.detach(), atol=atol, rtol=rtol):
        err = (got - expected.detach()).abs().max().item()
        raise AssertionError(f"{what}: values differ from the expected ones (max abs error "
                             f"{err:.3g})")
    return actual
