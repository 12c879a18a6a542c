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


# ---------------------------------------------------------------- gaussian_init: wrong


def init_reseeds_global(n, sample_shape, init_std, generator):
    """Re-seeds the global RNG from the generator's seed: the same starts on every call."""
    torch.manual_seed(generator.initial_seed())
    return torch.randn((n, *sample_shape)) * init_std


def init_copies_generator(n, sample_shape, init_std, generator):
    """Draws from a fresh copy of the generator, which never advances."""
    g = torch.Generator().manual_seed(generator.initial_seed())
    return torch.randn((n, *sample_shape), generator=g) * init_std


def init_one_image_for_all(n, sample_shape, init_std, generator):
    """One noise image repeated for every chain."""
    one = torch.randn(tuple(sample_shape), generator=generator) * init_std
    return one.expand(n, *sample_shape).clone()


def init_variance_not_std(n, sample_shape, init_std, generator):
    """Scales by init_std ** 2 (the variance) instead of the standard deviation."""
    return torch.randn((n, *sample_shape), generator=generator) * init_std ** 2


def init_stack_per_chain(n, sample_shape, init_std, generator):
    """torch.stack of per-chain draws: crashes when no chain restarts (n = 0)."""
    return torch.stack([torch.randn(tuple(sample_shape), generator=generator) * init_std
                        for _ in range(n)])


def init_float64(n, sample_shape, init_std, generator):
    """Draws in float64 (the buffer and the network are float32)."""
    return torch.randn((n, *sample_shape), generator=generator, dtype=torch.float64) * init_std


# ---------------------------------------------------------------- gaussian_init: correct


def init_normal_inplace(n, sample_shape, init_std, generator):
    """torch.empty(...).normal_(0, init_std, generator=...)."""
    return torch.empty((n, *sample_shape)).normal_(0.0, init_std, generator=generator)


def init_transposed_draw(n, sample_shape, init_std, generator):
    """Draws with the chain axis last, then moves it to the front (another draw order)."""
    flat = torch.randn((math.prod(sample_shape), n), generator=generator)
    return (init_std * flat.T.contiguous()).reshape(n, *sample_shape)


def init_loop_fill(n, sample_shape, init_std, generator):
    """Fills a preallocated tensor chain by chain, in reverse order."""
    out = torch.zeros((n, *sample_shape))
    for i in reversed(range(n)):
        out[i] = torch.randn(tuple(sample_shape), generator=generator) * init_std
    return out


# ---------------------------------------------------------------- sgld_step: wrong


def sgld_backward_into_params(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """.backward() instead of autograd.grad: gradients pile up in the network's parameters."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        energy_fn(x).sum().backward()
    g = x.grad if grad_clip is None else x.grad.clamp(-grad_clip, grad_clip)
    out = x.detach() - step_size * g + noise_std * torch.randn_like(x)
    return out if clamp is None else out.clamp(*clamp)


def sgld_no_enable_grad(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """No torch.enable_grad(): fails when called under torch.no_grad (Lightning validation)."""
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    out = x.detach() - step_size * g + noise_std * torch.randn_like(x)
    return out if clamp is None else out.clamp(*clamp)


def sgld_mean_energy(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Differentiates the MEAN energy: every step is B times too small."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(x).mean(), x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    out = x.detach() - step_size * g + noise_std * torch.randn_like(x)
    return out if clamp is None else out.clamp(*clamp)


def sgld_noise_shared_by_batch(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Draws one noise sample of shape x.shape[1:] and adds it to every chain."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    out = x.detach() - step_size * g + noise_std * torch.randn(x.shape[1:], dtype=x.dtype)
    return out if clamp is None else out.clamp(*clamp)


def sgld_ula_noise(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Uses the Langevin noise sqrt(2 * step_size) instead of noise_std."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    noise = math.sqrt(2 * step_size) * torch.randn_like(x) if noise_std > 0 else 0.0
    out = x.detach() - step_size * g + noise
    return out if clamp is None else out.clamp(*clamp)


def sgld_fixed_seed_noise(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """A generator seeded inside the step: the same noise on every call."""
    gen = torch.Generator().manual_seed(0)
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    out = x.detach() - step_size * g + noise_std * torch.randn(x.shape, generator=gen, dtype=x.dtype)
    return out if clamp is None else out.clamp(*clamp)


def sgld_clip_by_norm(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Clips each sample's gradient by its norm instead of each entry."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        norm = g.flatten(1).norm(dim=1).view(-1, *[1] * (g.dim() - 1))
        g = g * (grad_clip / norm.clamp_min(grad_clip))
    out = x.detach() - step_size * g + noise_std * torch.randn_like(x)
    return out if clamp is None else out.clamp(*clamp)


def sgld_in_place_update(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Updates x.data in place: the caller's samples change."""
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(leaf).sum(), leaf)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    x.data.add_(-step_size * g + noise_std * torch.randn_like(x))
    if clamp is not None:
        x.data.clamp_(*clamp)
    return x.detach()


