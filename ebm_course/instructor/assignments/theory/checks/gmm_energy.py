"""Hidden checks of 01_theory: ``gmm_energy``."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.theory import reference as ref01
from ebm_course.instructor.grading.common import guard_checks

from ._shared import _close, _isolated, _mixture, _tensor


def check_gmm_energy(energy_fn) -> None:
    """E = -log p of a Gaussian mixture: values for several K and d, stable far from every
    component, a batch of one, float64 inputs, differentiable in x, inputs left unchanged."""
    with _isolated(energy_fn, "gmm_energy"):
        g = torch.Generator().manual_seed(2024)
        for k, d, b in [(3, 2, 37), (1, 1, 23), (5, 3, 41), (7, 5, 19)]:
            means, stds, weights = _mixture(k, d, g)
            x = torch.randn(b, d, generator=g) * 2 + means[0]
            x[:3] = 45.0 * torch.sign(torch.randn(3, d, generator=g))  # far from every mean
            x[3] = -1e3  # very far, very negative coordinates
            kind = (f"a mixture of {'one component' if k == 1 else 'several components'} in "
                    f"{'1D' if d == 1 else 'several dimensions'}")
            syms = {b: "B", d: "d", k: "K"} if len({b, d, k}) == 3 else {b: "B"}
            inputs = [t.clone() for t in (x, means, stds, weights)]
            got = energy_fn(x, means, stds, weights)
            for t, t0 in zip((x, means, stds, weights), inputs):
                assert torch.equal(t, t0), "gmm_energy must not modify its inputs in place"
            want = ref01.gmm_energy(x, means, stds, weights)
            got = _tensor(got, f"gmm_energy for {kind}, on a batch mixing points near the "
                          f"components and points far from all of them (there every density "
                          f"underflows: take a per-point logsumexp over the components)",
                          want.shape, syms, want.dtype)
            _close(got[4:], want[4:], f"gmm_energy for {kind}, near the components", 1e-3, 1e-4)
            _close(got[:4], want[:4], f"gmm_energy for {kind}, far from every component "
                   f"(use torch.logsumexp per point over the components)", 1e-3, 1e-4)
            # a batch of one: shape (1,), the same energy as in the batch
            for i in (0, 5):
                one = energy_fn(x[i:i + 1], means, stds, weights)
                _close(one, want[i:i + 1], f"gmm_energy for {kind} on a batch of one (expected "
                       f"shape (1,): no squeeze)", 1e-3, 1e-4)

        # float64 in, float64 out, at float64 precision
        means, stds, weights = (t.double() for t in _mixture(4, 3, g))
        x = (torch.randn(29, 3, generator=g) * 2).double()
        x[0] = 60.0
        _close(energy_fn(x, means, stds, weights), ref01.gmm_energy(x, means, stds, weights),
               "gmm_energy with float64 inputs (keep the inputs' dtype: no float32 tables or "
               "constants)", 1e-6, 1e-7, {29: "B"})

        # differentiable in x (Langevin in section 4 runs on it), one point at a time
        means, stds, weights = _mixture(3, 2, g)
        x = torch.randn(31, 2, generator=g) * 2
        x[0] = 25.0
        xg = x.clone().requires_grad_(True)
        out = energy_fn(xg, means, stds, weights)
        assert isinstance(out, torch.Tensor) and out.requires_grad, (
            "gmm_energy must be differentiable in x (ula_chain needs dE/dx): no torch.no_grad(), "
            ".detach(), .item() or numpy inside")
        (grad,) = torch.autograd.grad(out.sum(), xg, allow_unused=True)
        assert grad is not None, "gmm_energy must be differentiable in x: its output ignores x"
        xr = x.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(ref01.gmm_energy(xr, means, stds, weights).sum(), xr)
        _close(grad, want, "the gradient dE/dx of gmm_energy (each energy depends on its own "
               "point only)", 1e-3, 1e-4, {31: "B", 2: "d"})


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
