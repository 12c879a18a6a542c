"""07_score_models, ``EpsScore``: wrong implementations (``BUGS``: each must fail
``check_eps_score``) and correct ones written differently (``ALT_CORRECT``)."""

from __future__ import annotations

import torch
from torch import nn

from ebm_course.instructor.assignments.score_models import checks


class _Base(nn.Module):
    def __init__(self, eps_net):
        super().__init__()
        self.eps_net = eps_net

    @staticmethod
    def _levels(x, sigma):
        return torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])


class ScoreTimesSigma(_Base):
    """Multiplies by sigma."""

    def forward(self, x, sigma):
        s = self._levels(x, sigma)
        return -self.eps_net(x, s) * s.view(-1, *[1] * (x.dim() - 1))


class ScoreOverSigmaSquared(_Base):
    """Divides by sigma^2."""

    def forward(self, x, sigma):
        s = self._levels(x, sigma)
        return -self.eps_net(x, s) / s.view(-1, *[1] * (x.dim() - 1)) ** 2


class ScoreNoMinus(_Base):
    """eps / sigma: the noise points away from the data, the score towards it."""

    def forward(self, x, sigma):
        s = self._levels(x, sigma)
        return self.eps_net(x, s) / s.view(-1, *[1] * (x.dim() - 1))


class ScoreLastDimBroadcast(_Base):
    """Divides by the (B,) levels as they are: broadcast along the last dimension."""

    def forward(self, x, sigma):
        s = self._levels(x, sigma)
        return -self.eps_net(x, s) / s


class ScoreFloatToNet(nn.Module):
    """Hands the network sigma as it came (a float), not a (B,) tensor."""

    def __init__(self, eps_net):
        super().__init__()
        self.eps_net = eps_net

    def forward(self, x, sigma):
        return -self.eps_net(x, sigma) / torch.as_tensor(sigma, dtype=x.dtype).reshape(
            -1, *[1] * (x.dim() - 1))


class ScoreDetached(_Base):
    """Detaches the network's output: no gradient reaches its parameters."""

    def forward(self, x, sigma):
        s = self._levels(x, sigma)
        return -self.eps_net(x, s).detach() / s.view(-1, *[1] * (x.dim() - 1))


class ScoreMeanSigma(_Base):
    """Divides every sample by the batch's mean sigma."""

    def forward(self, x, sigma):
        s = self._levels(x, sigma)
        return -self.eps_net(x, s) / s.mean()


class ScoreFloat32Levels(_Base):
    """Passes the levels as float32 whatever x's dtype."""

    def forward(self, x, sigma):
        s = torch.as_tensor(sigma, dtype=torch.float32).expand(x.shape[0])
        return -self.eps_net(x, s) / s.view(-1, *[1] * (x.dim() - 1)).to(x.dtype)


class ScoreReshape(nn.Module):
    """torch.full for a number, reshape with a computed shape, division written as a product."""

    def __init__(self, eps_net):
        super().__init__()
        self.eps_net = eps_net

    def forward(self, x, sigma):
        if isinstance(sigma, torch.Tensor) and sigma.dim() == 1:
            levels = sigma.to(x)
        else:
            levels = torch.full((len(x),), float(sigma), dtype=x.dtype, device=x.device)
        shape = (len(x),) + (1,) * (x.dim() - 1)
        return self.eps_net(x, levels) * (-1.0 / levels).reshape(shape)


class ScoreEinsum(nn.Module):
    """Broadcast by einsum over a flattened output."""

    def __init__(self, eps_net):
        super().__init__()
        self.eps_net = eps_net

    def forward(self, x, sigma):
        levels = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if levels.dim() == 0:
            levels = levels.repeat(x.shape[0])
        eps = self.eps_net(x, levels)
        return -torch.einsum("b...,b->b...", eps, 1 / levels)


BUGS = [
    (checks.check_eps_score, ScoreTimesSigma),
    (checks.check_eps_score, ScoreOverSigmaSquared),
    (checks.check_eps_score, ScoreNoMinus),
    (checks.check_eps_score, ScoreLastDimBroadcast),
    (checks.check_eps_score, ScoreFloatToNet),
    (checks.check_eps_score, ScoreDetached),
    (checks.check_eps_score, ScoreMeanSigma),
    (checks.check_eps_score, ScoreFloat32Levels),
]

ALT_CORRECT = [
    (checks.check_eps_score, ScoreReshape),
    (checks.check_eps_score, ScoreEinsum),
]
