"""03_mnist_ebm, ``sampler``: wrong implementations (``BUGS``: each must fail ``check_sampler``)
and correct ones written differently (``ALT_CORRECT``: each must pass)."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.mnist_ebm import checks
from ebm_course.instructor.assignments.mnist_ebm import reference as ref03
from ebm_course.sampling import write_slots


class SlotsFromWholeBuffer(ref03.MCMCSampler):
    """Draws slots from [0, buffer_size): chains start from empty slots."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.buffer_size, (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x[fresh] = self.init_noise(int(fresh.sum()))
        return x, idx


class SlotsOffByOne(ref03.MCMCSampler):
    """randint(n_filled - 1): the last filled slot is never drawn."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(max(self.n_filled - 1, 1), (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x[fresh] = self.init_noise(int(fresh.sum()))
        return x, idx


class SlotsFromGlobalRNG(ref03.MCMCSampler):
    """Draws slots with the global generator: runs do not repeat from the sampler's seed."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.n_filled, (batch_size,))
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size) < self.reinit_prob
        x[fresh] = self.init_noise(int(fresh.sum()))
        return x, idx


class FixedRestartCount(ref03.MCMCSampler):
    """Restarts exactly int(reinit_prob * B) chains, the first ones: none on a batch of one."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        n_fresh = int(self.reinit_prob * batch_size)
        x[:n_fresh] = self.init_noise(n_fresh)
        return x, idx


class SharedRestartNoise(ref03.MCMCSampler):
    """Every restarted chain gets the same noise image, init_noise(1)."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return (self.init_noise(1).expand(batch_size, *self.sample_shape).clone(),
                    torch.zeros(batch_size, dtype=torch.long))
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        x = self.buffer[idx].clone()
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x[fresh] = self.init_noise(1)
        return x, idx


class OwnUniformStart(ref03.MCMCSampler):
    """Empty buffer: its own torch.rand noise instead of init_noise (ignores init='gaussian')."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            x = torch.rand(batch_size, *self.sample_shape) * 2 - 1
            return x, torch.zeros(batch_size, dtype=torch.long)
        return super()._init_chains(batch_size)


class RestartNoiseIntoBuffer(ref03.MCMCSampler):
    """Writes the restart noise into the drawn buffer slots, then copies the slots."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        self.buffer[idx[fresh]] = self.init_noise(int(fresh.sum()))
        return self.buffer[idx].clone(), idx


class AppendsAtSlotZero(ref03.MCMCSampler):
    """Appends every batch at slots 0..B-1 (forgets the n_filled offset)."""

    def _update_buffer(self, x_model, idx):
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[:n_append] = x_model[:n_append].detach()
        self.n_filled += n_append
        if n_append < len(x_model):
            write_slots(self.buffer, idx[n_append:], x_model[n_append:])


class DropsOverflow(ref03.MCMCSampler):
    """Appends what fits and drops the rest of a batch that overflows the buffer."""

    def _update_buffer(self, x_model, idx):
        if self.n_filled < self.buffer_size:
            n_append = min(len(x_model), self.buffer_size - self.n_filled)
            self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append].detach()
            self.n_filled += n_append
        else:
            write_slots(self.buffer, idx, x_model.detach())


class OverflowToWrongSlots(ref03.MCMCSampler):
    """Writes the overflowing samples over idx[:k] instead of their own idx[n_append:]."""

    def _update_buffer(self, x_model, idx):
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append].detach()
        self.n_filled += n_append
        rest = x_model[n_append:].detach()
        if len(rest):
            write_slots(self.buffer, idx[:len(rest)], rest)


class FullWritesRandomSlots(ref03.MCMCSampler):
    """Once full, writes the samples over random slots instead of the drawn ones."""

    def _update_buffer(self, x_model, idx):
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append].detach()
        self.n_filled += n_append
        rest = x_model[n_append:].detach()
        if len(rest):
            slots = torch.randperm(self.buffer_size, generator=self.generator)[:len(rest)]
            self.buffer[slots] = rest


class FlagsFirstGlobalRestarts(ref03.MCMCSampler):
    """Restart flags drawn first, from the global RNG (the statement fixes only the slot
    draw's generator); slots by multinomial; the overflow written chain by chain in reverse, so
    the first chain keeps a shared slot."""

    def _init_chains(self, batch_size):
        fresh = torch.rand(batch_size) < self.reinit_prob
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.int64)
        weights = torch.ones(self.n_filled)
        idx = torch.multinomial(weights, batch_size, replacement=True, generator=self.generator)
        x = torch.empty(batch_size, *self.sample_shape, dtype=self.buffer.dtype)
        noise = self.init_noise(int(fresh.sum()))
        x[~fresh] = self.buffer[idx[~fresh]]
        x[fresh] = noise
        return x, idx

    def _update_buffer(self, x_model, idx):
        rows = list(x_model.detach())
        appended = 0
        for row in rows:
            if self.n_filled < self.buffer_size:
                self.buffer[self.n_filled] = row
                self.n_filled += 1
                appended += 1
        for j in reversed(range(appended, len(rows))):
            self.buffer[int(idx[j])] = rows[j]


