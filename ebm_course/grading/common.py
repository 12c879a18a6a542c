"""Assertions shared by the hidden checks: each failure message says what was expected."""

from __future__ import annotations

import torch


def expect_tensor(value, what: str, shape: tuple | None = None,
                  dtype: torch.dtype | None = None) -> torch.Tensor:
    """Assert ``value`` is a finite tensor of the given shape and dtype; return it."""
    assert isinstance(value, torch.Tensor), (
        f"{what}: expected a torch.Tensor, got {type(value).__name__}")
    if shape is not None:
        assert tuple(value.shape) == tuple(shape), (
            f"{what}: expected shape {tuple(shape)}, got {tuple(value.shape)}")
    if dtype is not None:
        assert value.dtype == dtype, f"{what}: expected dtype {dtype}, got {value.dtype}"
    if value.is_floating_point():
        assert torch.isfinite(value).all(), f"{what}: contains NaN or inf"
    return value


def expect_close(actual, expected: torch.Tensor, what: str, atol: float = 1e-5,
                 rtol: float = 1e-4) -> None:
    """Assert ``actual`` is a finite tensor shaped like ``expected`` and close to it."""
    actual = expect_tensor(actual, what, shape=expected.shape)
    actual = actual.detach().to(expected.device, expected.dtype)
    if not torch.allclose(actual, expected, atol=atol, rtol=rtol):
        err = (actual - expected).abs().max().item()
        raise AssertionError(
            f"{what}: values differ from the reference (max abs error {err:.3g}, "
            f"tolerance atol={atol}, rtol={rtol})")
