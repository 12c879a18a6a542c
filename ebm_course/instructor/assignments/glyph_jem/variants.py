"""More wrong and correct implementations of 04_glyph_jem (issues 12 and 14).

``BUGS``: realistic student mistakes the hidden checks must catch: gradient flow (detach,
no_grad, .item(), backward inside a step, gradients reaching parameters that must get none),
a generator ignored or re-seeded, a batch of one, numerical extremes, noise shared across
chains / entries / calls, dtype handling, fixed batch sizes, an empty n; for ``run_chain``,
steps off by one or called with other arguments, kept states that a step working in place
overwrites, a trace off by one step, of the wrong energy or of another gradient size.
``ALT_CORRECT``: correct implementations written differently (other random-draw orders, loops,
other stable formulas, a module-level generator, a trace computed afterwards or with
torch.func), which must pass whatever the global seed.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ebm_course import models, sampling
from ebm_course.instructor.assignments.glyph_jem import checks as checks
from ebm_course.instructor.assignments.glyph_jem import checks as glyph_jem
from ebm_course.instructor.assignments.glyph_jem import reference as ref04
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03

# ---------------------------------------------------------------- class_gaussian_init: wrong


def cgi_global_rng(n, means, factors, generator, y=None):
    """Draws z from the global generator (not reproducible from the sampler's seed)."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)


def cgi_one_z_for_all(n, means, factors, generator, y=None):
    """One z shared by every draw: all starts of a class are the same image."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(factors.shape[2], generator=generator, dtype=factors.dtype)
    return means[y] + factors[y] @ z


def cgi_transposed_factors(n, means, factors, generator, y=None):
    """Multiplies z by the factors' columns in the wrong order: z of length D, truncated."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[1], generator=generator, dtype=factors.dtype)
    return means[y] + z * factors[y].sum(2)


def cgi_ignores_labels(n, means, factors, generator, y=None):
    """Draws random classes even when y is given."""
    y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)


def cgi_missing_last_class(n, means, factors, generator, y=None):
    """randint(K - 1): the last class never starts a chain."""
    if y is None:
        y = torch.randint(means.shape[0] - 1, (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)


def cgi_squared_factors(n, means, factors, generator, y=None):
    """Scales z by the squared factors (variance where the standard deviation belongs)."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y].pow(2) @ z).squeeze(-1)


def cgi_mean_only(n, means, factors, generator, y=None):
    """Returns the class means: no spread at all."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    return means[y].clone()


def cgi_float32(n, means, factors, generator, y=None):
    """Casts to float32 (a float64 sampler gets float32 starts)."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, generator=generator)
    return (means[y].float() + (factors[y].float() @ z).squeeze(-1))


# ---------------------------------------------------------------- class_gaussian_init: correct


def cgi_einsum_z_first(n, means, factors, generator, y=None):
    """z first, then the classes; einsum instead of a batched matmul."""
    z = torch.randn(n, factors.shape[2], generator=generator, dtype=factors.dtype)
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    return means[y] + torch.einsum("ndr,nr->nd", factors[y], z)


def cgi_multinomial_loop(n, means, factors, generator, y=None):
    """Classes by multinomial over uniform weights (none for n = 0); one draw at a time."""
    k = means.shape[0]
    if y is None:
        y = (torch.multinomial(torch.ones(k), n, replacement=True, generator=generator) if n
             else torch.zeros(0, dtype=torch.long))
    rows = [means[c] + factors[c] @ torch.randn(factors.shape[2], generator=generator,
                                                dtype=factors.dtype) for c in y.tolist()]
    return torch.stack(rows) if rows else means.new_zeros((0, means.shape[1]))


# ---------------------------------------------------------------- expected_calibration_error: wrong


def _ece_parts(probs, labels):
    conf, pred = probs.max(1)
    return conf.double(), (pred == labels).double()


def ece_unweighted_bins(probs, labels, n_bins=15):
    """Averages the bins' gaps without weighting them by their share of the inputs."""
    conf, correct = _ece_parts(probs, labels)
    bins = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    gaps = [(correct[bins == b].mean() - conf[bins == b].mean()).abs() for b in range(n_bins)
            if (bins == b).any()]
    return float(torch.stack(gaps).mean())


def ece_signed(probs, labels, n_bins=15):
    """Sums the signed gaps: over- and under-confident bins cancel."""
    conf, correct = _ece_parts(probs, labels)
    bins = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.double().mean() * (correct[m].mean() - conf[m].mean())
    return abs(float(total))


def ece_label_probability(probs, labels, n_bins=15):
    """Uses the probability of the true label as the confidence."""
    conf = probs.gather(1, labels[:, None]).squeeze(1).double()
    correct = (probs.argmax(1) == labels).double()
    bins = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.double().mean() * (correct[m].mean() - conf[m].mean()).abs()
    return float(total)


def ece_fixed_bins(probs, labels, n_bins=15):
    """Ignores n_bins: always 10 bins."""
    conf, correct = _ece_parts(probs, labels)
    bins = torch.bucketize(conf, torch.linspace(0, 1, 11, dtype=torch.float64)[1:-1])
    total = 0.0
    for b in range(10):
        m = bins == b
        if m.any():
            total += m.double().mean() * (correct[m].mean() - conf[m].mean()).abs()
    return float(total)


def ece_global_gap(probs, labels, n_bins=15):
    """|accuracy - mean confidence| over all inputs: one bin whatever n_bins says."""
    conf, correct = _ece_parts(probs, labels)
    return float((correct.mean() - conf.mean()).abs())


def ece_left_closed_bins(probs, labels, n_bins=15):
    """Bins [lo, hi) (floor of conf * n_bins): a confidence on an edge lands one bin up."""
    conf, correct = _ece_parts(probs, labels)
    bins = (conf * n_bins).floor().clamp(max=n_bins - 1).long()
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.double().mean() * (correct[m].mean() - conf[m].mean()).abs()
    return float(total)


# ---------------------------------------------------------------- expected_calibration_error: correct


def ece_histogram_sums(probs, labels, n_bins=15):
    """Per-bin sums with index_add; the weights |B|/N folded into the sums."""
    conf, correct = _ece_parts(probs, labels)
    bins = (torch.ceil(conf * n_bins) - 1).clamp(0, n_bins - 1).long()  # (lo, hi]
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    bins = torch.where(conf > edges[bins + 1], bins + 1, bins)  # round-off at the edges
    bins = torch.where((bins > 0) & (conf <= edges[bins]), bins - 1, bins).clamp(0, n_bins - 1)
    s_conf = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, bins, conf)
    s_corr = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, bins, correct)
    return float((s_corr - s_conf).abs().sum() / len(conf))


