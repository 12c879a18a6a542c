"""03_mnist_ebm, ``cnn_energy``: wrong implementations (``BUGS``: each must fail
``check_cnn_energy``) and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import ebm_course.models
from ebm_course.instructor.assignments.mnist_ebm import checks
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03


class CNNNaiveLogSumExp(ref03.CNNEnergy):
    """forward(x) as log(sum(exp(logits))): inf for logits of 1e3, -inf for -1e3."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.exp().sum(1).log()
        return logits.gather(1, y[:, None]).squeeze(1)


class CNNSqueezeAll(ref03.CNNEnergy):
    """forward(x, y) ends in .squeeze(): a 0-dim result on a batch of one."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(1)
        return logits.gather(1, y[:, None]).squeeze()


class CNNDetachedFeatures(ref03.CNNEnergy):
    """get_logits detaches the features: no gradient reaches the convolutions or the image."""

    def get_logits(self, x):
        return self.head(self.features(x).detach())


class CNNForwardNoGrad(ref03.CNNEnergy):
    """forward computes the logits under torch.no_grad(): nothing can be trained or sampled."""

    def forward(self, x, y=None):
        with torch.no_grad():
            logits = self.get_logits(x)
        return logits.logsumexp(1) if y is None else logits.gather(1, y[:, None]).squeeze(1)


class CNNTiesDropped(ref03.CNNEnergy):
    """Hand-made logsumexp max + log1p(sum of exp(l - max) over l != max): ties are lost."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits.gather(1, y[:, None]).squeeze(1)
        m = logits.max(1, keepdim=True).values
        others = torch.where(logits == m, torch.zeros_like(logits), (logits - m).exp())
        return m.squeeze(1) + torch.log1p(others.sum(1))


class CNNShiftDetachedWrongSide(ref03.CNNEnergy):
    """Stable logsumexp that detaches the outer max: right value, gradient softmax - onehot."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits.gather(1, y[:, None]).squeeze(1)
        m = logits.max(1, keepdim=True).values
        return m.detach().squeeze(1) + (logits - m).exp().sum(1).log()


class CNNLogSoftmaxForY(ref03.CNNEnergy):
    """forward(x, y) returns log p(y|x) (log_softmax) instead of the logit f(x)[y]."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is None:
            return logits.logsumexp(1)
        return logits.log_softmax(1).gather(1, y[:, None]).squeeze(1)


class CNNRescalesInput(ref03.CNNEnergy):
    """get_logits rescales the [-1, 1] images to [0, 1] first."""

    def get_logits(self, x):
        return self.head(self.features((x + 1) / 2))


class WrongSwish(nn.Module):
    """A wrong activation (x * tanh(x)): check_cnn_energy must not charge it to the CNN."""

    def forward(self, x):
        return x * torch.tanh(x)


Swish = WrongSwish  # the "notebook's" Swish that CNNWithWrongSwish builds its layers from


class CNNWithWrongSwish(ebm_course.models.CNNEnergy):
    """Right get_logits / forward on a network built with the notebook's (wrong) Swish."""

    def __init__(self, in_channels=1, image_size=28, hidden=32, n_classes=1):
        super().__init__(in_channels, image_size, hidden, n_classes, activation=Swish)

    def get_logits(self, x):
        h = x
        for layer in self.features:
            h = layer(h)
        return self.head(h)

    def forward(self, x, y=None):
        return ref03.CNNEnergy.forward(self, x, y)


class CNNForwardWithoutGetLogits(ref03.CNNEnergy):
    """forward recomputes head(features(x)); logsumexp by hand with a detached amax; y by a
    one-hot mask."""

    def forward(self, x, y=None):
        logits = self.head(self.features(x))
        if y is not None:
            mask = F.one_hot(y, logits.shape[1]).to(torch.bool)
            return torch.where(mask, logits, torch.zeros_like(logits)).sum(1)
        m = logits.amax(1, keepdim=True).detach()
        return (logits - m).exp().sum(1).log() + m.squeeze(1)


class CNNLoopOverClasses(ref03.CNNEnergy):
    """logsumexp folded class by class with logaddexp; y by plain indexing; float64-safe."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits[torch.arange(len(logits)), y]
        out = logits[:, 0]
        for k in range(1, logits.shape[1]):
            out = torch.logaddexp(out, logits[:, k])
        return out


class SoftmaxInsteadOfLogits(ref03.CNNEnergy):
    """get_logits returns probabilities."""

    def get_logits(self, x):
        return self.head(self.features(x)).softmax(1)


class EnergyNotNegEnergy(ref03.CNNEnergy):
    """forward returns E = -logsumexp, the opposite of the convention."""

    def forward(self, x, y=None):
        return -super().forward(x, y)


class ForwardIgnoresY(ref03.CNNEnergy):
    """forward(x, y) returns logsumexp whatever y is."""

    def forward(self, x, y=None):
        return self.get_logits(x).logsumexp(1)


class ForwardMaxNotLogsumexp(ref03.CNNEnergy):
    """Unconditional neg_energy as the largest logit."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        return logits.max(1).values if y is None else logits.gather(1, y[:, None]).squeeze(1)


class LogitsWithoutHeadBias(ref03.CNNEnergy):
    """Drops the last layer's bias."""

    def get_logits(self, x):
        h = self.head[:-1](self.features(x))
        return h @ self.head[-1].weight.T


class CNNEnergyManualLogsumexp(ref03.CNNEnergy):
    """A hand-written stable logsumexp and plain indexing for f(x)[y]."""

    def forward(self, x, y=None):
        logits = self.get_logits(x)
        if y is not None:
            return logits[torch.arange(len(logits)), y]
        m = logits.max(1, keepdim=True).values.detach()
        return (logits - m).exp().sum(1).log() + m.squeeze(1)


BUGS = [
    (checks.check_cnn_energy, CNNNaiveLogSumExp),
    (checks.check_cnn_energy, CNNSqueezeAll),
    (checks.check_cnn_energy, CNNDetachedFeatures),
    (checks.check_cnn_energy, CNNForwardNoGrad),
    (checks.check_cnn_energy, CNNTiesDropped),
    (checks.check_cnn_energy, CNNShiftDetachedWrongSide),
    (checks.check_cnn_energy, CNNLogSoftmaxForY),
    (checks.check_cnn_energy, CNNRescalesInput),
    (checks.check_cnn_energy, SoftmaxInsteadOfLogits),
    (checks.check_cnn_energy, EnergyNotNegEnergy),
    (checks.check_cnn_energy, ForwardIgnoresY),
    (checks.check_cnn_energy, ForwardMaxNotLogsumexp),
    (checks.check_cnn_energy, LogitsWithoutHeadBias),
]


ALT_CORRECT = [
    (checks.check_cnn_energy, CNNWithWrongSwish),
    (checks.check_cnn_energy, CNNForwardWithoutGetLogits),
    (checks.check_cnn_energy, CNNLoopOverClasses),
    (checks.check_cnn_energy, CNNEnergyManualLogsumexp),
]
