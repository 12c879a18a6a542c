# %% [markdown]
# # Assignment 4: JEM on historical-print glyphs
#
# A classifier is secretly an energy-based model. In this assignment you turn a glyph
# classifier into a *Joint Energy-based Model* (JEM, Grathwohl et al. 2020), train it to be a
# good classifier **and** a density model of letterpress glyphs, and sample new glyphs from it,
# unconditionally and class by class.
#
# **What you write** (autograded): `get_logits` and `forward` of the energy network, the
# sampler's Gaussian initialisation and its SGLD update, `px_step`, `pyx_step` and the JEM
# training step. **What you answer** (graded by hand): three short questions. Visible tests run
# here; hidden tests grade each part on other cases, in isolation.
#
# **Run profiles.** `EBM_COURSE_PROFILE`: `quick` (the default on a CPU: about 1.5 minutes for
# the whole notebook on a 2-core machine with a finished student's functions, plus a few
# minutes once to generate the glyph set; mostly classification, then a short JEM phase with
# few SGLD steps), `full` (the paper's settings on one GPU; not yet timed by the course),
# `grade` (the autograder: tiny training). The first cell prints which one runs.

# %%
import dataclasses

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from pytorch_lightning.loggers import CSVLogger

from ebm_course import config, glyphs as glyph_data, metrics, plotting
from ebm_course.export import export_net, export_path
from ebm_course.guard import DivergenceGuard, buffer_diversity
from ebm_course.jem import (JEM, accuracy, classifier_config, fit_jem, generate, jem_config,
                            make_net, make_sampler, predict_logits)
from ebm_course.models import CNNEnergy, energy_fn_of
from ebm_course.results import figure_path, write_results
from ebm_course.sampling import MCMCSampler, write_slots

PROFILE = config.get_profile()
CFG = jem_config(PROFILE)
DEVICE = config.get_device()
glyphs = glyph_data.glyphs_for_profile(PROFILE)
print(config.run_banner(glyphs.source))
config.seed_everything(CFG.seed)

# %% [markdown]
# ## 1. The data: glyphs from old books
#
# Each image is one printed letter cut from a page, 56x56 grayscale, dark ink on light paper,
# scaled to [-1, 1]. Without the original scans the course prints its own: letters set in five
# old-style book faces (EB Garamond, Cormorant Garamond, Cardo, Libre Baskerville, Crimson Text)
# with the defects of letterpress:
# ink that spreads or breaks up, blur, uneven paper, specks of dust, slightly crooked type.
# There are 42 classes (26 lowercase letters and the 16 capitals whose shape differs from their
# lowercase letter) and a seeded 70/15/15 split. Set `EBM_COURSE_GLYPHS` to a folder with one
# sub-folder per class to use real glyphs instead.

# %%
sizes = {k: len(v) for k, v in glyphs.split.items()}
print(f"{len(glyphs.images)} images, {len(glyphs.classes)} classes, split {sizes}")
train_set = glyphs.dataset("train")
x_all, y_all = train_set.tensors
per_class = torch.stack([x_all[y_all == k][:6] for k in range(len(glyphs.classes))])  # (K, 6, 1, 56, 56)
grid = per_class.transpose(0, 1).flatten(0, 1)  # rows: examples, columns: classes
plotting.show_images(grid, nrow=len(glyphs.classes), title="Six training glyphs of every class: "
                     + " ".join(glyphs.classes), save=figure_path("04_glyph_jem_classes.png"))
plt.show()

