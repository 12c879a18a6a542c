# %% [markdown]
# # Assignment 4: JEM on historical-print glyphs
#
# A classifier is secretly an energy-based model. In this assignment you turn a glyph
# classifier into a *Joint Energy-based Model* (JEM, Grathwohl et al. 2020), train it to be a
# good classifier **and** a density model of letterpress glyphs, and sample new glyphs from it,
# unconditionally and class by class.
#
# **What you write** (autograded): the chains' informative start (a per-class Gaussian),
# `px_step`, `pyx_step`, the JEM training step, the expected calibration error and
# `run_chain`, the instrumented SGLD chain that generates every glyph of section 7 and records
# its energy and the size of its input gradient at each step. The energy network is given: it
# is your `CNNEnergy` of assignment 3. **What you answer** (graded by hand): five short
# questions. Visible tests run here; hidden tests grade each part on other cases, in isolation.
#
# **Run profiles.** `EBM_COURSE_PROFILE`: `quick` (the default on a CPU: about 2.5 minutes for
# the whole notebook on a 2-core CPU with a finished student's functions, plus a few
# minutes once to generate the glyph set and train the judge of section 7; mostly
# classification, then a short JEM phase with few SGLD steps), `full` (the paper's settings on
# one GPU; not yet timed by the course), `grade` (the autograder: tiny training). The first
# cell prints which one runs.

# %%
import dataclasses

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display
from sklearn.metrics import roc_auc_score

from pytorch_lightning.loggers import CSVLogger

from ebm_course import config, glyphs as glyph_data, metrics, plotting
from ebm_course.export import export_net, export_path
from ebm_course.guard import DivergenceGuard, buffer_diversity
from ebm_course.jem import (JEM, accuracy, classifier_config, fit_class_gaussians, fit_jem,
                            jem_config, make_net, make_sampler, predict_logits)
from ebm_course.models import CNNEnergy, energy_fn_of
from ebm_course.results import figure_path, results_dir, write_results
from ebm_course.sampling import MCMCSampler, sampling_mode, write_slots

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
# The network is your `CNNEnergy` of assignment 3 (`get_logits`: features, then head;
# `forward`: the three cases, with a stable `torch.logsumexp`), given here, with torch's
# built-in Swish, `nn.SiLU`, as the activation (the package's default): this notebook does not
# depend on your code of assignment 3.

# %% given from=glyph_jem:GlyphCNN

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
# ## 3. Sampling with SGLD, from an informed start
#
# Training needs samples $x \sim p_\theta(x)$. As in assignment 3 we use SGLD,
#
# $$x_{t+1} = \operatorname{clamp}\big(x_t - \eta \, \nabla_x E_\theta(x_t) + \sigma \varepsilon_t\big),
# \qquad \varepsilon_t \sim \mathcal{N}(0, I),$$
#
# with JEM's settings (step $\eta = 1$, noise $\sigma = 0.01$, no gradient clipping), and a
# replay buffer of persistent chains. The step is the `langevin_step` you wrote in assignment 3;
# here it is given:

# %% given from=glyph_jem:sgld_step

# %% [markdown]
# **Where do chains start?** JEM started them from uniform noise, later work from small
# Gaussian noise of standard deviation 0.1, $\mathcal{N}(0, 0.1^2)$ per pixel (a mid-gray
# image). A short chain cannot travel far from there: section 7 scores what a few steps from
# this noise give the network trained here, and its judge recognises almost nothing (an
# Inception Score of 1.0, the value of a single repeated blob). JEM++ (Yang & Ji 2021) starts
# every chain from an **informative initialisation** instead: a Gaussian fitted to the training
# images of one class, drawn for a random class. Its draws are blurry glyphs, so SGLD only has
# to sharpen them, and the energy is trained where the data are.
#
# A full 3136 x 3136 covariance per class would be large (42 of them: 1.6 GB), so
# `fit_class_gaussians` keeps the top $r$ principal directions of each class: class $k$ is
# $\mathcal{N}(\mu_k, F_k F_k^\top)$ with $F_k \in \mathbb{R}^{D \times r}$ (the principal
# directions scaled by their standard deviations). A draw is $x = \mu_y + F_y z$ with
# $z \sim \mathcal{N}(0, I_r)$.
#
# ### Exercise 1: class-Gaussian chain starts (3 points)
#
# Draw `n` starts: the class `y` of each uniformly over the $K$ classes (unless the labels `y`
# are given, as for class-conditional sampling), then $x = \mu_y + F_y z$, one independent
# $z \sim \mathcal{N}(0, I_r)$ per start. `means` is (K, D), `factors` (K, D, r); return
# (n, D) in the dtype of the inputs (the sampler reshapes and clamps). Draw every random number
# **from the given generator** (the sampler's own: chain starts then do not depend on the
# global seed, and a rerun gives the same buffer); `n` may be 0 (no chain restarts).

# %% solution id=class_gaussian_init from=glyph_jem:class_gaussian_init

