"""More wrong and correct implementations of 03_mnist_ebm (issue 12: the hidden checks test
properties). Each wrong one is wrong by the exercise statement (the notebook source 03_mnist_ebm.py); each
correct one is written differently from the reference (other draw orders, loops, other stable
formulas, float64-safe code, the global RNG where the statement allows it)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import ebm_course.models
from ebm_course.instructor.assignments.mnist_ebm import checks as checks
from ebm_course.instructor.assignments.mnist_ebm import checks as mnist_ebm
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.sampling import write_slots

# ================================================================ wrong: Swish


class SwishExpRatio(nn.Module):
    """x * exp(x) / (1 + exp(x)): overflows to inf / inf = NaN for large x."""

    def forward(self, x):
        return x * torch.exp(x) / (1 + torch.exp(x))


class SwishDetachedGate(nn.Module):
    """x * sigmoid(x).detach(): right values, but the derivative misses the gate's term."""

    def forward(self, x):
        return x * torch.sigmoid(x).detach()


class SwishInPlace(nn.Module):
    """x.mul_(sigmoid(x)): overwrites the caller's tensor."""

    def forward(self, x):
        return x.mul_(torch.sigmoid(x))


class SwishClampedInput(nn.Module):
    """Clamps the sigmoid's input to [-10, 10] "for stability": wrong for very negative x."""

    def forward(self, x):
        return x * torch.sigmoid(x.clamp(-10.0, 10.0))


class SwishFloat32(nn.Module):
    """Casts to float32 first: float64 inputs come back as float32."""

    def forward(self, x):
        x = x.float()
        return x * torch.sigmoid(x)


# ================================================================ wrong: CNNEnergy


class CNNNaiveLogSumExp(ref03.CNNEnergy):
    """forward(x) as log(sum(exp(logits))): inf for logits of 1e3, -inf for -1e3."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.exp().sum(1).log()
        return logits.gather(1, y[:, None]).squeeze(1)


class CNNSqueezeAll(ref03.CNNEnergy):
    """forward(x, y) ends in .squeeze(): a 0-dim result on a batch of one."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(1)
        return logits.gather(1, y[:, None]).squeeze()


class CNNDetachedFeatures(ref03.CNNEnergy):
    """get_logits detaches the features: no gradient reaches the convolutions or the image."""

    def get_logits(self, x):
        return self.head(self.features(x).detach())


class CNNForwardNoGrad(ref03.CNNEnergy):
    """forward computes the logits under torch.no_grad(): nothing can be trained or sampled."""

    def forward(self, x, y=None):
        with torch.no_grad():
            logits = self.get_logits(x)
        return logits.logsumexp(1) if y is None else logits.gather(1, y[:, None]).squeeze(1)


class CNNTiesDropped(ref03.CNNEnergy):
    """Hand-made logsumexp max + log1p(sum of exp(l - max) over l != max): ties are lost."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits.gather(1, y[:, None]).squeeze(1)
        m = logits.max(1, keepdim=True).values
        others = torch.where(logits == m, torch.zeros_like(logits), (logits - m).exp())
        return m.squeeze(1) + torch.log1p(others.sum(1))


class CNNShiftDetachedWrongSide(ref03.CNNEnergy):
    """Stable logsumexp that detaches the outer max: right value, gradient softmax - onehot."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits.gather(1, y[:, None]).squeeze(1)
        m = logits.max(1, keepdim=True).values
        return m.detach().squeeze(1) + (logits - m).exp().sum(1).log()


