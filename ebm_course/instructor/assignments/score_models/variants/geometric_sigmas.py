"""07_score_models, ``geometric_sigmas``: wrong implementations (``BUGS``: each must fail
``check_geometric_sigmas``) and correct ones written differently (``ALT_CORRECT``)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ebm_course.instructor.assignments.score_models import checks


def sigmas_linear(sigma_max, sigma_min, n):
    """Equal steps in sigma, not in log sigma."""
    return torch.linspace(sigma_max, sigma_min, n, dtype=torch.float64)


def sigmas_ascending(sigma_max, sigma_min, n):
    """Smallest first."""
    return torch.linspace(math.log(sigma_min), math.log(sigma_max), n, dtype=torch.float64).exp()


def sigmas_ratio_over_n(sigma_max, sigma_min, n):
    """Ratio (min / max)^(1 / n): the last level stops short of sigma_min."""
    r = (sigma_min / sigma_max) ** (1 / n)
    return sigma_max * r ** torch.arange(n, dtype=torch.float64)


def sigmas_logspace_natural_logs(sigma_max, sigma_min, n):
    """torch.logspace (base 10) fed natural logs."""
    return torch.logspace(math.log(sigma_max), math.log(sigma_min), n, dtype=torch.float64)


def sigmas_float32(sigma_max, sigma_min, n):
    """The default dtype, float32."""
    return torch.linspace(math.log(sigma_max), math.log(sigma_min), n).exp()


def sigmas_list(sigma_max, sigma_min, n):
    """A Python list, not a tensor."""
    return list(np.geomspace(sigma_max, sigma_min, n))


def sigmas_geomspace(sigma_max, sigma_min, n):
    """numpy's geomspace."""
    return torch.from_numpy(np.geomspace(sigma_max, sigma_min, n))


def sigmas_logspace_base10(sigma_max, sigma_min, n):
    """torch.logspace with log10 endpoints."""
    return torch.logspace(math.log10(sigma_max), math.log10(sigma_min), n, dtype=torch.float64)


def sigmas_loop(sigma_max, sigma_min, n):
    """A loop of powers of the ratio, n = 1 as a special case."""
    if n == 1:
        return torch.tensor([float(sigma_max)], dtype=torch.float64)
    ratio = (sigma_min / sigma_max) ** (1.0 / (n - 1))
    return torch.tensor([sigma_max * ratio ** k for k in range(n)], dtype=torch.float64)


BUGS = [
    (checks.check_geometric_sigmas, sigmas_linear),
    (checks.check_geometric_sigmas, sigmas_ascending),
    (checks.check_geometric_sigmas, sigmas_ratio_over_n),
    (checks.check_geometric_sigmas, sigmas_logspace_natural_logs),
    (checks.check_geometric_sigmas, sigmas_float32),
    (checks.check_geometric_sigmas, sigmas_list),
]

ALT_CORRECT = [
    (checks.check_geometric_sigmas, sigmas_geomspace),
    (checks.check_geometric_sigmas, sigmas_logspace_base10),
    (checks.check_geometric_sigmas, sigmas_loop),
]
