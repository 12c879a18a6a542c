"""Langevin dynamics / SGLD and the replay-buffer sampler.

The update, for an energy ``E`` (see :mod:`ebm_course.models` for the sign convention)::

    x <- clamp(x - step_size * clip(dE/dx) + noise_std * eps),   eps ~ N(0, I)

With ``noise_std = sqrt(2 * step_size)`` and no clipping or clamping this is the unadjusted
Langevin algorithm, whose samples approach ``p(x) ~ exp(-E(x))`` as the step size shrinks. Deep
EBMs decouple the two (a large step, a small noise) and clip the gradient: that is "SGLD" as the
papers use it, a fast mode-seeker with a little noise, not an exact sampler.
"""

from __future__ import annotations

import copy
import functools
import sys
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn
from tqdm import tqdm  # text bars, not tqdm.auto's widget (see the loop below)

from .models import EnergyFn, energy_fn_of

#: One SGLD step, ``step_fn(energy_fn, x, step_size, noise_std, grad_clip, clamp) -> x_new``:
#: the function assignment 3 asks for (``langevin_step``; assignment 4's ``sgld_step``). The
#: package holds none: every function here that moves a chain takes the caller's.
StepFn = Callable[..., torch.Tensor]


def _require_step_fn(step_fn: StepFn | None, where: str) -> StepFn:
    if step_fn is None or not callable(step_fn):
        raise TypeError(f"{where} needs step_fn=<your SGLD step>, e.g. step_fn=langevin_step "
                        f"(the function you wrote in assignment 3); got {step_fn!r}")
    return step_fn


def langevin_chain(energy_fn: EnergyFn, x: torch.Tensor, n_steps: int, step_size: float,
                   noise_std: float, grad_clip: float | None = None,
                   clamp: tuple[float, float] | None = None, *, step_fn: StepFn,
                   keep_steps: Sequence[int] = (), progress: bool = False):
    """Run ``n_steps`` SGLD steps of ``step_fn`` from ``x``.

    Args:
        energy_fn: maps (B, ...) to energies (B,).
        x: initial samples, (B, ...).
        n_steps: number of steps.
        step_size, noise_std, grad_clip, clamp: passed to every step.
        step_fn: one SGLD step (see :data:`StepFn`): the notebook's ``langevin_step``.
        keep_steps: step numbers (0 = the start) whose samples are also returned.
        progress: show a progress bar (long generation runs).
    Returns:
        final samples (B, ...); with ``keep_steps``, also a dict ``{step: samples}``.
    """
    step_fn = _require_step_fn(step_fn, "langevin_chain")
    kept = {0: x.detach().clone()} if 0 in keep_steps else {}
    # a text bar on stdout: tqdm.auto's widget is saved in an executed notebook as a static "0%"
    for step in tqdm(range(1, n_steps + 1), disable=not progress, desc="SGLD", leave=False,
                     file=sys.stdout, mininterval=1.0):
        x = step_fn(energy_fn, x, step_size, noise_std, grad_clip, clamp)
        if step in keep_steps:
            kept[step] = x.detach().clone()
    return (x, kept) if keep_steps else x


class sampling_mode:
    """Context manager: eval mode and frozen parameters while sampling, then restore both.

    Freezing the parameters means the SGLD graph holds no parameter branches, and a student's
    ``.backward()``-style sampler cannot leak gradients into the next optimiser step.
    """

    def __init__(self, net: nn.Module) -> None:
        self.net = net

    def __enter__(self) -> nn.Module:
        self.was_training = self.net.training
        self.flags = [p.requires_grad for p in self.net.parameters()]
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        return self.net

    def __exit__(self, *exc) -> None:
        for p, flag in zip(self.net.parameters(), self.flags):
            p.requires_grad_(flag)
        self.net.train(self.was_training)


