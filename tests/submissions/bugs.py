"""Seeded bugs: plausible wrong student implementations, one per line of ``BUGS``.

Each must FAIL the hidden check that grades its exercise (``tests/test_graders_discriminate.py``).
They are the mistakes students make (and peers' trackers report): sign errors, a missing noise
term, a missing clamp, a buffer never written back, softmax where logits belong, max where
logsumexp belongs, ``y`` ignored, the wrong regulariser, AUROC labels swapped, an off-by-one cell
area, the NCE labels the wrong way round. Signatures are the notebooks' (course/src/*.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn import metrics as skm

from ebm_course import jem, models, ood, sampling, toy, toy_train
from ebm_course.instructor.grading import glyph_jem, mnist_ebm, theory
from ebm_course.instructor.grading import ood as ood_checks
from ebm_course.instructor.grading import toy as toy_checks
from ebm_course.instructor.reference import glyph_jem as ref04, mnist_ebm as ref03, ood as ref05, theory as ref01, toy as ref02  # noqa: F401

# ---------------------------------------------------------------- 01_theory


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


# ---------------------------------------------------------------- 02_toy_densities


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


# ---------------------------------------------------------------- 03_mnist_ebm


class SwishTanh(torch.nn.Module):
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


# ---------------------------------------------------------------- 04_glyph_jem


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


# ---------------------------------------------------------------- 05_ood_detection


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


def metrics_auroc_labels_swapped(scores_id, scores_ood):
    """AUROC with OOD labelled 1 (AUPR and FPR95 right)."""
    out = ref05.ood_metrics(scores_id, scores_ood)
    labels = np.r_[np.zeros(len(scores_id)), np.ones(len(scores_ood))]
    out["auroc"] = float(skm.roc_auc_score(labels, np.r_[scores_id, scores_ood]))
    return out


def metrics_sigmoid_scores(scores_id, scores_ood):
    """Squashes scores with a sigmoid first (torchmetrics' binary AUROC does): ties at 1."""
    sig = lambda s: 1 / (1 + np.exp(-np.asarray(s, float)))  # noqa: E731
    return ref05.ood_metrics(np.round(sig(scores_id), 6), np.round(sig(scores_ood), 6))


def metrics_fpr_on_id(scores_id, scores_ood):
    """FPR95 counted on the ID scores (that is 1 - TPR)."""
    out = ref05.ood_metrics(scores_id, scores_ood)
    t = ref05.threshold_at_tpr(scores_id, 0.95)
    out["fpr95"] = float(np.mean(np.asarray(scores_id) < t))
    return out


def threshold_off_by_one(scores_id, tpr=0.95):
    """Takes the k+1-th largest score: accepts one ID input too many."""
    ranked = np.sort(np.asarray(scores_id, float))[::-1]
    k = int(np.ceil(tpr * len(ranked)))
    return float(ranked[min(k, len(ranked) - 1)])


# (check, wrong implementation): each must fail its check.
BUGS = [
    (theory.check_gmm_energy, gmm_ignores_weights),
    (theory.check_gmm_energy, gmm_std_as_variance),
    (theory.check_grid_log_partition, log_z_cell_off_by_one),
    (theory.check_grid_log_partition, log_z_area_ignores_dim),
    (theory.check_cd_gradient, cd_gradient_no_negative_phase),
    (theory.check_ula_chain, ula_no_noise),
    (theory.check_ula_chain, ula_noise_std_2eps),
    (theory.check_histogram_tv, tv_counts_outside_samples),
    (toy_checks.check_grid_log_likelihood, grid_ll_adds_log_z),
    (toy_checks.check_cd_loss, cd_loss_reg_data_only),
    (toy_checks.check_cd_loss, cd_loss_reg_abs),
    (toy_checks.check_exact_sm_loss, sm_loss_no_half),
    (toy_checks.check_dsm_loss, dsm_ignores_given_noise),
    (toy_checks.check_dsm_loss, dsm_target_over_sigma_squared),
    (toy_checks.check_nce_loss, nce_labels_swapped),
    (toy_checks.check_sgld_sample, sgld_no_clip),
    (toy_checks.check_sgld_sample, sgld_noise_times_sqrt2),
    (mnist_ebm.check_swish, SwishTanh),
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
    (glyph_jem.check_class_gaussian_init, class_init_std_not_factors),
    (glyph_jem.check_expected_calibration_error, ece_accuracy_of_labels_only),
    (glyph_jem.check_px_step, px_step_energy_sign),
    (glyph_jem.check_px_step, px_step_reg_data_only),
    (glyph_jem.check_pyx_step, pyx_softmax_into_cross_entropy),
    (glyph_jem.check_pyx_step, pyx_accuracy_wrong_axis),
    (glyph_jem.check_jem_step, jem_step_weights_swapped),
    (glyph_jem.check_run_chain, run_chain_without_noise),
    (ood_checks.check_energy_score, energy_score_is_energy),
    (ood_checks.check_max_softmax_score, msp_softmax_over_batch),
    (ood_checks.check_grad_norm_score, grad_norm_of_logit_sum),
    (ood_checks.check_grad_norm_score, grad_norm_squared),
    (ood_checks.check_ood_metrics, metrics_auroc_labels_swapped),
    (ood_checks.check_ood_metrics, metrics_sigmoid_scores),
    (ood_checks.check_ood_metrics, metrics_fpr_on_id),
    (ood_checks.check_threshold_at_tpr, threshold_off_by_one),
]
