"""Hidden checks of 03_mnist_ebm: ``ebm_loss``."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.grading.common import guard_checks

from ._shared import _close


def check_ebm_loss(loss_fn) -> None:
    """(loss, cd, reg) with cd = mean E_data - mean E_model, reg = mean E_data^2 + mean
    E_model^2 (returned whatever alpha), loss = cd + alpha * reg: values and the gradient of the
    loss with respect to both energies, on a batch of one, non-round batches, energies of +-500,
    alpha = 0 and an integer alpha; float32 results for float32 energies; inputs untouched."""
    gen = torch.Generator().manual_seed(11)

    def energies(b, scale=1.0, shift=0.0):
        return torch.randn(b, generator=gen) * scale + shift

    cases = (
        ("on a batch", energies(32), energies(32, 2.0, 1.0), 0.1),
        ("with alpha=0", energies(10), energies(10, 3.0), 0.0),
        ("on a batch of one", energies(1), energies(1, 2.0), 0.7),
        ("with energies of -500 and +500", energies(7, 3.0, -500.0),
         energies(7, 3.0, 500.0), 0.1),
        ("on another non-round batch", energies(9), energies(9, 2.0, 0.5), 0.3),
        ("with an integer alpha", energies(5), energies(5, 0.5), 1),
    )
    for kind, e_data, e_model, alpha in cases:
        d, m = e_data.clone().requires_grad_(True), e_model.clone().requires_grad_(True)
        out = loss_fn(d, m, alpha)
        assert isinstance(out, (tuple, list)) and len(out) == 3, (
            "ebm_loss should return (loss, cd, reg)")
        assert torch.equal(d.detach(), e_data) and torch.equal(m.detach(), e_model), (
            f"ebm_loss {kind}: the energies must not be modified in place")
        want = ref03.ebm_loss(e_data, e_model, alpha)
        for got, ref, name in zip(out, want, ("loss", "cd", "reg")):
            _close(got, ref, f"ebm_loss {kind}: {name}", "a 0-dim scalar")
        loss = out[0]
        assert loss.requires_grad, (
            f"ebm_loss {kind}: the loss must carry the gradient to the energies (no .item(), "
            "detach or torch.no_grad)")
        g_data, g_model = torch.autograd.grad(loss, (d, m), allow_unused=True)
        b = len(e_data)
        for g, e, sign, name in ((g_data, e_data, 1.0, "energy_data"),
                                 (g_model, e_model, -1.0, "energy_model")):
            assert g is not None, (
                f"ebm_loss {kind}: no gradient reaches {name} (a detach in one of the terms?)")
            _close(g, (sign + 2 * alpha * e) / b, f"ebm_loss {kind}: the gradient of the loss "
                   f"with respect to {name} (both the cd and the reg terms must reach it)",
                   "the energies' shape")


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
