"""Hidden checks of 02_toy_densities: ``nce_loss``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.toy import reference as ref02
from ebm_course.instructor.grading.common import expect_tensor, guard_checks

from ._shared import _close_scalar, _compare_loss, _net, _no_stray_grads


def check_nce_loss(loss_fn) -> None:
    """NCE's logistic loss: value and parameter gradients for integer, non-integer and below-one
    noise ratios, batches of one, logits near +-500 (stable logsigmoid), float64 inputs."""
    g = torch.Generator().manual_seed(61)
    q = torch.distributions.MultivariateNormal(torch.zeros(2), 2.0 * torch.eye(2))
    cases = [  # n_data, n_noise, energy shift, what
        (50, 50, 0.0, "with one noise sample per data point"),
        (50, 150, 0.0, "with an integer noise ratio above one"),
        (30, 70, 0.0, "with a non-integer noise ratio"),
        (50, 20, 0.0, "with fewer noise samples than data points"),
        (1, 3, 0.0, "on a batch of one data point"),
        (1, 1, 0.0, "on a batch of one data point and one noise sample"),
        (40, 40, 500.0, "with logits near -500 (energies near +500: use logsigmoid)"),
        (40, 40, -500.0, "with logits near +500 (energies near -500: use logsigmoid)"),
    ]
    for n_data, n_noise, shift, what in cases:
        x_data = torch.randn(n_data, 2, generator=g)
        x_noise = torch.randn(n_noise, 2, generator=g) * math.sqrt(2.0)
        net = _net(60)
        energy_fn = lambda z, net=net, shift=shift: -net(z) + 2.0 + shift  # noqa: E731
        args = (x_data, x_noise, q.log_prob(x_data), q.log_prob(x_noise))
        atol = 1e-4 if shift == 0 else 1e-2  # |loss| ~ 500: float32 resolution
        _compare_loss(loss_fn(energy_fn, *args), ref02.nce_loss(energy_fn, *args), net,
                      f"nce_loss {what}", atol=atol)
        _no_stray_grads(net, "nce_loss")
    # float64 inputs: the value (a float32 result from float32 labels is accepted).
    x_data = torch.randn(20, 2, generator=g, dtype=torch.float64)
    x_noise = torch.randn(50, 2, generator=g, dtype=torch.float64) * math.sqrt(2.0)
    net = _net(60, dtype=torch.float64)
    energy_fn = lambda z: -net(z) + 2.0  # noqa: E731
    args = (x_data, x_noise, q.log_prob(x_data.float()).double(),
            q.log_prob(x_noise.float()).double())
    got = expect_tensor(loss_fn(energy_fn, *args), "nce_loss with float64 inputs", shape=())
    assert got.is_floating_point(), "nce_loss with float64 inputs: expected a float tensor"
    want = ref02.nce_loss(energy_fn, *args).item()
    _close_scalar(got.item(), want, 1e-5, "nce_loss with float64 inputs: values differ from the "
                  "reference")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