def ece_numpy_digitize(probs, labels, n_bins=15):
    """NumPy: np.digitize with right=True on the interior edges."""
    conf, correct = (t.numpy() for t in _ece_parts(probs, labels))
    bins = np.digitize(conf, np.linspace(0, 1, n_bins + 1)[1:-1], right=True)
    return sum(abs(correct[bins == b].mean() - conf[bins == b].mean()) * np.mean(bins == b)
               for b in range(n_bins) if np.any(bins == b))


# ---------------------------------------------------------------- pyx_step: wrong


def pyx_log_of_softmax(net, x, y):
    """-log(softmax[y]): log(0) = -inf for large logits."""
    logits = net.get_logits(x)
    p = logits.softmax(1)[torch.arange(len(y)), y]
    return -p.log().mean(), (logits.argmax(1) == y).float().mean()


def pyx_detached_normaliser(net, x, y):
    """Treats logsumexp as a constant (detached): right value, wrong gradient."""
    logits = net.get_logits(x)
    log_z = logits.logsumexp(1).detach()
    loss = (log_z - logits[torch.arange(len(y)), y]).mean()
    return loss, (logits.argmax(1) == y).float().mean()


def pyx_sum_reduction(net, x, y):
    """Sums the cross-entropy over the batch instead of averaging."""
    logits = net.get_logits(x)
    return F.cross_entropy(logits, y, reduction="sum"), (logits.argmax(1) == y).float().mean()


def pyx_accuracy_count(net, x, y):
    """Returns the NUMBER of correct predictions, not the share."""
    logits = net.get_logits(x)
    return F.cross_entropy(logits, y), (logits.argmax(1) == y).sum().float()


def pyx_no_normaliser(net, x, y):
    """-f(x)[y] alone: forgets the log-normaliser of the softmax."""
    logits = net.get_logits(x)
    return -net(x, y).mean(), (logits.argmax(1) == y).float().mean()


def pyx_flat_argmax(net, x, y):
    """argmax() without dim: the index into the flattened logits."""
    logits = net.get_logits(x)
    return F.cross_entropy(logits, y), (logits.argmax() == y).float().mean()


# ---------------------------------------------------------------- pyx_step: correct


def pyx_via_forward(net, x, y):
    """-log p(y|x) = -E(x) - (-E(x, y)) = net(x) - net(x, y); acc as a Python float."""
    loss = (net(x) - net(x, y)).mean()
    with torch.no_grad():
        acc = (net.get_logits(x).max(1).indices == y).float().mean().item()
    return loss, acc


def pyx_loop(net, x, y):
    """A loop over the images: log_softmax of each row; acc from Python booleans."""
    logits = net.get_logits(x)
    terms, right = [], 0
    for i in range(len(y)):
        terms.append(-logits[i].log_softmax(0)[y[i]])
        right += int(logits[i].argmax() == y[i])
    return torch.stack(terms).mean(), torch.tensor(right / len(y))


# ---------------------------------------------------------------- px_step: wrong


def _cd_l2(e_data, e_model, alpha):
    return e_data.mean() - e_model.mean() + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean())


def px_model_energy_no_grad(net, sampler, x_data, alpha):
    """Computes the samples' energy under no_grad ("the samples are constants")."""
    x_model = sampler.sample(net, len(x_data))
    e_data = -net(x_data)
    with torch.no_grad():
        e_model = -net(x_model)
    return _cd_l2(e_data, e_model, alpha), e_data, e_model


def px_data_energy_detached(net, sampler, x_data, alpha):
    """Detaches the data energy (kept for logging) and uses it in the loss."""
    x_model = sampler.sample(net, len(x_data))
    e_data, e_model = -net(x_data).detach(), -net(x_model)
    return _cd_l2(e_data, e_model, alpha), e_data, e_model


def px_fixed_batch(net, sampler, x_data, alpha):
    """Always draws 8 samples (the training batch size), whatever B is."""
    x_model = sampler.sample(net, 8)
    e_data, e_model = -net(x_data), -net(x_model)
    return _cd_l2(e_data, e_model, alpha), e_data, e_model


def px_samples_twice(net, sampler, x_data, alpha):
    """Draws a new batch of samples for the regulariser (two sampler calls)."""
    e_data = -net(x_data)
    e_model = -net(sampler.sample(net, len(x_data)))
    reg = e_data.pow(2).mean() + (-net(sampler.sample(net, len(x_data)))).pow(2).mean()
    return e_data.mean() - e_model.mean() + alpha * reg, e_data, e_model


def px_naive_logsumexp(net, sampler, x_data, alpha):
    """Energies as -log(sum(exp(logits))): overflow at energies of a few hundred."""
    x_model = sampler.sample(net, len(x_data))
    e_data = -net.get_logits(x_data).exp().sum(1).log()
    e_model = -net.get_logits(x_model).exp().sum(1).log()
    return _cd_l2(e_data, e_model, alpha), e_data, e_model


def px_squeezed_energies(net, sampler, x_data, alpha):
    """.squeeze() on the energies: shape () instead of (1,) on a batch of one."""
    x_model = sampler.sample(net, len(x_data))
    e_data, e_model = -net(x_data).squeeze(), -net(x_model).squeeze()
    return _cd_l2(e_data, e_model, alpha), e_data, e_model


