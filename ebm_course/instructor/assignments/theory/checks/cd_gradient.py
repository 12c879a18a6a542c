"""Hidden checks of 01_theory: ``cd_gradient``."""

from __future__ import annotations

import torch

from ebm_course import toy_train
from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.grading.common import _where, guard_checks
from ebm_course.instructor.grading.limits import is_out_of_memory

from ._shared import _close, _isolated, _tensor


def _phi(x):
    return torch.stack([x[:, 0], x[:, 1], x[:, 0] ** 2, x[:, 1] ** 2, x[:, 0] * x[:, 1],
                        x[:, 0] ** 4 + x[:, 1] ** 4], 1)


def _grads(got, params, what: str) -> list:
    assert isinstance(got, (list, tuple)), (
        f"{what}: cd_gradient should return a list of tensors, got {type(got).__name__}")
    got = list(got)
    assert len(got) == len(params), (
        f"{what}: expected one gradient per parameter, got {len(got)} for {len(params)} "
        f"parameter(s)")
    return got


def _call_sizes(what: str, fn, *args):
    """Call the student's function on batches of different sizes; an exception raised there is
    reported without its text (which would print the hidden batch sizes)."""
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001  (the student's code)
        if is_out_of_memory(err):
            raise
        message = (f"{what}: your code raised {type(err).__name__}{_where(err)}. x_data and "
                   f"x_model may hold different numbers of points: average each phase over its "
                   f"own batch")
    raise AssertionError(message)


def _check_batch_sizes(cd_gradient_fn, energy, theta, g: torch.Generator) -> None:
    """An exponential family (exact): different and single-point batch sizes, inputs left
    unchanged."""
    for n_data, n_model, words in [(17, 29, "more samples than data points"),
                                   (31, 11, "fewer samples than data points"),
                                   (1, 23, "a single data point"),
                                   (19, 1, "a single model sample")]:
        x_data = torch.randn(n_data, 2, generator=g)
        x_model = torch.randn(n_model, 2, generator=g) * 1.4 + 0.3
        inputs = (x_data.clone(), x_model.clone())
        theta.grad = None
        what = f"cd_gradient for E = theta . phi(x) with {words}"
        got = _grads(_call_sizes(what, cd_gradient_fn, energy, [theta], x_data, x_model),
                     [theta], what)
        assert torch.equal(x_data, inputs[0]) and torch.equal(x_model, inputs[1]), (
            "cd_gradient must not modify x_data or x_model")
        want = _phi(x_data).mean(0) - _phi(x_model).mean(0)
        _close(got[0], want, f"{what} (expected mean phi(x_data) - mean phi(x_model): "
               f"both phases, each averaged over its own batch)", 1e-5, 1e-5, {6: "P"})


def _check_attached_samples(cd_gradient_fn, energy, theta, g: torch.Generator) -> None:
    """Samples still attached to the parameters (a sampler that did not detach them)."""
    x_data = torch.randn(21, 2, generator=g)
    x_model = torch.randn(27, 2, generator=g) + 0.5 * theta[:2] - 0.2 * theta[4]
    assert x_model.requires_grad
    theta.grad = None
    what = "cd_gradient when x_model still carries a graph to the parameters"
    got = _grads(cd_gradient_fn(energy, [theta], x_data, x_model), [theta], what)
    want = _phi(x_data).mean(0) - _phi(x_model.detach()).mean(0)
    _close(got[0], want, f"{what} (the samples are constants: no gradient may flow through "
           f"them; detach them)", 1e-5, 1e-5, {6: "P"})


def _check_leftover_grad(cd_gradient_fn, g: torch.Generator) -> None:
    """An MLP whose parameters already hold .grad (as in a training loop); two calls."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(6)
        net = toy_train.MLPEnergy(2, 16, 2)
    params = list(net.parameters())
    leftover = 0.5
    for p in params:
        p.grad = torch.full_like(p, leftover)
    mlp_energy = lambda x: -net(x)  # noqa: E731
    for call in ("a first", "a second"):
        x_data = torch.randn(25, 2, generator=g)
        x_model = torch.randn(35, 2, generator=g) * 1.5
        what = (f"cd_gradient of an MLP energy whose parameters hold leftover .grad, "
                f"{call} call")
        got = _grads(cd_gradient_fn(mlp_energy, params, x_data, x_model), params, what)
        want = ref01.cd_gradient(mlp_energy, params, x_data, x_model)
        for i, (a, b) in enumerate(zip(got, want)):
            a = _tensor(a, f"{what}, parameter {i}", b.shape, {}, b.dtype)
            if torch.allclose(a - b, torch.full_like(b, leftover), atol=1e-3):
                raise AssertionError(
                    f"{what}, parameter {i}: the result includes the gradient left in .grad "
                    f"(.backward() adds to .grad: use torch.autograd.grad)")
            _close(a, b, f"{what}, parameter {i}", 1e-5, 1e-4)


def _check_float64(cd_gradient_fn, theta, g: torch.Generator) -> None:
    """Float64 parameters and data."""
    theta64 = theta.detach().double().requires_grad_(True)
    x_data = torch.randn(13, 2, generator=g).double()
    x_model = torch.randn(9, 2, generator=g).double() * 1.3
    what = "cd_gradient with float64 parameters and data"
    got = _grads(cd_gradient_fn(lambda x: _phi(x) @ theta64, [theta64], x_data, x_model),
                 [theta64], what)
    want = _phi(x_data).mean(0) - _phi(x_model).mean(0)
    _close(got[0], want, f"{what} (keep the parameters' dtype)", 1e-6, 1e-6, {6: "P"})


def check_cd_gradient(cd_gradient_fn) -> None:
    """The contrastive-divergence gradient mean dE/dtheta(data) - mean dE/dtheta(samples): an
    exponential family (exact) with different and single-point batch sizes, samples that still
    carry a graph to the parameters, float64, and an MLP whose parameters hold leftover .grad."""
    with _isolated(cd_gradient_fn, "cd_gradient"):
        g = torch.Generator().manual_seed(5)
        theta = torch.tensor([0.3, -0.2, 0.5, 0.4, 0.1, 0.05], requires_grad=True)
        energy = lambda x: _phi(x) @ theta  # noqa: E731
        _check_batch_sizes(cd_gradient_fn, energy, theta, g)
        _check_attached_samples(cd_gradient_fn, energy, theta, g)
        _check_leftover_grad(cd_gradient_fn, g)
        _check_float64(cd_gradient_fn, theta, g)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
