"""More wrong and correct implementations of 01_theory (issue 12): the mistakes the hidden checks
used to miss (gradient flow, the generator, a batch of one, extreme values, per-element noise,
non-round sizes, dtype) and correct answers written differently (other random-draw orders,
loops, other stable formulas, float64-safe code, local generators, a call into another graded
function through the notebook's globals).

Each wrong implementation is wrong by the exercise statement (the notebook source 01_theory.py); each
correct one must pass its check under every global seed.
"""

from __future__ import annotations

import math
import types

import numpy as np
import torch

from ebm_course import toy
from ebm_course.instructor.assignments.theory import checks as checks
from ebm_course.instructor.assignments.theory import checks as theory
from ebm_course.instructor.assignments.theory import reference as ref01

# ====================================================================== wrong: gmm_energy


def gmm_squeezes_batch_of_one(x, means, stds, weights):
    """keepdim logsumexp then .squeeze(): a batch of one gives a 0-d tensor, not shape (1,)."""
    d = x.shape[1]
    sq = (x[:, None, :] - means[None]).pow(2).sum(-1)
    log_n = -sq / (2 * stds ** 2) - d * torch.log(stds) - 0.5 * d * math.log(2 * math.pi)
    return -torch.logsumexp(torch.log(weights) + log_n, dim=1, keepdim=True).squeeze()


def gmm_batch_max_shift(x, means, stds, weights):
    """Hand-made logsumexp shifted by the max over the whole batch: far points underflow to inf."""
    d = x.shape[1]
    sq = (x[:, None, :] - means[None]).pow(2).sum(-1)
    terms = (torch.log(weights) - sq / (2 * stds ** 2) - d * torch.log(stds)
             - 0.5 * d * math.log(2 * math.pi))
    m = terms.max()
    return -(m + torch.log(torch.exp(terms - m).sum(1)))


def gmm_under_no_grad(x, means, stds, weights):
    """Computed under torch.no_grad() 'for speed': no dE/dx, Langevin cannot run on it."""
    with torch.no_grad():
        return ref01.gmm_energy(x, means, stds, weights)


def gmm_float32_table(x, means, stds, weights):
    """Fills a torch.zeros(B, K) table (default float32) per component: float64 is truncated."""
    d = x.shape[1]
    table = torch.zeros(x.shape[0], len(weights))
    for k in range(len(weights)):
        sq = (x - means[k]).pow(2).sum(1)
        table[:, k] = (torch.log(weights[k]) - sq / (2 * stds[k] ** 2) - d * torch.log(stds[k])
                       - 0.5 * d * math.log(2 * math.pi))
    return -torch.logsumexp(table, dim=1)


def gmm_log_sigma_once(x, means, stds, weights):
    """-log(sigma) instead of -d log(sigma): only right in 1D."""
    d = x.shape[1]
    sq = (x[:, None, :] - means[None]).pow(2).sum(-1)
    log_n = -sq / (2 * stds ** 2) - torch.log(stds) - 0.5 * d * math.log(2 * math.pi)
    return -torch.logsumexp(torch.log(weights) + log_n, dim=1)


# ============================================================== wrong: grid_log_partition


def log_z_under_no_grad(energy_fn, box, n_grid, dim=2):
    """Evaluates the grid under torch.no_grad(): log Z has no gradient for section 3."""
    with torch.no_grad():
        centres, vol = toy.grid_points(box, n_grid, dim)
        return torch.logsumexp(-energy_fn(centres), 0) + math.log(vol)


def log_z_item(energy_fn, box, n_grid, dim=2):
    """Goes through .item() and wraps the float back into torch.tensor: the graph is cut."""
    centres, vol = toy.grid_points(box, n_grid, dim)
    return torch.tensor(torch.logsumexp(-energy_fn(centres), 0).item() + math.log(vol))


def log_z_shift_by_max_energy(energy_fn, box, n_grid, dim=2):
    """Stabilises by the largest energy instead of the smallest: exp overflows on wide ranges."""
    centres, vol = toy.grid_points(box, n_grid, dim)
    e = energy_fn(centres)
    c = e.max()
    return torch.log(torch.exp(c - e).sum()) - c + math.log(vol)