# %% tests id=class_gaussian_init_tests points=3
"""Shape, the class of each start, its mean and covariance, reproducible from the generator."""
means = torch.tensor([[-5.0, -5.0, -5.0], [5.0, 5.0, 5.0]])
factors = torch.tensor([[[1.0], [0.0], [0.0]], [[0.0], [2.0], [2.0]]])  # (K=2, D=3, r=1)
a = class_gaussian_init(4000, means, factors, torch.Generator().manual_seed(0))
assert a.shape == (4000, 3), f"expected shape (n, D) = (4000, 3), got {tuple(a.shape)}"
first = a[:, 0] < 0  # class 0 lies near -5, class 1 near +5
assert abs(first.float().mean() - 0.5) < 0.05, "classes should be drawn uniformly"
assert abs(a[first, 0].std() - 1) < 0.1 and a[first, 1:].std() < 1e-5, "class 0: spread 1 along the first axis only"
assert torch.allclose(a[~first, 1], a[~first, 2]) and abs(a[~first, 1].std() - 2) < 0.15, "class 1: x = mean + factors @ z"
y = torch.tensor([1, 1, 0])
assert (class_gaussian_init(3, means, factors, torch.Generator().manual_seed(0), y)[:, 0] > 0).tolist() == [True, True, False], "use the given y"
assert torch.equal(a, class_gaussian_init(4000, means, factors, torch.Generator().manual_seed(0))), \
    "the same generator seed should give the same starts"