PRECISIONS = ("fp32", "bf16", "auto")


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AMX or AVX512-BF16; Linux only)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in ("amx_bf16", "avx512_bf16"))


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> ``"bf16"`` on a CPU with hardware bfloat16, else ``"fp32"``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def chain_energy_fn(net: nn.Module, y: torch.Tensor | None, precision: str,
                    device_type: str) -> EnergyFn:
    """The energy ``E(x) = -net(x, y)`` that SGLD chains run on, in ``precision``.

    The chains run the network's own code on a copy of it whose convolution weights are stored
    channels-last, the layout oneDNN's convolutions want for the channels-last images the
    sampler keeps: measured bit-identical energies and input gradients, and about 1.5x faster
    per SGLD step on a 2-core CPU (``benchmarks/sampler_speed.py``). With ``"bf16"`` the copy is
    also cast to bfloat16 (the input cast on the way in, the energy returned as float32):
    bit-for-bit what bf16 autocast computes, without its weight casts at every call. The chain
    itself, the clipping, the noise and the buffer stay float32. bf16, not fp16: autograd
    through fp16 needs loss scaling, bf16 has float32's range. The input gradient keeps ~3
    significant digits (measured: 0.9-1.3% relative error, 99.7% of signs agree with float32),
    far below what the per-pixel clip and the injected noise do to each step.

    Call it with the network already frozen and in eval mode (:class:`sampling_mode`): the copy
    inherits both. A network that cannot be deep-copied runs as it is (under autocast for bf16).
    """
    try:
        chain_net = copy.deepcopy(net)
    except (RuntimeError, TypeError):  # e.g. a module holding an uncopyable object
        energy_fn = energy_fn_of(net, y)
        if precision == "fp32":
            return energy_fn

        def energy_autocast(x: torch.Tensor) -> torch.Tensor:
            with torch.autocast(device_type, dtype=torch.bfloat16):
                return energy_fn(x).float()

        return energy_autocast
    chain_net = chain_net.to(memory_format=torch.channels_last)
    if precision == "fp32":
        return energy_fn_of(chain_net, y)
    energy_bf16 = energy_fn_of(chain_net.to(torch.bfloat16), y)
    return lambda x: energy_bf16(x.to(torch.bfloat16)).float()


def write_slots(buffer: torch.Tensor, slots: torch.Tensor, values: torch.Tensor) -> None:
    """``buffer[slots] = values``, the same every run even when a slot repeats (the last wins).

    Chains draw their buffer slots with replacement, so two chains of one batch can share a
    slot. A plain indexed write with repeated indices is racy on CPU and GPU: which chain lands
    in the slot may change between identical runs, and with it every number after. Here the
    chain listed last keeps the slot.

    Args:
        buffer: (N, *sample_shape), written in place.
        slots: (B,) int64 slot of each row of ``values`` (any device).
        values: (B, *sample_shape).
    """
    slots = slots.to(buffer.device)
    order = torch.arange(len(slots), device=buffer.device)
    last = torch.full((len(buffer),), -1, dtype=torch.long, device=buffer.device)
    last.scatter_reduce_(0, slots, order, reduce="amax")  # max is order-free: deterministic
    keep = last[slots] == order
    buffer[slots[keep]] = values[keep].to(buffer.device, buffer.dtype)