# %% [markdown]
# ## 2. A classifier is an energy model
#
# A classifier with logits $f_\theta(x) \in \mathbb{R}^K$ models $p(y \mid x) =
# \exp f_\theta(x)[y] / \sum_{y'} \exp f_\theta(x)[y']$. JEM reads the same logits as a joint
# energy, $E_\theta(x, y) = -f_\theta(x)[y]$, so that
#
# $$p_\theta(x, y) = \frac{\exp f_\theta(x)[y]}{Z_\theta}, \qquad
# p_\theta(x) = \sum_y p_\theta(x, y) = \frac{\exp \operatorname{logsumexp}_y f_\theta(x)[y]}{Z_\theta},$$
#
# i.e. $-E_\theta(x) = \operatorname{logsumexp}_y f_\theta(x)[y]$; dividing the two gives back the
# softmax classifier, because $Z_\theta$ cancels. The course's networks return the **negative
# energy**. `forward(x, y=None)` covers three cases: a plain EBM (one logit: its logsumexp is
# itself), unconditional JEM ($-E(x)$, logsumexp over classes) and class-conditional JEM
# ($-E(x, y) = f(x)[y]$).
#
# ### Exercise 1: `get_logits` and `forward` (2 + 3 points)
#
# `GlyphCNN` inherits the layers of the course's `CNNEnergy` (`self.features`, then
# `self.head`, with torch's built-in Swish, `nn.SiLU`, as the activation: this notebook does
# not depend on your Swish of assignment 3). Write `get_logits` (features, then head) and
# `forward`. Use `torch.logsumexp`,
# not `log(sum(exp(...)))`: logits of a few hundred overflow `exp`.

# %% solution id=glyph_cnn from=glyph_jem:GlyphCNN