def log_z_symmetric_box(energy_fn, box, n_grid, dim=2):
    """Cell side 2 * high / n_grid: assumes a box (-L, L)."""
    low, high = box
    h = 2 * high / n_grid
    axis = low + (high - low) / n_grid * (torch.arange(n_grid, dtype=torch.float32) + 0.5)
    pts = (axis[:, None] if dim == 1 else
           torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    return torch.logsumexp(-energy_fn(pts), 0) + dim * math.log(h)


def log_z_linspace_nodes(energy_fn, box, n_grid, dim=2):
    """Evaluates E at linspace(low, high, n_grid) (edges and endpoints), not at the centres."""
    low, high = box
    h = (high - low) / n_grid
    axis = torch.linspace(low, high, n_grid)
    pts = (axis[:, None] if dim == 1 else
           torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    return torch.logsumexp(-energy_fn(pts), 0) + dim * math.log(h)


# ===================================================================== wrong: cd_gradient


def cd_gradient_samples_attached(energy_fn, params, x_data, x_model):
    """Forgets to detach x_model: a gradient flows through the samples into the parameters."""
    loss = energy_fn(x_data).mean() - energy_fn(x_model).mean()
    return list(torch.autograd.grad(loss, list(params)))


def cd_gradient_divides_by_data_size(energy_fn, params, x_data, x_model):
    """(sum E(data) - sum E(samples)) / len(x_data): only right when both batches are equal."""
    loss = (energy_fn(x_data).sum() - energy_fn(x_model.detach()).sum()) / len(x_data)
    return list(torch.autograd.grad(loss, list(params)))


def cd_gradient_paired_difference(energy_fn, params, x_data, x_model):
    """Mean of E(data_i) - E(sample_i), pairing the two batches: breaks when their sizes differ."""
    loss = (energy_fn(x_data) - energy_fn(x_model.detach())).mean()
    return list(torch.autograd.grad(loss, list(params)))


def cd_gradient_backward_accumulates(energy_fn, params, x_data, x_model):
    """loss.backward() and returns p.grad without clearing it: adds to leftover gradients."""
    params = list(params)
    loss = energy_fn(x_data).mean() - energy_fn(x_model.detach()).mean()
    loss.backward()
    return [p.grad.clone() for p in params]


def cd_gradient_detaches_model_energy(energy_fn, params, x_data, x_model):
    """Detaches the model energy instead of the samples: the negative phase is lost."""
    loss = energy_fn(x_data).mean() - energy_fn(x_model).detach().mean()
    return list(torch.autograd.grad(loss, list(params)))


# ======================================================================= wrong: ula_chain


def _ula_loop(energy_fn, x, n_steps, step_size, draw):
    """Reference update with a pluggable noise draw ``draw(x, step)``."""
    x = x.detach().clone()
    for t in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        x = (x.detach() - step_size * g + math.sqrt(2 * step_size) * draw(x, t)).detach()
    return x


def ula_ignores_generator(energy_fn, x, n_steps, step_size, generator=None):
    """torch.randn_like(x): the passed generator is never used."""
    return _ula_loop(energy_fn, x, n_steps, step_size, lambda z, t: torch.randn_like(z))


def ula_reseeds_global(energy_fn, x, n_steps, step_size, generator=None):
    """Re-seeds torch's global generator from generator.initial_seed() and draws from it."""
    if generator is not None:
        torch.manual_seed(generator.initial_seed())
    return _ula_loop(energy_fn, x, n_steps, step_size, lambda z, t: torch.randn(z.shape))


def ula_fixed_default_seed(energy_fn, x, n_steps, step_size, generator=None):
    """No generator: torch.Generator().manual_seed(0), so every call draws the same noise."""
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    return _ula_loop(energy_fn, x, n_steps, step_size,
                     lambda z, t: torch.randn(z.shape, generator=generator, dtype=z.dtype))


def ula_noise_drawn_once(energy_fn, x, n_steps, step_size, generator=None):
    """Draws the noise once before the loop and adds the same noise at every step."""
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return _ula_loop(energy_fn, x, n_steps, step_size, lambda z, t: noise)


def ula_noise_shared_across_dims(energy_fn, x, n_steps, step_size, generator=None):
    """One normal per chain, broadcast over the coordinates: (B, 1) instead of (B, d)."""
    return _ula_loop(energy_fn, x, n_steps, step_size,
                     lambda z, t: torch.randn(len(z), 1, generator=generator, dtype=z.dtype))


def ula_mean_energy_gradient(energy_fn, x, n_steps, step_size, generator=None):
    """Gradient of energy_fn(x).mean(): every chain's drift is divided by the batch size."""
    x = x.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).mean(), x)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = (x.detach() - step_size * g + math.sqrt(2 * step_size) * noise).detach()
    return x


