"""05_ood_detection, ``energy_score`` and ``max_softmax_score`` and ``grad_norm_score``: wrong
implementations (``BUGS``: each must fail ``check_energy_score`` / ``check_max_softmax_score`` /
``check_grad_norm_score``) and correct ones written differently (``ALT_CORRECT``: each must
pass)."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.assignments.ood import checks
from ebm_course.instructor.assignments.ood import reference as ref05


def energy_naive_logsumexp(net, x):
    """log(sum(exp(logits))) by hand: inf with large logits, -inf with very negative ones."""
    with torch.no_grad():
        return torch.log(torch.exp(net.get_logits(x)).sum(dim=1))


def energy_squeezed_logits(net, x):
    """Squeezes the logits first: a batch of one (or one class) loses its batch / class axis."""
    with torch.no_grad():
        return net.get_logits(x).squeeze().logsumexp(dim=-1)


def energy_float32_buffer(net, x):
    """Fills a torch.zeros(B) buffer image by image: float64 inputs come back as float32."""
    out = torch.zeros(len(x))
    with torch.no_grad():
        logits = net.get_logits(x)
        for i in range(len(x)):
            out[i] = logits[i].logsumexp(0)
    return out


def energy_log_mean_exp(net, x):
    """Averages the exponentiated logits over the classes (log-mean-exp): off by log K."""
    with torch.no_grad():
        logits = net.get_logits(x)
        return logits.logsumexp(dim=1) - math.log(logits.shape[1])




def msp_naive_softmax(net, x):
    """exp(l) / sum(exp(l)) without subtracting the max: NaN with large or very negative logits."""
    with torch.no_grad():
        e = net.get_logits(x).exp()
        return (e / e.sum(dim=1, keepdim=True)).max(dim=1).values


def msp_squeezed_logits(net, x):
    """Squeezes the logits: with one class the softmax runs over the batch, a batch of one has no
    batch axis left."""
    with torch.no_grad():
        return net.get_logits(x).squeeze().softmax(dim=-1).max(dim=-1).values


def msp_log_probability(net, x):
    """The largest log-softmax (a log-probability), not the probability itself."""
    with torch.no_grad():
        return net.get_logits(x).log_softmax(dim=1).max(dim=1).values


def msp_float32_softmax(net, x):
    """softmax(..., dtype=torch.float32): float64 inputs come back as float32."""
    with torch.no_grad():
        return torch.softmax(net.get_logits(x), dim=1, dtype=torch.float32).max(dim=1).values




def grad_norm_backward_into_params(net, x):
    """backward() on a leaf copy of x: the parameters' .grad get the energy's gradient too."""
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (-net.get_logits(leaf).logsumexp(dim=1)).sum().backward()
    return -leaf.grad.flatten(1).norm(dim=1)


def grad_norm_backward_then_zero_grad(net, x):
    """backward() then net.zero_grad(): wipes whatever gradients the caller's parameters held."""
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (-net.get_logits(leaf).logsumexp(dim=1)).sum().backward()
    net.zero_grad()
    return -leaf.grad.flatten(1).norm(dim=1)


def grad_norm_on_callers_x(net, x):
    """Parameters frozen, but backward() on the caller's own x: x.grad accumulates across calls
    (and gradients flow into whatever x was computed from)."""
    flags = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        x.requires_grad_(True)
        with torch.enable_grad():
            (-net.get_logits(x).logsumexp(dim=1)).sum().backward()
        return -x.grad.flatten(1).norm(dim=1).detach()
    finally:
        for p, f in zip(net.parameters(), flags):
            p.requires_grad_(f)


def grad_norm_naive_logsumexp(net, x):
    """E = -log(sum(exp(logits))) by hand: NaN gradients with large or very negative logits."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        energy = -torch.log(torch.exp(net.get_logits(x)).sum(dim=1))
        (grad,) = torch.autograd.grad(energy.sum(), x)
    return -grad.flatten(1).norm(dim=1)


def grad_norm_of_mean_energy(net, x):
    """Differentiates the batch MEAN of the energies: every gradient is divided by B."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        energy = -net.get_logits(x).logsumexp(dim=1)
        (grad,) = torch.autograd.grad(energy.mean(), x)
    return -grad.flatten(1).norm(dim=1)


