"""Replay-buffer SGLD: the tutorial's algorithm vs ``ebm_course.sampling.MCMCSampler``.

Same CNN, batch 128, 60 steps, 28x28, on the CPU. The tutorial's version is reproduced as it is
written (UvA DL tutorial 8): the buffer is a Python list of one-image tensors, starts are drawn
with ``random.choices`` and ``torch.cat``, every step calls ``.backward()`` on the input with the
parameters' ``requires_grad`` toggled off and on around the chain, updates go through ``.data``,
and the batch is chunked back into the list. Prints img-steps/s of both and the ratio, and writes
``results/bench_sampler.json``.

    python benchmarks/sampler_speed.py [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import numpy as np
import torch

from ebm_course.models import CNNEnergy
from ebm_course.results import results_dir
from ebm_course.sampling import MCMCSampler

BATCH, STEPS, STEP_SIZE, NOISE, SHAPE = 128, 60, 10.0, 0.005, (1, 28, 28)


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


def rate(fn, repeats: int) -> list[float]:
    fn()  # warm-up: allocator, thread pool
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(BATCH * STEPS / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    net = CNNEnergy(1, 28, 32, 1)
    tutorial = TutorialSampler(net, SHAPE, BATCH)
    ours = MCMCSampler(SHAPE, 8192, 0.05, STEPS, STEP_SIZE, NOISE, 0.03, seed=0)
    ours.sample(net, BATCH)  # fill a batch, as the tutorial's constructor does
    r_tut = rate(lambda: tutorial.sample_new_exmps(STEPS, STEP_SIZE), args.repeats)
    r_ours = rate(lambda: ours.sample(net, BATCH), args.repeats)
    med_tut, med_ours = statistics.median(r_tut), statistics.median(r_ours)
    result = {"batch": BATCH, "steps": STEPS, "threads": torch.get_num_threads(),
              "tutorial_img_steps_per_s": round(med_tut), "ebm_course_img_steps_per_s": round(med_ours),
              "speedup": round(med_ours / med_tut, 3),
              "tutorial_all": [round(r) for r in r_tut], "ebm_course_all": [round(r) for r in r_ours]}
    print(f"tutorial sampler : {med_tut:10.0f} img-steps/s (median of {args.repeats})")
    print(f"ebm_course       : {med_ours:10.0f} img-steps/s")
    print(f"speedup          : {med_ours / med_tut:10.2f}x")
    out = results_dir() / "bench_sampler.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
