"""The CNN energy: shapes, the three forward cases, Swish."""

import pytest
import torch

from ebm_course.models import CNNEnergy, Swish, energy_fn_of


def test_swish_is_x_sigmoid_x():
    x = torch.linspace(-10, 10, 101)
    assert torch.allclose(Swish()(x), x * torch.sigmoid(x))


@pytest.mark.parametrize("image_size,n_classes", [(28, 1), (28, 10), (56, 42)])
def test_shapes(image_size, n_classes):
    net = CNNEnergy(1, image_size, 16, n_classes)
    x = torch.rand(5, 1, image_size, image_size) * 2 - 1
    assert net.get_logits(x).shape == (5, n_classes)
    assert net(x).shape == (5,)
    assert net(x, torch.zeros(5, dtype=torch.long)).shape == (5,)


def test_forward_cases_values():
    torch.manual_seed(0)
    net = CNNEnergy(n_classes=3)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    logits = net.get_logits(x)
    # Unconditional JEM: -E(x) = log sum_y exp f(x)[y].
    assert torch.allclose(net(x), torch.log(torch.exp(logits).sum(1)), atol=1e-5)
    # Class-conditional: -E(x, y) = f(x)[y].
    y = torch.tensor([2, 0, 1, 2])
    assert torch.allclose(net(x, y), logits[torch.arange(4), y])
    # Plain EBM: one logit, logsumexp is the identity.
    ebm = CNNEnergy(n_classes=1)
    assert torch.allclose(ebm(x), ebm.get_logits(x).squeeze(1))


def test_energy_fn_is_negated_network():
    net = CNNEnergy(n_classes=2)
    x = torch.rand(3, 1, 28, 28)
    y = torch.tensor([0, 1, 1])
    assert torch.allclose(energy_fn_of(net)(x), -net(x))
    assert torch.allclose(energy_fn_of(net, y)(x), -net(x, y))
