"""The graded parts of ``04_glyph_jem``, written once (instructor-only; see ``docs/design.md``).

``the notebook source 04_glyph_jem.py`` names each definition here in a ``# %% solution ... from=glyph_jem:NAME``
cell; ``make notebooks`` copies its source, solution markers and all, into the notebook. The
hidden checks of ``..grading`` compare a submission with these. The imports below are the ones
the notebook's first cell makes: a body here may use exactly those names.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def class_gaussian_init(n: int, means: torch.Tensor, factors: torch.Tensor,
                        generator: torch.Generator, y: torch.Tensor | None = None) -> torch.Tensor:
    """n draws x = means[y] + factors[y] @ z, z ~ N(0, I_r), y uniform over the K classes unless
    given (n,); means (K, D), factors (K, D, r); returns (n, D), all draws from `generator`."""
    ### BEGIN SOLUTION
    n_classes, _, rank = factors.shape
    if y is None:
        y = torch.randint(n_classes, (n,), generator=generator)
    z = torch.randn(n, rank, 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)
    ### END SOLUTION


def pyx_step(net, x: torch.Tensor, y: torch.Tensor):
    """(loss, acc): mean cross-entropy of net.get_logits(x) against y (B,), and the accuracy."""
    ### BEGIN SOLUTION
    logits = net.get_logits(x)
    loss = F.cross_entropy(logits, y)
    acc = (logits.argmax(dim=1) == y).float().mean().detach()
    return loss, acc
    ### END SOLUTION


def px_step(net, sampler, x_data: torch.Tensor, alpha: float):
    """(loss, energy_data, energy_model): contrastive divergence on E = -net(x) + alpha * L2."""
    ### BEGIN SOLUTION
    x_model = sampler.sample(net, x_data.shape[0])
    energy_data, energy_model = -net(x_data), -net(x_model)
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.pow(2).mean() + energy_model.pow(2).mean()
    return cd + alpha * reg, energy_data, energy_model
    ### END SOLUTION


def jem_step(net, sampler, x, y, alpha: float, px_weight: float = 1.0, pyx_weight: float = 1.0,
             px_step_fn=px_step, pyx_step_fn=pyx_step):
    """(loss, loss_px, loss_pyx, acc) with loss = px_weight * loss_px + pyx_weight * loss_pyx."""
    ### BEGIN SOLUTION
    loss_pyx, acc = pyx_step_fn(net, x, y)
    if px_weight > 0:
        loss_px = px_step_fn(net, sampler, x, alpha)[0]
    else:
        loss_px = torch.zeros((), device=x.device)
    return px_weight * loss_px + pyx_weight * loss_pyx, loss_px, loss_pyx, acc
    ### END SOLUTION


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """ECE: sum over n_bins equal-width confidence bins (lo, hi] of |bin| / N * |accuracy -
    mean confidence|, confidence = max_y probs (N, K), accuracy of the argmax against labels (N,)."""
    ### BEGIN SOLUTION
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == labels).double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    bins = torch.bucketize(confidence.double(), edges[1:-1])  # (lo, hi]; 0 goes to the first
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            gap = correct[in_bin].mean() - confidence[in_bin].double().mean()
            ece += in_bin.double().mean() * gap.abs()
    return float(ece)
    ### END SOLUTION


def run_chain(net, x_init: torch.Tensor, n_steps: int, step_size: float, noise_std: float, *,
              step_fn, y: torch.Tensor | None = None, keep_steps=()):
    """n_steps SGLD steps step_fn(energy_fn, x, step_size, noise_std, None, (-1.0, 1.0)) from
    x_init (B, C, H, W), on E(x) = -net(x), or on E(x, y) = -net(x, y) for labels y (B,).

    Returns (x_final, kept, trace): kept = {t: x_t} (copies) for the steps t of keep_steps in
    0..n_steps, x_0 = x_init; trace = {"energy": E(x_t), "grad_norm": ||dE/dx (x_t)||_2 of each
    chain}, each (n_steps + 1, B) in x_init's dtype, t = 0..n_steps. Everything returned is
    detached; x_init is not modified (not even by a step_fn that works in place), the network's
    parameters get no gradient; it works under torch.no_grad too.
    """
    ### BEGIN SOLUTION
    def energy_fn(x):
        return -net(x) if y is None else -net(x, y)

    x = x_init.detach().clone()
    kept, energies, grad_norms = {}, [], []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, step_size, noise_std, None, (-1.0, 1.0))
        if t in keep_steps:
            kept[t] = x.detach().clone()
        leaf = x.detach().requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            (grad,) = torch.autograd.grad(energy.sum(), leaf)
        energies.append(energy.detach())
        grad_norms.append(grad.flatten(1).norm(dim=1))
    trace = {"energy": torch.stack(energies), "grad_norm": torch.stack(grad_norms)}
    return x.detach(), kept, trace
    ### END SOLUTION
