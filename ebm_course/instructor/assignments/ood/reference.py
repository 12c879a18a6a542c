"""The graded parts of ``05_ood_detection``, written once (instructor-only; see ``docs/design.md``).

``the notebook source 05_ood_detection.py`` names each definition here in a ``# %% solution ... from=ood:NAME``
cell; ``make notebooks`` copies its source, solution markers and all, into the notebook. The
hidden checks of ``..grading`` compare a submission with these. The imports below are the ones
the notebook's first cell makes: a body here may use exactly those names.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn import metrics as skm


def energy_score(net, x: torch.Tensor) -> torch.Tensor:
    """-E(x) = logsumexp of the logits, (B,), detached."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        return net.get_logits(x).logsumexp(dim=1)
    ### END SOLUTION


def max_softmax_score(net, x: torch.Tensor) -> torch.Tensor:
    """The largest softmax probability of the logits, (B,), detached."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        return net.get_logits(x).softmax(dim=1).max(dim=1).values
    ### END SOLUTION


def grad_norm_score(net, x: torch.Tensor) -> torch.Tensor:
    """-|| dE(x)/dx ||_2 per image with E(x) = -logsumexp f(x); (B,), detached."""
    ### BEGIN SOLUTION
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        energy = -net.get_logits(x).logsumexp(dim=1)
        (grad,) = torch.autograd.grad(energy.sum(), x)
    return -grad.flatten(1).norm(dim=1).detach()
    ### END SOLUTION


def threshold_at_tpr(scores_id, tpr: float = 0.95) -> float:
    """Largest t with mean(scores_id >= t) >= tpr."""
    ### BEGIN SOLUTION
    ranked = np.sort(np.asarray(scores_id, float))[::-1]
    k = int(np.ceil(tpr * len(ranked)))
    return float(ranked[max(k, 1) - 1])
    ### END SOLUTION


def ood_metrics(scores_id, scores_ood) -> dict:
    """{"auroc", "aupr", "fpr95"} with ID labelled 1; higher score = more in-distribution."""
    ### BEGIN SOLUTION
    scores_id, scores_ood = np.asarray(scores_id, float), np.asarray(scores_ood, float)
    labels = np.r_[np.ones(len(scores_id)), np.zeros(len(scores_ood))]
    scores = np.r_[scores_id, scores_ood]
    fpr95 = float(np.mean(scores_ood >= threshold_at_tpr(scores_id, 0.95)))
    return {"auroc": float(skm.roc_auc_score(labels, scores)),
            "aupr": float(skm.average_precision_score(labels, scores)), "fpr95": fpr95}
    ### END SOLUTION


def typicality_score(features, features_val) -> np.ndarray:
    """-max_j |z_j| per input, z_j = (features[:, j] - mean_j) / std_j with the mean and standard
    deviation of column j of features_val (ID validation data); features (N, J), features_val
    (M, J); returns (N,) float64, higher = more typical."""
    ### BEGIN SOLUTION
    features = np.asarray(features, float).reshape(len(features), -1)
    features_val = np.asarray(features_val, float).reshape(len(features_val), -1)
    z = (features - features_val.mean(axis=0)) / features_val.std(axis=0)
    return -np.abs(z).max(axis=1)
    ### END SOLUTION
