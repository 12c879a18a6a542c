"""Hidden checks of 04_glyph_jem: helpers shared by several checks."""

from __future__ import annotations

import functools

import torch
from torch import nn

from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.instructor.grading.common import one_thread


def _single_threaded(check):
    """Run a check with one intra-op thread: its networks are tiny, and on a busy machine
    (several kernels grading at once) two or more threads only spin against each other."""

    @functools.wraps(check)
    def run(*args, **kwargs):
        with one_thread():
            return check(*args, **kwargs)

    return run


def _chain_net(seed: int, k: int, dtype=torch.float32) -> nn.Module:
    """The course's network (reference get_logits and forward) on 8x8 images, with a small
    smooth head in place of its layers: K logits whose energy and input gradient change visibly
    from one chain state to the next (a CNN at its initialisation is nearly flat in x)."""
    with torch.random.fork_rng(devices=[]):  # the notebook's random state stays as it was
        torch.manual_seed(seed)
        net = ref03.CNNEnergy(1, 8, 4, k)
        net.features = nn.Flatten()
        net.head = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, k))
    with torch.no_grad():
        for p in net.head.parameters():
            p.mul_(2.0)
    return net.to(dtype)
