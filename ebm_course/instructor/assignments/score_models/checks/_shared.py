"""Hidden checks of 07_score_models: helpers shared by several checks."""

from __future__ import annotations

import torch

from ebm_course.instructor.grading.common import expect_generator_advances, expect_tensor


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


def _states(out, what: str) -> torch.Tensor:
    assert isinstance(out, torch.Tensor), (
        f"{what}: expected a tensor, got {type(out).__name__}")
    return out


def check_generator(fn_call, what: str, x: torch.Tensor) -> None:
    """Same generator state, same result, whatever the global random state; another seed,
    another result; the generator object advances and consecutive calls differ; x untouched.
    ``fn_call(g)`` starts from the states x."""
    before = x.clone()
    with torch.random.fork_rng(devices=[]):  # the notebook's random state is left as it was
        torch.manual_seed(1234)
        first = _states(fn_call(_gen(7)), what).detach().clone()
        assert torch.equal(x, before), f"{what}: modified its input in place"
        torch.manual_seed(4321)
        torch.rand(3)
        second = _states(fn_call(_gen(7)), what).detach().clone()
    other = _states(fn_call(_gen(8)), what).detach().clone()
    assert torch.equal(first, second), (
        f"{what}: two calls with generators in the same state gave different results: draw every "
        "random number from the generator argument (torch.randn(..., generator=generator)), "
        "never from the global random state")
    assert not torch.equal(first, other), (
        f"{what}: generators with different seeds gave the same result: is the noise drawn from "
        "the generator argument?")
    expect_generator_advances(fn_call, _gen(9), what)