def px_calls_backward(net, sampler, x_data, alpha):
    """Calls loss.backward() inside px_step (the training step does it again)."""
    x_model = sampler.sample(net, len(x_data))
    e_data, e_model = -net(x_data), -net(x_model)
    loss = e_data.mean() - e_model.mean() + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean())
    loss.backward(retain_graph=True)
    return loss, e_data, e_model


# ---------------------------------------------------------------- px_step: correct


def px_logits_and_variance(net, sampler, x_data, alpha):
    """Data energy first, samples after; -logsumexp of get_logits; mean E^2 = var + mean^2."""
    e_data = -net.get_logits(x_data).logsumexp(dim=1)
    x_model = sampler.sample(net, batch_size=x_data.size(0))
    e_model = -net.get_logits(x_model).logsumexp(dim=1)
    reg = sum(e.var(unbiased=False) + e.mean() ** 2 for e in (e_data, e_model))
    return (e_data - e_model).mean() + alpha * reg, e_data, e_model


def px_sample_under_no_grad(net, sampler, x_data, alpha):
    """Draws the samples inside torch.no_grad() (the sampler enables grad for SGLD itself)."""
    with torch.no_grad():
        x_model = sampler.sample(net, len(x_data))
    energies = [-net(x_data), -net(x_model)]
    loss = energies[0].mean() - energies[1].mean()
    for e in energies:
        loss = loss + alpha * (e * e).mean()
    return loss, energies[0], energies[1]


# ---------------------------------------------------------------- jem_step: wrong


def jem_px_item(net, sampler, x, y, alpha, px_weight=1.0, pyx_weight=1.0,
                px_step_fn=ref04.px_step, pyx_step_fn=ref04.pyx_step):
    """Adds loss_px.item(): the p(x) term contributes no gradient."""
    loss_pyx, acc = pyx_step_fn(net, x, y)
    loss_px = px_step_fn(net, sampler, x, alpha)[0] if px_weight > 0 else torch.zeros(())
    return px_weight * loss_px.item() + pyx_weight * loss_pyx, loss_px, loss_pyx, acc


def jem_ignores_given_parts(net, sampler, x, y, alpha, px_weight=1.0, pyx_weight=1.0,
                            px_step_fn=ref04.px_step, pyx_step_fn=ref04.pyx_step):
    """Calls px_step / pyx_step by name instead of the functions it is given."""
    loss_pyx, acc = ref04.pyx_step(net, x, y)
    loss_px = ref04.px_step(net, sampler, x, alpha)[0] if px_weight > 0 else torch.zeros(())
    return px_weight * loss_px + pyx_weight * loss_pyx, loss_px, loss_pyx, acc


def jem_returns_weighted_parts(net, sampler, x, y, alpha, px_weight=1.0, pyx_weight=1.0,
                               px_step_fn=ref04.px_step, pyx_step_fn=ref04.pyx_step):
    """Reports the weighted parts as loss_px / loss_pyx."""
    loss_pyx, acc = pyx_step_fn(net, x, y)
    loss_pyx = pyx_weight * loss_pyx
    loss_px = px_weight * px_step_fn(net, sampler, x, alpha)[0] if px_weight > 0 else torch.zeros(())
    return loss_px + loss_pyx, loss_px, loss_pyx, acc


def jem_classifier_branch_unweighted(net, sampler, x, y, alpha, px_weight=1.0, pyx_weight=1.0,
                                     px_step_fn=ref04.px_step, pyx_step_fn=ref04.pyx_step):
    """The px_weight = 0 branch returns loss_pyx without pyx_weight."""
    loss_pyx, acc = pyx_step_fn(net, x, y)
    if px_weight == 0:
        return loss_pyx, torch.zeros(()), loss_pyx, acc
    loss_px = px_step_fn(net, sampler, x, alpha)[0]
    return px_weight * loss_px + pyx_weight * loss_pyx, loss_px, loss_pyx, acc


def jem_pyx_detached(net, sampler, x, y, alpha, px_weight=1.0, pyx_weight=1.0,
                     px_step_fn=ref04.px_step, pyx_step_fn=ref04.pyx_step):
    """Rebuilds the classifier loss with torch.tensor(float(...)): no gradient reaches it."""
    loss_pyx, acc = pyx_step_fn(net, x, y)
    loss_px = px_step_fn(net, sampler, x, alpha)[0] if px_weight > 0 else torch.zeros(())
    loss = px_weight * loss_px + torch.tensor(pyx_weight * loss_pyx.item(), requires_grad=True)
    return loss, loss_px, loss_pyx, acc


# ---------------------------------------------------------------- jem_step: correct


def jem_px_first_stacked(net, sampler, x, y, alpha, px_weight=1.0, pyx_weight=1.0,
                         px_step_fn=ref04.px_step, pyx_step_fn=ref04.pyx_step):
    """p(x) first, keyword arguments, a stacked dot product; loss_px = 0.0 (a float) if skipped."""
    if px_weight != 0:
        loss_px = px_step_fn(net=net, sampler=sampler, x_data=x, alpha=alpha)[0]
    else:
        loss_px = 0.0
    loss_pyx, acc = pyx_step_fn(net, x, y)
    if px_weight == 0:
        return pyx_weight * loss_pyx, loss_px, loss_pyx, acc
    parts = torch.stack([loss_px, loss_pyx])
    weights = torch.tensor([px_weight, pyx_weight], dtype=parts.dtype)
    return parts @ weights, loss_px, loss_pyx, acc


# ---------------------------------------------------------------- run_chain: wrong

CLAMP = (-1.0, 1.0)


def _energy_of(net, y):
    return (lambda x: -net(x)) if y is None else (lambda x: -net(x, y))


def _grad_at(energy_fn, x):
    """E(x) (detached) and dE/dx at one state."""
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        energy = energy_fn(leaf)
        (grad,) = torch.autograd.grad(energy.sum(), leaf)
    return energy.detach(), grad