class MCMCSampler:
    """SGLD with a replay buffer of persistent chains (Du & Mordatch 2019; JEM).

    The buffer is one preallocated tensor of at most ``buffer_size`` samples. Each call draws a
    batch of chain starts: from the buffer, except a ``reinit_prob`` share (and everything while
    the buffer is empty) that restarts from noise. After ``n_steps`` of SGLD the samples go back:
    appended while the buffer has room, then written over the slots they were drawn from.

    Args:
        sample_shape: shape of one sample, e.g. (1, 28, 28).
        buffer_size: maximum number of stored samples.
        reinit_prob: probability that a chain restarts from noise.
        n_steps, step_size, noise_std, grad_clip, clamp: SGLD settings.
        init: ``"uniform"`` (U(-1, 1), the MNIST tutorial) or ``"gaussian"`` (N(0, init_std^2),
            JEM's small noise).
        init_std: standard deviation for ``init="gaussian"``.
        seed: seeds the sampler's own generator (chain starts, re-init noise).
        step_fn: the SGLD step (see :data:`StepFn`; the notebook's ``langevin_step``); needed
            by :meth:`sample`, :meth:`run_chains` and :meth:`generate`, not by the buffer.
        precision: ``"fp32"``; ``"bf16"`` (the network's forward and input gradient on a
            bfloat16 copy of the network, :func:`chain_energy_fn`; ~1.6x faster again on CPUs
            with AMX / AVX512-BF16, see ``benchmarks/sampler_speed.py``); ``"auto"``: bf16 on
            such a CPU, else fp32.

    The buffer policy, :meth:`_init_chains` and :meth:`_update_buffer`, is assignment 3's
    Exercise 4: a notebook subclasses this class and writes them (assignment 4 gives its own).

    Speed: images and the chains' copy of the network's weights are kept channels-last, which
    oneDNN's convolutions prefer, and that copy may run in bfloat16 (``precision``); the chain itself is the caller's ``step_fn``, called
    step by step as written, on the caller's network code.
    """

    def __init__(self, sample_shape: Sequence[int], buffer_size: int = 8192,
                 reinit_prob: float = 0.05, n_steps: int = 60, step_size: float = 10.0,
                 noise_std: float = 0.005, grad_clip: float | None = 0.03,
                 clamp: tuple[float, float] | None = (-1.0, 1.0), init: str = "uniform",
                 init_std: float = 0.1, seed: int = 0,
                 step_fn: StepFn | None = None,
                 precision: str = "fp32") -> None:
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        if not 0.0 <= reinit_prob <= 1.0:
            raise ValueError(f"reinit_prob must lie in [0, 1], got {reinit_prob}")
        if init not in ("uniform", "gaussian"):
            raise ValueError(f"init must be 'uniform' or 'gaussian', got {init!r}")
        resolve_precision(precision, torch.device("cpu"))  # refuse unknown names early
        self.sample_shape = tuple(sample_shape)
        self.buffer_size, self.reinit_prob = buffer_size, reinit_prob
        self.n_steps, self.step_size, self.noise_std = n_steps, step_size, noise_std
        self.grad_clip, self.clamp = grad_clip, clamp
        self.init, self.init_std, self.step_fn = init, init_std, step_fn
        self.precision = precision
        self.generator = torch.Generator().manual_seed(seed)
        self.buffer = torch.zeros((buffer_size, *self.sample_shape))  # (N, C, H, W)
        self.n_filled = 0

    def init_noise(self, n: int) -> torch.Tensor:
        """``n`` fresh chain starts, (n, *sample_shape), on the buffer's device."""
        shape = (n, *self.sample_shape)
        if self.init == "uniform":
            x = torch.rand(shape, generator=self.generator) * 2 - 1
        else:
            x = torch.randn(shape, generator=self.generator) * self.init_std
        return x.to(self.buffer.device)

    def _init_chains(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Chain starts for one batch and the buffer slots they came from.

        Returns:
            x_init, (batch_size, *sample_shape), on the buffer's device; a restarted chain holds
            ``init_noise``, the others a copy of a uniformly drawn filled buffer slot.
            idx, (batch_size,), int64: the slot drawn for each chain (any valid slot for restarts).
        """
        raise NotImplementedError(
            f"{type(self).__name__}._init_chains: the buffer policy is yours to write "
            "(assignment 3, Exercise 4): subclass MCMCSampler and define it")

    def _update_buffer(self, x_model: torch.Tensor, idx: torch.Tensor) -> None:
        """Store the batch's final samples: append while there is room, else overwrite ``idx``.

        Args:
            x_model: final samples, (B, *sample_shape).
            idx: the slots returned by :meth:`_init_chains`, (B,).
        """
        raise NotImplementedError(
            f"{type(self).__name__}._update_buffer: the buffer policy is yours to write "
            "(assignment 3, Exercise 4): subclass MCMCSampler and define it")

    def sample(self, net: nn.Module, batch_size: int, y: torch.Tensor | None = None,
               n_steps: int | None = None) -> torch.Tensor:
        """Draw ``batch_size`` model samples with SGLD from buffer starts and update the buffer.

        Args:
            net: network returning neg_energy (B,) from ``net(x)`` or ``net(x, y)``.
            batch_size: number of chains B.
            y: optional labels (B,) for class-conditional sampling ``E(x, y) = -f(x)[y]``.
            n_steps: override the number of SGLD steps.
        Returns:
            x_model, (B, *sample_shape), detached, on the network's device.
        """
        device = next(net.parameters()).device
        if self.buffer.device != device:
            self.buffer = self.buffer.to(device)
        x_init, idx = self._init_chains(batch_size)
        x_model = self.run_chains(net, x_init, y, n_steps)
        self._update_buffer(x_model, idx)
        return x_model

    def run_chains(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
                   n_steps: int | None = None) -> torch.Tensor:
        """Run this sampler's SGLD from ``x`` on ``net``'s energy; the buffer is not touched.

        Args:
            x: chain starts, (B, *sample_shape), on the network's device.
            y, n_steps: as in :meth:`sample`.
        Returns:
            final samples, (B, *sample_shape), detached.
        """
        device = x.device
        if x.dim() == 4:  # explicit NHWC strides (a 1-channel NCHW tensor is ambiguous)
            x = x.clone(memory_format=torch.channels_last)
        precision = resolve_precision(self.precision, device)
        n_steps = self.n_steps if n_steps is None else n_steps
        step_fn = _require_step_fn(self.step_fn, f"{type(self).__name__}")
        with sampling_mode(net):
            energy_fn = chain_energy_fn(net, y, precision, device.type)
            x = langevin_chain(energy_fn, x, n_steps, self.step_size, self.noise_std,
                               self.grad_clip, self.clamp, step_fn=step_fn)
        return x.contiguous()

    @torch.no_grad()
    def generate(self, net: nn.Module, n: int, n_steps: int, batch_size: int = 128) -> torch.Tensor:
        """``n`` samples from fresh chains (``init_noise``), ``n_steps`` each, in batches.

        Unlike :meth:`sample` this neither reads nor writes the buffer: it shows what the model
        generates from scratch.

        Returns:
            (n, *sample_shape) on the network's device.
        """
        device = next(net.parameters()).device
        return torch.cat([self.run_chains(net, self.init_noise(b).to(device), None, n_steps)
                          for b in [batch_size] * (n // batch_size) + [n % batch_size] if b])

    def state_dict(self) -> dict:
        """Buffer, fill level and generator state, for checkpoints."""
        return {"buffer": self.buffer[: self.n_filled].cpu(), "n_filled": self.n_filled,
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.n_filled = int(state["n_filled"])
        self.buffer[: self.n_filled] = state["buffer"].to(self.buffer.device)
        self.generator.set_state(state["generator"])


def inpaint(energy_fn: EnergyFn, x_known: torch.Tensor, mask: torch.Tensor, n_steps: int,
            step_size: float, noise_std: float, grad_clip: float | None = None,
            clamp: tuple[float, float] | None = (-1.0, 1.0),
            generator: torch.Generator | None = None, *, step_fn: StepFn) -> torch.Tensor:
    """Fill the pixels where ``mask`` is True by SGLD, holding the others at ``x_known``.

    This samples from the conditional ``p(x_missing | x_known)``, which an EBM gives for free:
    the energy of the whole image is defined, so the known pixels simply stay clamped.

    Args:
        x_known: images (B, C, H, W); the values under ``mask`` are ignored.
        mask: bool, broadcastable to ``x_known``; True where pixels are missing.
        generator: seeds the uniform-noise start of the missing pixels.
        step_fn: one SGLD step (the notebook's ``langevin_step``).
    Returns:
        completed images, (B, C, H, W).
    """
    step_fn = _require_step_fn(step_fn, "inpaint")
    noise = torch.rand(x_known.shape, generator=generator).to(x_known.device) * 2 - 1
    x = torch.where(mask, noise, x_known)
    for _ in range(n_steps):
        x = step_fn(energy_fn, x, step_size, noise_std, grad_clip, clamp)
        x = torch.where(mask, x, x_known)
    return x