class CNNLogSoftmaxForY(ref03.CNNEnergy):
    """forward(x, y) returns log p(y|x) (log_softmax) instead of the logit f(x)[y]."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(1)
        return logits.log_softmax(1).gather(1, y[:, None]).squeeze(1)


class CNNRescalesInput(ref03.CNNEnergy):
    """get_logits rescales the [-1, 1] images to [0, 1] first."""

    def get_logits(self, x):
        return self.head(self.features((x + 1) / 2))


# ================================================================ wrong: langevin_step


def _grad(energy_fn, x, reduce="sum"):
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        energy = energy_fn(leaf)
        (g,) = torch.autograd.grad(energy.sum() if reduce == "sum" else energy.mean(), leaf)
    return leaf.detach(), g


def _finish(x_new, clamp):
    return x_new if clamp is None else x_new.clamp(*clamp)


def langevin_grad_of_mean(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Differentiates energy.mean(): every gradient is divided by the batch size."""
    x, g = _grad(energy_fn, x, "mean")
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g + noise_std * torch.randn_like(x), clamp)


def langevin_noise_shared_by_batch(energy_fn, x, step_size, noise_std, grad_clip=None,
                                   clamp=None):
    """Draws one noise image, torch.randn(x.shape[1:]), for the whole batch."""
    x, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g + noise_std * torch.randn(x.shape[1:]), clamp)


def langevin_noise_per_sample(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """One noise value per sample, shared by all its elements."""
    x, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    noise = torch.randn(x.shape[0], *[1] * (x.dim() - 1))
    return _finish(x - step_size * g + noise_std * noise, clamp)


def langevin_reseeds(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Calls torch.manual_seed(0) in every step "for reproducibility": the same noise each step."""
    torch.manual_seed(0)
    return ref03.langevin_step(energy_fn, x, step_size, noise_std, grad_clip, clamp)


def langevin_clip_if_truthy(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """`if grad_clip:` instead of `is not None`: grad_clip=0 does not clip."""
    x, g = _grad(energy_fn, x)
    if grad_clip:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g + noise_std * torch.randn_like(x), clamp)


def langevin_float32(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Casts x to float32: float64 chains come back as float32."""
    return ref03.langevin_step(energy_fn, x.float(), step_size, noise_std, grad_clip, clamp)


def langevin_noise_before_gradient(energy_fn, x, step_size, noise_std, grad_clip=None,
                                   clamp=None):
    """Adds the noise first and takes the gradient at the noisy point."""
    x = x.detach() + noise_std * torch.randn_like(x)
    x, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g, clamp)


def langevin_noise_inside_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """x - step_size * (grad + noise_std * eps): the noise is scaled by step_size."""
    x, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * (g + noise_std * torch.randn_like(x)), clamp)


