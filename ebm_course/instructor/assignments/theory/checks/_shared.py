"""Hidden checks of 01_theory: helpers shared by several checks."""

from __future__ import annotations

import contextlib

import torch

from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.grading.common import expect_tensor

_GRADED = ("gmm_energy", "grid_log_partition", "cd_gradient", "ula_chain", "histogram_tv")


@contextlib.contextmanager
def _isolated(impl, own: str):
    """While a check runs: the other graded functions in ``impl``'s globals (the notebook's
    namespace) are the reference's, and torch's global RNG state is restored afterwards."""
    namespace = getattr(impl, "__globals__", None)
    saved = {}
    if isinstance(namespace, dict) and namespace is not vars(ref01):
        for name in _GRADED:
            if name != own and name in namespace:
                saved[name] = namespace[name]
                namespace[name] = getattr(ref01, name)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        if saved:
            namespace.update(saved)


def _sym(shape, symbols: dict) -> str:
    """A shape with the hidden sizes written as symbols (B, d, K, ...)."""
    parts = [symbols.get(n, str(n) if n <= 3 else "n") for n in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _tensor(value, what: str, shape=None, symbols: dict | None = None,
            dtype: torch.dtype | None = None) -> torch.Tensor:
    """A finite tensor of the given shape and dtype (messages without hidden sizes)."""
    value = expect_tensor(value, what)
    if shape is not None and tuple(value.shape) != tuple(shape):
        symbols = symbols or {}
        raise AssertionError(f"{what}: expected shape {_sym(shape, symbols)}, got "
                             f"{_sym(tuple(value.shape), symbols)}")
    if dtype is not None:
        assert value.dtype == dtype, (
            f"{what}: expected dtype {dtype} (the dtype of the inputs), got {value.dtype}")
    return value


def _close(got, want: torch.Tensor, what: str, atol: float, rtol: float = 0.0,
           symbols: dict | None = None) -> None:
    """``got`` is a finite tensor shaped like ``want``, of its dtype, and close to it."""
    got = _tensor(got, what, want.shape, symbols, want.dtype)
    err = (got.detach().double() - want.detach().double()).abs()
    bad = err > atol + rtol * want.detach().double().abs()
    if bad.any():
        raise AssertionError(f"{what}: values differ from the expected ones (max abs error "
                             f"{err.max().item():.3g})")


def _mixture(k: int, d: int, g: torch.Generator, dtype=torch.float32):
    means = torch.randn(k, d, generator=g) * 1.5
    stds = 0.3 + 0.5 * torch.rand(k, generator=g)
    weights = torch.softmax(torch.randn(k, generator=g), 0)
    return means.to(dtype), stds.to(dtype), weights.to(dtype)
