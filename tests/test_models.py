"""The CNN energy: the package's layers without answers, the three forward cases of the reference
(assignment 3) and of the network notebook 4 gives."""

import pytest
import torch
from torch import nn

from ebm_course import models
from ebm_course.instructor.assignments.mnist_ebm.reference import CNNEnergy, Swish
from ebm_course.models import energy_fn_of

from .reference_models import GlyphCNN  # notebook 4's given network


def test_swish_is_x_sigmoid_x():
    x = torch.linspace(-10, 10, 101)
    assert torch.allclose(Swish()(x), x * torch.sigmoid(x))


def test_package_network_has_layers_but_no_answers():
    net = models.CNNEnergy(1, 28, 8, 3)
    x = torch.rand(2, 1, 28, 28)
    assert net.head(net.features(x)).shape == (2, 3)
    assert isinstance(net.features[1], nn.SiLU)
    for call in (lambda: net.get_logits(x), lambda: net(x)):
        with pytest.raises(NotImplementedError, match="assignment 3"):
            call()
    assert isinstance(models.CNNEnergy(activation=Swish).features[1], Swish)


@pytest.mark.parametrize("cls", [CNNEnergy, GlyphCNN])
@pytest.mark.parametrize("image_size,n_classes", [(28, 1), (28, 10), (56, 42)])
def test_shapes(cls, image_size, n_classes):
    net = cls(1, image_size, 16, n_classes)
    x = torch.rand(5, 1, image_size, image_size) * 2 - 1
    assert net.get_logits(x).shape == (5, n_classes)
    assert net(x).shape == (5,)
    assert net(x, torch.zeros(5, dtype=torch.long)).shape == (5,)


@pytest.mark.parametrize("cls", [CNNEnergy, GlyphCNN])
def test_forward_cases_values(cls):
    torch.manual_seed(0)
    net = cls(n_classes=3)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    logits = net.get_logits(x)
    # Unconditional JEM: -E(x) = log sum_y exp f(x)[y].
    assert torch.allclose(net(x), torch.log(torch.exp(logits).sum(1)), atol=1e-5)
    # Class-conditional: -E(x, y) = f(x)[y].
    y = torch.tensor([2, 0, 1, 2])
    assert torch.allclose(net(x, y), logits[torch.arange(4), y])
    # Plain EBM: one logit, logsumexp is the identity.
    ebm = cls(n_classes=1)
    assert torch.allclose(ebm(x), ebm.get_logits(x).squeeze(1))


def test_assignment_3_and_4_networks_compute_the_same():
    """Swish written out (03) and nn.SiLU (04) are one function: the same weights, same numbers."""
    torch.manual_seed(1)
    a, b = CNNEnergy(1, 28, 8, 4), GlyphCNN(1, 28, 8, 4)
    b.load_state_dict(a.state_dict())
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert torch.allclose(a.get_logits(x), b.get_logits(x), atol=1e-5)


def test_energy_fn_is_negated_network():
    net = GlyphCNN(n_classes=2)
    x = torch.rand(3, 1, 28, 28)
    y = torch.tensor([0, 1, 1])
    assert torch.allclose(energy_fn_of(net)(x), -net(x))
    assert torch.allclose(energy_fn_of(net, y)(x), -net(x, y))
