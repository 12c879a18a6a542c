"""More wrong and correct implementations of 02_toy_densities (issue 12).

``BUGS``: realistic mistakes the property checks of ``ebm_course.instructor.assignments.toy.checks`` must
catch (gradient flow, re-seeded or shared noise, batch sizes, numerical extremes, non-round sizes
and ratios, float64, edge cases of the sampler). ``ALT_CORRECT``: correct answers written
differently from the reference (other random-draw orders, loops, other stable formulas, float64
grids), which must pass whatever the global seed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ebm_course import toy
from ebm_course.instructor.assignments.toy import checks as checks
from ebm_course.instructor.assignments.toy import checks as toy_checks
from ebm_course.instructor.assignments.toy import reference as ref02

# ---------------------------------------------------------------- wrong: grid_log_likelihood


def grid_ll_naive_exp(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """log Z as log(sum(exp(-E)) * area): overflows / underflows for energies far from zero."""
    centres, area = toy.grid_points(box, n_grid)
    log_z = torch.log(torch.exp(-energy_fn(centres)).sum() * area)
    return -energy_fn(x_test).mean() - log_z


def grid_ll_ignores_n_grid(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """Always sums over the default 256 x 256 grid, whatever n_grid is passed."""
    centres, area = toy.grid_points(box, 256)
    log_z = torch.logsumexp(-energy_fn(centres), 0) + math.log(area)
    return -energy_fn(x_test).mean() - log_z


def grid_ll_linspace_nodes(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """Grid nodes from linspace(low, high, n_grid) (cell edges, not centres) with area h^2."""
    low, high = box
    axis = torch.linspace(low, high, n_grid)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    h = (high - low) / n_grid
    return -energy_fn(x_test).mean() - (torch.logsumexp(-energy_fn(pts), 0) + 2 * math.log(h))


def grid_ll_rewrapped_float(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """Returns torch.tensor(value.item()): always float32, whatever the dtype of x_test."""
    centres, area = toy.grid_points(box, n_grid)
    log_z = torch.logsumexp(-energy_fn(centres), 0) + math.log(area)
    return torch.tensor((-energy_fn(x_test).mean() - log_z).item())


# ---------------------------------------------------------------- wrong: cd_loss


def cd_loss_no_grad_model_term(energy_fn, x_data, x_model, alpha=0.0):
    """Computes the model energies under torch.no_grad(): the push-up term loses its gradient."""
    e_data = energy_fn(x_data)
    with torch.no_grad():
        e_model = energy_fn(x_model)
    return e_data.mean() - e_model.mean() + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean())


def cd_loss_samples_not_detached(energy_fn, x_data, x_model, alpha=0.0):
    """Forgets to detach x_model: gradients flow back into the samples."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model)
    return e_data.mean() - e_model.mean() + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean())


def cd_loss_penalty_detached(energy_fn, x_data, x_model, alpha=0.0):
    """Detaches the L2 penalty: right value, but the penalty never acts on the parameters."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model.detach())
    reg = (e_data.pow(2).mean() + e_model.pow(2).mean()).detach()
    return e_data.mean() - e_model.mean() + alpha * reg


def cd_loss_penalty_pooled(energy_fn, x_data, x_model, alpha=0.0):
    """Pools both batches for the penalty (2 * mean over all energies): right only if B == B'."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model.detach())
    reg = 2 * torch.cat([e_data, e_model]).pow(2).mean()
    return e_data.mean() - e_model.mean() + alpha * reg


# ---------------------------------------------------------------- wrong: sgld_sample


def sgld_noise_shared_by_coordinates(energy_fn, x_init, n_steps, step_size, noise_std,
                                     grad_clip=None):
    """One noise value per chain (randn(B, 1)), shared by both coordinates."""
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * torch.randn(len(x), 1)).detach()
    return x


def sgld_reseeds_global(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Calls torch.manual_seed(0) for reproducibility: every call draws the same noise."""
    torch.manual_seed(0)
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * torch.randn_like(x)).detach()
    return x


def sgld_noise_drawn_once(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Draws the noise once before the loop and adds the same draw at every step."""
    x = x_init.detach().clone()
    xi = torch.randn_like(x)
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * xi).detach()
    return x


