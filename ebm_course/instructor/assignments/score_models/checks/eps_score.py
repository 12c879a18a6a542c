"""Hidden checks of 07_score_models: ``EpsScore``."""

from __future__ import annotations

import torch
from torch import nn

from ebm_course.instructor.grading.common import expect_tensor, guard_checks

from ._shared import _close, _gen


class _RecordingEps(nn.Module):
    """eps(x, sigma) = w * tanh(x) + b * log(sigma) per sample; records the sigma it was given."""

    def __init__(self, dtype=torch.float32) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.3, dtype=dtype))
        self.b = nn.Parameter(torch.tensor(0.4, dtype=dtype))
        self.seen = []

    def forward(self, x, sigma):
        self.seen.append(sigma)
        assert isinstance(sigma, torch.Tensor) and sigma.shape == (x.shape[0],), (
            "EpsScore must call eps_net(x, sigma) with sigma a (B,) tensor, one level per sample "
            "(expand a float or a 0-d tensor to the batch)")
        assert sigma.dtype == x.dtype, (
            "EpsScore must pass sigma to eps_net in x's dtype")
        log_s = sigma.log().view(-1, *[1] * (x.dim() - 1))
        return self.w * torch.tanh(x) + self.b * log_s


def _expected(net: _RecordingEps, x: torch.Tensor, sigma) -> torch.Tensor:
    s = torch.as_tensor(sigma, dtype=x.dtype).expand(x.shape[0]).view(-1, *[1] * (x.dim() - 1))
    with torch.no_grad():
        eps = net.w * torch.tanh(x) + net.b * s.log()
    return -eps / s


def check_eps_score(score_cls) -> None:
    """s(x, sigma) = -eps_net(x, sigma) / sigma: eps_net called with sigma as a (B,) tensor of
    x's dtype, for a float, a 0-d tensor and one level per sample (each sample divided by its
    own level, images and 2D points, also when B equals the last size); a batch of one, float64,
    levels from 1e-4 to 1e3; gradients reach the network's parameters and x; x untouched."""
    gen = _gen(5)
    img = torch.randn(4, 1, 5, 5, generator=gen)
    pts = torch.randn(3, 3, generator=gen)  # B == last size: a wrong broadcast goes unnoticed
    per_img = torch.tensor([0.1, 0.5, 2.0, 7.0])
    per_pts = torch.tensor([0.05, 1.0, 4.0])
    cases = [
        ("images and a float sigma", img, 0.3),
        ("images and a 0-d tensor sigma", img, torch.tensor(1.7)),
        ("images and one sigma per sample", img, per_img),
        ("2D points and one sigma per sample", pts, per_pts),
        ("a batch of one", img[:1], torch.tensor([0.8])),
        ("a tiny sigma (1e-4)", pts, torch.full((3,), 1e-4)),
        ("a huge sigma (1e3)", pts, 1e3),
    ]
    for kind, x, sigma in cases:
        net = _RecordingEps()
        x_before = x.clone()
        got = _close(score_cls(net)(x, sigma), _expected(net, x, sigma),
                     f"EpsScore on {kind} (expected -eps_net(x, sigma) / sigma)", rtol=1e-5)
        assert torch.equal(x, x_before), "EpsScore must not modify x in place"
        assert net.seen, "EpsScore never called its eps_net"
        assert got.requires_grad, (
            "EpsScore returned a tensor without a graph: training differentiates the loss "
            "through the score to the network's parameters (do not detach or use no_grad)")
    x64 = pts.double()
    net64 = _RecordingEps(torch.float64)
    _close(score_cls(net64)(x64, per_pts.double()), _expected(net64, x64, per_pts.double()),
           "EpsScore with float64 inputs", atol=1e-10, rtol=1e-9)
    # Gradients: to the parameters (training) and to x (the score of a score is used nowhere
    # here, but an energy view differentiates it).
    net = _RecordingEps()
    leaf = pts.clone().requires_grad_(True)
    out = expect_tensor(score_cls(net)(leaf, per_pts), "EpsScore with x that requires grad")
    out.sum().backward()
    with torch.no_grad():
        want_w = -(torch.tanh(pts) / per_pts[:, None]).sum()
    assert net.w.grad is not None and torch.allclose(net.w.grad, want_w, rtol=1e-4), (
        "EpsScore: the gradient of the score with respect to eps_net's parameters is wrong or "
        "missing (the score must be -eps_net(x, sigma) / sigma, built from the network's output)")
    assert leaf.grad is not None, "EpsScore: no gradient reached x through the score"


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