def langevin_keeps_input_graph(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Builds the result from the caller's x: a graph comes back when x requires grad."""
    _, g = _grad(energy_fn, x)
    if grad_clip is not None:
        g = g.clamp(-grad_clip, grad_clip)
    return _finish(x - step_size * g + noise_std * torch.randn_like(x), clamp)


# ================================================================ wrong: MCMCSampler


class SlotsFromWholeBuffer(ref03.MCMCSampler):
    """Draws slots from [0, buffer_size): chains start from empty slots."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.buffer_size, (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x[fresh] = self.init_noise(int(fresh.sum()))
        return x, idx


class SlotsOffByOne(ref03.MCMCSampler):
    """randint(n_filled - 1): the last filled slot is never drawn."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(max(self.n_filled - 1, 1), (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x[fresh] = self.init_noise(int(fresh.sum()))
        return x, idx


class SlotsFromGlobalRNG(ref03.MCMCSampler):
    """Draws slots with the global generator: runs do not repeat from the sampler's seed."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.n_filled, (batch_size,))
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size) < self.reinit_prob
        x[fresh] = self.init_noise(int(fresh.sum()))
        return x, idx


class FixedRestartCount(ref03.MCMCSampler):
    """Restarts exactly int(reinit_prob * B) chains, the first ones: none on a batch of one."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        n_fresh = int(self.reinit_prob * batch_size)
        x[:n_fresh] = self.init_noise(n_fresh)
        return x, idx


class SharedRestartNoise(ref03.MCMCSampler):
    """Every restarted chain gets the same noise image, init_noise(1)."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return (self.init_noise(1).expand(batch_size, *self.sample_shape).clone(),
                    torch.zeros(batch_size, dtype=torch.long))
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x[fresh] = self.init_noise(1)
        return x, idx


class OwnUniformStart(ref03.MCMCSampler):
    """Empty buffer: its own torch.rand noise instead of init_noise (ignores init='gaussian')."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            x = torch.rand(batch_size, *self.sample_shape) * 2 - 1
            return x, torch.zeros(batch_size, dtype=torch.long)
        return super()._init_chains(batch_size)


class RestartNoiseIntoBuffer(ref03.MCMCSampler):
    """Writes the restart noise into the drawn buffer slots, then copies the slots."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        self.buffer[idx[fresh]] = self.init_noise(int(fresh.sum()))
        return self.buffer[idx].clone(), idx


class AppendsAtSlotZero(ref03.MCMCSampler):
    """Appends every batch at slots 0..B-1 (forgets the n_filled offset)."""

    def _update_buffer(self, x_model, idx):
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[:n_append] = x_model[:n_append].detach()
        self.n_filled += n_append
        if n_append < len(x_model):
            write_slots(self.buffer, idx[n_append:], x_model[n_append:])


class DropsOverflow(ref03.MCMCSampler):
    """Appends what fits and drops the rest of a batch that overflows the buffer."""

    def _update_buffer(self, x_model, idx):
        if self.n_filled < self.buffer_size:
            n_append = min(len(x_model), self.buffer_size - self.n_filled)
            self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append].detach()
            self.n_filled += n_append
        else:
            write_slots(self.buffer, idx, x_model.detach())


class OverflowToWrongSlots(ref03.MCMCSampler):
    """Writes the overflowing samples over idx[:k] instead of their own idx[n_append:]."""

    def _update_buffer(self, x_model, idx):
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append].detach()
        self.n_filled += n_append
        rest = x_model[n_append:].detach()
        if len(rest):
            write_slots(self.buffer, idx[:len(rest)], rest)


class FullWritesRandomSlots(ref03.MCMCSampler):
    """Once full, writes the samples over random slots instead of the drawn ones."""

    def _update_buffer(self, x_model, idx):
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append].detach()
        self.n_filled += n_append
        rest = x_model[n_append:].detach()
        if len(rest):
            slots = torch.randperm(self.buffer_size, generator=self.generator)[:len(rest)]
            self.buffer[slots] = rest


# ================================================================ wrong: ebm_loss


def loss_model_energy_detached(energy_data, energy_model, alpha):
    """Detaches energy_model ("no gradient through the samples"): its gradient is lost."""
    return ref03.ebm_loss(energy_data, energy_model.detach(), alpha)


def loss_reg_detached(energy_data, energy_model, alpha):
    """Computes reg from detached energies: the regulariser never acts on the network."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.detach().pow(2).mean() + energy_model.detach().pow(2).mean()
    return cd + alpha * reg, cd, reg


def loss_reg_over_concatenation(energy_data, energy_model, alpha):
    """reg = mean of E^2 over both batches together: half the regulariser."""
    cd = energy_data.mean() - energy_model.mean()
    reg = torch.cat([energy_data, energy_model]).pow(2).mean()
    return cd + alpha * reg, cd, reg


def loss_returns_scaled_reg(energy_data, energy_model, alpha):
    """Returns alpha * reg as reg."""
    cd = energy_data.mean() - energy_model.mean()
    reg = alpha * (energy_data.pow(2).mean() + energy_model.pow(2).mean())
    return cd + reg, cd, reg


def loss_reg_by_variance(energy_data, energy_model, alpha):
    """mean E^2 as var() + mean^2 with the unbiased var: wrong, NaN on a batch of one."""
    cd = energy_data.mean() - energy_model.mean()
    reg = (energy_data.var() + energy_data.mean() ** 2
           + energy_model.var() + energy_model.mean() ** 2)
    return cd + alpha * reg, cd, reg


def loss_reg_sum(energy_data, energy_model, alpha):
    """Sums the squared energies instead of averaging them."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.pow(2).sum() + energy_model.pow(2).sum()
    return cd + alpha * reg, cd, reg


def loss_reg_l1(energy_data, energy_model, alpha):
    """An L1 regulariser, mean |E|, instead of mean E^2."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.abs().mean() + energy_model.abs().mean()
    return cd + alpha * reg, cd, reg


BUGS = [
    (checks.check_swish, SwishExpRatio),
    (checks.check_swish, SwishDetachedGate),
    (checks.check_swish, SwishInPlace),
    (checks.check_swish, SwishClampedInput),
    (checks.check_swish, SwishFloat32),
    (checks.check_cnn_energy, CNNNaiveLogSumExp),
    (checks.check_cnn_energy, CNNSqueezeAll),
    (checks.check_cnn_energy, CNNDetachedFeatures),
    (checks.check_cnn_energy, CNNForwardNoGrad),
    (checks.check_cnn_energy, CNNTiesDropped),
    (checks.check_cnn_energy, CNNShiftDetachedWrongSide),
    (checks.check_cnn_energy, CNNLogSoftmaxForY),
    (checks.check_cnn_energy, CNNRescalesInput),
    (checks.check_langevin_step, langevin_grad_of_mean),
    (checks.check_langevin_step, langevin_noise_shared_by_batch),
    (checks.check_langevin_step, langevin_noise_per_sample),
    (checks.check_langevin_step, langevin_reseeds),
    (checks.check_langevin_step, langevin_clip_if_truthy),
    (checks.check_langevin_step, langevin_float32),
    (checks.check_langevin_step, langevin_noise_before_gradient),
    (checks.check_langevin_step, langevin_noise_inside_step),
    (checks.check_langevin_step, langevin_keeps_input_graph),
    (checks.check_sampler, SlotsFromWholeBuffer),
    (checks.check_sampler, SlotsOffByOne),
    (checks.check_sampler, SlotsFromGlobalRNG),
    (checks.check_sampler, FixedRestartCount),
    (checks.check_sampler, SharedRestartNoise),
    (checks.check_sampler, OwnUniformStart),
    (checks.check_sampler, RestartNoiseIntoBuffer),
    (checks.check_sampler, AppendsAtSlotZero),
    (checks.check_sampler, DropsOverflow),
    (checks.check_sampler, OverflowToWrongSlots),
    (checks.check_sampler, FullWritesRandomSlots),
    (checks.check_ebm_loss, loss_model_energy_detached),
    (checks.check_ebm_loss, loss_reg_detached),
    (checks.check_ebm_loss, loss_reg_over_concatenation),
    (checks.check_ebm_loss, loss_returns_scaled_reg),
    (checks.check_ebm_loss, loss_reg_by_variance),
    (checks.check_ebm_loss, loss_reg_sum),
    (checks.check_ebm_loss, loss_reg_l1),
]


# ================================================================ correct variants


class SwishRatio(nn.Module):
    """x / (1 + exp(-x)): exp overflows to inf for very negative x, and x / inf is still 0."""

    def forward(self, x):
        return x / (1 + torch.exp(-x))


class SwishTanh(nn.Module):
    """The tanh form of the sigmoid: x * (1 + tanh(x / 2)) / 2."""

    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(0.5 * x))