def sgld_clip_if_truthy(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Tests `if grad_clip:` instead of `is not None`: a clip of 0 is silently ignored."""
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
        if grad_clip:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * torch.randn_like(x)).detach()
    return x


def sgld_backward_into_params(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Uses .backward() and x.grad: gradients also land in the network's parameters."""
    x = x_init.detach().clone()
    for _ in range(n_steps):
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            energy_fn(x).sum().backward()
        g = x.grad
        if grad_clip is not None:
            g = g.clamp(-grad_clip, grad_clip)
        x = (x.detach() - step_size * g + noise_std * torch.randn_like(x)).detach()
    return x


# ---------------------------------------------------------------- wrong: exact_sm_loss


def sm_loss_trace_without_create_graph(energy_fn, x_data):
    """The Hessian diagonal without create_graph=True: the trace term has no parameter gradient."""
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    trace = sum(torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)[0][:, i]
                for i in range(x.shape[1]))
    return (0.5 * g.pow(2).sum(1) - trace).mean()


def sm_loss_two_coordinates(energy_fn, x_data):
    """Hard-codes two dimensions in the trace loop (range(2))."""
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    trace = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i]
                for i in range(2))
    return (0.5 * g.pow(2).sum(1) - trace).mean()


def sm_loss_hessian_sum(energy_fn, x_data):
    """Differentiates sum(grad) once: the sum of all Hessian entries, not its trace."""
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    return (0.5 * g.pow(2).sum(1) - h.sum(1)).mean()


def sm_loss_backward_for_score(energy_fn, x_data):
    """Gets the score with .backward(create_graph=True) and x.grad: stray parameter gradients."""
    x = x_data.detach().requires_grad_(True)
    energy_fn(x).sum().backward(create_graph=True)
    g = x.grad
    trace = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i]
                for i in range(x.shape[1]))
    return (0.5 * g.pow(2).sum(1) - trace).mean()


# ---------------------------------------------------------------- wrong: dsm_loss


def dsm_noise_shared_by_batch(energy_fn, x_data, sigma, noise=None):
    """Draws one noise vector (randn(d)) and adds it to every data point."""
    if noise is None:
        noise = torch.randn(x_data.shape[1]).expand_as(x_data)
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g + noise / sigma).pow(2).sum(1).mean()


def dsm_reseeds_global(energy_fn, x_data, sigma, noise=None):
    """Seeds the global generator before drawing: the same noise on every call."""
    if noise is None:
        torch.manual_seed(1234)
        noise = torch.randn_like(x_data)
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g + noise / sigma).pow(2).sum(1).mean()


def dsm_without_create_graph(energy_fn, x_data, sigma, noise=None):
    """No create_graph=True: the loss carries no gradient to the parameters."""
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    return 0.5 * (-g + noise / sigma).pow(2).sum(1).mean()


def dsm_mse_over_elements(energy_fn, x_data, sigma, noise=None):
    """0.5 * F.mse_loss: averages over coordinates too (a factor 1/d too small)."""
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * F.mse_loss(-g, -noise / sigma)


def dsm_fresh_noise_in_target(energy_fn, x_data, sigma, noise=None):
    """Draws a second, independent noise for the target when noise is None."""
    x_noisy = x_data + sigma * (torch.randn_like(x_data) if noise is None else noise)
    target = torch.randn_like(x_data) if noise is None else noise
    x = x_noisy.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g + target / sigma).pow(2).sum(1).mean()


# ---------------------------------------------------------------- wrong: nce_loss


