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
import math
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


# ---------------------------------------------------------------- properties of random steps

def _first_tensor(out, what: str) -> torch.Tensor:
    """The tensor of states a step returned (the first item of a tuple), detached and copied."""
    new = out[0] if isinstance(out, (tuple, list)) and out else out
    assert isinstance(new, torch.Tensor), (
        f"{what}: expected a tensor of new states, got {type(new).__name__}")
    return new.detach().clone()


def expect_generator_advances(call, generator: torch.Generator, what: str) -> None:
    """``call(generator)`` twice with one generator object: each call must advance that
    generator, and the two results must differ (a chain continues with the same generator).

    Catches a private generator made from the caller's seed
    (``torch.Generator().manual_seed(generator.initial_seed())``) and a re-seeded one: both are
    reproducible and seed-dependent, but every call then draws the same numbers, so a chain adds
    the same noise at every step."""
    before = generator.get_state().clone()
    first = _first_tensor(call(generator), what)
    assert not torch.equal(generator.get_state(), before), (
        f"{what}: the generator passed in did not advance: draw every random number from it "
        "(torch.randn(..., generator=generator)). A private generator made from its seed "
        "(torch.Generator().manual_seed(generator.initial_seed())) repeats the same numbers at "
        "every call, so a chain would add the same noise at every step")
    second = _first_tensor(call(generator), what)
    assert not torch.equal(first, second), (
        f"{what}: two consecutive calls with the same generator object gave the same result: "
        "keep drawing from the generator itself (do not copy or re-seed it), so that a chain "
        "gets fresh noise at every step")


def expect_seeded_by_generator(fn_call, what: str, x: torch.Tensor) -> None:
    """Same generator state, same result, whatever the global random state; another seed,
    another result; the generator object advances and consecutive calls with it differ; the
    caller's states x neither changed nor returned. ``fn_call(g)`` starts from the states x."""
    before = x.clone()
    with torch.random.fork_rng(devices=[]):  # the notebook's random state is left as it was
        torch.manual_seed(1234)
        out = fn_call(torch.Generator().manual_seed(7))
        new = out[0] if isinstance(out, (tuple, list)) and out else out
        assert isinstance(new, torch.Tensor), (
            f"{what}: expected a tensor of new states, got {type(new).__name__}")
        aliased = new.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        assert torch.equal(x, before) and not aliased, (
            f"{what}: the function modified its input x in place or returned it: every call "
            "must start from the caller's states, unchanged (work on x.detach().clone() or build "
            "new tensors)")
        first = new.detach().clone()
        torch.manual_seed(4321)
        torch.rand(3)
        second = _first_tensor(fn_call(torch.Generator().manual_seed(7)), what)
    other = _first_tensor(fn_call(torch.Generator().manual_seed(8)), what)
    assert torch.equal(first, second), (
        f"{what}: two calls with generators in the same state gave different results: draw every "
        "random number from the generator argument (torch.randn(..., generator=generator)), never "
        "from the global random state")
    assert not torch.equal(first, other), (
        f"{what}: generators with different seeds gave the same result: is the noise drawn from "
        "the generator argument?")
    expect_generator_advances(fn_call, torch.Generator().manual_seed(9), what)


def expect_independent_coordinates(noise: torch.Tensor, std: float, what: str,
                                   std_desc: str = "", sigmas: float = 6.0) -> None:
    """``noise`` (N, ...) holds N independent draws of a vector whose coordinates should be
    independent N(0, std^2): per-coordinate means near 0, variances near std^2 and
    cross-covariances near 0, each within ``sigmas`` standard errors. Catches one normal per
    chain broadcast over its coordinates (``torch.randn(n, 1).expand(n, d)``), which has the
    right variance in every coordinate."""
    z = noise.detach().double().flatten(1)
    n, d = z.shape
    var = std ** 2
    desc = std_desc or "the noise's std"
    mean_err = z.mean(0).abs().max().item()
    assert mean_err <= sigmas * std / math.sqrt(n), (
        f"{what}: the noise should have mean zero in every coordinate")
    cov = torch.cov(z.T).reshape(d, d)
    rel = (cov.diagonal() / var - 1).abs().max().item()
    assert rel <= sigmas * math.sqrt(2 / (n - 1)), (
        f"{what}: every coordinate should get noise of variance ({desc})^2 (got up to "
        f"{100 * rel:.0f}% off): one standard normal per element, times {desc}")
    if d > 1:
        off = (cov - torch.diag(cov.diagonal())).abs().max().item() / var
        assert off <= sigmas / math.sqrt(n), (
            f"{what}: the noise of different coordinates of a chain is correlated (up to "
            f"{off:.2f}): draw one standard normal per element (torch.randn(x.shape, ...)), "
            "not one per chain broadcast over its coordinates")


def expect_no_graph(value, what: str) -> None:
    """``value`` is a tensor that carries no autograd graph (what a chain returns)."""
    assert isinstance(value, torch.Tensor), (
        f"{what}: expected a tensor, got {type(value).__name__}")
    assert not value.requires_grad and value.grad_fn is None, (
        f"{what}: returned a tensor that carries an autograd graph (requires_grad=True): "
        "detach the states (x.detach()) at every step, so that no graph links them to the "
        "input or to the energy's parameters")


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def expect_not_aliased(value, source: torch.Tensor, what: str) -> None:
    """``value`` is a tensor that shares no memory with ``source`` (a copy, not the caller's
    tensor or a view of it): changing one later must not change the other."""
    assert isinstance(value, torch.Tensor), (
        f"{what}: expected a tensor, got {type(value).__name__}")
    if value.numel() == 0 or source.numel() == 0:
        return
    assert _storage(value) != _storage(source), (
        f"{what}: returned the input tensor itself (or a view of it), not a copy: a later "
        "change to one would change the other. Return a copy (x.detach().clone())")


def points_near_bin_edges(box, n_bins: int, offset: float = 1e-3,
                          dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Points (4 (n_bins + 1), 2) just below and just above every edge of an n_bins x n_bins
    grid over box x box, ``offset`` cells away, on one axis at a time (the other coordinate at
    a cell centre). The lower side of the low edge and the upper side of the high edge lie
    outside the box: binning by truncation toward zero (``.long()`` without a floor) puts the
    first ones into the first cell."""
    low, high = box
    h = (high - low) / n_bins
    edges = low + h * torch.arange(n_bins + 1, dtype=torch.float64)
    near = torch.cat([edges - offset * h, edges + offset * h])
    centres = low + h * (torch.arange(len(near)) % n_bins + 0.5).double()
    first_axis = torch.stack([near, centres], 1)
    return torch.cat([first_axis, first_axis.flip(1)]).to(dtype)