class SwishPiecewise(nn.Module):
    """A piecewise stable sigmoid: exp(-|x|) on both sides, so nothing overflows."""

    def forward(self, x):
        e = torch.exp(-x.abs())
        gate = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return x * gate


class WrongSwish(nn.Module):
    """A wrong activation (x * tanh(x)): check_cnn_energy must not charge it to the CNN."""

    def forward(self, x):
        return x * torch.tanh(x)


Swish = WrongSwish  # the "notebook's" Swish that CNNWithWrongSwish builds its layers from


class CNNWithWrongSwish(ebm_course.models.CNNEnergy):
    """Right get_logits / forward on a network built with the notebook's (wrong) Swish."""

    def __init__(self, in_channels=1, image_size=28, hidden=32, n_classes=1):
        super().__init__(in_channels, image_size, hidden, n_classes, activation=Swish)

    def get_logits(self, x):
        h = x
        for layer in self.features:
            h = layer(h)
        return self.head(h)

    def forward(self, x, y=None):
        return ref03.CNNEnergy.forward(self, x, y)


class CNNForwardWithoutGetLogits(ref03.CNNEnergy):
    """forward recomputes head(features(x)); logsumexp by hand with a detached amax; y by a
    one-hot mask."""

    def forward(self, x, y=None):
        logits = self.head(self.features(x))
        if y is not None:
            mask = F.one_hot(y, logits.shape[1]).to(torch.bool)
            return torch.where(mask, logits, torch.zeros_like(logits)).sum(1)
        m = logits.amax(1, keepdim=True).detach()
        return (logits - m).exp().sum(1).log() + m.squeeze(1)


