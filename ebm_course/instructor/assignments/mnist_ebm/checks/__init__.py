"""Hidden checks of assignment 03_mnist_ebm. Each grades one part, in isolation, by properties.

What every check holds to (see the issue on hidden checks):

* properties, not one reference output: values on fixed inputs where the part is deterministic,
  statistics with wide margins where it draws random numbers, gradients (what reaches what),
  a batch of one, non-round sizes and ratios, extreme values, ties, float64 inputs, and every
  phase of the stateful sampler (empty, filling, full);
* the verdict does not depend on the global random state or on the order in which a correct
  answer draws its random numbers: the cases are built from local generators, and global
  draws made for a case run inside ``torch.random.fork_rng`` (the notebook's stream is left as
  it was);
* isolation: a part is graded with the reference for every other part (the CNN with torch's
  SiLU in place of the student's Swish and the reference ``get_logits`` under ``forward``; the
  sampler's two methods on states the check sets or builds itself);
* messages name the property and the kind of input, never a hidden case's numbers.

One module per exercise (helpers several checks share in ``_shared``); the checks are
re-exported here, where the notebook's test cells find them (``checks.check_<part>``).
"""

from __future__ import annotations

from .cnn_energy import check_cnn_energy
from .ebm_loss import check_ebm_loss
from .langevin_step import check_langevin_step
from .sampler import check_sampler
from .swish import check_swish

__all__ = [
    "check_swish",
    "check_cnn_energy",
    "check_langevin_step",
    "check_sampler",
    "check_ebm_loss",
]