def _at(energy_fn, x):
    """The reference's trace point: E(x) and ||dE/dx|| of each chain."""
    energy, grad = _grad_at(energy_fn, x)
    return energy, grad.flatten(1).norm(dim=1)


def _traced(energy_fn, states, at=_at):
    """The trace of the states, ``at(energy_fn, x)`` giving E and the gradient size at each."""
    energies, norms = zip(*(at(energy_fn, x) for x in states))
    return {"energy": torch.stack(energies), "grad_norm": torch.stack(norms)}


def _chain(energy_fn, x_init, n_steps, step_fn, keep_steps, step_args):
    """The reference loop with the given step arguments: (x_final, kept, states)."""
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, *step_args)
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
    return x, kept, states


def _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps):
    """The reference chain, its trace measured by ``at`` (see :func:`_traced`)."""
    energy_fn = _energy_of(net, y)
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps,
                             (step_size, noise_std, None, CLAMP))
    return x, kept, _traced(energy_fn, states, at)


def rc_one_step_short(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                      keep_steps=()):
    """range(1, n_steps): one step fewer than asked."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    states = [x.clone()]
    for _ in range(1, n_steps):
        x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
        states.append(x.detach().clone())
    kept = {t: states[t] for t in keep_steps if t < len(states)}
    return x, kept, _traced(energy_fn, states)


def rc_one_step_long(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                     keep_steps=()):
    """Steps inside a loop over the n_steps + 1 trace points: one step too many."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
        x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
    return x, kept, _traced(energy_fn, states)


def rc_trace_without_start(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """Traces the state after each step only: (n_steps, B), no t = 0."""
    energy_fn = _energy_of(net, y)
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps,
                             (step_size, noise_std, None, CLAMP))
    return x, kept, _traced(energy_fn, states[1:] or states)


def rc_trace_before_each_step(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                              keep_steps=()):
    """Traces the start, then each step's input: x_0 twice, x_n never."""
    energy_fn = _energy_of(net, y)
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps,
                             (step_size, noise_std, None, CLAMP))
    return x, kept, _traced(energy_fn, [states[0], *states[:-1]])


def rc_kept_aliases_chain(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                          keep_steps=()):
    """Keeps the chain's own tensor: a step that works in place rewrites every kept state."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
        if t in keep_steps:
            kept[t] = x
        states.append(x.clone())
    return x, kept, _traced(energy_fn, states)


def rc_energy_is_neg_energy(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                            keep_steps=()):
    """Samples and traces net(x) itself: chains climb the energy."""
    energy_fn = (lambda x: net(x)) if y is None else (lambda x: net(x, y))
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps,
                             (step_size, noise_std, None, CLAMP))
    return x, kept, _traced(energy_fn, states)


def _with_step_args(step_args, net, x_init, n_steps, step_fn, y, keep_steps):
    """The reference chain and trace, its steps called with ``step_args``."""
    energy_fn = _energy_of(net, y)
    x, kept, states = _chain(energy_fn, x_init, n_steps, step_fn, keep_steps, step_args)
    return x, kept, _traced(energy_fn, states)


def rc_no_clamp(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None, keep_steps=()):
    """Calls step_fn(energy_fn, x, step_size, noise_std): no clamp to [-1, 1]."""
    return _with_step_args((step_size, noise_std), net, x_init, n_steps, step_fn, y, keep_steps)


def rc_clamp_as_grad_clip(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                          keep_steps=()):
    """Passes the clamp in grad_clip's place (a positional argument too few)."""
    return _with_step_args((step_size, noise_std, CLAMP), net, x_init, n_steps, step_fn, y,
                           keep_steps)


def rc_langevin_noise(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                      keep_steps=()):
    """Replaces the noise by the textbook's sqrt(2 * step_size)."""
    return _with_step_args((step_size, math.sqrt(2 * step_size), None, CLAMP), net, x_init,
                           n_steps, step_fn, y, keep_steps)


def rc_restarts_every_step(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """Steps from x_init every time: n_steps one-step chains."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x_init.detach().clone(), step_size, noise_std, None, CLAMP)
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
    return x, kept, _traced(energy_fn, states)


def rc_calls_langevin_step_by_name(net, x_init, n_steps, step_size, noise_std, *, step_fn,
                                   y=None, keep_steps=()):
    """Calls assignment 3's langevin_step by name instead of the step_fn it is given."""
    return _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, ref03.langevin_step,
                         y, keep_steps)


def rc_kept_as_list(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                    keep_steps=()):
    """Returns the kept states as a list in step order, not a dict by step."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    return x, [kept[t] for t in sorted(kept)], trace


def rc_kept_after_step_index(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                             keep_steps=()):
    """Keeps x_{t+1} under the 0-based loop index t: every kept state one step late."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, [x.clone()]
    for t in range(n_steps):
        x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
    return x, kept, _traced(energy_fn, states)


def rc_keeps_steps_past_the_end(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                keep_steps=()):
    """Keeps the final state for requested steps after n_steps too."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    kept.update({t: x.detach().clone() for t in keep_steps if t > n_steps})
    return x, kept, trace


def _normed(norm, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps):
    """The reference chain with the trace's gradient size measured by ``norm(grad (B, ...))``."""

    def at(energy_fn, x):
        energy, grad = _grad_at(energy_fn, x)
        return energy, norm(grad)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_grad_norm_over_batch(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                            keep_steps=()):
    """One norm over the whole batch, repeated for every chain."""
    return _normed(lambda g: g.norm().expand(len(g)), net, x_init, n_steps, step_size, noise_std,
                   step_fn, y, keep_steps)


def rc_grad_norm_squared(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                         keep_steps=()):
    """The squared norm."""
    return _normed(lambda g: g.flatten(1).pow(2).sum(1), net, x_init, n_steps, step_size,
                   noise_std, step_fn, y, keep_steps)