# %% tests id=get_logits_tests points=2
"""get_logits: shape (B, K) and features followed by the head."""
torch.manual_seed(0)
net = GlyphCNN(1, 56, 8, 42)
x = torch.rand(3, 1, 56, 56) * 2 - 1
logits = net.get_logits(x)
assert logits.shape == (3, 42), f"get_logits should return (B, K) = (3, 42), got {tuple(logits.shape)}"
assert torch.allclose(logits, net.head(net.features(x)), atol=1e-6), "get_logits should be head(features(x))"
print("get_logits: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.grading import glyph_jem as grading_jem
grading_jem.check_get_logits(GlyphCNN)
### END HIDDEN TESTS

# %% tests id=forward_tests points=3
"""forward: EBM (K = 1), unconditional JEM (logsumexp), class-conditional JEM (f(x)[y])."""
torch.manual_seed(1)
net = GlyphCNN(1, 56, 8, 42)
x = torch.rand(4, 1, 56, 56) * 2 - 1
logits = net.get_logits(x)
assert net(x).shape == (4,), "forward(x) should return one neg_energy per image, shape (B,)"
assert torch.allclose(net(x), torch.logsumexp(logits, 1), atol=1e-5), "forward(x) = logsumexp of the logits"
y = torch.tensor([0, 41, 7, 7])
assert torch.allclose(net(x, y), logits[torch.arange(4), y], atol=1e-5), "forward(x, y) = f(x)[y]"
ebm = GlyphCNN(1, 56, 8, 1)
assert torch.allclose(ebm(x), ebm.get_logits(x)[:, 0], atol=1e-5), "with K = 1, forward(x) is the one logit"
print("forward: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.grading import glyph_jem as grading_jem
grading_jem.check_forward(GlyphCNN)
### END HIDDEN TESTS

# %% [markdown]
# ### Question 1 (2 points)
#
# Add the same constant $c$ to all $K$ logits of one image. What happens to the classifier's
# prediction $p(y \mid x)$, and what happens to $-E(x)$? What does this tell you about the
# information that a plain classifier throws away and JEM uses?

# %% [markdown] written id=q_logit_shift points=2
# The softmax is unchanged (the $e^c$ cancels), so $p(y \mid x)$ and the prediction stay the
# same; $-E(x) = \operatorname{logsumexp} f(x)$ grows by exactly $c$, so $p(x)$ is multiplied by
# $e^c$. A softmax classifier is blind to this one degree of freedom per input: the *shift* of
# the logits (a constant added to all of them; scaling them, by contrast, does change the
# softmax). JEM trains exactly that free direction to model the density of the inputs, at no
# cost to the classifier.

# %% [markdown]
# ## 3. Sampling with SGLD
#
# Training needs samples $x \sim p_\theta(x)$. As in assignment 3 we use SGLD,
#
# $$x_{t+1} = \operatorname{clamp}\big(x_t - \eta \, \nabla_x E_\theta(x_t) + \sigma \varepsilon_t\big),
# \qquad \varepsilon_t \sim \mathcal{N}(0, I),$$
#
# with JEM's settings (step $\eta = 1$, noise $\sigma = 0.01$, no gradient clipping), and a
# replay buffer of persistent chains. One change from assignment 3: chains that (re)start do so
# from **small Gaussian noise** $\mathcal{N}(0, 0.01)$ (standard deviation 0.1, a mid-gray image),
# not uniform noise, as in the follow-ups to JEM that made its training stable.
#
# ### Exercise 2: the sampler's initialisation (2 points)
#
# Draw `n` fresh chain starts of shape `sample_shape` from $\mathcal{N}(0, \text{init\_std}^2)$
# **with the given generator** (the sampler's own: chain starts then do not depend on the global
# seed, and a rerun gives the same buffer).

# %% solution id=gaussian_init from=glyph_jem:gaussian_init

# %% tests id=gaussian_init_tests points=2
"""Shape, mean 0, std init_std, reproducible from the generator."""
a = gaussian_init(2000, (1, 8, 8), 0.1, torch.Generator().manual_seed(0))
assert a.shape == (2000, 1, 8, 8), f"expected shape (2000, 1, 8, 8), got {tuple(a.shape)}"
assert abs(a.mean().item()) < 0.01 and abs(a.std().item() - 0.1) < 0.005, "starts should be N(0, 0.1^2)"
assert torch.equal(a, gaussian_init(2000, (1, 8, 8), 0.1, torch.Generator().manual_seed(0))), \
    "the same generator seed should give the same starts"
print("gaussian_init: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.grading import glyph_jem as grading_jem
grading_jem.check_gaussian_init(gaussian_init)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: the SGLD update (3 points)
#
# One step of the update above for an `energy_fn` returning $E(x)$, shape (B,). Differentiate
# with respect to `x` only (`torch.autograd.grad`), inside `torch.enable_grad()` (Lightning runs
# validation under `no_grad`); clip each gradient entry to `[-grad_clip, grad_clip]` when
# `grad_clip` is given; clamp to `clamp = (low, high)` when given; return a detached tensor and
# leave `x` unchanged.

# %% solution id=sgld_step from=glyph_jem:sgld_step

# %% tests id=sgld_step_tests points=3
"""A noise-free step on a quadratic energy moves toward its minimum by step_size * gradient."""
quadratic = lambda z: 0.5 * z.flatten(1).pow(2).sum(1)  # E(x) = |x|^2 / 2, gradient x
x = torch.full((2, 1, 4, 4), 0.8)
with torch.no_grad():
    x_new = sgld_step(quadratic, x, 0.25, 0.0)
assert torch.allclose(x_new, torch.full_like(x, 0.6)), "x - 0.25 * x should be 0.6 everywhere"
assert not x_new.requires_grad, "return a detached tensor"
assert torch.equal(x, torch.full((2, 1, 4, 4), 0.8)), "do not modify x in place"
assert torch.allclose(sgld_step(quadratic, x, 5.0, 0.0, None, (-1.0, 1.0)), torch.full_like(x, -1.0)), "clamp"
assert torch.allclose(sgld_step(quadratic, x, 1.0, 0.0, 0.1), torch.full_like(x, 0.7)), "grad_clip"
print("sgld_step: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.grading import glyph_jem as grading_jem
grading_jem.check_sgld_step(sgld_step)
### END HIDDEN TESTS

# %% [markdown]
# The sampler keeps JEM's replay buffer: `buffer_size` persistent chains that all start as
# noise; each iteration continues a random batch of them (a share `reinit_prob` restarted from
# fresh noise) and writes the results back to their slots. The package's `MCMCSampler` runs the
# chains; we plug your two pieces into it:

# %%
class GlyphSampler(MCMCSampler):
    """JEM's fixed-size buffer of persistent chains; fresh chains from your gaussian_init."""

    def init_noise(self, n: int) -> torch.Tensor:
        return gaussian_init(n, self.sample_shape, self.init_std, self.generator).to(self.buffer.device)

    def _init_chains(self, batch_size: int):
        """Chain starts (B, C, H, W) and the slots (B,) they came from."""
        if self.n_filled < self.buffer_size:  # the first call fills the whole buffer with noise
            self.buffer[self.n_filled:] = self.init_noise(self.buffer_size - self.n_filled)
            self.n_filled = self.buffer_size
        idx = torch.randint(self.buffer_size, (batch_size,), generator=self.generator)
        restart = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x_init = self.buffer[idx.to(self.buffer.device)].clone()
        x_init[restart.to(x_init.device)] = self.init_noise(int(restart.sum()))
        return x_init, idx

    def _update_buffer(self, x_model: torch.Tensor, idx: torch.Tensor) -> None:
        """The chains go back to the slots they were drawn from."""
        write_slots(self.buffer, idx, x_model.detach())  # a repeated slot: the last chain wins


sampler = make_sampler(CFG, step_fn=sgld_step, sampler_cls=GlyphSampler)
print(f"buffer of at most {sampler.buffer_size} samples, {sampler.n_steps} SGLD steps per "
      f"iteration, step {sampler.step_size}, noise {sampler.noise_std}, init N(0, {sampler.init_std}^2)")

# %% [markdown]
# ## 4. The JEM objective
#
# JEM maximises $\log p_\theta(x, y) = \log p_\theta(x) + \log p_\theta(y \mid x)$.
#
# * **`pyx_step`**: $-\log p_\theta(y \mid x)$ is the cross-entropy of the logits; also return the
#   batch accuracy.
# * **`px_step`**: $-\log p_\theta(x)$ has the contrastive-divergence gradient of assignment 3.
#   Draw $B$ samples `x_model = sampler.sample(net, B)`, compute $E(x) = -$`net(x)` for data and
#   samples and return
#   `loss = mean E(x_data) - mean E(x_model) + alpha * (mean E(x_data)^2 + mean E(x_model)^2)`,
#   with the two energy tensors.
# * **`jem_step`**, the training step: `px_weight * loss_px + pyx_weight * loss_pyx`, calling the
#   two functions it is given; with `px_weight == 0` it skips `px_step` entirely (no SGLD: the
#   cheap classifier-only phase of the quick profile) and reports `loss_px = 0`.

# %% solution id=pyx_step from=glyph_jem:pyx_step

# %% tests id=pyx_step_tests points=2
"""Cross-entropy and accuracy on a net with known logits."""
class FixedLogits(torch.nn.Module):
    def get_logits(self, x):
        return torch.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
loss, acc = pyx_step(FixedLogits(), torch.zeros(2, 1, 4, 4), torch.tensor([0, 0]))
want = 0.5 * (F.cross_entropy(torch.tensor([[2.0, 0.0]]), torch.tensor([0])) + F.cross_entropy(torch.tensor([[0.0, 2.0]]), torch.tensor([0])))
assert torch.allclose(loss, want, atol=1e-6), f"expected the mean cross-entropy {want.item():.4f}, got {float(loss):.4f}"
assert abs(float(acc) - 0.5) < 1e-6, "one of the two predictions is right: acc should be 0.5"
print("pyx_step: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.grading import glyph_jem as grading_jem
grading_jem.check_pyx_step(pyx_step)
### END HIDDEN TESTS

# %% solution id=px_step from=glyph_jem:px_step

# %% tests id=px_step_tests points=4
"""px_step draws one batch from the sampler and combines the energies as specified."""
class CountingSampler(GlyphSampler):
    def sample(self, net, batch_size, *args, **kwargs):
        self.draws.append(batch_size)
        return super().sample(net, batch_size, *args, **kwargs)
torch.manual_seed(0)
tiny = GlyphCNN(1, 12, 8, 3)
tiny_sampler = CountingSampler((1, 12, 12), 16, 0.05, 2, 1.0, 0.01, None, init="gaussian", step_fn=sgld_step)
tiny_sampler.draws = []
x_data = torch.rand(4, 1, 12, 12) * 2 - 1
loss, energy_data, energy_model = px_step(tiny, tiny_sampler, x_data, 0.1)
assert energy_data.shape == (4,) and energy_model.shape == (4,), "energies should have shape (B,)"
assert tiny_sampler.draws == [4], f"px_step should draw B = 4 samples from the sampler, once; drew {tiny_sampler.draws}"
assert torch.allclose(energy_data, -tiny(x_data), atol=1e-5), "energy_data = -net(x_data)"
want = energy_data.mean() - energy_model.mean() + 0.1 * (energy_data.pow(2).mean() + energy_model.pow(2).mean())
assert torch.allclose(loss, want, atol=1e-5), "loss = cd + alpha * reg"
loss.backward()
assert all(p.grad is not None for p in tiny.parameters()), "the loss must reach the parameters"
print("px_step: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.grading import glyph_jem as grading_jem
grading_jem.check_px_step(px_step)
### END HIDDEN TESTS

# %% solution id=jem_step from=glyph_jem:jem_step

# %% tests id=jem_step_tests points=3
"""The weighted sum of the two parts, and no SGLD when px_weight is 0."""
fake_px = lambda net, sampler, x, alpha: (torch.tensor(2.0), None, None)
fake_pyx = lambda net, x, y: (torch.tensor(3.0), torch.tensor(1.0))
loss, loss_px, loss_pyx, acc = jem_step(None, None, torch.zeros(2, 1, 4, 4), torch.zeros(2), 0.1, 0.5, 2.0, fake_px, fake_pyx)
assert abs(float(loss) - 7.0) < 1e-6, f"0.5 * 2 + 2.0 * 3 = 7, got {float(loss)}"
def must_not_run(*args):
    raise AssertionError("px_step must not run when px_weight is 0")
loss, loss_px, _, _ = jem_step(None, None, torch.zeros(2, 1, 4, 4), torch.zeros(2), 0.1, 0.0, 1.0, must_not_run, fake_pyx)
assert abs(float(loss) - 3.0) < 1e-6 and abs(float(loss_px)) < 1e-6
print("jem_step: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.grading import glyph_jem as grading_jem
grading_jem.check_jem_step(jem_step)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Train it
#
# `JEM` (in the package) is a thin Lightning module around *your* pieces: it adds a little
# Gaussian noise to each batch (JEM's 0.03), calls your `jem_step` with your `px_step` and
# `pyx_step`, and logs the validation accuracy. In the quick profile the first
# `px_start_step` steps train the classifier alone, at a classifier's learning rate; then
# $\log p(x)$ joins (weight `px_weight`) with a few SGLD steps per iteration, at JEM's lower
# rate `px_lr`.
#
# It trains under the `DivergenceGuard` of assignment 3. `JEM` logs the mean energies your
# `px_step` returns (`energy_data`, `energy_model`), so the guard sees a non-finite loss, a
# runaway gap between data and sample energies, or a buffer collapsed onto one image
# (`buffer_diversity`), and then restores the last healthy weights, optimiser and buffer,
# re-seeds and halves the learning rate. Its tolerated gap is wider than for MNIST: a healthy
# quick run here ends with data about 30 below its samples, and the gap grows with training.

# %%
print(CFG)
model = JEM(CFG, net=make_net(CFG, GlyphCNN), sampler=sampler, px_step_fn=px_step,
            pyx_step_fn=pyx_step, step_fn=jem_step)
guard = DivergenceGuard(every_n_steps=100, seed=CFG.seed, max_energy_gap=200,
                        quality_fn=buffer_diversity, min_quality=0.05, quality_every_n_steps=50)
logger = CSVLogger(str(config.data_root() / "runs"), name="04_glyph_jem") if PROFILE != "grade" else False
fit_jem(CFG, glyphs, model, callbacks=[guard], enable_progress_bar=PROFILE != "grade", logger=logger)
print(f"divergence guard: {len(guard.recoveries)} recoveries {guard.reasons}; buffer diversity "
      f"{buffer_diversity(model):.3f}")
if logger:
    plotting.training_dynamics(logger.log_dir, {"buffer diversity": guard.quality},
                               title="JEM training: what the logs say",
                               save=figure_path("04_glyph_jem_dynamics.png"))
    plt.show()
net = model.net.to(DEVICE).eval()
test_set = glyphs.dataset("test")
test_acc = accuracy(net, test_set)
x_test = test_set.tensors[0]
x_noise = glyph_data.ood_uniform_noise(len(x_test))
score_test, score_noise = predict_logits(net, x_test).logsumexp(1), predict_logits(net, x_noise).logsumexp(1)
auroc_noise = roc_auc_score([1] * len(x_test) + [0] * len(x_noise), torch.cat([score_test, score_noise]).numpy())
print(f"test accuracy {test_acc:.4f}; AUROC of -E(x), test glyphs (1) vs uniform noise (0): {auroc_noise:.4f}")

# %% [markdown]
# Assignment 5 compares this JEM with a plain classifier: the same network, data, steps and
# learning-rate schedule, `px_weight = 0` (your `jem_step` then skips `px_step`: cross-entropy
# only). Both are exported under the data root for notebook 5, as programs that need none of
# your code to run.

# %%
clf_cfg = classifier_config(CFG)
clf_model = JEM(clf_cfg, net=make_net(clf_cfg, GlyphCNN), sampler=sampler, px_step_fn=px_step,
                pyx_step_fn=pyx_step, step_fn=jem_step)
fit_jem(clf_cfg, glyphs, clf_model, enable_progress_bar=PROFILE != "grade")
clf_net = clf_model.net.to(DEVICE).eval()
clf_test_acc = accuracy(clf_net, test_set)
print(f"classifier baseline: test accuracy {clf_test_acc:.4f}")
if PROFILE != "grade":  # the autograder writes no files
    for name, trained, cfg, acc in (("04_glyph_jem", net, CFG, test_acc),
                                    ("05_classifier", clf_net, clf_cfg, clf_test_acc)):
        meta = {"config": dataclasses.asdict(cfg), "profile": PROFILE, "name": name,
                "test_accuracy": round(acc, 4)}
        print("exported", export_net(trained, export_path(name, PROFILE), meta))
    net.to(DEVICE)

# %% [markdown]
# ## 6. Generating glyphs
#
# Fresh chains from $\mathcal{N}(0, 0.01)$, run for $K$ SGLD steps, much longer than in
# training. First a few chains over the steps, then a grid of final samples, then
# class-conditional samples: the same SGLD on $E(x, y) = -f(x)[y]$ for a fixed class per row.
# (After a few CPU minutes expect blurry, ink-on-paper blobs with letter-like strokes; the
# `full` profile gives recognisable glyphs.)

# %%
K = {"full": 512, "quick": 256, "grade": 8}[PROFILE]
keep = sorted({0, 16, 32, 64, 128, 256, K} & set(range(K + 1)))
x_gen, kept = generate(net, 8, K, step_size=CFG.step_size, noise_std=CFG.noise_std,
                       init_std=CFG.init_std, keep_steps=keep, seed=CFG.seed, step_fn=sgld_step)
plotting.show_chain(kept, title=f"Fresh chains over {K} SGLD steps", save=figure_path("04_glyph_jem_chain.png"))
plt.show()
n_grid = {"grade": 8}.get(PROFILE, 48)
x_grid = generate(net, n_grid, K, seed=CFG.seed + 1, step_size=CFG.step_size, noise_std=CFG.noise_std,
                  step_fn=sgld_step)
plotting.show_images(x_grid, nrow=12, title=f"{n_grid} samples after K={K} steps",
                     save=figure_path("04_glyph_jem_samples.png"))
plt.show()
show_classes = [glyphs.classes.index(c) for c in "aegstABGRQ" if c in glyphs.classes][:{"grade": 2}.get(PROFILE, 10)]
n_per = {"grade": 2}.get(PROFILE, 8)
y_cond = torch.tensor(show_classes).repeat_interleave(n_per)
x_cond = generate(net, len(y_cond), K, y=y_cond, seed=CFG.seed + 2, step_size=CFG.step_size,
                  noise_std=CFG.noise_std, step_fn=sgld_step)
p_cond = predict_logits(net, x_cond).softmax(1)[torch.arange(len(y_cond)), y_cond]
plotting.show_images(x_cond, nrow=n_per, title="Class-conditional samples, one class per row: "
                     + " ".join(glyphs.classes[k] for k in show_classes),
                     save=figure_path("04_glyph_jem_conditional.png"))
plt.show()
print(f"mean p(y | x) of the class-conditional samples under the model: {p_cond.mean():.3f}")

# %% [markdown]
# ### How good are the samples? An independent judge
#
# The model's own $p(y \mid x)$ of its class-conditional samples says little: SGLD climbed
# exactly that quantity, so it is near 1 by construction. A separate judge is fairer: a small
# classifier that `ebm_course.metrics` trains once on the training split (and caches), which
# never saw a generated image. For the unconditional grid it gives the Inception Score (how
# confident and how varied the judge's labels are; at most 42 here), the share of samples it
# recognises with confidence above 0.9, how many classes appear, and the Frechet distance to
# real test glyphs in the judge's feature space (lower is better). The second row scores as
# many real test glyphs the same way: that is the best a model could get. For the
# class-conditional rows: how often the judge names the class we asked for.
# The grids are small, so read these as rough numbers.

# %%
glyph_quality = {}
if PROFILE != "grade":  # the autograder trains no judge
    judge = metrics.glyph_classifier(glyphs)
    x_test = glyphs.dataset("test", n=1000).tensors[0]
    reference = x_test[500:]  # real glyphs the Frechet distance compares against
    # the real baseline has as many images as the grid: FD is biased upwards for small sets
    glyph_quality = {"unconditional": metrics.sample_quality(judge, x_grid, reference),
                     "real test glyphs": metrics.sample_quality(judge, x_test[:len(x_grid)],
                                                                reference)}
    judged = metrics.classify(judge, x_cond)[0].argmax(1)
    glyph_quality["conditional_target_share"] = float((judged == y_cond).float().mean())
    for name, q in glyph_quality.items():
        if isinstance(q, dict):
            q.pop("class_counts")
            print(f"{name:>18}: " + ", ".join(f"{k} {v:.3g}" for k, v in q.items()))
    print(f"class-conditional samples the judge labels as the requested class: "
          f"{glyph_quality['conditional_target_share']:.1%}")

# %% [markdown]
# ### Question 2 (2 points)
#
# The quick profile first trains the network as a plain classifier and only then adds
# $\log p(x)$. Name one reason this helps on a CPU budget, and one thing it costs (what does the
# network learn, or not learn, in the classifier-only phase?).

# %% [markdown] written id=q_warm_start points=2
# It helps because a classifier step is ~an order of magnitude cheaper than a JEM step (no SGLD
# chain), so within a fixed budget the network first learns useful features and a good
# classifier, and the short JEM phase only has to shape the logsumexp direction; starting from
# a trained classifier is also more stable than starting JEM from scratch. The cost: during the
# classifier phase nothing constrains the overall logit scale, so $-E(x)$ is arbitrary (noise
# or OOD inputs can receive high $-E$); the short JEM phase with few SGLD steps then only fixes
# the regions the short chains reach, so samples stay poor and the density is only coarse.

# %% [markdown]
# ### Question 3 (2 points)
#
# JEM is known to diverge: the energies run off and the accuracy collapses. Give two signs in
# the logged values that it is happening, and two remedies.

# %% [markdown] written id=q_divergence_jem points=2
# Signs: `loss_px` becomes very large in magnitude or oscillates wildly; the energies of data
# and samples drift far from 0 (the L2 term explodes); the buffer fills with saturated images
# (all black/white); training accuracy drops suddenly and `loss_pyx` rises. Remedies (users of
# the JEM code confirm these): restart from the last good checkpoint with a new seed; lower the
# learning rate; more SGLD steps (better samples); an L2 energy penalty of about 0.1; more
# restarts from noise, or warm-starting from a trained classifier.

# %%
results = {"profile": PROFILE, "device": str(DEVICE), "data": glyphs.source,
           "test_accuracy": round(test_acc, 4), "auroc_noise_energy": round(auroc_noise, 4),
           "classifier_test_accuracy": round(clf_test_acc, 4), "config": dataclasses.asdict(CFG),
           "n_train": len(glyphs.split["train"]), "generation_steps": K,
           "conditional_p_y_given_x": round(float(p_cond.mean()), 4),
           "sample_quality": glyph_quality, "guard_recoveries": len(guard.recoveries),
           "buffer_diversity": round(buffer_diversity(model), 4)}
print(results)
if PROFILE != "grade":
    print("wrote", write_results("04_glyph_jem", results))