class LoopSampler(ref03.MCMCSampler):
    """Chain by chain: slot first, then a Bernoulli restart from self.generator; stores each
    sample with write_slots (the last chain keeps a shared slot)."""

    def _init_chains(self, batch_size):
        starts, slots = [], []
        for _ in range(batch_size):
            if self.n_filled == 0:
                starts.append(self.init_noise(1)[0])
                slots.append(0)
                continue
            slot = int(torch.randint(self.n_filled, (1,), generator=self.generator))
            restart = torch.rand((), generator=self.generator).item() < self.reinit_prob
            starts.append(self.init_noise(1)[0] if restart else self.buffer[slot].clone())
            slots.append(slot)
        return torch.stack(starts), torch.tensor(slots, dtype=torch.long)

    def _update_buffer(self, x_model, idx):
        x_model = x_model.detach()
        room = self.buffer_size - self.n_filled
        head, tail = x_model[:room], x_model[room:]
        self.buffer[self.n_filled:self.n_filled + len(head)] = head
        self.n_filled += len(head)
        if len(tail):
            write_slots(self.buffer, idx[len(head):], tail)


class BufferNeverUpdatedWhenFull(ref03.MCMCSampler):
    """Appends while there is room, then never writes samples back."""

    def _update_buffer(self, x_model, idx):
        n_append = min(len(x_model), self.buffer_size - self.n_filled)
        self.buffer[self.n_filled:self.n_filled + n_append] = x_model[:n_append].detach()
        self.n_filled += n_append


class ReinitInverted(ref03.MCMCSampler):
    """Restarts a chain with probability 1 - reinit_prob."""

    def _init_chains(self, batch_size):
        saved, self.reinit_prob = self.reinit_prob, 1 - self.reinit_prob
        try:
            return super()._init_chains(batch_size)
        finally:
            self.reinit_prob = saved


class RingBufferSampler(ref03.MCMCSampler):
    """Another valid policy: a FIFO ring buffer (new samples overwrite the oldest)."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(0, self.n_filled, (batch_size,), generator=self.generator)
        restart = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x = torch.where(restart.view(-1, *[1] * len(self.sample_shape)),
                        self.init_noise(batch_size), self.buffer[idx])
        return x, idx

    def _update_buffer(self, x_model, idx):
        cursor = getattr(self, "_cursor", 0)
        slots = (cursor + torch.arange(len(x_model))) % self.buffer_size
        self.buffer[slots] = x_model.detach()
        self._cursor = int(slots[-1] + 1) % self.buffer_size
        self.n_filled = min(self.buffer_size, self.n_filled + len(x_model))


class _RestartsWith(ref03.MCMCSampler):
    """The reference policy with restarts (once the buffer holds samples) drawn by
    ``self._restart(k)`` instead of init_noise."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        x = self.buffer[idx].clone()
        x[fresh] = self._restart(int(fresh.sum()))
        return x, idx


class RestartsUniformZeroOne(_RestartsWith):
    """Once the buffer holds samples, restarts from torch.rand (U(0, 1)), not init_noise."""

    def _restart(self, k):
        return torch.rand(k, *self.sample_shape, generator=self.generator)


class RestartsIgnoreInit(_RestartsWith):
    """Once the buffer holds samples, restarts from N(0, init_std^2) whatever ``init`` says."""

    def _restart(self, k):
        return torch.randn(k, *self.sample_shape, generator=self.generator) * self.init_std


class SlotsFromSeedCopy(ref03.MCMCSampler):
    """Draws from a private generator made from the sampler's seed at every call: reproducible,
    but every call draws the same slots and restarts."""

    def _init_chains(self, batch_size):
        saved = self.generator
        self.generator = torch.Generator().manual_seed(saved.initial_seed())
        try:
            return super()._init_chains(batch_size)
        finally:
            self.generator = saved


class RestartsIndexCopy(ref03.MCMCSampler):
    """Restart flags first, slots after; restarts written with index_copy_ from init_noise."""

    def _init_chains(self, batch_size):
        if self.n_filled == 0:
            return self.init_noise(batch_size), torch.zeros(batch_size, dtype=torch.long)
        fresh = torch.rand(batch_size, generator=self.generator) < self.reinit_prob
        idx = torch.randint(self.n_filled, (batch_size,), generator=self.generator)
        rows = torch.nonzero(fresh).flatten()
        x = self.buffer.index_select(0, idx)
        return x.index_copy_(0, rows, self.init_noise(len(rows))), idx


BUGS = [
    (checks.check_sampler, SlotsFromWholeBuffer),
    (checks.check_sampler, SlotsOffByOne),
    (checks.check_sampler, SlotsFromGlobalRNG),
    (checks.check_sampler, FixedRestartCount),
    (checks.check_sampler, SharedRestartNoise),
    (checks.check_sampler, OwnUniformStart),
    (checks.check_sampler, RestartNoiseIntoBuffer),
    (checks.check_sampler, AppendsAtSlotZero),
    (checks.check_sampler, DropsOverflow),
    (checks.check_sampler, OverflowToWrongSlots),
    (checks.check_sampler, FullWritesRandomSlots),
    (checks.check_sampler, BufferNeverUpdatedWhenFull),
    (checks.check_sampler, ReinitInverted),
    (checks.check_sampler, RestartsUniformZeroOne),
    (checks.check_sampler, RestartsIgnoreInit),
    (checks.check_sampler, SlotsFromSeedCopy),
]


ALT_CORRECT = [
    (checks.check_sampler, FlagsFirstGlobalRestarts),
    (checks.check_sampler, LoopSampler),
    (checks.check_sampler, RingBufferSampler),
    (checks.check_sampler, RestartsIndexCopy),
]