def rc_grad_rms(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None, keep_steps=()):
    """The root mean square over the pixels (the norm / sqrt(D))."""
    return _normed(lambda g: g.flatten(1).pow(2).mean(1).sqrt(), net, x_init, n_steps, step_size,
                   noise_std, step_fn, y, keep_steps)


def rc_grad_of_mean_energy(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """Differentiates the batch's mean energy: every chain's norm divided by B."""
    return _normed(lambda g: (g / len(g)).flatten(1).norm(dim=1), net, x_init, n_steps,
                   step_size, noise_std, step_fn, y, keep_steps)


def rc_grad_of_logit_sum(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                         keep_steps=()):
    """The gradient of the sum of the logits, not of the energy."""

    def at(energy_fn, x):
        leaf = x.requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(net.get_logits(leaf).sum(), leaf)
        return energy_fn(x).detach(), grad.flatten(1).norm(dim=1)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_trace_keeps_graph(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                         keep_steps=()):
    """Stacks the energies with their autograd graph (no detach)."""

    def at(energy_fn, x):
        leaf = x.requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            (grad,) = torch.autograd.grad(energy.sum(), leaf, retain_graph=True)
        return energy, grad.flatten(1).norm(dim=1)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_trace_float32(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                     keep_steps=()):
    """Collects the trace as Python floats: float32 whatever the chains' dtype."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    return x, kept, {k: torch.tensor(v.tolist()) for k, v in trace.items()}


def rc_trace_squeezed(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                      keep_steps=()):
    """.squeeze() on the trace: (n_steps + 1,) for a batch of one."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    return x, kept, {k: v.squeeze() for k, v in trace.items()}


# ---------------------------------------------------------------- run_chain: wrong, conditional


def rc_ignores_labels(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                      keep_steps=()):
    """Samples and traces the unconditional energy whatever y is."""
    return _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, None,
                         keep_steps)