print("class_gaussian_init: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.glyph_jem import checks as grading_jem
grading_jem.check_class_gaussian_init(class_gaussian_init)
### END HIDDEN TESTS

# %% [markdown]
# The Gaussians of the training glyphs, and a draw of yours from each of ten classes (top)
# against small Gaussian noise, JEM's start (bottom):

# %%
class_gaussians = fit_class_gaussians(x_all, y_all, len(glyphs.classes), CFG.init_rank)
gen = torch.Generator().manual_seed(CFG.seed)
y_show = torch.arange(10) * len(glyphs.classes) // 10
starts = class_gaussian_init(10, class_gaussians.means, class_gaussians.factors, gen, y_show)
starts = torch.cat([starts.clamp(-1, 1).view(10, 1, 56, 56), torch.randn(10, 1, 56, 56, generator=gen) * CFG.init_std])
plotting.show_images(starts, nrow=10, title=f"Chain starts: class Gaussians (rank {CFG.init_rank}) "
                     "of " + " ".join(glyphs.classes[k] for k in y_show) + "; below: N(0, 0.1^2)")
plt.show()

# %% [markdown]
# The sampler keeps JEM's replay buffer: `buffer_size` persistent chains that all start from
# the class Gaussians; each iteration continues a random batch of them (a share `reinit_prob`
# restarted afresh) and writes the results back to their slots. The package's `MCMCSampler`
# runs the chains; we plug your two pieces into it:

# %% given from=glyph_jem:GlyphSampler
sampler = make_sampler(CFG, step_fn=sgld_step, sampler_cls=GlyphSampler, class_gaussians=class_gaussians)
print(f"buffer of at most {sampler.buffer_size} samples, {sampler.n_steps} SGLD steps per "
      f"iteration, step {sampler.step_size}, noise {sampler.noise_std}, chains start from "
      + ("the class Gaussians" if sampler.class_gaussians is not None else f"N(0, {sampler.init_std}^2)"))

# %% [markdown]
# ## 4. The JEM objective
#
# JEM maximises $\log p_\theta(x, y) = \log p_\theta(x) + \log p_\theta(y \mid x)$.
#
# ### Exercise 2: the objective (2 + 4 + 3 points)
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
from ebm_course.instructor.assignments.glyph_jem import checks as grading_jem
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
from ebm_course.instructor.assignments.glyph_jem import checks as grading_jem
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
from ebm_course.instructor.assignments.glyph_jem import checks as grading_jem
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
# re-seeds and halves the learning rate. Its tolerated gap is wider than for MNIST. Watch the
# sign of the gap in the logs: the reference quick run ends with its samples *below* the data
# in energy, not above: the chains find images off the data that the model rates more likely
# than real glyphs (section 7 follows longer chains down that slope).

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
# ## 6. Is JEM's confidence honest? Calibration
#
# A classifier is *calibrated* when its confidence matches its accuracy: of the glyphs it
# labels with confidence 0.8, 80% are right. Cross-entropy training tends to make networks
# over-confident; JEM's paper reports that the $\log p(x)$ term makes them better calibrated.
# The **expected calibration error** measures the mismatch: sort the test inputs into
# `n_bins` equal-width bins $(\frac{b}{n}, \frac{b+1}{n}]$ of their confidence
# $\max_y p(y \mid x)$ (a confidence of 0 goes to the first bin), and sum over the bins
#
# $$\mathrm{ECE} = \sum_b \frac{|B_b|}{N} \, \big|\operatorname{acc}(B_b) - \operatorname{conf}(B_b)\big|,$$
#
# with $\operatorname{acc}(B_b)$ the share of the bin's inputs whose *argmax* class is the label
# and $\operatorname{conf}(B_b)$ their mean confidence. Empty bins count nothing.
#
# ### Exercise 3: the expected calibration error (3 points)
#
# `probs` (N, K) are class probabilities, `labels` (N,) the true classes; return a Python float.

# %% solution id=expected_calibration_error from=glyph_jem:expected_calibration_error

# %% tests id=ece_tests points=3
"""ECE of hand-made cases: a calibrated bin, an over-confident one, two bins weighted by size."""
def probs_with(conf, k=4):  # the top class is 0 with probability conf
    return torch.cat([conf[:, None], ((1 - conf) / (k - 1))[:, None].expand(-1, k - 1)], 1)
right = torch.tensor([0] * 8 + [1] * 2)  # 8 of 10 right
assert abs(expected_calibration_error(probs_with(torch.full((10,), 0.8)), right, 10)) < 1e-6, "calibrated: ECE 0"
half = torch.tensor([0] * 5 + [1] * 5)
got = expected_calibration_error(probs_with(torch.full((10,), 0.9)), half, 10)
assert abs(got - 0.4) < 1e-6, f"confidence 0.9, accuracy 0.5: ECE 0.4, got {got}"
conf = torch.tensor([0.9] * 6 + [0.3] * 4)  # bin 0.9: 6 inputs, all right; bin 0.3: 4 inputs, 1 right
labels = torch.tensor([0] * 6 + [0, 1, 1, 1])
want = 0.6 * abs(1.0 - 0.9) + 0.4 * abs(0.25 - 0.3)
got = expected_calibration_error(probs_with(conf), labels, 10)
assert abs(got - want) < 1e-6, f"expected {want:.3f} (each bin weighted by its share), got {got}"
print("expected_calibration_error: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.glyph_jem import checks as grading_jem
grading_jem.check_expected_calibration_error(expected_calibration_error)
### END HIDDEN TESTS

# %% [markdown]
# The reliability diagram plots, per bin, the accuracy against the mean confidence: a
# calibrated model lies on the diagonal, an over-confident one below it. JEM against the plain
# classifier of the same budget, on the test glyphs. Under it, the number of test glyphs in each
# bin (log scale): the accuracy of a bin with fewer than 10 (grey, off the curve) says little.

# %%
y_test = test_set.tensors[1]
calibration, runs = {}, {}
for name, trained in (("JEM", net), ("classifier", clf_net)):
    probs = predict_logits(trained, x_test).softmax(1)
    calibration[name] = expected_calibration_error(probs, y_test, 15)
    correct = (probs.argmax(1) == y_test).float().numpy()
    runs[f"{name}: ECE {calibration[name]:.4f}"] = (probs.max(1).values.numpy(), correct)
fig = plotting.reliability_diagram(runs, n_bins=15, min_count=10,
                                   title="Reliability diagram, glyph test set")
if figure_path("04_glyph_jem_reliability.png"):
    fig.savefig(figure_path("04_glyph_jem_reliability.png"), bbox_inches="tight", dpi=100)
plt.show()
print(", ".join(f"ECE {k} {v:.4f}" for k, v in calibration.items()))

# %% [markdown]
# ## 7. Generating glyphs
#
# Generating is SGLD again, now from fresh starts, with the trained energy and no buffer:
# `n_steps` steps of `sgld_step` with JEM's step and noise, clamped to [-1, 1], no gradient
# clipping. The energy is either the *unconditional* $E(x) = -$`net(x)` (the start alone picks
# the class) or the class-conditional $E(x, y) = -$`net(x, y)` $= -f(x)[y]$. To see what a
# chain does on its way, and not only where it ends, we record two diagnostics at every state
# $x_t$, from $t = 0$ (the start) to `n_steps`:
#
# * the **energy** $E(x_t)$ of each chain, to compare with the energy of real glyphs: a chain
#   that settles near it has found what the model rates like data; one whose energy keeps
#   falling far below has found something the model prefers to glyphs;
# * the **size of the input gradient** $\lVert \nabla_x E(x_t) \rVert_2$ of each chain (the norm
#   over all its pixels): a step moves an image by $\eta \lVert \nabla_x E \rVert$ downhill and
#   by noise of size about $\sigma \sqrt{D}$ ($D = 3136$ pixels: 0.56 here). While the
#   gradient is large the energy drives the chain; once it is small against the noise the chain
#   only diffuses.
#
# ### Exercise 4: an instrumented chain (3 + 2 points)
#
# Write `run_chain`: call `step_fn(energy_fn, x, step_size, noise_std, None, (-1.0, 1.0))`
# `n_steps` times, each call continuing from the state the previous one returned, with
# `energy_fn` the energy above (the class-conditional one when labels `y` (B,) are given).
# Return `(x_final, kept, trace)`:
#
# * `kept`: a dict `{t: x_t}` for the steps `t` of `keep_steps` that lie in `0..n_steps` (0 is
#   the start; later steps are absent), each a **copy**: a step may update the tensor it is
#   given in place (an optimised sampler does), so keep neither the chain's own tensor nor hand
#   `x_init` itself to a step (`x_init` must not change);
# * `trace`: `{"energy": ..., "grad_norm": ...}`, each a tensor (n_steps + 1, B) in the dtype of
#   `x_init`, row `t` holding $E(x_t)$ and $\lVert \nabla_x E(x_t) \rVert_2$ of every chain.
#
# Everything returned is detached. Differentiate with respect to the images only
# (`torch.autograd.grad`; `.backward()` would also fill the network's `.grad`), inside
# `torch.enable_grad()`: `run_chain` must also work when called under `torch.no_grad()`. The
# trace costs one more forward and backward pass per state: a traced chain takes about twice
# as long as the steps alone.

# %% solution id=run_chain from=glyph_jem:run_chain

# %% tests id=run_chain_tests points=3
"""run_chain: the step calls, the kept states (copies) and the trace from t = 0 to n_steps."""
torch.manual_seed(0)
tiny = GlyphCNN(1, 12, 8, 3)
calls = []
def halving_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """A deterministic stand-in for sgld_step: records its arguments, halves x in place."""
    calls.append((step_size, noise_std, grad_clip, clamp))
    with torch.no_grad():
        return x.mul_(0.5)
x0 = torch.rand(2, 1, 12, 12) * 2 - 1
x_final, kept, trace = run_chain(tiny, x0.clone(), 3, 0.5, 0.02, step_fn=halving_step, keep_steps=(0, 2, 3, 9))
assert calls == [(0.5, 0.02, None, (-1.0, 1.0))] * 3, f"expected 3 calls step_fn(energy_fn, x, 0.5, 0.02, None, (-1.0, 1.0)), got {calls}"
assert torch.allclose(x_final, x0 / 8), "x_final should be the state after the last step"
assert isinstance(kept, dict) and sorted(kept) == [0, 2, 3], "kept should be a dict of the steps 0, 2 and 3 (not 9 > n_steps)"
for t in (0, 2, 3):
    assert torch.allclose(kept[t], x0 * 0.5 ** t), f"kept[{t}] should be x_{t} = x_init / 2^{t} (a copy: this step works in place)"
assert trace["energy"].shape == (4, 2) and trace["grad_norm"].shape == (4, 2), "trace: one row per t = 0..n_steps, one column per chain"
assert torch.allclose(trace["energy"][0], -tiny(x0).detach(), atol=1e-5), "trace['energy'][0] should be E(x_init) = -net(x_init)"
leaf = (x0 / 8).requires_grad_(True)
(g,) = torch.autograd.grad(-tiny(leaf).sum(), leaf)
assert torch.allclose(trace["grad_norm"][3], g.flatten(1).norm(dim=1), rtol=1e-4, atol=1e-7), "trace['grad_norm'][t] should be ||dE/dx|| of each chain at x_t"
assert not (x_final.requires_grad or trace["energy"].requires_grad or trace["grad_norm"].requires_grad), "return detached tensors"
print("run_chain: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.glyph_jem import checks as grading_jem
grading_jem.check_run_chain(run_chain)
### END HIDDEN TESTS

# %% tests id=run_chain_conditional_tests points=2
"""run_chain with labels: E(x, y) = -net(x, y), under torch.no_grad, no parameter gradient, x_init unchanged."""
torch.manual_seed(1)
tiny = GlyphCNN(1, 12, 8, 3)
y = torch.tensor([2, 0])
x0 = torch.rand(2, 1, 12, 12) * 2 - 1
x0_copy = x0.clone()
seen = []
def probing_step(energy_fn, x, step_size, noise_std, grad_clip=None, clamp=None):
    """Records the energy it is given at x; halves x in place."""
    seen.append(energy_fn(x).detach().clone())
    with torch.no_grad():
        return x.mul_(0.5)
with torch.no_grad():
    _, _, trace = run_chain(tiny, x0, 2, 0.5, 0.02, step_fn=probing_step, y=y)
assert torch.allclose(seen[0], -tiny(x0_copy, y).detach(), atol=1e-5), "with labels y the energy is E(x, y) = -net(x, y)"
assert torch.allclose(trace["energy"][0], -tiny(x0_copy, y).detach(), atol=1e-5), "with labels y, trace['energy'][t] = E(x_t, y)"
assert (trace["grad_norm"] > 0).all(), "grad_norm under torch.no_grad: compute dE/dx inside torch.enable_grad()"
assert all(p.grad is None for p in tiny.parameters()), "no gradient may reach the network's parameters"
assert all(p.requires_grad for p in tiny.parameters()), "leave the parameters' requires_grad flags as they were"
assert torch.equal(x0, x0_copy), "x_init must not change (start from a copy: this step works in place)"
print("run_chain with labels: the visible tests pass (the hidden tests grade more cases)")
### BEGIN HIDDEN TESTS
from ebm_course.instructor.assignments.glyph_jem import checks as grading_jem
grading_jem.check_run_chain_conditional(run_chain)
### END HIDDEN TESTS

# %% [markdown]
# Your `run_chain` generates every image below, on the trained JEM with its SGLD settings
# (`chains` runs it on the network's device, with the network frozen and in eval mode, and
# seeds the SGLD noise). First fresh chains from the class Gaussians, `K` steps on the
# *unconditional* energy; then class-conditional samples, the same SGLD on $E(x, y)$ started
# from class $y$'s Gaussian, one class per row. `K` is short: a few times the steps a training
# chain takes per iteration (it continues from the buffer), and the short training run only
# shaped the energy along such chains. The `full` profile trains longer chains and generates
# with more steps; what longer chains do here comes after the judge.
#
# **The decisive ablation.** The same network, the same `K`, two starts: small Gaussian noise
# (JEM's start) and the class Gaussians. An independent judge scores both (next cell).

# %%
def chains(x0, n_steps, y=None, keep_steps=(), seed=CFG.seed):
    """Your run_chain on the trained JEM with its SGLD settings, seeded noise, on its device
    (frozen, eval mode); (x_final, kept, trace) on the CPU."""
    torch.manual_seed(seed)
    with sampling_mode(net):
        x, kept, trace = run_chain(net, x0.to(DEVICE), n_steps, CFG.step_size, CFG.noise_std,
                                   step_fn=sgld_step, y=None if y is None else y.to(DEVICE),
                                   keep_steps=keep_steps)
    return x.cpu(), {t: v.cpu() for t, v in kept.items()}, {k: v.cpu() for k, v in trace.items()}


K = {"full": 64, "quick": 16, "grade": 4}[PROFILE]  # SGLD steps of the samples we judge
n_gen = {"grade": 8}.get(PROFILE, 512)
gen = torch.Generator().manual_seed(CFG.seed + 1)
y_gen = torch.randint(len(glyphs.classes), (n_gen,), generator=gen)
starts = {"class Gaussians": class_gaussian_init(n_gen, class_gaussians.means, class_gaussians.factors,
                                                 gen, y_gen).clamp(-1, 1).view(n_gen, 1, 56, 56),
          "N(0, 0.1^2) noise": torch.randn(n_gen, 1, 56, 56, generator=gen) * CFG.init_std}
samples = {name: chains(x0, K, seed=CFG.seed + 1)[0] for name, x0 in starts.items()}
x_grid = samples["class Gaussians"]
n_show, per_row = min(n_gen, 16), 8  # ~1.1 in a glyph: 24 in a row were too small to read
fig, axes = plt.subplots(2, 1, figsize=(9, 2 * (1.1 * ((n_show + per_row - 1) // per_row) + 0.4)),
                         layout="constrained")
for ax, (name, x) in zip(axes, samples.items()):
    plotting.show_images(x[:n_show], nrow=per_row, title=f"K={K} SGLD steps from {name}", ax=ax)
if figure_path("04_glyph_jem_samples.png"):
    fig.savefig(figure_path("04_glyph_jem_samples.png"), bbox_inches="tight", dpi=100)
plt.show()

show_classes = list(range(len(glyphs.classes)))[:{"grade": 2}.get(PROFILE, len(glyphs.classes))]
n_per = {"grade": 2}.get(PROFILE, 6)
y_cond = torch.tensor(show_classes).repeat_interleave(n_per)
x_cond_start = class_gaussian_init(len(y_cond), class_gaussians.means, class_gaussians.factors,
                                   gen, y_cond).clamp(-1, 1).view(len(y_cond), 1, 56, 56)
x_cond = chains(x_cond_start, K, y=y_cond, seed=CFG.seed + 2)[0]
p_cond = predict_logits(net, x_cond).softmax(1)[torch.arange(len(y_cond)), y_cond]
rows = show_classes[:12]  # the figure shows the first 12 classes, each row labelled
fig, ax = plt.subplots(figsize=(n_per * 0.9 + 0.6, len(rows) * 0.9 + 0.4))
plotting.show_images(x_cond[: len(rows) * n_per], nrow=n_per, ax=ax,
                     title=f"Class-conditional samples, K={K}")
ax.axis("on")
ax.set_xticks([])
ax.set_yticks([2 + 58 * r + 28 for r in range(len(rows))], [f"y = {glyphs.classes[k]}" for k in rows])
if figure_path("04_glyph_jem_conditional.png"):
    fig.savefig(figure_path("04_glyph_jem_conditional.png"), bbox_inches="tight", dpi=100)
plt.show()
print(f"mean p(y | x) of the class-conditional samples under the model: {p_cond.mean():.3f}")

# %% [markdown]
# ### How good are the samples? An independent judge
#
# The model's own $p(y \mid x)$ of its class-conditional samples says little: SGLD climbed
# exactly that quantity, so it is near 1 by construction. A separate judge is fairer: a small
# classifier that `ebm_course.metrics` trains once on the training split (and caches), which
# never saw a generated image. For each set of 512 samples it gives the Inception Score (how
# confident and how varied the judge's labels are; at most 42 here), the share of samples it
# recognises with confidence above 0.9, how many classes appear among those, and the Frechet
# distance to real test glyphs in the judge's feature space (lower is better). The row "real
# test glyphs" scores as many real glyphs the same way: the best a model could get. The
# starts themselves (before any SGLD step) are scored too: SGLD should not make them worse.
# For the class-conditional samples: how often the judge names the class we asked for.

# %%
glyph_quality, headline = {}, {}
if PROFILE != "grade":  # the autograder trains no judge
    judge = metrics.glyph_classifier(glyphs)
    x_judge = glyphs.dataset("test", n=2 * n_gen).tensors[0]
    reference = x_judge[n_gen:]  # real glyphs the Frechet distance compares against
    scored = {**{f"K={K} from {name}": x for name, x in samples.items()},
              "class-Gaussian starts (K=0)": starts["class Gaussians"],
              "real test glyphs": x_judge[:n_gen]}  # as many: FD is biased upwards for small sets
    for name, x in scored.items():
        glyph_quality[name] = metrics.sample_quality(judge, x, reference)
        glyph_quality[name].pop("class_counts")
        glyph_quality[name]["buffer_diversity"] = metrics.pairwise_diversity(x)
    judged = metrics.classify(judge, x_cond)[0].argmax(1)
    glyph_quality["conditional_target_share"] = float((judged == y_cond).float().mean())
    display(Markdown(metrics.quality_table({k: v for k, v in glyph_quality.items() if isinstance(v, dict)})))
    print(f"class-conditional samples the judge labels as the requested class: "
          f"{glyph_quality['conditional_target_share']:.1%}")
    ours, real = glyph_quality[f"K={K} from class Gaussians"], glyph_quality["real test glyphs"]
    headline = {"judge_inception_score": round(ours["inception_score"], 3),
                "judge_classes_present": ours["classes_present"],
                "buffer_diversity": round(buffer_diversity(model), 4),
                "frechet_ratio_to_real": round(ours["frechet_distance"] / real["frechet_distance"], 3),
                "conditional_judge_agreement": round(glyph_quality["conditional_target_share"], 4),
                "test_accuracy": round(test_acc, 4),
                "ece_jem": round(calibration["JEM"], 4), "ece_classifier": round(calibration["classifier"], 4)}
    print("headline:", headline)
    # The samples, for anyone to re-score: <= 256 images each, values in [-1, 1], float16
    # (half the size; call .float() before scoring)
    torch.save({"x": x_grid[:256].half(), "n_steps": K}, results_dir() / "04_glyph_jem_samples.pt")
    torch.save({"x": x_cond[:256].half(), "y": y_cond[:256].clone(), "classes": glyphs.classes,
                "n_steps": K}, results_dir() / "04_glyph_jem_conditional_samples.pt")

# %% [markdown]
# ### Long-run generation: what does the energy want?
#
# What happens when the chains keep going? `n_long` fresh chains from the class Gaussians run
# for `K_long` steps on the unconditional energy; your trace follows their energy and the size
# of their input gradient at every step, against the same two numbers on real test glyphs
# (a chain of 0 steps from them). Below the chain images: the energy (left; the dotted line is
# the starts' mean), the gradient size (right; the dash-dotted line is the noise's size
# $\sigma \sqrt{D} / \eta$, where drift and noise move an image equally far), and, outside the
# `grade` profile, the judge's scores of the chains at the kept steps, with as many real test
# glyphs for comparison (Frechet ratio: the chains' Frechet distance over the real glyphs').

# %%
K_long = config.cap_length({"grade": 8}.get(PROFILE, 512), 8)  # EBM_COURSE_STEP_CAP shortens it
n_long = {"grade": 8}.get(PROFILE, 128)  # chains: 128 x 512 traced steps take about a minute on 2 cores
keep_long = sorted({0, 4, 16, 64, 256, 512, K, K_long} & set(range(K_long + 1)))
x_long_start = class_gaussian_init(n_long, class_gaussians.means, class_gaussians.factors,
                                   torch.Generator().manual_seed(CFG.seed)).clamp(-1, 1).view(n_long, 1, 56, 56)
_, kept_long, trace_long = chains(x_long_start, K_long, keep_steps=keep_long)
_, _, trace_test = chains(x_test[:n_long], 0)  # t = 0 only: E and the gradient size at real glyphs
plotting.show_chain(kept_long, title=f"Chains from the class Gaussians over {K_long} SGLD steps",
                    save=figure_path("04_glyph_jem_chain.png"))
plt.show()

steps = torch.arange(K_long + 1).numpy()
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for ax, key, label in ((axes[0], "energy", "energy E(x_t)"),
                       (axes[1], "grad_norm", "input gradient ||dE/dx (x_t)||_2")):
    values = trace_long[key].double()  # (K_long + 1, n_long)
    ax.plot(steps, values.mean(1).numpy(), c="C0", label=f"{n_long} chains (mean)")
    low, high = torch.quantile(values, torch.tensor([0.1, 0.9], dtype=values.dtype), dim=1)
    ax.fill_between(steps, low.numpy(), high.numpy(), color="C0", alpha=0.2, label="10-90% of the chains")
    ax.axhline(float(trace_test[key].mean()), c="k", ls="--", label="test glyphs (mean)")
    ax.axvline(K, c="grey", ls=":", label=f"K = {K}, the samples above")
    ax.set_xscale("symlog", linthresh=1)
    ax.set(xlabel="SGLD step t", ylabel=label, xlim=(0, K_long))
axes[0].axhline(float(trace_long["energy"][0].mean()), c="C1", ls=":", label="their starts (mean)")
axes[1].axhline(CFG.noise_std * x_long_start[0].numel() ** 0.5 / CFG.step_size, c="C2", ls="-.",
                label="noise's size sigma sqrt(D) / eta")
axes[1].set_yscale("log")
for ax in axes:
    ax.legend(fontsize=8)
axes[0].set_title("energy along the chains")
axes[1].set_title("size of the input gradient along the chains")
plt.tight_layout()
if figure_path("04_glyph_jem_long_run.png"):
    fig.savefig(figure_path("04_glyph_jem_long_run.png"), bbox_inches="tight", dpi=100)
plt.show()

long_run = {t: {"energy_mean": float(trace_long["energy"][t].mean()),
                "grad_norm_mean": float(trace_long["grad_norm"][t].mean())} for t in keep_long}
if PROFILE != "grade":  # the autograder trains no judge
    real_long = metrics.sample_quality(judge, x_judge[:n_long], reference)  # as many real glyphs
    for t in keep_long:
        long_run[t].update(metrics.sample_quality(judge, kept_long[t], reference))
    for row in (*long_run.values(), real_long):
        row.pop("class_counts")
        row["frechet_ratio_to_real"] = row["frechet_distance"] / real_long["frechet_distance"]
    display(Markdown(metrics.quality_table({**{f"t = {t}": long_run[t] for t in keep_long},
                                            f"{n_long} real test glyphs": real_long})))
print("mean energy, mean ||dE/dx|| of the chains at step " + "; ".join(
      f"{t}: {r['energy_mean']:.3g}, {r['grad_norm_mean']:.3g}" for t, r in long_run.items())
      + f"; of the test glyphs: {float(trace_test['energy'].mean()):.3g}, "
      f"{float(trace_test['grad_norm'].mean()):.3g}")

# %% [markdown]
# Read the three together. Where the energy curve crosses the test glyphs' line, the chains
# have become as likely under the model as real glyphs; where it keeps falling below it, they
# are more likely than any glyph, and the images show what the model prefers. Compare the
# judge's scores at each kept step with those at `K` and with the real glyphs': the samples
# the judge rates best need not be the chains' lowest energies. A short-run model only shaped
# its energy along the short chains it trained with (a few steps per iteration, continued from
# the buffer); far beyond that horizon nothing in training kept the energy data-like.

# %% [markdown]
# ### Question 2 (2 points)
#
# The quick profile first trains the network as a plain classifier and only then adds
# $\log p(x)$. Name one reason this helps on a CPU budget, and one thing it costs (what does the
# network learn, or not learn, in the classifier-only phase?).

# %% [markdown] written id=q_warm_start points=2
# It helps because a classifier step is several times cheaper than a JEM step: one forward and
# backward pass, where the quick profile's JEM step first runs 5 SGLD steps (each a forward and
# backward pass) and then its own loss, about six passes. Within a fixed budget the network
# first learns useful features and a good classifier, and the short JEM phase only has to shape
# the logsumexp direction; starting from a trained classifier is also more stable than starting
# JEM from scratch. The cost: during the classifier phase nothing constrains the shift of the
# logits (a constant added to all logits of an input), so $-E(x)$ is arbitrary (noise
# or OOD inputs can receive high $-E$); the short JEM phase with few SGLD steps then only fixes
# the regions the short chains reach, so the energy is right only near the data and the chains'
# starts: long chains still drift into saturated blobs (section 7).

# %% [markdown]
# ### Question 3 (2 points)
#
# JEM is known to diverge: the energies run off and the accuracy collapses. Give two signs in
# the logged values that it is happening, and two remedies.

# %% [markdown] written id=q_divergence_jem points=2
# Signs: `loss_px` becomes very large in magnitude or oscillates wildly; the energies of data
# and samples drift far from 0 (the L2 term explodes); the buffer fills with saturated images
# (all black/white) and its diversity drops; training accuracy drops suddenly and `loss_pyx`
# rises. Remedies (users of the JEM code confirm these): restart from the last good checkpoint
# with a new seed; lower the learning rate; more SGLD steps (better samples); an L2 energy
# penalty of about 0.1; informative chain starts (JEM++); more restarts, or warm-starting from a
# trained classifier.

# %% [markdown]
# ### Question 4 (2 points)
#
# In section 7 the samples after `K` steps from the class Gaussians score well with the judge.
# Your `run_chain` then followed such chains for `K_long` = 512 steps. (a) What do its trace
# (the energy against the test glyphs' level, and the size of the input gradient against the
# noise's) and the long run's judge table say happens to the chains after `K` steps? What does
# that tell you about what a *short-run* EBM has learnt? (b) How much of the quality of the
# `K`-step samples is the model's and how much the start's? Compare, in the judge's tables,
# the samples with their own starts (K = 0) and with the noise start.

# %% [markdown] written id=q_short_run points=2
# (a) A short-run EBM has learnt an energy whose *short SGLD flow from a given start* makes
# glyph-like images, not a density whose minima are glyphs. In the quick profile the chains
# start at the test glyphs' energy (in this run mean -5.7 against -5.8), drop below it within 4
# steps and keep going down to $t = 512$ on all three seeds (mean energy -8.3 to -8.4 at K = 16,
# -10.2 to -10.4 at 64, -11.9 to -12.3 at 512): the model rates what they become as *more*
# likely than real glyphs. The judge sees the images leave the data: over three seeds the
# Frechet ratio to real glyphs is 0.9-1.6 at K = 16 and grows to 4.5-5.9 at $t = 64$, 14-16 at
# 256 and 21-27 at 512. Where it is lowest varies: at K = 16 in this run, at $t = 4$ on the two
# other seeds (a ratio below 1 does not mean better than real glyphs: 128 samples in the judge's
# 128-d feature space give singular covariance estimates, and the 512-sample table of section 7
# gives 1.7-2.2 at the same K over the seeds). The Inception Score is 29-31 at $t = 16$ and 64
# and still 21-27 at 512 (the letter is mostly still recognisable, less so on the two seeds at
# the low end; the images are saturated, broken strokes on speckled paper; dark ink lowers the
# energy of every class at once). The gradient size falls from 0.55-0.58 (0.55-0.57 at real glyphs)
# to about 0.27 by $t = 64$ and stays there, half the noise's size 0.56: from then on the noise
# moves the pixels more than the energy does, so the chains wander through a broad low-energy
# region (still drifting down) instead of settling on glyphs. The model was only ever trained on
# chains of a few (continued) steps, so beyond that horizon nothing tells the energy to stay
# data-like. (b) From noise the same `K` steps give blobs the judge barely recognises; from the
# class Gaussians they give recognisable glyphs (Inception Score 33.4-33.8 over three seeds,
# with 37-38 classes present; the real test glyphs score 33.7): most of the *diversity* and
# class identity comes from the start (the judge already scores the blurry starts 26-27), and
# the model's share is the sharpening. It shows in the Inception Score, which SGLD raises on
# every seed, less clearly in the Frechet distance to real glyphs: it falls from the starts to
# the samples on two of three seeds (588 to 496 in this run) but rises on the third (480 to
# 528), so a single run's Frechet distance does not settle it. The model earns its keep in
# what it adds (crisper strokes; conditional samples that follow $E(x, y)$: the judge names
# the requested class for 94-95% of them over three seeds) and in classification, not in
# generating glyphs from nothing (and, section 6, not in calibration either in this budget).

# %% [markdown]
# ### Question 5 (2 points)
#
# JEM's paper reports that the $\log p(x)$ term makes a classifier *better* calibrated. Read
# the reliability diagram of section 6: which model is better calibrated here, and is the other
# over- or under-confident? Suggest what in this notebook's JEM recipe (look at the
# configuration printed in section 5 and at the size of $-E(x)$ on test glyphs) could cause it,
# and one way to check your explanation.

# %% [markdown] written id=q_calibration points=2
# (Quick profile.) The plain classifier is the better calibrated one on all three seeds (ECE
# about 0.01 against about 0.2 for JEM; 0.0074-0.0095 against 0.20-0.21 over the seeds), and
# JEM is **under**-confident: its curve lies above the diagonal (here, in the bins of
# confidence 0.5 to 0.8, nearly every prediction is right): the logits are too small.
# How small, and the checks below, come from the calibration benchmark
# (`benchmarks/jem_calibration.py`, results in `results/jem_calibration.jsonl`): separate runs
# of the quick recipe, one seed each, one setting changed per run; its unchanged JEM reaches
# test accuracy 0.974 and ECE 0.22, against this notebook's 0.965 and 0.20 (this run's; its
# accuracy is 0.965-0.979 over three seeds). There
# $-E(x) = \operatorname{logsumexp} f(x)$ is about 6 on test glyphs against about 22 for a
# classifier trained as long, and the mean margin between the top two logits about 2.4 (8.5 for
# that classifier). Candidate causes: the L2 penalty `alpha * (E(x_data)^2 + E(x_model)^2)`,
# which holds the energies near 0; or the contrastive term itself: the chains start from class
# Gaussians, so the samples look like glyphs and are classified confidently, and since
# $\partial \operatorname{logsumexp} f / \partial f = \operatorname{softmax} f$, lowering $-E$
# of a confident sample lowers mostly its *top* logit, which shrinks the margin on the real
# glyphs of that class too. The short JEM phase is also far from the paper's long joint
# training. Checks, in the same benchmark: `alpha = 0` gives ECE 0.17 and `alpha = 0.001` 0.18
# (the L2 term is a small part); 10 or 20 SGLD steps per iteration give 0.23 and 0.24 (better
# samples do not help); half the weight on $\log p(x)$ gives 0.16. A single temperature fitted
# on validation data (logits multiplied by about 3) brings JEM's ECE to 0.004, below the
# classifier's: the logits are shrunk, not wrongly ordered. Any cause with a check that could
# tell it apart earns full points.

# %%
results = {"profile": PROFILE, "device": str(DEVICE), "data": glyphs.source,
           "test_accuracy": round(test_acc, 4), "auroc_noise_energy": round(auroc_noise, 4),
           "classifier_test_accuracy": round(clf_test_acc, 4), "config": dataclasses.asdict(CFG),
           "n_train": len(glyphs.split["train"]), "generation_steps": K,
           "long_run": long_run, "long_run_steps": K_long, "long_run_chains": n_long,
           "long_run_test_glyphs": {"energy_mean": float(trace_test["energy"].mean()),
                                    "grad_norm_mean": float(trace_test["grad_norm"].mean())},
           "conditional_p_y_given_x": round(float(p_cond.mean()), 4),
           "calibration_ece": {k: round(v, 4) for k, v in calibration.items()},
           "sample_quality": glyph_quality, "guard_recoveries": len(guard.recoveries),
           "buffer_diversity": round(buffer_diversity(model), 4), "headline": headline}
print(results)
if PROFILE != "grade":
    print("wrote", write_results("04_glyph_jem", results))