def nce_log_of_sigmoid(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """log(sigmoid(G)) instead of logsigmoid: -inf once the logits are large."""
    nu = len(x_noise) / len(x_data)
    g_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    g_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    return -(torch.log(torch.sigmoid(g_data)).mean()
             + nu * torch.log(1 - torch.sigmoid(g_noise)).mean())


def nce_integer_ratio(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """nu = len(x_noise) // len(x_data): integer division."""
    nu = max(len(x_noise) // len(x_data), 1)
    g_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    g_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    return -(F.logsigmoid(g_data).mean() + nu * F.logsigmoid(-g_noise).mean())


def nce_noise_energy_detached(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """Detaches the noise energies (as CD detaches its samples): half the gradient is lost."""
    nu = len(x_noise) / len(x_data)
    g_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    g_noise = -energy_fn(x_noise).detach() - log_q_noise - math.log(nu)
    return -(F.logsigmoid(g_data).mean() + nu * F.logsigmoid(-g_noise).mean())


def nce_mean_over_all_points(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """Averages the per-point losses over data and noise together (divides by B + B')."""
    nu = len(x_noise) / len(x_data)
    g_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    g_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    return -torch.cat([F.logsigmoid(g_data), F.logsigmoid(-g_noise)]).mean()


# ---------------------------------------------------------------- correct variants


def grid_ll_stable_by_hand_float64(energy_fn, x_test, box=toy.TOY_BOX, n_grid=256):
    """Own float64 grid ('xy' order), a hand-written max-shifted logsumexp, energies in chunks."""
    low, high = box
    h = (high - low) / n_grid
    axis = low + h * (torch.arange(n_grid, dtype=torch.float64) + 0.5)
    pts = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2).float()
    neg = torch.cat([-energy_fn(chunk) for chunk in pts.split(1000)]).double()
    m = neg.max()
    log_z = m + (neg - m).exp().sum().log() + 2 * math.log(h)
    return (-energy_fn(x_test)).mean() - log_z.to(x_test.dtype)


def cd_loss_detach_everything_but_params(energy_fn, x_data, x_model, alpha=0.0):
    """Detaches both inputs (allowed), a loop over the two batches, torch.square."""
    means, squares = [], []
    for batch in (x_data.detach(), x_model.detach()):
        e = energy_fn(batch)
        means.append(e.mean())
        squares.append(torch.square(e).mean())
    return means[0] - means[1] + alpha * (squares[0] + squares[1])


def sgld_noise_drawn_up_front(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Draws every step's noise first, transposed (another draw order), clips with min/max."""
    x = x_init.detach().clone()
    xi = torch.randn(n_steps, x.shape[1], x.shape[0], dtype=x.dtype).transpose(1, 2)
    for t in range(n_steps):
        leaf = x.requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            (g,) = torch.autograd.grad(energy, leaf, grad_outputs=torch.ones_like(energy))
        if grad_clip is not None:
            g = torch.minimum(torch.maximum(g, torch.full_like(g, -grad_clip)),
                              torch.full_like(g, grad_clip))
        x = (leaf.detach() - step_size * g + noise_std * xi[t]).detach()
    return x


def sm_loss_one_hot_grad_outputs(energy_fn, x_data):
    """Hessian diagonal through grad_outputs = one-hot columns, a sum over a list comprehension."""
    x = x_data.detach().clone().requires_grad_(True)
    energy = energy_fn(x)
    (score,) = torch.autograd.grad(energy, x, grad_outputs=torch.ones_like(energy),
                                   create_graph=True)
    diag = []
    for i in range(x.shape[1]):
        e_i = torch.zeros_like(score)
        e_i[:, i] = 1.0
        (row,) = torch.autograd.grad(score, x, grad_outputs=e_i, create_graph=True)
        diag.append(row[:, i])
    laplacian = torch.stack(diag, 1).sum(1)
    return (0.5 * (score * score).sum(1) - laplacian).mean()


def dsm_loss_transposed_draw(energy_fn, x_data, sigma, noise=None):
    """Draws the noise as randn(d, B).T (another draw order); the loss on the target score."""
    if noise is None:
        noise = torch.randn(x_data.shape[1], x_data.shape[0], dtype=x_data.dtype).T
    x_tilde = (x_data + sigma * noise).detach().requires_grad_(True)
    (de_dx,) = torch.autograd.grad(energy_fn(x_tilde).sum(), x_tilde, create_graph=True)
    target = -noise / sigma  # the score of the corruption
    return 0.5 * (-de_dx - target).square().sum(-1).mean()


def nce_loss_softplus_sums(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """-logsigmoid(z) = softplus(-z); nu * mean over noise written as sum / B."""
    b = len(x_data)
    log_nu = math.log(len(x_noise)) - math.log(b)
    g_data = -energy_fn(x_data) - log_q_data - log_nu
    g_noise = -energy_fn(x_noise) - log_q_noise - log_nu
    return (F.softplus(-g_data).sum() + F.softplus(g_noise).sum()) / b


BUGS = [
    (checks.check_grid_log_likelihood, grid_ll_naive_exp),
    (checks.check_grid_log_likelihood, grid_ll_ignores_n_grid),
    (checks.check_grid_log_likelihood, grid_ll_linspace_nodes),
    (checks.check_grid_log_likelihood, grid_ll_rewrapped_float),
    (checks.check_cd_loss, cd_loss_no_grad_model_term),
    (checks.check_cd_loss, cd_loss_samples_not_detached),
    (checks.check_cd_loss, cd_loss_penalty_detached),
    (checks.check_cd_loss, cd_loss_penalty_pooled),
    (checks.check_sgld_sample, sgld_noise_shared_by_coordinates),
    (checks.check_sgld_sample, sgld_reseeds_global),
    (checks.check_sgld_sample, sgld_noise_drawn_once),
    (checks.check_sgld_sample, sgld_clip_if_truthy),
    (checks.check_sgld_sample, sgld_backward_into_params),
    (checks.check_exact_sm_loss, sm_loss_trace_without_create_graph),
    (checks.check_exact_sm_loss, sm_loss_two_coordinates),
    (checks.check_exact_sm_loss, sm_loss_hessian_sum),
    (checks.check_exact_sm_loss, sm_loss_backward_for_score),
    (checks.check_dsm_loss, dsm_noise_shared_by_batch),
    (checks.check_dsm_loss, dsm_reseeds_global),
    (checks.check_dsm_loss, dsm_without_create_graph),
    (checks.check_dsm_loss, dsm_mse_over_elements),
    (checks.check_dsm_loss, dsm_fresh_noise_in_target),
    (checks.check_nce_loss, nce_log_of_sigmoid),
    (checks.check_nce_loss, nce_integer_ratio),
    (checks.check_nce_loss, nce_noise_energy_detached),
    (checks.check_nce_loss, nce_mean_over_all_points),
]

ALT_CORRECT = [
    (checks.check_grid_log_likelihood, grid_ll_stable_by_hand_float64),
    (checks.check_cd_loss, cd_loss_detach_everything_but_params),
    (checks.check_sgld_sample, sgld_noise_drawn_up_front),
    (checks.check_exact_sm_loss, sm_loss_one_hot_grad_outputs),
    (checks.check_dsm_loss, dsm_loss_transposed_draw),
    (checks.check_nce_loss, nce_loss_softplus_sums),
]


# ================================================================ the first library's cases

def grid_ll_adds_log_z(energy_fn, x_test, box, n_grid=256):
    """log p = -E + log Z: the sign of log Z flipped."""
    centres, area = toy.grid_points(box, n_grid)
    log_z = torch.logsumexp(-energy_fn(centres), 0) + math.log(area)
    return -energy_fn(x_test).mean() + log_z


def cd_loss_reg_data_only(energy_fn, x_data, x_model, alpha=0.0):
    """The L2 regulariser on the data energies only."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model)
    return e_data.mean() - e_model.mean() + alpha * e_data.pow(2).mean()


def cd_loss_reg_abs(energy_fn, x_data, x_model, alpha=0.0):
    """An L1 regulariser where the L2 one belongs."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model)
    return e_data.mean() - e_model.mean() + alpha * (e_data.abs().mean() + e_model.abs().mean())


def sm_loss_no_half(energy_fn, x_data):
    """Drops the 1/2 in front of the squared score."""
    x = x_data.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    trace = sum(torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i]
                for i in range(x.shape[1]))
    return (g.pow(2).sum(1) - trace).mean()


def dsm_ignores_given_noise(energy_fn, x_data, sigma, noise=None):
    """Always draws fresh noise, even when the caller passes it."""
    return ref02.dsm_loss(energy_fn, x_data, sigma, None)


def dsm_target_over_sigma_squared(energy_fn, x_data, sigma, noise=None):
    """Target noise / sigma^2 (the score of the noisy point is -noise / sigma)."""
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * (-g + noise / sigma ** 2).pow(2).sum(1).mean()


def nce_labels_swapped(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """Noise classified as the positive class, data as the negative one."""
    nu = len(x_noise) / len(x_data)
    logit_data = -energy_fn(x_data) - log_q_data - math.log(nu)
    logit_noise = -energy_fn(x_noise) - log_q_noise - math.log(nu)
    return -(F.logsigmoid(-logit_data).mean() + nu * F.logsigmoid(logit_noise).mean())


def sgld_no_clip(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Ignores grad_clip."""
    return ref02.sgld_sample(energy_fn, x_init, n_steps, step_size, noise_std, None)


def sgld_noise_times_sqrt2(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Treats noise_std as a variance-like scale: sqrt(2) * noise_std."""
    return ref02.sgld_sample(energy_fn, x_init, n_steps, step_size, math.sqrt(2) * noise_std,
                                 grad_clip)


def cd_loss_one_pass(energy_fn, x_data, x_model, alpha=0.0):
    """One forward pass over data and samples together."""
    e = energy_fn(torch.cat([x_data, x_model.detach()]))
    e_data, e_model = e[: len(x_data)], e[len(x_data):]
    reg = e_data.square().mean() + e_model.square().mean()
    return e_data.mean() - e_model.mean() + alpha * reg


def dsm_loss_mse(energy_fn, x_data, sigma, noise=None):
    """Written with F.mse_loss: 0.5 * d * mean over all elements."""
    noise = torch.randn_like(x_data) if noise is None else noise
    x = (x_data + sigma * noise).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=True)
    return 0.5 * x.shape[1] * F.mse_loss(-grad, -noise / sigma)


def nce_loss_bce(energy_fn, x_data, x_noise, log_q_data, log_q_noise):
    """binary_cross_entropy_with_logits with per-class weights."""
    nu = len(x_noise) / len(x_data)
    logits = torch.cat([-energy_fn(x_data) - log_q_data, -energy_fn(x_noise) - log_q_noise])
    logits = logits - math.log(nu)
    labels = torch.cat([torch.ones(len(x_data)), torch.zeros(len(x_noise))])
    per_point = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return per_point[: len(x_data)].mean() + nu * per_point[len(x_data):].mean()


def sgld_sample_clamp_where(energy_fn, x_init, n_steps, step_size, noise_std, grad_clip=None):
    """Clips with torch.clip, a for loop over a fresh leaf each step."""
    x = x_init.detach()
    for _ in range(n_steps):
        leaf = x.clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(energy_fn(leaf).sum(), leaf)
        if grad_clip is not None:
            g = torch.clip(g, min=-grad_clip, max=grad_clip)
        x = x - step_size * g + noise_std * torch.randn_like(x)
    return x


BUGS += [
    (toy_checks.check_grid_log_likelihood, grid_ll_adds_log_z),
    (toy_checks.check_cd_loss, cd_loss_reg_data_only),
    (toy_checks.check_cd_loss, cd_loss_reg_abs),
    (toy_checks.check_exact_sm_loss, sm_loss_no_half),
    (toy_checks.check_dsm_loss, dsm_ignores_given_noise),
    (toy_checks.check_dsm_loss, dsm_target_over_sigma_squared),
    (toy_checks.check_nce_loss, nce_labels_swapped),
    (toy_checks.check_sgld_sample, sgld_no_clip),
    (toy_checks.check_sgld_sample, sgld_noise_times_sqrt2),
]

ALT_CORRECT += [
    (toy_checks.check_cd_loss, cd_loss_one_pass),
    (toy_checks.check_dsm_loss, dsm_loss_mse),
    (toy_checks.check_nce_loss, nce_loss_bce),
    (toy_checks.check_sgld_sample, sgld_sample_clamp_where),
]


# ================================================================ issue 25


def cd_loss_square_of_mean(energy_fn, x_data, x_model, alpha=0.0):
    """alpha * (mean(E_data)^2 + mean(E_model)^2): squares the means instead of averaging the
    squares (the same only when the energies are equal across points)."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model.detach())
    return e_data.mean() - e_model.mean() + alpha * (e_data.mean() ** 2 + e_model.mean() ** 2)


def cd_loss_variance_plus_mean(energy_fn, x_data, x_model, alpha=0.0):
    """mean(E^2) written as the (biased) variance plus the squared mean."""
    e_data, e_model = energy_fn(x_data), energy_fn(x_model.detach())
    reg = sum(e.var(unbiased=False) + e.mean() ** 2 if len(e) > 1 else e.pow(2).sum()
              for e in (e_data, e_model))
    return e_data.mean() - e_model.mean() + alpha * reg


BUGS += [
    (toy_checks.check_cd_loss, cd_loss_square_of_mean),
]

ALT_CORRECT += [
    (toy_checks.check_cd_loss, cd_loss_variance_plus_mean),
]
