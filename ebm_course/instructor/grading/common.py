"""Assertions shared by the hidden checks, and the guard every check runs under.

Each failure message says what was expected. :func:`guard_checks` (called at the end of every
grading module) wraps each ``check_*`` so that whatever the student's code does (raise, hang,
allocate without bound, return garbage) the hidden test fails with one ``AssertionError`` whose
message says what was tested, and whose traceback shows none of this package's source: nbgrader's
feedback HTML prints tracebacks, and the hidden cases must stay out of it.
"""

from __future__ import annotations

import contextlib
import functools
import traceback
from pathlib import Path

import torch

from .limits import (
    CheckTimeout,
    check_memory_mb,
    check_timeout_s,
    is_out_of_memory,
    limited,
)

GRADING_DIR = str(Path(__file__).resolve().parent)


class CheckFailed(AssertionError):
    """A hidden check failed; the message says what was expected."""


def expect_tensor(value, what: str, shape: tuple | None = None,
                  dtype: torch.dtype | None = None) -> torch.Tensor:
    """Assert ``value`` is a finite tensor with data, of the given shape and dtype; return it."""
    assert isinstance(value, torch.Tensor), (
        f"{what}: expected a torch.Tensor, got {type(value).__name__}")
    assert value.device.type != "meta", (
        f"{what}: expected a tensor with values, got one on the 'meta' device (no data)")
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
    """Assert ``actual`` is a finite tensor shaped like ``expected``, of its dtype, on its device
    type, and close to it."""
    actual = expect_tensor(actual, what, shape=expected.shape)
    assert actual.dtype == expected.dtype, (
        f"{what}: expected dtype {expected.dtype} (the dtype of the inputs), got {actual.dtype}")
    assert actual.device.type == expected.device.type, (
        f"{what}: expected a tensor on {expected.device.type} (the device of the inputs), got "
        f"{actual.device}")
    actual = actual.detach().to(expected.device)
    if not torch.allclose(actual, expected, atol=atol, rtol=rtol):
        err = (actual - expected).abs().max().item()
        raise AssertionError(
            f"{what}: values differ from the reference (max abs error {err:.3g}, "
            f"tolerance atol={atol}, rtol={rtol})")


def _where(err: BaseException) -> str:
    """Where the student's code raised: the innermost frame outside this grading package."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not f.filename.startswith(GRADING_DIR)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (in {frame.name}, line {frame.lineno})"


_active = False  # a check calling another check: only the outer one is limited


@contextlib.contextmanager
def one_thread():
    """Tiny tensors: one intra-op thread is far faster than several on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def reference_in(fn, name: str, reference):
    """Run with ``reference`` bound to ``name`` in the namespace ``fn`` looks its globals up in
    (the notebook's), then restore it: a check of one part that calls another (``ood_metrics``
    calls ``threshold_at_tpr``, ``hmc_step`` calls ``leapfrog``) grades that part alone, so a
    wrong helper costs points in its own exercise only."""
    namespace = getattr(fn, "__globals__", None)
    if not isinstance(namespace, dict) or name not in namespace:
        yield
        return
    saved = namespace[name]
    namespace[name] = reference
    try:
        yield
    finally:
        namespace[name] = saved


def guarded(check):
    """Wrap a hidden check: time and memory limits, one clean ``CheckFailed`` on any failure."""
    purpose = (check.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    purpose = " ".join(purpose.replace("``", "").split())

    @functools.wraps(check)
    def run(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841  (IPython and pytest hide this frame)
        global _active
        if _active:
            return check(*args, **kwargs)
        seconds, memory_mb = check_timeout_s(), check_memory_mb()
        message = None
        _active = True
        try:
            with limited(seconds, memory_mb):
                return check(*args, **kwargs)
        except AssertionError as err:
            message = str(err) or f"a hidden test failed. What is tested: {purpose}"
        except CheckTimeout:
            message = (f"your code did not finish within {seconds:g} s on a hidden case (an "
                       f"endless loop, or far too slow?). What is tested: {purpose}")
        except Exception as err:  # the student's code raised: say what, where and what we test
            if is_out_of_memory(err):
                message = (f"your code needed more than the {memory_mb:g} MiB of memory a hidden "
                           f"case allows{_where(err)}. What is tested: {purpose}")
            else:
                first = (str(err).strip().splitlines() or [""])[0][:300]
                message = (f"your code raised {type(err).__name__}: {first}{_where(err)} on a "
                           f"hidden case. What is tested: {purpose}")
        finally:
            _active = False
        # Raised outside the except blocks: no chained traceback into the check's source.
        raise CheckFailed(message)

    run.guarded = True
    return run


def guard_checks(namespace: dict) -> None:
    """Wrap every ``check_*`` function defined in a grading module (pass its ``globals()``)."""
    for name, value in list(namespace.items()):
        if (name.startswith("check_") and callable(value)
                and getattr(value, "__module__", None) == namespace["__name__"]
                and not getattr(value, "guarded", False)):
            namespace[name] = guarded(value)