class CNNLoopOverClasses(ref03.CNNEnergy):
    """logsumexp folded class by class with logaddexp; y by plain indexing; float64-safe."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits[torch.arange(len(logits)), y]
        out = logits[:, 0]
        for k in range(1, logits.shape[1]):
            out = torch.logaddexp(out, logits[:, k])
        return out


def langevin_noise_first(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Draws the noise first with torch.normal; torch.clip; clamp with min= / max=."""
    noise = torch.normal(torch.zeros_like(x), torch.ones_like(x)) * noise_std
    leaf = x.detach().clone().requires_grad_()
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(leaf).sum(), [leaf])
    if grad_clip is not None:
        g = torch.clip(g, -grad_clip, grad_clip)
    out = leaf.detach() - step_size * g + noise
    if clamp is not None:
        out = out.clamp(min=clamp[0], max=clamp[1])
    return out


def langevin_func_grad(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """torch.func.grad for dE/dx; noise via torch.randn with x's dtype; clip with min/max."""
    x = x.detach()
    with torch.enable_grad():
        g = torch.func.grad(lambda z: energy_fn(z).sum())(x)
    if grad_clip is not None:
        g = torch.minimum(torch.maximum(g, torch.full_like(g, -grad_clip)),
                          torch.full_like(g, grad_clip))
    out = x - step_size * g + noise_std * torch.randn(x.shape, dtype=x.dtype, device=x.device)
    if clamp is not None:
        out = torch.clamp(out, clamp[0], clamp[1])
    return out.detach()


class FlagsFirstGlobalRestarts(ref03.MCMCSampler):
    """Restart flags drawn first, from the global RNG (the statement fixes only the slot
    draw's generator); slots by multinomial; the overflow written chain by chain in reverse, so
    the first chain keeps a shared slot."""

    def _init_chains(self, batch_size):
        fresh = torch.rand(batch_size) < self.reinit_prob
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.int64)
        weights = torch.ones(self.n_filled)
        idx = torch.multinomial(weights, batch_size, replacement=True, generator=self.generator)
        x = torch.empty(batch_size, *self.sample_shape, dtype=self.buffer.dtype)
        noise = self.init_noise(int(fresh.sum()))
        x[~fresh] = self.buffer[idx[~fresh]]
        x[fresh] = noise
        return x, idx

    def _update_buffer(self, x_model, idx):
        rows = list(x_model.detach())
        appended = 0
        for row in rows:
            if self.n_filled < self.buffer_size:
                self.buffer[self.n_filled] = row
                self.n_filled += 1
                appended += 1
        for j in reversed(range(appended, len(rows))):
            self.buffer[int(idx[j])] = rows[j]


