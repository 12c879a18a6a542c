"""More wrong and correct implementations of 04_glyph_jem (issue 12).

``BUGS``: realistic student mistakes the hidden checks must catch: gradient flow (detach,
no_grad, .item(), backward inside a step, gradients reaching parameters that must get none),
a generator ignored or re-seeded, a batch of one, numerical extremes, noise shared across
chains / entries / calls, dtype handling, fixed batch sizes, an empty n. ``ALT_CORRECT``: correct
implementations written differently (other random-draw orders, loops, other stable formulas,
a module-level generator), which must pass whatever the global seed.
"""

from __future__ import annotations

import math

import numpy as np

import torch
import torch.nn.functional as F

from ebm_course.instructor.grading import glyph_jem as checks
from ebm_course.instructor.reference import glyph_jem as ref04

# ---------------------------------------------------------------- get_logits: wrong


class LogitsFeaturesUnderNoGrad(ref04.GlyphCNN):
    """Computes the features under torch.no_grad: no gradient reaches the convolutions or x."""

    def get_logits(self, x):
        with torch.no_grad():
            h = self.features(x)
        return self.head(h)


class LogitsDetachedInput(ref04.GlyphCNN):
    """Detaches the input image: parameters train, but SGLD gets no dE/dx."""

    def get_logits(self, x):
        return self.head(self.features(x.detach()))


class LogitsCastToFloat32(ref04.GlyphCNN):
    """Casts the input to float32 (fails on a float64 network and input)."""

    def get_logits(self, x):
        return self.head(self.features(x.float()))


class LogitsSqueezed(ref04.GlyphCNN):
    """Squeezes the logits: (B,) for K = 1 and (K,) for a batch of one."""

    def get_logits(self, x):
        return self.head(self.features(x)).squeeze()


class LogitsAreLogProbabilities(ref04.GlyphCNN):
    """Returns log_softmax of the logits (log p(y|x)), which drops the logsumexp JEM needs."""

    def get_logits(self, x):
        return self.head(self.features(x)).log_softmax(1)


# ---------------------------------------------------------------- get_logits: correct


class LogitsLayerLoop(ref04.GlyphCNN):
    """Runs every layer of features then head in a Python loop."""

    def get_logits(self, x):
        h = x
        for layer in [*self.features, *self.head]:
            h = layer(h)
        return h


# ---------------------------------------------------------------- forward: wrong


class ForwardNaiveLogSumExp(ref04.GlyphCNN):
    """log(sum(exp(logits))): overflows for logits of a few hundred."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.exp().sum(1).log()
        return logits.gather(1, y[:, None]).squeeze(1)


class ForwardBatchMaxShift(ref04.GlyphCNN):
    """Stabilises logsumexp with the max over the whole batch, not per image."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits.gather(1, y[:, None]).squeeze(1)
        m = logits.max()
        return (logits - m).exp().sum(1).log() + m


class ForwardSqueezeAll(ref04.GlyphCNN):
    """.squeeze() after gather: a batch of one returns a 0-d tensor, not shape (1,)."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(1)
        return logits.gather(1, y.view(-1, 1)).squeeze()


class ForwardLabelsViaTorchTensor(ref04.GlyphCNN):
    """Builds f(x)[y] with torch.tensor of a list: values right, the graph lost."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return torch.logsumexp(logits, dim=1)
        return torch.tensor([logits[i, y[i]].item() for i in range(len(y))], dtype=logits.dtype)


class ForwardLogMeanExp(ref04.GlyphCNN):
    """log of the MEAN of exp(logits) (subtracts log K)."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(1) - math.log(logits.shape[1])
        return logits.gather(1, y[:, None]).squeeze(1)


# ---------------------------------------------------------------- forward: correct


class ForwardOneHotAndRowShift(ref04.GlyphCNN):
    """Row-wise max shift kept in the graph; f(x)[y] as a sum against a one-hot mask."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return (logits * F.one_hot(y, logits.shape[1]).to(logits.dtype)).sum(dim=-1)
        m = logits.max(dim=1, keepdim=True).values
        return m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))


class ForwardFromLayers(ref04.GlyphCNN):
    """Calls the layers directly (not get_logits); torch.special.logsumexp; a loop for f(x)[y]."""

    def forward(self, x, y=None):
        logits = self.head(self.features(x))
        if y is None:
            return torch.special.logsumexp(logits, -1)
        return torch.stack([logits[i, int(y[i])] for i in range(logits.shape[0])])


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


BUGS = [
    (checks.check_get_logits, LogitsFeaturesUnderNoGrad),
    (checks.check_get_logits, LogitsDetachedInput),
    (checks.check_get_logits, LogitsCastToFloat32),
    (checks.check_get_logits, LogitsSqueezed),
    (checks.check_get_logits, LogitsAreLogProbabilities),
    (checks.check_forward, ForwardNaiveLogSumExp),
    (checks.check_forward, ForwardBatchMaxShift),
    (checks.check_forward, ForwardSqueezeAll),
    (checks.check_forward, ForwardLabelsViaTorchTensor),
    (checks.check_forward, ForwardLogMeanExp),
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
]

ALT_CORRECT = [
    (checks.check_get_logits, LogitsLayerLoop),
    (checks.check_forward, ForwardOneHotAndRowShift),
    (checks.check_forward, ForwardFromLayers),
    (checks.check_class_gaussian_init, cgi_einsum_z_first),
    (checks.check_class_gaussian_init, cgi_multinomial_loop),
    (checks.check_expected_calibration_error, ece_histogram_sums),
    (checks.check_expected_calibration_error, ece_numpy_digitize),
    (checks.check_pyx_step, pyx_via_forward),
    (checks.check_pyx_step, pyx_loop),
    (checks.check_px_step, px_logits_and_variance),
    (checks.check_px_step, px_sample_under_no_grad),
    (checks.check_jem_step, jem_px_first_stacked),
]