def rc_trace_unconditional(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """Samples E(x, y) but traces -net(x)."""
    return _traced_chain(lambda energy_fn, x: _at(_energy_of(net, None), x), net, x_init,
                         n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_grad_norm_unconditional(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                               keep_steps=()):
    """The energy trace of E(x, y), the gradient norm of -net(x)."""

    def at(energy_fn, x):
        return _at(energy_fn, x)[0], _at(_energy_of(net, None), x)[1]

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_backward_into_parameters(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                keep_steps=()):
    """.backward() for dE/dx: the parameters' .grad fill up too."""

    def at(energy_fn, x):
        leaf = x.requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            energy.sum().backward()
        return energy.detach(), leaf.grad.flatten(1).norm(dim=1)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_trace_without_enable_grad(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                 keep_steps=()):
    """Differentiates without torch.enable_grad(): fails when called under torch.no_grad()."""

    def at(energy_fn, x):
        leaf = x.requires_grad_(True)
        energy = energy_fn(leaf)
        (grad,) = torch.autograd.grad(energy.sum(), leaf)
        return energy.detach(), grad.flatten(1).norm(dim=1)

    return _traced_chain(at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)


def rc_start_shares_x_init(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                           keep_steps=()):
    """x = x_init.detach(): shares x_init's memory, so a step in place overwrites x_init."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP)
        if t in keep_steps:
            kept[t] = x.detach().clone()
        states.append(x.detach().clone())
    return x, kept, _traced(energy_fn, states)


def rc_unfreezes_every_parameter(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                 keep_steps=()):
    """Freezes the parameters while sampling, then sets requires_grad=True on all of them."""
    for p in net.parameters():
        p.requires_grad_(False)
    out = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y, keep_steps)
    for p in net.parameters():
        p.requires_grad_(True)
    return out


# ---------------------------------------------------------------- run_chain: correct


def rc_trace_afterwards_in_one_batch(net, x_init, n_steps, step_size, noise_std, *, step_fn,
                                     y=None, keep_steps=()):
    """Keeps every state, then one forward and one gradient over all (n_steps + 1) * B of them."""
    energy_fn = _energy_of(net, y)
    states = [x_init.detach().clone()]
    for _ in range(n_steps):
        states.append(step_fn(energy_fn, states[-1].clone(), step_size, noise_std, None,
                              CLAMP).detach().clone())
    kept = {t: states[t] for t in set(keep_steps) if 0 <= t <= n_steps}
    flat = torch.cat(states).requires_grad_(True)
    labels = None if y is None else y.repeat(n_steps + 1)
    with torch.enable_grad():
        energy = -net(flat) if labels is None else -net(flat, labels)
        (grad,) = torch.autograd.grad(energy.sum(), flat)
    b = len(x_init)
    trace = {"energy": energy.detach().view(n_steps + 1, b),
             "grad_norm": torch.linalg.vector_norm(grad.flatten(1), dim=1).view(n_steps + 1, b)}
    return states[-1], kept, trace


def rc_torch_func_while(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                        keep_steps=()):
    """A while loop; torch.func.grad for dE/dx (it ignores an outer no_grad, and its result
    depends on the parameters: detached); the energy straight from the network under no_grad."""
    wanted = set(keep_steps)

    def energy_fn(x):
        return -(net(x) if y is None else net(x, y))

    x, t = torch.clone(x_init).detach(), 0
    kept, energies, norms = {}, [], []
    while True:
        if t in wanted:
            kept[t] = torch.clone(x).detach()
        with torch.no_grad():
            energies.append(energy_fn(x))
        grad = torch.func.grad(lambda z: energy_fn(z).sum())(x.detach()).detach()
        norms.append(grad.reshape(len(grad), -1).norm(p=2, dim=-1))
        if t == n_steps:
            break
        x = step_fn(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=(-1, 1))
        t += 1
    return x.detach(), kept, {"grad_norm": torch.stack(norms), "energy": torch.stack(energies)}


def rc_frozen_backward(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                       keep_steps=()):
    """Freezes the parameters (restoring each flag afterwards) and uses .backward() on a leaf."""
    flags = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        energy_fn = _energy_of(net, y)
        x = x_init.clone().detach()
        kept, energies, norms = {}, [], []
        for t in range(n_steps + 1):
            if t:
                x = step_fn(energy_fn, x, step_size, noise_std, None, (-1.0, 1.0)).detach()
            if t in keep_steps:
                kept[t] = x.clone()
            leaf = x.clone().requires_grad_(True)
            with torch.enable_grad():
                energy = energy_fn(leaf)
                energy.sum().backward()
            energies.append(energy.detach())
            norms.append(leaf.grad.pow(2).sum(dim=(1, 2, 3)).sqrt())
        return x, kept, {"energy": torch.stack(energies), "grad_norm": torch.stack(norms)}
    finally:
        for p, flag in zip(net.parameters(), flags):
            p.requires_grad_(flag)


BUGS = [
    (checks.check_class_gaussian_init, cgi_global_rng),
    (checks.check_class_gaussian_init, cgi_one_z_for_all),
    (checks.check_class_gaussian_init, cgi_transposed_factors),
    (checks.check_class_gaussian_init, cgi_ignores_labels),
    (checks.check_class_gaussian_init, cgi_missing_last_class),
    (checks.check_class_gaussian_init, cgi_squared_factors),
    (checks.check_class_gaussian_init, cgi_mean_only),
    (checks.check_class_gaussian_init, cgi_float32),
    (checks.check_expected_calibration_error, ece_unweighted_bins),
    (checks.check_expected_calibration_error, ece_signed),
    (checks.check_expected_calibration_error, ece_label_probability),
    (checks.check_expected_calibration_error, ece_fixed_bins),
    (checks.check_expected_calibration_error, ece_global_gap),
    (checks.check_expected_calibration_error, ece_left_closed_bins),
    (checks.check_pyx_step, pyx_log_of_softmax),
    (checks.check_pyx_step, pyx_detached_normaliser),
    (checks.check_pyx_step, pyx_sum_reduction),
    (checks.check_pyx_step, pyx_accuracy_count),
    (checks.check_pyx_step, pyx_no_normaliser),
    (checks.check_pyx_step, pyx_flat_argmax),
    (checks.check_px_step, px_model_energy_no_grad),
    (checks.check_px_step, px_data_energy_detached),
    (checks.check_px_step, px_fixed_batch),
    (checks.check_px_step, px_samples_twice),
    (checks.check_px_step, px_naive_logsumexp),
    (checks.check_px_step, px_squeezed_energies),
    (checks.check_px_step, px_calls_backward),
    (checks.check_jem_step, jem_px_item),
    (checks.check_jem_step, jem_ignores_given_parts),
    (checks.check_jem_step, jem_returns_weighted_parts),
    (checks.check_jem_step, jem_classifier_branch_unweighted),
    (checks.check_jem_step, jem_pyx_detached),
    (checks.check_run_chain, rc_one_step_short),
    (checks.check_run_chain, rc_one_step_long),
    (checks.check_run_chain, rc_trace_without_start),
    (checks.check_run_chain, rc_trace_before_each_step),
    (checks.check_run_chain, rc_kept_aliases_chain),
    (checks.check_run_chain, rc_energy_is_neg_energy),
    (checks.check_run_chain, rc_no_clamp),
    (checks.check_run_chain, rc_clamp_as_grad_clip),
    (checks.check_run_chain, rc_langevin_noise),
    (checks.check_run_chain, rc_restarts_every_step),
    (checks.check_run_chain, rc_calls_langevin_step_by_name),
    (checks.check_run_chain, rc_kept_as_list),
    (checks.check_run_chain, rc_kept_after_step_index),
    (checks.check_run_chain, rc_keeps_steps_past_the_end),
    (checks.check_run_chain, rc_grad_norm_over_batch),
    (checks.check_run_chain, rc_grad_norm_squared),
    (checks.check_run_chain, rc_grad_rms),
    (checks.check_run_chain, rc_grad_of_mean_energy),
    (checks.check_run_chain, rc_grad_of_logit_sum),
    (checks.check_run_chain, rc_trace_keeps_graph),
    (checks.check_run_chain, rc_trace_float32),
    (checks.check_run_chain, rc_trace_squeezed),
    (checks.check_run_chain_conditional, rc_ignores_labels),
    (checks.check_run_chain_conditional, rc_trace_unconditional),
    (checks.check_run_chain_conditional, rc_grad_norm_unconditional),
    (checks.check_run_chain_conditional, rc_backward_into_parameters),
    (checks.check_run_chain_conditional, rc_trace_without_enable_grad),
    (checks.check_run_chain_conditional, rc_start_shares_x_init),
    (checks.check_run_chain_conditional, rc_unfreezes_every_parameter),
]

ALT_CORRECT = [
    (checks.check_class_gaussian_init, cgi_einsum_z_first),
    (checks.check_class_gaussian_init, cgi_multinomial_loop),
    (checks.check_expected_calibration_error, ece_histogram_sums),
    (checks.check_expected_calibration_error, ece_numpy_digitize),
    (checks.check_pyx_step, pyx_via_forward),
    (checks.check_pyx_step, pyx_loop),
    (checks.check_px_step, px_logits_and_variance),
    (checks.check_px_step, px_sample_under_no_grad),
    (checks.check_jem_step, jem_px_first_stacked),
    (checks.check_run_chain, rc_trace_afterwards_in_one_batch),
    (checks.check_run_chain, rc_torch_func_while),
    (checks.check_run_chain, rc_frozen_backward),
    (checks.check_run_chain_conditional, rc_trace_afterwards_in_one_batch),
    (checks.check_run_chain_conditional, rc_torch_func_while),
    (checks.check_run_chain_conditional, rc_frozen_backward),
]


# ================================================================ the first library's cases

def class_init_std_not_factors(n, means, factors, generator, y=None):
    """Scales independent per-pixel noise by each pixel's standard deviation: the right variances,
    none of the correlations that make a draw look like a glyph."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    std = factors[y].pow(2).sum(2).sqrt()
    return means[y] + std * torch.randn(std.shape, generator=generator, dtype=std.dtype)


def ece_accuracy_of_labels_only(probs, labels, n_bins=15):
    """Counts a prediction as right when the label's probability exceeds 0.5 (not the argmax)."""
    conf = probs.max(1).values.double()
    correct = (probs.gather(1, labels[:, None]).squeeze(1) > 0.5).double()
    bins = torch.bucketize(conf, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    return float(sum((bins == b).double().mean() * (correct[bins == b].mean() - conf[bins == b].mean()).abs()
                     for b in range(n_bins) if (bins == b).any()))


def px_step_energy_sign(net, sampler, x_data, alpha):
    """Uses net(x) (the neg_energy) as the energy."""
    x_model = sampler.sample(net, len(x_data))
    e_data, e_model = net(x_data), net(x_model)
    cd = e_data.mean() - e_model.mean()
    return cd + alpha * (e_data.pow(2).mean() + e_model.pow(2).mean()), e_data, e_model


def px_step_reg_data_only(net, sampler, x_data, alpha):
    """The L2 term on the data energies only."""
    x_model = sampler.sample(net, len(x_data))
    e_data, e_model = -net(x_data), -net(x_model)
    return e_data.mean() - e_model.mean() + alpha * e_data.pow(2).mean(), e_data, e_model


def pyx_softmax_into_cross_entropy(net, x, y):
    """Feeds probabilities to cross_entropy (a second softmax inside)."""
    logits = net.get_logits(x)
    return F.cross_entropy(logits.softmax(1), y), (logits.argmax(1) == y).float().mean()


def pyx_accuracy_wrong_axis(net, x, y):
    """argmax over the batch axis."""
    logits = net.get_logits(x)
    return F.cross_entropy(logits, y), (logits.argmax(0)[: len(y)] == y).float().mean()


def jem_step_weights_swapped(net, sampler, x, y, alpha, px_weight=1.0, pyx_weight=1.0,
                             px_step_fn=ref04.px_step, pyx_step_fn=ref04.pyx_step):
    """px_weight multiplies the classifier loss and vice versa."""
    loss_pyx, acc = pyx_step_fn(net, x, y)
    loss_px = px_step_fn(net, sampler, x, alpha)[0] if px_weight > 0 else torch.zeros(())
    return pyx_weight * loss_px + px_weight * loss_pyx, loss_px, loss_pyx, acc


def run_chain_without_noise(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                            keep_steps=()):
    """Runs the chain with noise_std = 0 ("the samples come out cleaner")."""
    return ref04.run_chain(net, x_init, n_steps, step_size, 0.0, step_fn=step_fn, y=y,
                           keep_steps=keep_steps)


def class_gaussian_init_normal(n, means, factors, generator, y=None):
    """z by torch.normal; the classes from uniform floats; a batched matmul with unsqueeze."""
    if y is None:
        y = (torch.rand(n, generator=generator, dtype=torch.float64) * means.shape[0]).long()
    z = torch.normal(0.0, 1.0, size=(n, factors.shape[2]), generator=generator, dtype=factors.dtype)
    return means[y] + torch.bmm(factors[y], z.unsqueeze(2)).squeeze(2)


def ece_sorted_chunks(probs, labels, n_bins=15):
    """Python loop over the inputs, bins by ceil(conf * n_bins) - 1 (i.e. (lo, hi])."""
    conf, pred = probs.max(1)
    sums = {}
    for c, p, l in zip(conf.double().tolist(), pred.tolist(), labels.tolist()):
        b = min(max(math.ceil(c * n_bins) - 1, 0), n_bins - 1)
        s_c, s_a, m = sums.get(b, (0.0, 0.0, 0))
        sums[b] = (s_c + c, s_a + float(p == l), m + 1)
    return sum(abs(s_a - s_c) for s_c, s_a, _ in sums.values()) / len(conf)


def px_step_one_forward(net, sampler, x_data, alpha):
    """One forward pass over [x_data; x_model] (the CNN has no batch statistics)."""
    x_model = sampler.sample(net, x_data.shape[0])
    energy = -net(torch.cat([x_data, x_model]))
    e_data, e_model = energy.split([len(x_data), len(x_model)])
    reg = energy.pow(2).view(2, -1).mean(1).sum()
    return e_data.mean() - e_model.mean() + alpha * reg, e_data, e_model


def pyx_step_nll(net, x, y):
    """log_softmax + nll_loss; accuracy via torch.eq and a sum."""
    logits = net.get_logits(x)
    acc = torch.eq(logits.argmax(-1), y).sum() / len(y)
    return F.nll_loss(logits.log_softmax(-1), y), acc.float()


def run_chain_package_chain(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                            keep_steps=()):
    """The package's langevin_chain keeping every state, the trace computed from them after."""
    energy_fn = models.energy_fn_of(net, y)
    _, states = sampling.langevin_chain(energy_fn, x_init.detach().clone(), n_steps, step_size,
                                        noise_std, None, (-1.0, 1.0), step_fn=step_fn,
                                        keep_steps=range(n_steps + 1))
    energies, norms = [], []
    for t in range(n_steps + 1):
        leaf = states[t].clone().requires_grad_(True)
        with torch.enable_grad():
            energy = energy_fn(leaf)
            (grad,) = torch.autograd.grad(energy.sum(), leaf)
        energies.append(energy.detach())
        norms.append(grad.flatten(1).norm(dim=1))
    kept = {t: states[t] for t in keep_steps if t in states}
    return states[n_steps], kept, {"energy": torch.stack(energies), "grad_norm": torch.stack(norms)}


BUGS += [
    (glyph_jem.check_class_gaussian_init, class_init_std_not_factors),
    (glyph_jem.check_expected_calibration_error, ece_accuracy_of_labels_only),
    (glyph_jem.check_px_step, px_step_energy_sign),
    (glyph_jem.check_px_step, px_step_reg_data_only),
    (glyph_jem.check_pyx_step, pyx_softmax_into_cross_entropy),
    (glyph_jem.check_pyx_step, pyx_accuracy_wrong_axis),
    (glyph_jem.check_jem_step, jem_step_weights_swapped),
    (glyph_jem.check_run_chain, run_chain_without_noise),
]

ALT_CORRECT += [
    (glyph_jem.check_class_gaussian_init, class_gaussian_init_normal),
    (glyph_jem.check_expected_calibration_error, ece_sorted_chunks),
    (glyph_jem.check_px_step, px_step_one_forward),
    (glyph_jem.check_pyx_step, pyx_step_nll),
    (glyph_jem.check_run_chain, run_chain_package_chain),
    (glyph_jem.check_run_chain_conditional, run_chain_package_chain),
]


# ================================================================ issue 25


def _cgi_with(n, means, factors, generator, y):
    z = torch.randn(n, factors.shape[2], 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)


def cgi_private_generator(n, means, factors, generator, y=None):
    """Copies the seed into a private generator: every restart batch gets the same starts."""
    private = torch.Generator().manual_seed(generator.initial_seed())
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=private)
    return _cgi_with(n, means, factors, private, y)


def cgi_cyclic_classes(n, means, factors, generator, y=None):
    """Exact equal shares, arange(n) % K: no randomness; a single restart is always class 0."""
    if y is None:
        y = torch.arange(n) % means.shape[0]
    return _cgi_with(n, means, factors, generator, y)


def cgi_shuffled_equal_shares(n, means, factors, generator, y=None):
    """randperm(n) % K: random order, but with fewer restarts than classes the classes n..K-1
    never start."""
    if y is None:
        y = torch.randperm(n, generator=generator) % means.shape[0]
    return _cgi_with(n, means, factors, generator, y)


def cgi_z_broadcast(n, means, factors, generator, y=None):
    """One normal per draw broadcast over the r entries of z."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, 1, 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z.expand(n, factors.shape[2], 1)).squeeze(-1)


def px_square_of_mean(net, sampler, x_data, alpha):
    """reg = (mean E_data)^2 + (mean E_model)^2: equal to the right one only when the energies
    are equal across images (as for a CNN at its initialisation)."""
    x_model = sampler.sample(net, len(x_data))
    e_data, e_model = -net(x_data), -net(x_model)
    reg = e_data.mean() ** 2 + e_model.mean() ** 2
    return e_data.mean() - e_model.mean() + alpha * reg, e_data, e_model


def rc_kept_start_aliases_x_init(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                                 keep_steps=()):
    """kept[0] = x_init itself (the chain runs on a copy): the caller's later changes to x_init
    change the kept start."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    if 0 in kept:
        kept[0] = x_init.detach()
    return x, kept, trace


def rc_kept_start_with_graph(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                             keep_steps=()):
    """x_init.clone() without detach: the kept start carries x_init's graph."""
    x, kept, trace = _traced_chain(_at, net, x_init, n_steps, step_size, noise_std, step_fn, y,
                                   keep_steps)
    if 0 in kept:
        kept[0] = x_init.clone()
    return x, kept, trace


def cgi_local_generator_from_draw(n, means, factors, generator, y=None):
    """A local generator seeded by one draw from the given one; classes from uniforms."""
    local = torch.Generator().manual_seed(int(torch.randint(2 ** 62, (1,), generator=generator)))
    k = means.shape[0]
    if y is None:
        y = (torch.rand(n, generator=local, dtype=torch.float64) * k).long().clamp(max=k - 1)
    z = torch.randn(factors.shape[2], n, generator=local, dtype=factors.dtype).T
    return means[y] + torch.einsum("ndr,nr->nd", factors[y], z)


def px_step_norm_regulariser(net, sampler, x_data, alpha):
    """The regulariser as squared norms over the batch sizes."""
    x_model = sampler.sample(net, x_data.shape[0])
    e_data, e_model = -net(x_data), -net(x_model)
    reg = e_data.norm() ** 2 / len(e_data) + e_model.norm() ** 2 / len(e_model)
    return e_data.mean() - e_model.mean() + alpha * reg, e_data, e_model


def rc_kept_by_copy(net, x_init, n_steps, step_size, noise_std, *, step_fn, y=None,
                    keep_steps=()):
    """Kept states copied into fresh tensors (empty_like + copy_), the chain on x_init.detach()
    replaced at every step."""
    energy_fn = _energy_of(net, y)
    x = x_init.detach().clone()
    kept, states = {}, []
    for t in range(n_steps + 1):
        if t > 0:
            x = step_fn(energy_fn, x, step_size, noise_std, None, CLAMP).detach()
        if t in keep_steps:
            kept[t] = torch.empty_like(x).copy_(x)
        states.append(x.clone())
    return x, kept, _traced(energy_fn, states)


BUGS += [
    (glyph_jem.check_class_gaussian_init, cgi_private_generator),
    (glyph_jem.check_class_gaussian_init, cgi_cyclic_classes),
    (glyph_jem.check_class_gaussian_init, cgi_shuffled_equal_shares),
    (glyph_jem.check_class_gaussian_init, cgi_z_broadcast),
    (glyph_jem.check_px_step, px_square_of_mean),
    (glyph_jem.check_run_chain, rc_kept_start_aliases_x_init),
    (glyph_jem.check_run_chain, rc_kept_start_with_graph),
]

ALT_CORRECT += [
    (glyph_jem.check_class_gaussian_init, cgi_local_generator_from_draw),
    (glyph_jem.check_px_step, px_step_norm_regulariser),
    (glyph_jem.check_run_chain, rc_kept_by_copy),
    (glyph_jem.check_run_chain_conditional, rc_kept_by_copy),
]