class LoopSampler(ref03.MCMCSampler):
    """Chain by chain: slot first, then a Bernoulli restart from self.generator; stores each
    sample with write_slots (the last chain keeps a shared slot)."""

    def _init_chains(self, batch_size):
        starts, slots = [], []
        for _ in range(batch_size):
            if self.n_filled == 0:
                starts.append(self.init_noise(1)[0])
                slots.append(0)
                continue
            slot = int(torch.randint(self.n_filled, (1,), generator=self.generator))
            restart = torch.rand((), generator=self.generator).item() < self.reinit_prob
            starts.append(self.init_noise(1)[0] if restart else self.buffer[slot].clone())
            slots.append(slot)
        return torch.stack(starts), torch.tensor(slots, dtype=torch.long)

    def _update_buffer(self, x_model, idx):
        x_model = x_model.detach()
        room = self.buffer_size - self.n_filled
        head, tail = x_model[:room], x_model[room:]
        self.buffer[self.n_filled:self.n_filled + len(head)] = head
        self.n_filled += len(head)
        if len(tail):
            write_slots(self.buffer, idx[len(head):], tail)


def loss_pairwise(energy_data, energy_model, alpha):
    """cd as the mean of differences, reg as the mean of summed squares (one batch size B)."""
    cd = (energy_data - energy_model).mean()
    reg = (energy_data.square() + energy_model.square()).mean()
    return cd + alpha * reg, cd, reg


def loss_mse_logged_detached(energy_data, energy_model, alpha):
    """reg by F.mse_loss against zeros; cd and reg returned detached, for logging only."""
    cd = torch.mean(energy_data) - torch.mean(energy_model)
    reg = (F.mse_loss(energy_data, torch.zeros_like(energy_data))
           + F.mse_loss(energy_model, torch.zeros_like(energy_model)))
    loss = cd + alpha * reg
    return loss, cd.detach(), reg.detach()


def loss_float64_sums(energy_data, energy_model, alpha):
    """Sums divided by the batch size, computed in float64 and cast back to the input dtype."""
    d, m = energy_data.double(), energy_model.double()
    n = len(d)
    cd = (d.sum() - m.sum()) / n
    reg = (d.pow(2).sum() + m.pow(2).sum()) / n
    loss = cd + float(alpha) * reg
    dtype = energy_data.dtype
    return loss.to(dtype), cd.to(dtype), reg.to(dtype)


ALT_CORRECT = [
    (checks.check_swish, SwishRatio),
    (checks.check_swish, SwishTanh),
    (checks.check_swish, SwishPiecewise),
    (checks.check_cnn_energy, CNNWithWrongSwish),
    (checks.check_cnn_energy, CNNForwardWithoutGetLogits),
    (checks.check_cnn_energy, CNNLoopOverClasses),
    (checks.check_langevin_step, langevin_noise_first),
    (checks.check_langevin_step, langevin_func_grad),
    (checks.check_sampler, FlagsFirstGlobalRestarts),
    (checks.check_sampler, LoopSampler),
    (checks.check_ebm_loss, loss_pairwise),
    (checks.check_ebm_loss, loss_mse_logged_detached),
    (checks.check_ebm_loss, loss_float64_sums),
]


# ================================================================ the first library's cases

class SwishXTanhX(torch.nn.Module):
    """x * tanh(x): a different smooth activation."""

    def forward(self, x):
        return x * torch.tanh(x)


class SoftmaxInsteadOfLogits(ref03.CNNEnergy):
    """get_logits returns probabilities."""

    def get_logits(self, x):
        return self.head(self.features(x)).softmax(1)


class EnergyNotNegEnergy(ref03.CNNEnergy):
    """forward returns E = -logsumexp, the opposite of the convention."""

    def forward(self, x, y=None):
        return -super().forward(x, y)


class ForwardIgnoresY(ref03.CNNEnergy):
    """forward(x, y) returns logsumexp whatever y is."""

    def forward(self, x, y=None):
        return self.get_logits(x).logsumexp(1)


