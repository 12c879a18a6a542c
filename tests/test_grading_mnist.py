"""The hidden checks of 03_mnist_ebm pass the reference and catch seeded bugs."""

import pytest
import torch
from torch import nn

from ebm_course.instructor.assignments.glyph_jem import reference as ref04  # noqa: F401
from ebm_course.instructor.assignments.mnist_ebm import checks as grading
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03  # noqa: F401
from ebm_course.instructor.assignments.ood import reference as ref05  # noqa: F401
from ebm_course.instructor.assignments.theory import reference as ref01  # noqa: F401
from ebm_course.instructor.assignments.toy import reference as ref02  # noqa: F401


def test_reference_passes_every_check():
    grading.check_swish(ref03.Swish)
    grading.check_cnn_energy(ref03.CNNEnergy)
    grading.check_langevin_step(ref03.langevin_step)
    grading.check_sampler(ref03.MCMCSampler)
    grading.check_ebm_loss(ref03.ebm_loss)


class ReluSwish(nn.Module):
    def forward(self, x):
        return torch.relu(x)


class MaxInsteadOfLogsumexp(ref03.CNNEnergy):
    def forward(self, x, y=None):
        logits = self.get_logits(x)
        return logits.max(1).values if y is None else logits.gather(1, y[:, None]).squeeze(1)


class IgnoresY(ref03.CNNEnergy):
    def forward(self, x, y=None):
        return self.get_logits(x).logsumexp(1)


def ascent_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    return ref03.langevin_step(lambda z: -energy_fn(z), x, step_size, noise_std, grad_clip, clamp)


def no_clamp_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    return ref03.langevin_step(energy_fn, x, step_size, noise_std, grad_clip, None)


def no_noise_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    return ref03.langevin_step(energy_fn, x, step_size, 0.0, grad_clip, clamp)


def backward_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        energy_fn(x).sum().backward()  # fills parameter grads too
    g = x.grad if grad_clip is None else x.grad.clamp(-grad_clip, grad_clip)
    out = x.detach() - step_size * g + noise_std * torch.randn_like(x)
    return out if clamp is None else out.clamp(*clamp)


class NeverUpdates(ref03.MCMCSampler):
    def _update_buffer(self, x_model, idx):
        pass


class NoReinit(ref03.MCMCSampler):
    def _init_chains(self, batch_size):
        saved, self.reinit_prob = self.reinit_prob, 0.0
        try:
            return super()._init_chains(batch_size)
        finally:
            self.reinit_prob = saved


class ViewNotCopy(ref03.MCMCSampler):
    def _init_chains(self, batch_size):
        x, idx = super()._init_chains(batch_size)
        if self.n_filled:
            return self.buffer[: batch_size], torch.arange(batch_size) % self.n_filled
        return x, idx


class GrowsForever(ref03.MCMCSampler):
    def _update_buffer(self, x_model, idx):
        self.buffer = torch.cat([self.buffer[: self.n_filled], x_model.detach()])
        self.n_filled = len(self.buffer)


def swapped_cd(energy_data, energy_model, alpha):
    loss, cd, reg = ref03.ebm_loss(energy_data, energy_model, alpha)
    return -cd + alpha * reg, -cd, reg


def reg_without_model(energy_data, energy_model, alpha):
    cd = energy_data.mean() - energy_model.mean()
    reg = energy_data.pow(2).mean()
    return cd + alpha * reg, cd, reg


@pytest.mark.parametrize("check,bug", [
    (grading.check_swish, ReluSwish),
    (grading.check_cnn_energy, MaxInsteadOfLogsumexp),
    (grading.check_cnn_energy, IgnoresY),
    (grading.check_langevin_step, ascent_step),
    (grading.check_langevin_step, no_clamp_step),
    (grading.check_langevin_step, no_noise_step),
    (grading.check_langevin_step, backward_step),
    (grading.check_sampler, NeverUpdates),
    (grading.check_sampler, NoReinit),
    (grading.check_sampler, ViewNotCopy),
    (grading.check_sampler, GrowsForever),
    (grading.check_ebm_loss, swapped_cd),
    (grading.check_ebm_loss, reg_without_model),
])
def test_seeded_bug_is_caught(check, bug):
    with pytest.raises(AssertionError):
        check(bug)
