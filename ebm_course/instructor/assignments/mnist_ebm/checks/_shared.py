"""Hidden checks of 03_mnist_ebm: helpers shared by several checks."""

from __future__ import annotations

import contextlib

import torch

from ebm_course.instructor.grading.common import expect_tensor


def _expect(value, what: str, shape: tuple | None = None, shape_desc: str = "",
            dtype: torch.dtype | None = None) -> torch.Tensor:
    """A finite tensor with data, of the given shape and dtype: :func:`common.expect_tensor`,
    with messages that name no sizes (the shape said as ``shape_desc``) and say the dtype is the
    inputs'."""
    if isinstance(value, torch.Tensor):  # else expect_tensor says what it got
        assert value.device.type != "meta", (
            f"{what}: expected a tensor with values, got a 'meta' one")
        if shape is not None and tuple(value.shape) != tuple(shape):
            got = (f"a {value.dim()}-dimensional one" if value.dim() != len(shape)
                   else "one with other sizes")
            raise AssertionError(f"{what}: returned a tensor of the wrong shape (expected "
                                 f"{shape_desc or 'another shape'}, got {got})")
        if dtype is not None:
            assert value.dtype == dtype, (
                f"{what}: expected dtype {dtype} (the dtype of the inputs), got {value.dtype}")
    return expect_tensor(value, what)


def _close(actual, expected: torch.Tensor, what: str, shape_desc: str = "",
           atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """``actual`` has ``expected``'s shape, dtype and device type, and is close to it (as
    :func:`common.expect_close`, with :func:`_expect`'s messages and no tolerance in the last)."""
    actual = _expect(actual, what, tuple(expected.shape), shape_desc, dtype=expected.dtype)
    assert actual.device.type == expected.device.type, (
        f"{what}: expected a tensor on {expected.device.type} (the device of the inputs), got "
        f"{actual.device}")
    actual = actual.detach()
    if not torch.allclose(actual, expected.detach(), atol=atol, rtol=rtol):
        err = (actual - expected.detach()).abs().max().item()
        raise AssertionError(f"{what}: values differ from the reference (max abs error {err:.3g})")


@contextlib.contextmanager
def _global_seed(seed: int):
    """Run the body from a fixed global seed, and give the notebook its random stream back."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