class ForwardMaxNotLogsumexp(ref03.CNNEnergy):
    """Unconditional neg_energy as the largest logit."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        return logits.max(1).values if y is None else logits.gather(1, y[:, None]).squeeze(1)


class LogitsWithoutHeadBias(ref03.CNNEnergy):
    """Drops the last layer's bias."""

    def get_logits(self, x):
        h = self.head[:-1](self.features(x))
        return h @ self.head[-1].weight.T


def langevin_clamp_before_noise(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Clamps, then adds the noise: samples leave the image range."""
    out = ref03.langevin_step(energy_fn, x, step_size, 0.0, grad_clip, clamp)
    return out + noise_std * torch.randn_like(out)


def langevin_clip_after_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Clips the step (step_size * grad), not the gradient."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(energy_fn(x).sum(), x)
    step = step_size * g
    if grad_clip is not None:
        step = step.clamp(-grad_clip, grad_clip)
    out = x.detach() - step + noise_std * torch.randn_like(x)
    return out if clamp is None else out.clamp(*clamp)


class BufferNeverUpdatedWhenFull(ref03.MCMCSampler):
    """Appends while there is room, then never writes samples back."""

    def _update_buffer(self, x_model, idx):
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append].detach()
        self.n_filled += n_append


class ReinitInverted(ref03.MCMCSampler):
    """Restarts a chain with probability 1 - reinit_prob."""

    def _init_chains(self, batch_size):
        saved, self.reinit_prob = self.reinit_prob, 1 - self.reinit_prob
        try:
            return super()._init_chains(batch_size)
        finally:
            self.reinit_prob = saved


def ebm_loss_square_of_mean(energy_data, energy_model, alpha):
    """reg = mean(E)^2 instead of mean(E^2)."""
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.mean() ** 2 + energy_model.mean() ** 2
    return cd + alpha * reg, cd, reg


def ebm_loss_python_floats(energy_data, energy_model, alpha):
    """Numbers, not tensors: no gradient reaches the network."""
    cd = energy_data.mean().item() - energy_model.mean().item()
    reg = energy_data.pow(2).mean().item() + energy_model.pow(2).mean().item()
    return cd + alpha * reg, cd, reg


class SwishSilu(torch.nn.Module):
    def forward(self, x):
        return F.silu(x)


class CNNEnergyManualLogsumexp(ref03.CNNEnergy):
    """A hand-written stable logsumexp and plain indexing for f(x)[y]."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits[torch.arange(len(logits)), y]
        m = logits.max(1, keepdim=True).values.detach()
        return (logits - m).exp().sum(1).log() + m.squeeze(1)


def langevin_step_grad_outputs(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """grad_outputs instead of .sum(); torch.where for the clip; clamp with min/max."""
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        energy = energy_fn(leaf)
        (g,) = torch.autograd.grad(energy, leaf, grad_outputs=torch.ones_like(energy))
    if grad_clip is not None:
        g = torch.where(g.abs() > grad_clip, grad_clip * g.sign(), g)
    out = leaf.detach() - step_size * g + noise_std * torch.randn_like(leaf)
    if clamp is not None:
        out = torch.minimum(torch.maximum(out, torch.tensor(clamp[0])), torch.tensor(clamp[1]))
    return out


class RingBufferSampler(ref03.MCMCSampler):
    """Another valid policy: a FIFO ring buffer (new samples overwrite the oldest)."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(0, self.n_filled, (batch_size,), generator=self.generator)
        restart = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x = torch.where(restart.view(-1, *[1] * len(self.sample_shape)),
                        self.init_noise(batch_size), self.buffer[idx])
        return x, idx

    def _update_buffer(self, x_model, idx):
        cursor = getattr(self, "_cursor", 0)
        slots = (cursor + torch.arange(len(x_model))) % self.buffer_size
        self.buffer[slots] = x_model.detach()
        self._cursor = int(slots[-1] + 1) % self.buffer_size
        self.n_filled = min(self.buffer_size, self.n_filled + len(x_model))


def ebm_loss_stack(energy_data, energy_model, alpha):
    """torch.stack and dot products."""
    means = torch.stack([energy_data.mean(), energy_model.mean()])
    cd = means @ torch.tensor([1.0, -1.0])
    reg = (energy_data.dot(energy_data) / len(energy_data)
           + energy_model.dot(energy_model) / len(energy_model))
    return cd + alpha * reg, cd, reg


BUGS += [
    (mnist_ebm.check_swish, SwishXTanhX),
    (mnist_ebm.check_cnn_energy, SoftmaxInsteadOfLogits),
    (mnist_ebm.check_cnn_energy, EnergyNotNegEnergy),
    (mnist_ebm.check_cnn_energy, ForwardIgnoresY),
    (mnist_ebm.check_cnn_energy, ForwardMaxNotLogsumexp),
    (mnist_ebm.check_cnn_energy, LogitsWithoutHeadBias),
    (mnist_ebm.check_langevin_step, langevin_clamp_before_noise),
    (mnist_ebm.check_langevin_step, langevin_clip_after_step),
    (mnist_ebm.check_sampler, BufferNeverUpdatedWhenFull),
    (mnist_ebm.check_sampler, ReinitInverted),
    (mnist_ebm.check_ebm_loss, ebm_loss_square_of_mean),
    (mnist_ebm.check_ebm_loss, ebm_loss_python_floats),
]

ALT_CORRECT += [
    (mnist_ebm.check_swish, SwishSilu),
    (mnist_ebm.check_cnn_energy, CNNEnergyManualLogsumexp),
    (mnist_ebm.check_langevin_step, langevin_step_grad_outputs),
    (mnist_ebm.check_sampler, RingBufferSampler),
    (mnist_ebm.check_ebm_loss, ebm_loss_stack),
]


# ================================================================ issue 25


class _RestartsWith(ref03.MCMCSampler):
    """The reference policy with restarts (once the buffer holds samples) drawn by
    ``self._restart(k)`` instead of init_noise."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x = self.buffer[idx].clone()
        x[fresh] = self._restart(int(fresh.sum()))
        return x, idx


class RestartsUniformZeroOne(_RestartsWith):
    """Once the buffer holds samples, restarts from torch.rand (U(0, 1)), not init_noise."""

    def _restart(self, k):
        return torch.rand(k, *self.sample_shape, generator=self.generator)


class RestartsIgnoreInit(_RestartsWith):
    """Once the buffer holds samples, restarts from N(0, init_std^2) whatever ``init`` says."""

    def _restart(self, k):
        return torch.randn(k, *self.sample_shape, generator=self.generator) * self.init_std


class SlotsFromSeedCopy(ref03.MCMCSampler):
    """Draws from a private generator made from the sampler's seed at every call: reproducible,
    but every call draws the same slots and restarts."""

    def _init_chains(self, batch_size):
        saved = self.generator
        self.generator = torch.Generator().manual_seed(saved.initial_seed())
        try:
            return super()._init_chains(batch_size)
        finally:
            self.generator = saved


class RestartsIndexCopy(ref03.MCMCSampler):
    """Restart flags first, slots after; restarts written with index_copy_ from init_noise."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        rows = torch.nonzero(fresh).flatten()
        x = self.buffer.index_select(0, idx)
        return x.index_copy_(0, rows, self.init_noise(len(rows))), idx


BUGS += [
    (mnist_ebm.check_sampler, RestartsUniformZeroOne),
    (mnist_ebm.check_sampler, RestartsIgnoreInit),
    (mnist_ebm.check_sampler, SlotsFromSeedCopy),
]

ALT_CORRECT += [
    (mnist_ebm.check_sampler, RestartsIndexCopy),
]
