"""The UvA Deep Learning tutorial 8 ("Deep Energy-Based Generative Models"), reproduced for the
benchmarks: its sampler, its CNN and its training step, as the tutorial writes them (device
handling made explicit). ``sampler_speed.py`` times the sampler against ``MCMCSampler``;
``train_time.py`` trains both models for the same wall-clock budget.
"""

from __future__ import annotations

import random

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn, optim


class TutorialSampler:
    """The tutorial's Sampler, verbatim in substance (device handling made explicit)."""

    def __init__(self, model, img_shape, sample_size, max_len=8192):
        self.model, self.img_shape, self.sample_size, self.max_len = model, img_shape, sample_size, max_len
        self.examples = [(torch.rand((1,) + img_shape) * 2 - 1) for _ in range(self.sample_size)]

    def sample_new_exmps(self, steps=60, step_size=10):
        n_new = np.random.binomial(self.sample_size, 0.05)
        rand_imgs = torch.rand((n_new,) + self.img_shape) * 2 - 1
        old_imgs = torch.cat(random.choices(self.examples, k=self.sample_size - n_new), dim=0)
        inp_imgs = torch.cat([rand_imgs, old_imgs], dim=0).detach()
        inp_imgs = TutorialSampler.generate_samples(self.model, inp_imgs, steps=steps, step_size=step_size)
        self.examples = list(inp_imgs.chunk(self.sample_size, dim=0)) + self.examples
        self.examples = self.examples[: self.max_len]
        return inp_imgs

    @staticmethod
    def generate_samples(model, inp_imgs, steps=60, step_size=10, return_img_per_step=False):
        is_training = model.training
        model.eval()
        for p in model.parameters():
            p.requires_grad = False
        inp_imgs.requires_grad = True
        had_gradients_enabled = torch.is_grad_enabled()
        torch.set_grad_enabled(True)
        noise = torch.randn(inp_imgs.shape, device=inp_imgs.device)
        imgs_per_step = []
        for _ in range(steps):
            noise.normal_(0, 0.005)
            inp_imgs.data.add_(noise.data)
            inp_imgs.data.clamp_(min=-1.0, max=1.0)
            out_imgs = -model(inp_imgs)
            out_imgs.sum().backward()
            inp_imgs.grad.data.clamp_(-0.03, 0.03)
            inp_imgs.data.add_(-step_size * inp_imgs.grad.data)
            inp_imgs.grad.detach_()
            inp_imgs.grad.zero_()
            inp_imgs.data.clamp_(min=-1.0, max=1.0)
            if return_img_per_step:
                imgs_per_step.append(inp_imgs.clone().detach())
        for p in model.parameters():
            p.requires_grad = True
        model.train(is_training)
        torch.set_grad_enabled(had_gradients_enabled)
        return torch.stack(imgs_per_step, dim=0) if return_img_per_step else inp_imgs


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class TutorialCNN(nn.Module):
    """The tutorial's CNNModel: its output is -E(x) (higher = more likely)."""

    def __init__(self, hidden_features=32, out_dim=1):
        super().__init__()
        c_hid1, c_hid2, c_hid3 = hidden_features // 2, hidden_features, hidden_features * 2
        self.cnn_layers = nn.Sequential(
            nn.Conv2d(1, c_hid1, kernel_size=5, stride=2, padding=4), Swish(),
            nn.Conv2d(c_hid1, c_hid2, kernel_size=3, stride=2, padding=1), Swish(),
            nn.Conv2d(c_hid2, c_hid3, kernel_size=3, stride=2, padding=1), Swish(),
            nn.Conv2d(c_hid3, c_hid3, kernel_size=3, stride=2, padding=1), Swish(),
            nn.Flatten(),
            nn.Linear(c_hid3 * 4, c_hid3), Swish(),
            nn.Linear(c_hid3, out_dim))

    def forward(self, x):
        return self.cnn_layers(x).squeeze(dim=-1)


class TutorialEBM(pl.LightningModule):
    """The tutorial's DeepEnergyModel: CD loss + L2 regulariser, Adam(beta1=0), StepLR 0.97,
    60 SGLD steps of size 10 per iteration from its list replay buffer."""

    def __init__(self, img_shape=(1, 28, 28), batch_size=128, alpha=0.1, lr=1e-4, beta1=0.0):
        super().__init__()
        self.save_hyperparameters()
        self.cnn = TutorialCNN()
        self.sampler = TutorialSampler(self.cnn, img_shape=img_shape, sample_size=batch_size)

    def forward(self, x):
        return self.cnn(x)

    def configure_optimizers(self):
        optimizer = optim.Adam(self.parameters(), lr=self.hparams.lr, betas=(self.hparams.beta1, 0.999))
        scheduler = optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.97)
        return [optimizer], [scheduler]

    def training_step(self, batch, batch_idx):
        real_imgs, _ = batch
        small_noise = torch.randn_like(real_imgs) * 0.005
        real_imgs.add_(small_noise).clamp_(min=-1.0, max=1.0)
        fake_imgs = self.sampler.sample_new_exmps(steps=60, step_size=10)
        inp_imgs = torch.cat([real_imgs, fake_imgs], dim=0)
        real_out, fake_out = self.cnn(inp_imgs).chunk(2, dim=0)
        reg_loss = self.hparams.alpha * (real_out ** 2 + fake_out ** 2).mean()
        cdiv_loss = fake_out.mean() - real_out.mean()
        return reg_loss + cdiv_loss