def sgld_float32(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Casts the samples to float32: a float64 chain silently loses precision."""
    x = x.detach().float().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    out = x.detach() - step_size * g + noise_std * torch.randn_like(x)
    return out if clamp is None else out.clamp(*clamp)


# ---------------------------------------------------------------- sgld_step: correct

_NOISE = torch.Generator().manual_seed(2024)


def sgld_own_generator_noise_first(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Noise from a module-level generator, drawn before the gradient; torch.clamp / clip."""
    noise = torch.randn(x.shape, generator=_NOISE, dtype=x.dtype) * noise_std
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        energy = energy_fn(leaf)
        grad = torch.autograd.grad(energy, leaf, grad_outputs=torch.ones_like(energy))[0]
    if grad_clip is not None:
        grad = torch.clip(grad, -grad_clip, grad_clip)
    new = leaf.detach() - step_size * grad + noise
    return new if clamp is None else torch.clamp(new, min=clamp[0], max=clamp[1])


def sgld_backward_inputs(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """.backward(inputs=[leaf]): accumulates into the leaf only; noise via torch.normal_."""
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        energy_fn(leaf).sum().backward(inputs=[leaf])
    grad = leaf.grad
    if grad_clip is not None:
        grad = torch.maximum(torch.minimum(grad, torch.full_like(grad, grad_clip)),
                             torch.full_like(grad, -grad_clip))
    new = leaf.detach() - step_size * grad
    new = new + torch.empty_like(new).normal_(0.0, 1.0) * noise_std
    if clamp is not None:
        new = new.clamp(clamp[0], clamp[1])
    return new


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
    (checks.check_gaussian_init, init_reseeds_global),
    (checks.check_gaussian_init, init_copies_generator),
    (checks.check_gaussian_init, init_one_image_for_all),
    (checks.check_gaussian_init, init_variance_not_std),
    (checks.check_gaussian_init, init_stack_per_chain),
    (checks.check_gaussian_init, init_float64),
    (checks.check_sgld_step, sgld_backward_into_params),
    (checks.check_sgld_step, sgld_no_enable_grad),
    (checks.check_sgld_step, sgld_mean_energy),
    (checks.check_sgld_step, sgld_noise_shared_by_batch),
    (checks.check_sgld_step, sgld_ula_noise),
    (checks.check_sgld_step, sgld_fixed_seed_noise),
    (checks.check_sgld_step, sgld_clip_by_norm),
    (checks.check_sgld_step, sgld_in_place_update),
    (checks.check_sgld_step, sgld_float32),
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
    (checks.check_gaussian_init, init_normal_inplace),
    (checks.check_gaussian_init, init_transposed_draw),
    (checks.check_gaussian_init, init_loop_fill),
    (checks.check_sgld_step, sgld_own_generator_noise_first),
    (checks.check_sgld_step, sgld_backward_inputs),
    (checks.check_pyx_step, pyx_via_forward),
    (checks.check_pyx_step, pyx_loop),
    (checks.check_px_step, px_logits_and_variance),
    (checks.check_px_step, px_sample_under_no_grad),
    (checks.check_jem_step, jem_px_first_stacked),
]
