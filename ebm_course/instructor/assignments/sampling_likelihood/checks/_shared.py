"""Hidden checks of 06_sampling_likelihood: helpers shared by several checks."""

from __future__ import annotations

import torch

from ebm_course.instructor.grading.common import expect_no_graph, expect_not_aliased


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _rowsum(z: torch.Tensor) -> torch.Tensor:
    return z.flatten(1).sum(1)


def _gaussian(stds):
    """E(x) = sum_i x_i^2 / (2 std_i^2) per chain, x (B, d)."""
    stds = torch.as_tensor(stds, dtype=torch.float64)
    return lambda z: _rowsum(z.pow(2) / (2 * stds.to(z) ** 2))


def _banana(z: torch.Tensor) -> torch.Tensor:
    x1, x2 = z[:, 0], z[:, 1]
    return x1 ** 2 / 2 + (x2 - 0.5 * x1 ** 2) ** 2 / 0.5 + 0.1 * torch.cos(3 * x1 + x2)


def _states(out, what: str) -> torch.Tensor:
    new = out[0] if isinstance(out, (tuple, list)) and out else out
    assert isinstance(new, torch.Tensor), f"{what}: expected a tensor of new states"
    return new


def _check_detached_and_untouched(fn_call, x: torch.Tensor, what: str) -> None:
    """``fn_call(z, w)`` runs the function from states z on an energy (or score) scaled by w:
    x left as it was, new states detached and not sharing memory with x; then the same from
    states that require grad, with w a parameter: no graph, nothing in x.grad."""
    before = x.clone()
    new = _states(fn_call(x, 1.0), what)
    assert torch.equal(x, before), f"{what}: modified its input x in place"
    expect_no_graph(new, f"{what}: the new states")
    expect_not_aliased(new, x, f"{what}: the new states")
    w = torch.tensor(1.0, dtype=x.dtype, requires_grad=True)
    leaf = x.clone().requires_grad_(True)
    where = f"{what} from states that require grad, on a function with parameters"
    expect_no_graph(_states(fn_call(leaf, w), where), f"{where}: the new states")
    assert leaf.grad is None, (
        f"{where}: a gradient was left in the caller's x.grad: differentiate a detached copy "
        "of x (torch.autograd.grad)")
