"""05_ood_detection, ``threshold_at_tpr`` and ``ood_metrics``: wrong implementations (``BUGS``:
each must fail ``check_threshold_at_tpr`` / ``check_ood_metrics``) and correct ones written
differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats
from sklearn import metrics as skm

from ebm_course.instructor.assignments.ood import checks
from ebm_course.instructor.assignments.ood import reference as ref05


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


BUGS = [
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
    (checks.check_ood_metrics, metrics_auroc_labels_swapped),
    (checks.check_ood_metrics, metrics_sigmoid_scores),
    (checks.check_ood_metrics, metrics_fpr_on_id),
    (checks.check_threshold_at_tpr, threshold_off_by_one),
]


ALT_CORRECT = [
    (checks.check_threshold_at_tpr, threshold_scan),
    (checks.check_threshold_at_tpr, threshold_kthvalue),
    (checks.check_threshold_at_tpr, threshold_partition),
    (checks.check_ood_metrics, ood_metrics_roc_curve),
    (checks.check_ood_metrics, ood_metrics_rankdata),
    (checks.check_ood_metrics, ood_metrics_notebook_global),
    (checks.check_ood_metrics, ood_metrics_mann_whitney),
    (checks.check_threshold_at_tpr, threshold_ascending),
]
