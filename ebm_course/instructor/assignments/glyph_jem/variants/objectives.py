"""04_glyph_jem, ``pyx_step`` and ``px_step`` and ``jem_step``: wrong implementations (``BUGS``:
each must fail ``check_pyx_step`` / ``check_px_step`` / ``check_jem_step``) and correct ones
written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ebm_course.instructor.assignments.glyph_jem import checks
from ebm_course.instructor.assignments.glyph_jem import reference as ref04


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


def px_square_of_mean(net, sampler, x_data, alpha):
    """reg = (mean E_data)^2 + (mean E_model)^2: equal to the right one only when the energies
    are equal across images (as for a CNN at its initialisation)."""
    x_model = sampler.sample(net, len(x_data))
    e_data, e_model = -net(x_data), -net(x_model)
    reg = e_data.mean() ** 2 + e_model.mean() ** 2
    return e_data.mean() - e_model.mean() + alpha * reg, e_data, e_model


def px_step_norm_regulariser(net, sampler, x_data, alpha):
    """The regulariser as squared norms over the batch sizes."""
    x_model = sampler.sample(net, x_data.shape[0])
    e_data, e_model = -net(x_data), -net(x_model)
    reg = e_data.norm() ** 2 / len(e_data) + e_model.norm() ** 2 / len(e_model)
    return e_data.mean() - e_model.mean() + alpha * reg, e_data, e_model


BUGS = [
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
    (checks.check_px_step, px_step_energy_sign),
    (checks.check_px_step, px_step_reg_data_only),
    (checks.check_pyx_step, pyx_softmax_into_cross_entropy),
    (checks.check_pyx_step, pyx_accuracy_wrong_axis),
    (checks.check_jem_step, jem_step_weights_swapped),
    (checks.check_px_step, px_square_of_mean),
]


ALT_CORRECT = [
    (checks.check_pyx_step, pyx_via_forward),
    (checks.check_pyx_step, pyx_loop),
    (checks.check_px_step, px_logits_and_variance),
    (checks.check_px_step, px_sample_under_no_grad),
    (checks.check_jem_step, jem_px_first_stacked),
    (checks.check_px_step, px_step_one_forward),
    (checks.check_pyx_step, pyx_step_nll),
    (checks.check_px_step, px_step_norm_regulariser),
]