def grad_norm_squeezed_grad(net, x):
    """Squeezes the gradient before the per-image norm: a batch of one loses its batch axis."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad((-net.get_logits(x).logsumexp(dim=1)).sum(), x)
    return -grad.squeeze().flatten(1).norm(dim=1)


def energy_score_stable_loop(net, x):
    """Image by image: max + log(sum(exp(l - max))), stacked (dtype of the logits kept)."""
    with torch.no_grad():
        logits = net.get_logits(x)
    out = []
    for row in logits:
        m = row.max()
        out.append(m + torch.log(torch.exp(row - m).sum()))
    return torch.stack(out)


def msp_exp_of_log_ratio(net, x):
    """exp(max logit - logsumexp), under grad mode (not detached: callers detach)."""
    logits = net.get_logits(x)
    return torch.exp(logits.max(dim=-1).values - torch.logsumexp(logits, dim=-1))


def msp_inverse_partition(net, x):
    """1 / sum_j exp(l_j - max l): the largest probability without a softmax call."""
    with torch.no_grad():
        logits = net.get_logits(x)
        shifted = logits - logits.amax(dim=1, keepdim=True)
        return 1.0 / shifted.exp().sum(dim=1)


def grad_norm_score_per_image(net, x):
    """One image at a time, autograd.grad on x[i:i+1]; sqrt of the sum of squares."""
    out = []
    for i in range(len(x)):
        xi = x[i:i + 1].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            energy = -torch.logsumexp(net.get_logits(xi), dim=-1)
            (g,) = torch.autograd.grad(energy, xi, grad_outputs=torch.ones_like(energy))
        out.append(-g.pow(2).sum().sqrt())
    return torch.stack(out)


def grad_norm_score_callers_x_flag(net, x):
    """Sets requires_grad on the caller's x (if it is a leaf) and uses autograd.grad w.r.t. x:
    no .grad is written anywhere."""
    if x.is_leaf and not x.requires_grad:
        x.requires_grad_(True)
    with torch.enable_grad():
        energy = -net.get_logits(x).logsumexp(dim=1)
        (grad,) = torch.autograd.grad(energy.sum(), x, retain_graph=False)
    return -torch.linalg.vector_norm(grad.reshape(grad.shape[0], -1), dim=1).detach()


def energy_score_is_energy(net, x):
    """Returns E(x), lower = more in-distribution: the orientation flipped."""
    with torch.no_grad():
        return -net.get_logits(x).logsumexp(1)


def msp_softmax_over_batch(net, x):
    """Softmax over the batch axis."""
    with torch.no_grad():
        return net.get_logits(x).softmax(0).max(1).values


def grad_norm_of_logit_sum(net, x):
    """Differentiates the sum of the logits, not the logsumexp."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(net.get_logits(x).sum(), x)
    return -g.flatten(1).norm(dim=1)


def grad_norm_squared(net, x):
    """The squared norm."""
    return -ref05.grad_norm_score(net, x).pow(2)


def energy_score_functional(net, x):
    return torch.logsumexp(net.get_logits(x).detach(), dim=-1, keepdim=True).squeeze(-1)


def grad_norm_score_backward(net, x):
    """backward() on a leaf copy, parameters frozen meanwhile (so no parameter grads)."""
    flags = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        leaf = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (-net.get_logits(leaf).logsumexp(1)).sum().backward()
        return -leaf.grad.reshape(len(leaf), -1).pow(2).sum(1).sqrt()
    finally:
        for p, f in zip(net.parameters(), flags):
            p.requires_grad_(f)


BUGS = [
    (checks.check_energy_score, energy_naive_logsumexp),
    (checks.check_energy_score, energy_squeezed_logits),
    (checks.check_energy_score, energy_float32_buffer),
    (checks.check_energy_score, energy_log_mean_exp),
    (checks.check_max_softmax_score, msp_naive_softmax),
    (checks.check_max_softmax_score, msp_squeezed_logits),
    (checks.check_max_softmax_score, msp_log_probability),
    (checks.check_max_softmax_score, msp_float32_softmax),
    (checks.check_grad_norm_score, grad_norm_backward_into_params),
    (checks.check_grad_norm_score, grad_norm_backward_then_zero_grad),
    (checks.check_grad_norm_score, grad_norm_on_callers_x),
    (checks.check_grad_norm_score, grad_norm_naive_logsumexp),
    (checks.check_grad_norm_score, grad_norm_of_mean_energy),
    (checks.check_grad_norm_score, grad_norm_squeezed_grad),
    (checks.check_energy_score, energy_score_is_energy),
    (checks.check_max_softmax_score, msp_softmax_over_batch),
    (checks.check_grad_norm_score, grad_norm_of_logit_sum),
    (checks.check_grad_norm_score, grad_norm_squared),
]


ALT_CORRECT = [
    (checks.check_energy_score, energy_score_stable_loop),
    (checks.check_max_softmax_score, msp_exp_of_log_ratio),
    (checks.check_max_softmax_score, msp_inverse_partition),
    (checks.check_grad_norm_score, grad_norm_score_per_image),
    (checks.check_grad_norm_score, grad_norm_score_callers_x_flag),
    (checks.check_energy_score, energy_score_functional),
    (checks.check_grad_norm_score, grad_norm_score_backward),
]
