"""Hidden checks of 02_toy_densities: ``cd_loss``."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.toy import reference as ref02
from ebm_course.instructor.grading.common import guard_checks

from ._shared import _compare_loss, _net, _no_stray_grads


def check_cd_loss(loss_fn) -> None:
    """Contrastive divergence with the L2 penalty: value and parameter gradients of both terms and
    of the penalty, no gradient into the model samples, unequal batch sizes, batches of one,
    float64 inputs."""
    g = torch.Generator().manual_seed(31)
    cases = [  # n_data, n_model, alpha, dtype, what
        (40, 60, 0.0, torch.float32, "without the penalty (alpha=0)"),
        (40, 60, 0.3, torch.float32, "with the L2 penalty, more model samples than data"),
        (1, 1, 0.5, torch.float32, "on a batch of one (one data point, one sample)"),
        (9, 1, 0.2, torch.float32, "with a single model sample"),
        (25, 13, 0.3, torch.float64, "with float64 inputs"),
    ]
    for n_data, n_model, alpha, dtype, what in cases:
        net = _net(30, dtype=dtype)
        # energies that differ widely between points: the regulariser's form (mean of the
        # squares, not the square of the mean) shows in its value and gradient
        energy_fn = lambda x, net=net: 1.0 - 3 * net(x) + x.pow(2).sum(1)  # noqa: E731
        x_data = torch.randn(n_data, 2, generator=g).to(dtype)
        leaf = (torch.randn(n_model, 2, generator=g) * 2).to(dtype).requires_grad_(True)
        x_model = leaf * 1.0  # as if produced by a differentiable sampler: still carries a graph
        what = f"cd_loss {what}"
        _compare_loss(loss_fn(energy_fn, x_data, x_model, alpha),
                      ref02.cd_loss(energy_fn, x_data, x_model, alpha), net, what,
                      extra=leaf, extra_what="gradients flow into the model samples x_model; "
                      "the samples carry no gradient: detach them")
        _no_stray_grads(net, "cd_loss")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
