"""Contrastive divergence and the energy regulariser."""

import torch

from ebm_course.losses import contrastive_divergence, ebm_loss, energy_l2


def test_values_and_sign():
    e_data, e_model = torch.tensor([1.0, -1.0]), torch.tensor([2.0, 4.0])
    assert contrastive_divergence(e_data, e_model).item() == -3.0
    assert energy_l2(e_data, e_model).item() == 11.0
    loss, cd, reg = ebm_loss(e_data, e_model, alpha=0.5)
    assert (loss.item(), cd.item(), reg.item()) == (2.5, -3.0, 11.0)


def test_gradient_lowers_data_energy_and_raises_model_energy():
    e_data = torch.zeros(4, requires_grad=True)
    e_model = torch.zeros(4, requires_grad=True)
    ebm_loss(e_data, e_model, alpha=0.0)[0].backward()
    # Gradient descent moves E_data down (positive grad) and E_model up (negative grad).
    assert (e_data.grad > 0).all() and (e_model.grad < 0).all()
