"""Hidden checks of assignment 02_toy_densities: properties of each graded part.

Each check grades one function on energies it builds itself (analytic ones, or a small MLP of
``toy_train``), never through another graded part of the notebook, so one wrong part costs points
in its own exercise only. Deterministic quantities (a noise-free SGLD step, a loss with the noise
given, the grid likelihood) are compared with the reference; random ones (SGLD noise, the noise
``dsm_loss`` draws itself) by statistics with margins of at least six standard errors, so that the
verdict does not depend on the global seed or on the order in which a correct implementation draws
its random numbers. Failure messages name the property and the kind of input, never a case's
values.

One module per exercise (helpers several checks share in ``_shared``); the checks are
re-exported here, where the notebook's test cells find them (``checks.check_<part>``).
"""

from __future__ import annotations

from .cd_loss import check_cd_loss
from .dsm_loss import check_dsm_loss
from .exact_sm_loss import check_exact_sm_loss
from .grid_log_likelihood import check_grid_log_likelihood
from .nce_loss import check_nce_loss
from .sgld_sample import check_sgld_sample

__all__ = [
    "check_grid_log_likelihood",
    "check_cd_loss",
    "check_sgld_sample",
    "check_exact_sm_loss",
    "check_dsm_loss",
    "check_nce_loss",
]