def ula_backward_accumulates(energy_fn, x, n_steps, step_size, generator=None):
    """.backward() on one leaf and x.grad never cleared: the drift accumulates over steps."""
    x = x.detach().clone().requires_grad_(True)
    for _ in range(n_steps):
        with torch.enable_grad():
            energy_fn(x).sum().backward()
        with torch.no_grad():
            x -= step_size * x.grad
            x += math.sqrt(2 * step_size) * torch.randn(x.shape, generator=generator,
                                                        dtype=x.dtype)
    return x.detach()


def ula_backward_leaks_param_grads(energy_fn, x, n_steps, step_size, generator=None):
    """Fresh leaf and .backward() per step: right samples, but the energy's parameters get .grad."""
    x = x.detach().clone()
    for _ in range(n_steps):
        leaf = x.clone().requires_grad_(True)
        with torch.enable_grad():
            energy_fn(leaf).sum().backward()
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = x - step_size * leaf.grad + math.sqrt(2 * step_size) * noise
    return x


def ula_steps_off_by_one(energy_fn, x, n_steps, step_size, generator=None):
    """range(1, n_steps): one step too few."""
    x = x.detach().clone()
    for _ in range(1, n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = (x.detach() - step_size * g + math.sqrt(2 * step_size) * noise).detach()
    return x


# ==================================================================== wrong: histogram_tv


def _tv_from_bins(idx, keep, energy_fn, box, n_bins):
    """0.5 * sum |p_hist - softmax(-E(centres))| for the kept (row, col) bins."""
    flat = idx[keep, 0] * n_bins + idx[keep, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float()
    p_hist = p_hist / p_hist.sum()
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        p_exact = torch.softmax(-energy_fn(centres), 0)
    return 0.5 * (p_hist - p_exact).abs().sum().item()


def tv_clamps_outside(samples, energy_fn, box, n_bins):
    """Clamps bin indices into [0, n_bins - 1]: samples outside land in the edge cells."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long().clamp(0, n_bins - 1)
    return _tv_from_bins(idx, torch.ones(len(idx), dtype=torch.bool), energy_fn, box, n_bins)


def tv_truncates_toward_zero(samples, energy_fn, box, n_bins):
    """.long() without floor(): samples just below the low edge land in the first cell."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).long()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    return _tv_from_bins(idx, keep, energy_fn, box, n_bins)


def tv_exp_without_shift(samples, energy_fn, box, n_bins):
    """p_exact = exp(-E) / sum exp(-E): 0/0 or inf/inf for energies around +-500."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[keep, 0] * n_bins + idx[keep, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float()
    p_hist = p_hist / p_hist.sum()
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        w = torch.exp(-energy_fn(centres))
    return 0.5 * (p_hist - w / w.sum()).abs().sum().item()


def tv_energy_at_corners(samples, energy_fn, box, n_bins):
    """Exact masses at linspace(low, high, n_bins) (cell corners and the far edge), not centres."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[keep, 0] * n_bins + idx[keep, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float()
    p_hist = p_hist / p_hist.sum()
    axis = torch.linspace(low, high, n_bins)
    pts = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        p_exact = torch.softmax(-energy_fn(pts), 0)
    return 0.5 * (p_hist - p_exact).abs().sum().item()


def tv_squeezes_indices(samples, energy_fn, box, n_bins):
    """.squeeze() on the (N, 2) bin indices: a single sample becomes a (2,) vector and fails."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long().squeeze()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    return _tv_from_bins(idx, keep, energy_fn, box, n_bins)


# =========================================================================== correct ones


def gmm_energy_component_loop(x, means, stds, weights):
    """A loop over components, a per-point max shift by hand, tables in the inputs' dtype."""
    d = x.shape[1]
    cols = []
    for k in range(len(weights)):
        sq = ((x - means[k]) ** 2).sum(dim=1)
        cols.append(torch.log(weights[k]) - 0.5 * sq / stds[k] ** 2 - d * torch.log(stds[k])
                    - d / 2 * math.log(2 * math.pi))
    terms = torch.stack(cols, dim=1)
    m = terms.max(dim=1, keepdim=True).values
    return -(m.squeeze(1) + torch.log(torch.exp(terms - m).sum(dim=1)))


def gmm_energy_expanded_square(x, means, stds, weights):
    """||x - mu||^2 expanded as ||x||^2 - 2 x . mu + ||mu||^2 (a matrix product), logsumexp."""
    d = x.shape[1]
    sq = (x * x).sum(1, keepdim=True) - 2 * x @ means.T + (means * means).sum(1)
    log_n = -0.5 * sq / stds.pow(2) - d * stds.log() - 0.5 * d * math.log(2 * math.pi)
    return -(weights.log() + log_n).logsumexp(1)


def grid_log_partition_min_shift(energy_fn, box, n_grid, dim=2):
    """Own midpoints, a hand-made shift by the smallest energy instead of torch.logsumexp."""
    low, high = box
    h = (high - low) / n_grid
    axis = torch.arange(n_grid, dtype=torch.float32) * h + (low + h / 2)
    pts = (axis.unsqueeze(1) if dim == 1 else
           torch.cartesian_prod(axis, axis).reshape(-1, 2))
    e = energy_fn(pts)
    e_min = e.min()
    return -e_min + torch.log(torch.exp(-(e - e_min)).sum()) + dim * math.log(h)


def grid_log_partition_chunked_float64(energy_fn, box, n_grid, dim=2):
    """float64 cell centres evaluated in chunks, combined with torch.logaddexp."""
    low, high = box
    h = (high - low) / n_grid
    axis = low + h * (torch.arange(n_grid, dtype=torch.float64) + 0.5)
    pts = (axis[:, None] if dim == 1 else
           torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
    acc = None
    for chunk in pts.split(1000):
        part = torch.logsumexp(-energy_fn(chunk), 0)
        acc = part if acc is None else torch.logaddexp(acc, part)
    return acc + dim * math.log(h)


def cd_gradient_weighted_pass(energy_fn, params, x_data, x_model):
    """One pass over both batches with weights +1/B and -1/B' (torch.cat, a weighted sum)."""
    x_model = x_model.detach()
    energies = energy_fn(torch.cat([x_data, x_model]))
    w = torch.cat([torch.full((len(x_data),), 1.0 / len(x_data)),
                   torch.full((len(x_model),), -1.0 / len(x_model))]).to(energies)
    return list(torch.autograd.grad((w * energies).sum(), list(params)))


def cd_gradient_backward_restored(energy_fn, params, x_data, x_model):
    """loss.backward() on cleared .grad, returns clones and puts the old .grad back."""
    params = list(params)
    saved = [p.grad for p in params]
    for p in params:
        p.grad = None
    loss = energy_fn(x_data).mean() - energy_fn(x_model.detach()).mean()
    loss.backward()
    out = [p.grad.clone() for p in params]
    for p, old in zip(params, saved):
        p.grad = old
    return out


def ula_chain_noise_upfront(energy_fn, x, n_steps, step_size, generator=None):
    """All the noise drawn before the loop, (n_steps, B, d) at once; grad_outputs of ones."""
    noise = torch.randn((n_steps, *x.shape), generator=generator, dtype=x.dtype)
    z = x.detach().clone()
    for t in range(n_steps):
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            e = energy_fn(z)
            (g,) = torch.autograd.grad(e, z, grad_outputs=torch.ones_like(e))
        z = z.detach() - step_size * g + (2 * step_size) ** 0.5 * noise[t]
    return z.detach()


def ula_chain_column_draws(energy_fn, x, n_steps, step_size, generator=None):
    """Noise drawn first, one coordinate column at a time; float32 draws cast to x's dtype."""
    z = x.detach().clone()
    for _ in range(n_steps):
        cols = [torch.randn(z.shape[0], generator=generator) for _ in range(z.shape[1])]
        noise = torch.stack(cols, dim=1).to(z.dtype)
        leaf = z.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(leaf).sum(), [leaf])
        z = (leaf - step_size * g + math.sqrt(2.0 * step_size) * noise).detach()
    return z


def ula_chain_local_generator(energy_fn, x, n_steps, step_size, generator=None):
    """A local generator seeded by one draw from the given one (or from the global one)."""
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
    local = torch.Generator().manual_seed(seed)
    z = x.detach().clone()
    for _ in range(n_steps):
        z.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(z).sum(), z)
        z = (z.detach() - step_size * g
             + math.sqrt(2 * step_size) * torch.randn(z.shape, generator=local, dtype=z.dtype))
    return z


def histogram_tv_python_loop(samples, energy_fn, box, n_bins):
    """A Python loop over the samples (floor in float64), a dict of counts, math.exp."""
    low, high = box
    counts, total = {}, 0
    for sx, sy in samples.double().tolist():
        i = math.floor((sx - low) / (high - low) * n_bins)
        j = math.floor((sy - low) / (high - low) * n_bins)
        if 0 <= i < n_bins and 0 <= j < n_bins:
            counts[i * n_bins + j] = counts.get(i * n_bins + j, 0) + 1
            total += 1
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        energies = energy_fn(centres).double().tolist()
    e_min = min(energies)
    w = [math.exp(e_min - e) for e in energies]
    z = sum(w)
    return 0.5 * sum(abs(counts.get(c, 0) / total - w[c] / z) for c in range(n_bins * n_bins))


def _tv_via_grid_log_partition(samples, energy_fn, box, n_bins):
    """Exact cell masses exp(-E - log Z) * area, log Z from the notebook's grid_log_partition."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()
    inside = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[inside, 0] * n_bins + idx[inside, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float() / inside.sum()
    centres, area = toy.grid_points(box, n_bins)
    with torch.no_grad():
        log_z = grid_log_partition(energy_fn, box, n_bins, 2)  # noqa: F821  (notebook global)
        p_exact = torch.exp(-energy_fn(centres) - log_z) * area
    return float(0.5 * (p_hist - p_exact).abs().sum())


def _in_notebook(fn, name: str, **notebook_globals):
    """``fn`` re-created with its own globals (a notebook's namespace) holding notebook_globals."""
    namespace = dict(fn.__globals__, **notebook_globals)
    made = types.FunctionType(fn.__code__, namespace, name, fn.__defaults__, fn.__closure__)
    made.__doc__, made.__qualname__ = fn.__doc__, name
    namespace[name] = made
    return made


# A student's notebook whose own grid_log_partition is wrong: histogram_tv, correct, calls it.
# The check swaps the reference in (isolation), so the mistake costs points only once.
histogram_tv_via_grid_log_partition = _in_notebook(
    _tv_via_grid_log_partition, "histogram_tv_via_grid_log_partition",
    grid_log_partition=log_z_linspace_nodes)


BUGS = [
    (checks.check_gmm_energy, gmm_squeezes_batch_of_one),
    (checks.check_gmm_energy, gmm_batch_max_shift),
    (checks.check_gmm_energy, gmm_under_no_grad),
    (checks.check_gmm_energy, gmm_float32_table),
    (checks.check_gmm_energy, gmm_log_sigma_once),
    (checks.check_grid_log_partition, log_z_under_no_grad),
    (checks.check_grid_log_partition, log_z_item),
    (checks.check_grid_log_partition, log_z_shift_by_max_energy),
    (checks.check_grid_log_partition, log_z_symmetric_box),
    (checks.check_grid_log_partition, log_z_linspace_nodes),
    (checks.check_cd_gradient, cd_gradient_samples_attached),
    (checks.check_cd_gradient, cd_gradient_divides_by_data_size),
    (checks.check_cd_gradient, cd_gradient_paired_difference),
    (checks.check_cd_gradient, cd_gradient_backward_accumulates),
    (checks.check_cd_gradient, cd_gradient_detaches_model_energy),
    (checks.check_ula_chain, ula_ignores_generator),
    (checks.check_ula_chain, ula_reseeds_global),
    (checks.check_ula_chain, ula_fixed_default_seed),
    (checks.check_ula_chain, ula_noise_drawn_once),
    (checks.check_ula_chain, ula_noise_shared_across_dims),
    (checks.check_ula_chain, ula_mean_energy_gradient),
    (checks.check_ula_chain, ula_backward_accumulates),
    (checks.check_ula_chain, ula_backward_leaks_param_grads),
    (checks.check_ula_chain, ula_steps_off_by_one),
    (checks.check_histogram_tv, tv_clamps_outside),
    (checks.check_histogram_tv, tv_truncates_toward_zero),
    (checks.check_histogram_tv, tv_exp_without_shift),
    (checks.check_histogram_tv, tv_energy_at_corners),
    (checks.check_histogram_tv, tv_squeezes_indices),
]

ALT_CORRECT = [
    (checks.check_gmm_energy, gmm_energy_component_loop),
    (checks.check_gmm_energy, gmm_energy_expanded_square),
    (checks.check_grid_log_partition, grid_log_partition_min_shift),
    (checks.check_grid_log_partition, grid_log_partition_chunked_float64),
    (checks.check_cd_gradient, cd_gradient_weighted_pass),
    (checks.check_cd_gradient, cd_gradient_backward_restored),
    (checks.check_ula_chain, ula_chain_noise_upfront),
    (checks.check_ula_chain, ula_chain_column_draws),
    (checks.check_ula_chain, ula_chain_local_generator),
    (checks.check_histogram_tv, histogram_tv_python_loop),
    (checks.check_histogram_tv, histogram_tv_via_grid_log_partition),
]


# ================================================================ the first library's cases

def gmm_ignores_weights(x, means, stds, weights):
    """Every component weighted 1/K."""
    return ref01.gmm_energy(x, means, stds, torch.full_like(weights, 1 / len(weights)))


def gmm_std_as_variance(x, means, stds, weights):
    """Plugs sigma where sigma^2 belongs."""
    return ref01.gmm_energy(x, means, stds.sqrt(), weights)


def log_z_cell_off_by_one(energy_fn, box, n_grid, dim=2):
    """Cell length (high - low) / (n_grid - 1): the off-by-one of linspace endpoints."""
    low, high = box
    centres, _ = toy.grid_points(box, n_grid, dim)
    return torch.logsumexp(-energy_fn(centres), 0) + dim * math.log((high - low) / (n_grid - 1))


def log_z_area_ignores_dim(energy_fn, box, n_grid, dim=2):
    """Always adds the log of a 2D cell area, also in 1D."""
    low, high = box
    centres, _ = toy.grid_points(box, n_grid, dim)
    return torch.logsumexp(-energy_fn(centres), 0) + 2 * math.log((high - low) / n_grid)


def cd_gradient_no_negative_phase(energy_fn, params, x_data, x_model):
    """Only the data term: the gradient of mean E(x_data)."""
    return list(torch.autograd.grad(energy_fn(x_data).mean(), list(params)))


def ula_no_noise(energy_fn, x, n_steps, step_size, generator=None):
    """Gradient descent on E, no noise: collapses onto the modes."""
    x = x.clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        x = (x - step_size * g).detach()
    return x


def ula_noise_std_2eps(energy_fn, x, n_steps, step_size, generator=None):
    """Noise std 2 * step_size instead of sqrt(2 * step_size)."""
    x = x.clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        x = (x - step_size * g + 2 * step_size * torch.randn(x.shape, generator=generator)).detach()
    return x


def tv_counts_outside_samples(samples, energy_fn, box, n_bins):
    """Normalises the histogram by all samples, also those outside the box."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins).floor().long()
    inside = ((idx >= 0) & (idx < n_bins)).all(1)
    flat = idx[inside, 0] * n_bins + idx[inside, 1]
    p_hist = torch.bincount(flat, minlength=n_bins * n_bins).float() / len(samples)
    centres, _ = toy.grid_points(box, n_bins)
    p_exact = torch.softmax(-energy_fn(centres), 0)
    return 0.5 * (p_hist - p_exact).abs().sum().item()


D = torch.distributions


def gmm_energy_distributions(x, means, stds, weights):
    """torch.distributions' mixture, not a hand-written logsumexp."""
    d = x.shape[1]
    comp = D.Independent(D.Normal(means, stds[:, None].expand(-1, d)), 1)
    return -D.MixtureSameFamily(D.Categorical(probs=weights), comp).log_prob(x)


def grid_log_partition_meshgrid(energy_fn, box, n_grid, dim=2):
    """Builds the midpoints itself (meshgrid, 'xy' order: the sum does not care)."""
    low, high = box
    h = (high - low) / n_grid
    axis = low + h * (torch.arange(n_grid, dtype=torch.float32) + 0.5)
    pts = (axis[:, None] if dim == 1 else
           torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2))
    return torch.logsumexp(-energy_fn(pts), 0) + dim * math.log(h)


def cd_gradient_two_grads(energy_fn, params, x_data, x_model):
    """Two autograd calls, subtracted: the gradient of each phase separately."""
    params = list(params)
    g_data = torch.autograd.grad(energy_fn(x_data).mean(), params)
    g_model = torch.autograd.grad(energy_fn(x_model.detach()).mean(), params)
    return [a - b for a, b in zip(g_data, g_model)]


def ula_chain_in_place(energy_fn, x, n_steps, step_size, generator=None):
    """A while loop and in-place updates under no_grad on one working copy."""
    z = x.detach().clone()
    noise_std, k = math.sqrt(2 * step_size), 0
    while k < n_steps:
        leaf = z.clone().requires_grad_(True)
        with torch.enable_grad():
            grad = torch.autograd.grad(energy_fn(leaf), leaf, torch.ones(len(z)))[0]
        with torch.no_grad():
            z.sub_(step_size * grad).add_(noise_std * torch.randn(z.shape, generator=generator))
        k += 1
    return z


def histogram_tv_numpy(samples, energy_fn, box, n_bins):
    """numpy.histogram2d for the counts."""
    low, high = box
    s = samples.numpy()
    counts, _, _ = np.histogram2d(s[:, 0], s[:, 1], bins=n_bins, range=[[low, high], [low, high]])
    counts = counts / counts.sum()
    h = (high - low) / n_bins
    axis = low + h * (torch.arange(n_bins, dtype=torch.float32) + 0.5)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        p = torch.softmax(-energy_fn(grid), 0).numpy()
    return float(0.5 * np.abs(counts.reshape(-1) - p).sum())


BUGS += [
    (theory.check_gmm_energy, gmm_ignores_weights),
    (theory.check_gmm_energy, gmm_std_as_variance),
    (theory.check_grid_log_partition, log_z_cell_off_by_one),
    (theory.check_grid_log_partition, log_z_area_ignores_dim),
    (theory.check_cd_gradient, cd_gradient_no_negative_phase),
    (theory.check_ula_chain, ula_no_noise),
    (theory.check_ula_chain, ula_noise_std_2eps),
    (theory.check_histogram_tv, tv_counts_outside_samples),
]

ALT_CORRECT += [
    (theory.check_gmm_energy, gmm_energy_distributions),
    (theory.check_grid_log_partition, grid_log_partition_meshgrid),
    (theory.check_cd_gradient, cd_gradient_two_grads),
    (theory.check_ula_chain, ula_chain_in_place),
    (theory.check_histogram_tv, histogram_tv_numpy),
]


# ================================================================ issue 25


def ula_private_generator(energy_fn, x, n_steps, step_size, generator=None):
    """Copies the seed into a private generator: reproducible and seed-dependent, but the
    caller's generator never advances, so a continued chain repeats its noise."""
    if generator is not None:
        generator = torch.Generator().manual_seed(generator.initial_seed())
    return _ula_loop(energy_fn, x, n_steps, step_size,
                     lambda z, t: torch.randn(z.shape, generator=generator, dtype=z.dtype))


def tv_rounding_margin(samples, energy_fn, box, n_bins):
    """floor((x - low) / width + 1e-2) "against rounding errors": samples within a hundredth
    of a cell below an edge land in the cell above it."""
    low, high = box
    idx = ((samples - low) / (high - low) * n_bins + 1e-2).floor().long()
    keep = ((idx >= 0) & (idx < n_bins)).all(1)
    return _tv_from_bins(idx, keep, energy_fn, box, n_bins)


def histogram_tv_histogramdd(samples, energy_fn, box, n_bins):
    """torch.histogramdd over the box (its bins are [lo, hi), the last one closed)."""
    low, high = box
    s = samples.double()
    counts, _ = torch.histogramdd(s, bins=[n_bins, n_bins], range=[low, high, low, high])
    p_hist = counts.reshape(-1) / counts.sum()
    centres, _ = toy.grid_points(box, n_bins)
    with torch.no_grad():
        p_exact = torch.softmax(-energy_fn(centres).double(), 0)
    return float(0.5 * (p_hist - p_exact).abs().sum())


BUGS += [
    (theory.check_ula_chain, ula_private_generator),
    (theory.check_histogram_tv, tv_rounding_margin),
]

ALT_CORRECT += [
    (theory.check_histogram_tv, histogram_tv_histogramdd),
]
