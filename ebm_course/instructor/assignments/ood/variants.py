"""05_ood_detection: more wrong implementations (each must FAIL its check) and more correct ones
written differently (each must PASS), for the issue-12 checks of
``ebm_course.instructor.assignments.ood.checks``: gradient flow, batch of one, extreme logits, float64,
ties, non-whole ``tpr * N``, few inputs, lists / numpy / torch scores, and isolation (a wrong
``threshold_at_tpr`` in the notebook must not cost ``ood_metrics`` its points).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats
from sklearn import metrics as skm

from ebm_course.instructor.assignments.ood import checks as checks
from ebm_course.instructor.assignments.ood import checks as ood_checks
from ebm_course.instructor.assignments.ood import reference as ref05

# ---------------------------------------------------------------- wrong: energy_score


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


# ---------------------------------------------------------------- wrong: max_softmax_score


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


# ---------------------------------------------------------------- wrong: grad_norm_score


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


# ---------------------------------------------------------------- wrong: threshold_at_tpr


def threshold_floor(scores_id, tpr=0.95):
    """int(tpr * N) (floor) instead of ceil: accepts fewer than tpr when tpr * N is not whole."""
    ranked = np.sort(np.asarray(scores_id, float))[::-1]
    return float(ranked[max(int(tpr * len(ranked)), 1) - 1])


def threshold_round(scores_id, tpr=0.95):
    """round(tpr * N) instead of ceil: too few accepted when the fraction is below one half."""
    ranked = np.sort(np.asarray(scores_id, float))[::-1]
    return float(ranked[max(round(tpr * len(ranked)), 1) - 1])


def threshold_distinct_values(scores_id, tpr=0.95):
    """Counts distinct values (np.unique) instead of scores: wrong as soon as scores tie."""
    s = np.asarray(scores_id, float)
    distinct = np.unique(s)[::-1]
    k = int(np.ceil(tpr * len(s)))
    return float(distinct[min(max(k, 1), len(distinct)) - 1])


def threshold_quantile(scores_id, tpr=0.95):
    """np.quantile(scores, 1 - tpr) with linear interpolation: a value between two scores."""
    return float(np.quantile(np.asarray(scores_id, float), 1 - tpr))


def threshold_torch_default_dtype(scores_id, tpr=0.95):
    """torch.tensor(scores): a list of floats becomes float32, the threshold is a rounded score."""
    s = torch.tensor(scores_id).flatten()
    k = max(math.ceil(tpr * len(s)), 1)
    return s.sort(descending=True).values[k - 1].item()


def threshold_exact_share(scores_id, tpr=0.95):
    """Moves up to the next distinct score when ties make t accept more than tpr: then it
    accepts fewer than tpr."""
    s = np.asarray(scores_id, float)
    ranked = np.sort(s)[::-1]
    t = ranked[max(int(np.ceil(tpr * len(s))), 1) - 1]
    higher = ranked[ranked > t]
    if np.mean(s >= t) > tpr and len(higher):
        t = higher.min()
    return float(t)


# ---------------------------------------------------------------- wrong: ood_metrics


def _labels(n_id, n_ood):
    return np.r_[np.ones(n_id), np.zeros(n_ood)]


def _fpr95(s_id, s_ood):
    ranked = np.sort(s_id)[::-1]
    t = ranked[max(int(np.ceil(0.95 * len(ranked))), 1) - 1]
    return float(np.mean(s_ood >= t))


def metrics_ordinal_ranks(scores_id, scores_ood):
    """AUROC from ordinal ranks (argsort of argsort): ties are ranked by position, not averaged."""
    s_id, s_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    scores = np.r_[s_id, s_ood]
    ranks = scores.argsort(kind="stable").argsort() + 1
    n1, n0 = len(s_id), len(s_ood)
    auroc = (ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    return {"auroc": float(auroc),
            "aupr": float(skm.average_precision_score(_labels(n1, n0), scores)),
            "fpr95": _fpr95(s_id, s_ood)}


def metrics_fpr_strict(scores_id, scores_ood):
    """FPR95 counts OOD scores strictly above the threshold: ties at the threshold are missed."""
    s_id, s_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    labels, scores = _labels(len(s_id), len(s_ood)), np.r_[s_id, s_ood]
    ranked = np.sort(s_id)[::-1]
    t = ranked[max(int(np.ceil(0.95 * len(ranked))), 1) - 1]
    return {"auroc": float(skm.roc_auc_score(labels, scores)),
            "aupr": float(skm.average_precision_score(labels, scores)),
            "fpr95": float(np.mean(s_ood > t))}


def metrics_fpr_percentile(scores_id, scores_ood):
    """FPR95 threshold = np.percentile(ID, 5), which interpolates between scores."""
    s_id, s_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    labels, scores = _labels(len(s_id), len(s_ood)), np.r_[s_id, s_ood]
    return {"auroc": float(skm.roc_auc_score(labels, scores)),
            "aupr": float(skm.average_precision_score(labels, scores)),
            "fpr95": float(np.mean(s_ood >= np.percentile(s_id, 5)))}


def metrics_fpr_over_id_count(scores_id, scores_ood):
    """FPR95 divides the count of accepted OOD inputs by the number of ID inputs."""
    s_id, s_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    labels, scores = _labels(len(s_id), len(s_ood)), np.r_[s_id, s_ood]
    ranked = np.sort(s_id)[::-1]
    t = ranked[max(int(np.ceil(0.95 * len(ranked))), 1) - 1]
    return {"auroc": float(skm.roc_auc_score(labels, scores)),
            "aupr": float(skm.average_precision_score(labels, scores)),
            "fpr95": float(np.sum(s_ood >= t) / len(s_id))}


def metrics_torch_sigmoid(scores_id, scores_ood):
    """torch.sigmoid on float32 scores before sklearn (torchmetrics-style): large or very negative
    scores saturate to ties at 1 or 0."""
    s_id = torch.sigmoid(torch.as_tensor(np.asarray(scores_id, np.float32))).numpy()
    s_ood = torch.sigmoid(torch.as_tensor(np.asarray(scores_ood, np.float32))).numpy()
    labels, scores = _labels(len(s_id), len(s_ood)), np.r_[s_id, s_ood]
    return {"auroc": float(skm.roc_auc_score(labels, scores)),
            "aupr": float(skm.average_precision_score(labels, scores)),
            "fpr95": _fpr95(s_id, s_ood)}


def metrics_aupr_ood_positive(scores_id, scores_ood):
    """AUPR with OOD as the positive class (AUPR-Out, on minus the scores) instead of ID."""
    s_id, s_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    labels, scores = _labels(len(s_id), len(s_ood)), np.r_[s_id, s_ood]
    return {"auroc": float(skm.roc_auc_score(labels, scores)),
            "aupr": float(skm.average_precision_score(1 - labels, -scores)),
            "fpr95": _fpr95(s_id, s_ood)}


def metrics_plus_concatenates(scores_id, scores_ood):
    """Concatenates with + (right for the visible test's lists): arrays are added elementwise."""
    labels = [1] * len(scores_id) + [0] * len(scores_ood)
    scores = np.asarray(scores_id + scores_ood, float)
    return {"auroc": float(skm.roc_auc_score(labels, scores)),
            "aupr": float(skm.average_precision_score(labels, scores)),
            "fpr95": _fpr95(np.asarray(scores_id, float), np.asarray(scores_ood, float))}


# ---------------------------------------------------------------- correct variants


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


def threshold_scan(scores_id, tpr=0.95):
    """Walks down the sorted scores until a share tpr is accepted (counting with >=)."""
    s = [float(v) for v in scores_id]
    n = len(s)
    for t in sorted(set(s), reverse=True):
        if sum(v >= t for v in s) >= math.ceil(tpr * n):
            return t
    return min(s)


def threshold_kthvalue(scores_id, tpr=0.95):
    """torch.kthvalue in float64: the (N - k + 1)-th smallest is the k-th largest."""
    s = torch.as_tensor(np.asarray(scores_id, dtype=np.float64)).flatten()
    k = max(math.ceil(tpr * s.numel()), 1)
    return s.kthvalue(s.numel() - k + 1).values.item()


def threshold_partition(scores_id, tpr=0.95):
    """np.partition around the (N - k)-th position, ascending."""
    s = np.array(scores_id, dtype=float).ravel()
    k = max(int(np.ceil(tpr * s.size)), 1)
    return float(np.partition(s, s.size - k)[s.size - k])


def ood_metrics_roc_curve(scores_id, scores_ood):
    """FPR95 read off roc_curve (first point with TPR >= 0.95), as the exercise allows."""
    s_id, s_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    labels, scores = _labels(len(s_id), len(s_ood)), np.r_[s_id, s_ood]
    fpr, tpr, _ = skm.roc_curve(labels, scores)
    return {"auroc": float(skm.auc(fpr, tpr)),
            "aupr": float(skm.average_precision_score(labels, scores)),
            "fpr95": float(fpr[np.searchsorted(tpr, 0.95, side="left")])}


def ood_metrics_rankdata(scores_id, scores_ood):
    """AUROC from average ranks (scipy rankdata, Mann-Whitney U); FPR95 with a torch sort."""
    s_id = torch.as_tensor(np.asarray(scores_id, float))
    s_ood = torch.as_tensor(np.asarray(scores_ood, float))
    n1, n0 = len(s_id), len(s_ood)
    ranks = stats.rankdata(torch.cat([s_id, s_ood]).numpy())
    auroc = (ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    k = max(math.ceil(0.95 * n1), 1)
    t = s_id.sort(descending=True).values[k - 1]
    aupr = skm.average_precision_score(_labels(n1, n0), np.r_[s_id.numpy(), s_ood.numpy()])
    fpr95 = (s_ood >= t).double().mean().item()
    return {"auroc": float(auroc), "aupr": float(aupr), "fpr95": fpr95}


# A correct ood_metrics living in a notebook whose threshold_at_tpr is WRONG: it calls that
# global (as the exercise suggests), so it passes only if check_ood_metrics grades it with the
# reference threshold_at_tpr (isolation: one wrong part must not cost points in another).
_NOTEBOOK = {"np": np, "skm": skm, "threshold_at_tpr": threshold_floor}
exec(  # noqa: S102  (builds the function in its own globals, like a notebook cell)
    '''
def ood_metrics_notebook_global(scores_id, scores_ood):
    """Calls the notebook's threshold_at_tpr (a wrong one here) through its globals."""
    scores_id, scores_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    labels = np.concatenate([np.ones_like(scores_id), np.zeros_like(scores_ood)])
    scores = np.concatenate([scores_id, scores_ood])
    t = threshold_at_tpr(scores_id, 0.95)
    return {"auroc": skm.roc_auc_score(labels, scores),
            "aupr": skm.average_precision_score(labels, scores),
            "fpr95": np.count_nonzero(scores_ood >= t) / len(scores_ood)}
''', _NOTEBOOK)
ood_metrics_notebook_global = _NOTEBOOK["ood_metrics_notebook_global"]


# ---------------------------------------------------------------- typicality_score


def _arr(a):
    a = np.asarray(a, float)
    return a.reshape(len(a), -1)


def typ_one_sided(features, features_val):
    """Forgets the absolute value: inputs far *below* the mean look most typical."""
    x, v = _arr(features), _arr(features_val)
    return -((x - v.mean(0)) / v.std(0)).max(1)


def typ_own_statistics(features, features_val):
    """Standardises with the scored set's own mean and std (not the ID validation set's)."""
    x = _arr(features)
    return -np.abs((x - x.mean(0)) / x.std(0)).max(1)


def typ_sum_of_columns(features, features_val):
    """Sums |z| over the columns instead of taking the largest."""
    x, v = _arr(features), _arr(features_val)
    return -np.abs((x - v.mean(0)) / v.std(0)).sum(1)


def typ_not_standardised(features, features_val):
    """Centres but does not divide by the std: the column on the largest scale decides."""
    x, v = _arr(features), _arr(features_val)
    return -np.abs(x - v.mean(0)).max(1)


def typ_not_negated(features, features_val):
    """max |z| itself: higher = *less* typical, the wrong orientation."""
    x, v = _arr(features), _arr(features_val)
    return np.abs((x - v.mean(0)) / v.std(0)).max(1)


def typ_variance(features, features_val):
    """Divides by the variance where the standard deviation belongs."""
    x, v = _arr(features), _arr(features_val)
    return -np.abs((x - v.mean(0)) / v.var(0)).max(1)


def typ_global_std(features, features_val):
    """One mean and std over all columns together."""
    x, v = _arr(features), _arr(features_val)
    return -np.abs((x - v.mean()) / v.std()).max(1)


def typ_max_over_inputs(features, features_val):
    """Takes the maximum over the inputs (axis 0) and broadcasts: every input gets one score."""
    x, v = _arr(features), _arr(features_val)
    z = np.abs((x - v.mean(0)) / v.std(0)).max(0).max()
    return -np.full(len(x), z)


def typ_unbiased_torch(features, features_val):
    """torch, unbiased std (ddof 1), the maximum via torch.amax: correct."""
    x = torch.as_tensor(np.asarray(features, float)).reshape(len(features), -1)
    v = torch.as_tensor(np.asarray(features_val, float)).reshape(len(features_val), -1)
    return -((x - v.mean(0)) / v.std(0)).abs().amax(1)


def typ_loop_sqrt(features, features_val):
    """Columns one at a time, the std from the mean of squares, |z| as sqrt(z^2): correct."""
    x, v = _arr(features), _arr(features_val)
    worst = np.zeros(len(x))
    for j in range(x.shape[1]):
        mean = v[:, j].sum() / len(v)
        std = math.sqrt(((v[:, j] - mean) ** 2).mean())
        worst = np.maximum(worst, np.sqrt(((x[:, j] - mean) / std) ** 2))
    return -worst


# (check, wrong implementation): each must fail its check.
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
    (checks.check_threshold_at_tpr, threshold_floor),
    (checks.check_threshold_at_tpr, threshold_round),
    (checks.check_threshold_at_tpr, threshold_distinct_values),
    (checks.check_threshold_at_tpr, threshold_quantile),
    (checks.check_threshold_at_tpr, threshold_torch_default_dtype),
    (checks.check_threshold_at_tpr, threshold_exact_share),
    (checks.check_ood_metrics, metrics_ordinal_ranks),
    (checks.check_ood_metrics, metrics_fpr_strict),
    (checks.check_ood_metrics, metrics_fpr_percentile),
    (checks.check_ood_metrics, metrics_fpr_over_id_count),
    (checks.check_ood_metrics, metrics_torch_sigmoid),
    (checks.check_ood_metrics, metrics_aupr_ood_positive),
    (checks.check_ood_metrics, metrics_plus_concatenates),
    (checks.check_typicality_score, typ_one_sided),
    (checks.check_typicality_score, typ_own_statistics),
    (checks.check_typicality_score, typ_sum_of_columns),
    (checks.check_typicality_score, typ_not_standardised),
    (checks.check_typicality_score, typ_not_negated),
    (checks.check_typicality_score, typ_variance),
    (checks.check_typicality_score, typ_global_std),
    (checks.check_typicality_score, typ_max_over_inputs),
]

# (check, correct implementation written differently): each must pass its check.
ALT_CORRECT = [
    (checks.check_energy_score, energy_score_stable_loop),
    (checks.check_max_softmax_score, msp_exp_of_log_ratio),
    (checks.check_max_softmax_score, msp_inverse_partition),
    (checks.check_grad_norm_score, grad_norm_score_per_image),
    (checks.check_grad_norm_score, grad_norm_score_callers_x_flag),
    (checks.check_threshold_at_tpr, threshold_scan),
    (checks.check_threshold_at_tpr, threshold_kthvalue),
    (checks.check_threshold_at_tpr, threshold_partition),
    (checks.check_ood_metrics, ood_metrics_roc_curve),
    (checks.check_ood_metrics, ood_metrics_rankdata),
    (checks.check_ood_metrics, ood_metrics_notebook_global),
    (checks.check_typicality_score, typ_unbiased_torch),
    (checks.check_typicality_score, typ_loop_sqrt),
]


# ================================================================ the first library's cases

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


def ood_metrics_mann_whitney(scores_id, scores_ood):
    """AUROC as the Mann-Whitney statistic (ties count 1/2); AUPR from sklearn."""
    s_id, s_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    greater = (s_id[:, None] > s_ood[None]).mean() + 0.5 * (s_id[:, None] == s_ood[None]).mean()
    labels = np.r_[np.ones(len(s_id)), np.zeros(len(s_ood))]
    k = int(np.ceil(0.95 * len(s_id)))
    t = np.sort(s_id)[len(s_id) - max(k, 1)]
    aupr = skm.average_precision_score(labels, np.r_[s_id, s_ood])
    return {"auroc": float(greater), "aupr": float(aupr), "fpr95": float((s_ood >= t).mean())}


def threshold_ascending(scores_id, tpr=0.95):
    """Sorted ascending: the (n - k)-th smallest keeps exactly k scores."""
    s = np.sort(np.asarray(scores_id, float))
    k = max(int(np.ceil(tpr * len(s))), 1)
    return float(s[len(s) - k])


BUGS += [
    (ood_checks.check_energy_score, energy_score_is_energy),
    (ood_checks.check_max_softmax_score, msp_softmax_over_batch),
    (ood_checks.check_grad_norm_score, grad_norm_of_logit_sum),
    (ood_checks.check_grad_norm_score, grad_norm_squared),
    (ood_checks.check_ood_metrics, metrics_auroc_labels_swapped),
    (ood_checks.check_ood_metrics, metrics_sigmoid_scores),
    (ood_checks.check_ood_metrics, metrics_fpr_on_id),
    (ood_checks.check_threshold_at_tpr, threshold_off_by_one),
]

ALT_CORRECT += [
    (ood_checks.check_energy_score, energy_score_functional),
    (ood_checks.check_grad_norm_score, grad_norm_score_backward),
    (ood_checks.check_ood_metrics, ood_metrics_mann_whitney),
    (ood_checks.check_threshold_at_tpr, threshold_ascending),
]
