"""Hidden checks of 03_mnist_ebm: ``sampler``."""

from __future__ import annotations

import math

import torch

from ebm_course.instructor.grading.common import guard_checks

from ._shared import _expect, _global_seed


def _make_sampler(sampler_cls, shape, buffer_size, reinit_prob, seed, init="uniform"):
    sampler = sampler_cls(shape, buffer_size=buffer_size, reinit_prob=reinit_prob, init=init,
                          init_std=0.1, seed=seed)
    assert int(sampler.n_filled) == 0 and tuple(sampler.buffer.shape) == (buffer_size, *shape), (
        "MCMCSampler should keep the package's __init__ (an empty, preallocated buffer)")
    return sampler


def _marked_buffer(buffer_size: int, shape, n_filled: int) -> torch.Tensor:
    """Filled slot k holds 5 + k (+ a small per-element ramp), an unfilled one -(5 + k): values
    no noise start takes, so every chain start tells where it came from."""
    d = math.prod(shape)
    base = torch.arange(buffer_size, dtype=torch.float64)[:, None] + 5
    sign = torch.where(torch.arange(buffer_size) < n_filled, 1.0, -1.0).double()[:, None]
    return ((base + 1e-3 * torch.arange(d)) * sign).float().view(buffer_size, *shape)


def _set_state(sampler, n_filled: int) -> torch.Tensor:
    sampler.buffer = _marked_buffer(sampler.buffer_size, sampler.sample_shape, n_filled)
    sampler.n_filled = n_filled
    return sampler.buffer.clone()


def _init(sampler, batch_size: int, what: str):
    """Call _init_chains; check the types, shapes, dtypes and device of what it returns."""
    out = sampler._init_chains(batch_size)
    assert isinstance(out, (tuple, list)) and len(out) == 2, (
        f"{what}: _init_chains should return (x_init, idx)")
    x, idx = out
    _expect(x, f"{what}: x_init", (batch_size, *sampler.sample_shape), "shape (B, *sample_shape)",
            sampler.buffer.dtype)
    assert x.device == sampler.buffer.device, f"{what}: x_init should be on the buffer's device"
    _expect(idx, f"{what}: idx", (batch_size,), "shape (B,)", torch.int64)
    assert ((idx >= 0) & (idx < sampler.buffer_size)).all(), (
        f"{what}: every idx should be a valid buffer slot")
    return x, idx


def _classify(sampler, x, idx, before, n_filled, what) -> torch.Tensor:
    """True for chains that start from a copy of a filled slot, False for noise restarts."""
    flat = x.flatten(1)
    assert not (flat <= -4).all(1).any(), (
        f"{what}: a chain started from an unfilled buffer slot: draw slots uniformly from the "
        "filled part only, [0, n_filled)")
    from_buffer = (flat >= 4).all(1)
    noise = (flat.abs() <= 1.0).all(1)
    assert (from_buffer | noise).all(), (
        f"{what}: every chain should start either from a copy of one buffer slot or from "
        "init_noise")
    slots = idx[from_buffer]
    assert (slots < n_filled).all() and torch.equal(flat[from_buffer], before.flatten(1)[slots]), (
        f"{what}: a chain that does not restart should start from a copy of buffer slot idx "
        "(the slot returned for it)")
    return from_buffer


def _expect_init_noise(sampler, noise: torch.Tensor, what: str) -> None:
    """Restart values drawn as init_noise draws them (U(-1, 1) for init='uniform', N(0,
    init_std^2) for 'gaussian'): mean, variance (and for the uniform the share of each quarter
    of [-1, 1]) within six standard errors."""
    z = noise.detach().double().flatten()
    n = z.numel()
    if sampler.init == "uniform":
        sd, var, var_sd, desc = math.sqrt(1 / 3), 1 / 3, math.sqrt(4 / 45), "U(-1, 1)"
        shares = torch.histc(z, bins=4, min=-1.0, max=1.0) / n
        ok = bool(((shares - 0.25).abs() < 6 * math.sqrt(3 / 16 / n)).all())
    else:
        s = float(sampler.init_std)
        sd, var, var_sd, desc = s, s * s, math.sqrt(2) * s * s, "N(0, init_std^2)"
        ok = True
    ok = (ok and abs(z.mean().item()) < 6 * sd / math.sqrt(n)
          and abs(z.var().item() - var) < 6 * var_sd / math.sqrt(n))
    assert ok, (
        f"{what}: the restarted chains' starts are not distributed as init_noise draws them "
        f"(init='{sampler.init}': {desc}): restart with self.init_noise(number of restarts)")


def _check_init_empty(sampler_cls) -> None:
    shape = (1, 3, 5)
    what = "_init_chains on an empty buffer"
    s = _make_sampler(sampler_cls, shape, 13, 0.3, seed=21, init="gaussian")
    x, _ = _init(s, 600, what)
    assert int(s.n_filled) == 0 and not s.buffer.abs().sum(), (
        f"{what}: _init_chains must not change the buffer or n_filled")
    ratio = x.std().item() / 0.1
    assert (x.abs() < 1).all() and abs(ratio - 1) < 0.1, (
        f"{what}: every chain should start from init_noise (with init='gaussian' that is "
        "N(0, init_std^2), not the empty buffer's zeros nor noise of your own)")
    assert len(torch.unique(x.flatten(1), dim=0)) == len(x), (
        f"{what}: every chain needs its own noise start (call init_noise(B), not once for all)")
    _expect_init_noise(s, x, what)
    uniform = _make_sampler(sampler_cls, shape, 13, 0.3, seed=23)
    _expect_init_noise(uniform, _init(uniform, 400, what)[0], f"{what} (init='uniform')")
    x1, idx1 = _init(_make_sampler(sampler_cls, shape, 13, 1.0, seed=21), 1,
                     f"{what}, on a batch of one")
    assert (x1.abs() <= 1).all() and x1.std() > 0.2, (
        f"{what}, on a batch of one: the chain should start from init_noise")
    same = _make_sampler(sampler_cls, shape, 13, 0.3, seed=21, init="gaussian")
    other = _make_sampler(sampler_cls, shape, 13, 0.3, seed=22, init="gaussian")
    with _global_seed(1):
        x_same, _ = _init(same, 600, what)
    with _global_seed(2):
        x_other, _ = _init(other, 600, what)
    assert torch.equal(x, x_same), (
        f"{what}: the starts should come from init_noise, which draws from the sampler's own "
        "generator: the same sampler seed must give the same starts whatever the global "
        "random state")
    assert not torch.equal(x, x_other), (
        f"{what}: samplers with different seeds gave the same starts: use init_noise")


def _check_init_partial(sampler_cls) -> None:
    shape, n, n_filled, p, b = (1, 2, 3), 50, 37, 0.25, 4000
    what = "_init_chains on a partly filled buffer"
    s = _make_sampler(sampler_cls, shape, n, p, seed=31)
    before = _set_state(s, n_filled)
    x, idx = _init(s, b, what)
    assert torch.equal(s.buffer, before) and int(s.n_filled) == n_filled, (
        f"{what}: _init_chains must not change the buffer (restart noise goes into x_init, not "
        "into the buffer) or n_filled")
    from_buffer = _classify(s, x, idx, before, n_filled, what)
    restart = ~from_buffer
    share = restart.float().mean().item()
    assert abs(share - p) < 0.04, (
        f"{what}: each chain should restart from noise with probability reinit_prob; "
        f"{'far too few' if share < p else 'far too many'} chains restarted")
    half = b // 2
    first, second = restart[:half].float().mean().item(), restart[half:].float().mean().item()
    assert abs(first - p) < 0.06 and abs(second - p) < 0.06, (
        f"{what}: restarts should be drawn independently for every chain (not the first chains "
        "of the batch)")
    noise = x[restart].flatten(1)
    assert len(noise) < 2 or len(torch.unique(noise, dim=0)) == len(noise), (
        f"{what}: every restarted chain needs its own noise start (not one shared noise image)")
    _expect_init_noise(s, noise, what)
    counts = torch.bincount(idx[from_buffer], minlength=n_filled)[:n_filled].float()
    assert counts.min() > 0.4 * counts.mean() and counts.max() < 1.7 * counts.mean(), (
        f"{what}: slots should be drawn uniformly from the whole filled part, [0, n_filled) "
        "(every filled slot, the last one included, equally often)")
    x[from_buffer] += 100.0
    assert torch.equal(s.buffer, before), (
        "_init_chains must return copies of the buffer slots, not views of the buffer")


def _check_init_rates(sampler_cls) -> None:
    shape, n = (1, 2, 2), 13
    for p, init in ((0.0, "uniform"), (1.0, "uniform"), (1.0, "gaussian")):
        s = _make_sampler(sampler_cls, shape, n, p, seed=41, init=init)
        before = _set_state(s, n)
        what = f"_init_chains on a full buffer with reinit_prob={p:g}"
        x, idx = _init(s, 300, what)
        from_buffer = _classify(s, x, idx, before, n, what)
        assert bool(from_buffer.all()) if p == 0 else not from_buffer.any(), (
            f"{what}: {'no chain' if p == 0 else 'every chain'} should restart from noise")
        if p:
            _expect_init_noise(s, x, f"{what} (init='{init}')")
    # Batches of one, a non-round reinit_prob: each call is one Bernoulli(reinit_prob) draw.
    p, calls = 0.37, 400
    s = _make_sampler(sampler_cls, shape, n, p, seed=42)
    before = _set_state(s, n)
    what = "_init_chains on batches of one"
    restarts, slots = 0, []
    for _ in range(calls):
        x, idx = _init(s, 1, what)
        from_buffer = _classify(s, x, idx, before, n, what)
        restarts += int(not from_buffer[0])
        if from_buffer[0]:
            slots.append(int(idx[0]))
    share = restarts / calls
    assert abs(share - p) < 0.12, (
        f"{what}: each chain should restart with probability reinit_prob, also when "
        f"reinit_prob * B is not a whole number; {'far too few' if share < p else 'far too many'}"
        " chains restarted")
    assert len(set(slots)) == n, (
        f"{what}: every filled slot should be drawn (uniformly from [0, n_filled), the last one "
        "included)")


def _check_init_generator(sampler_cls) -> None:
    shape, n, n_filled, b = (1, 2, 2), 40, 29, 64
    what = "_init_chains on a partly filled buffer"
    samplers = [_make_sampler(sampler_cls, shape, n, 0.0, seed=seed) for seed in (51, 51, 52)]
    draws = []
    for s, global_seed in zip(samplers, (1, 2, 1)):
        before = _set_state(s, n_filled)
        with _global_seed(global_seed):
            x, idx = _init(s, b, what)
        _classify(s, x, idx, before, n_filled, what)
        draws.append(idx.clone())
    assert torch.equal(draws[0], draws[1]), (
        f"{what}: the same sampler seed must draw the same slots whatever the global random "
        "state: draw them with generator=self.generator")
    assert not torch.equal(draws[0], draws[2]), (
        f"{what}: samplers with different seeds drew the same slots: draw them from "
        "self.generator (not from a fixed or freshly made generator)")
    state = samplers[0].generator.get_state()
    _, again = _init(samplers[0], b, what)
    assert not torch.equal(samplers[0].generator.get_state(), state), (
        f"{what}: self.generator did not advance: draw from it directly (a private generator "
        "made from its seed repeats the same slots and restarts at every call)")
    assert not torch.equal(again, draws[0]), (
        f"{what}: two consecutive calls drew the same slots: keep drawing from self.generator "
        "(do not re-create or re-seed it inside _init_chains)")


def _samples(serials, shape) -> torch.Tensor:
    """Sample number s holds 100 + s (+ a small per-element ramp): each one recognisable."""
    d = math.prod(shape)
    values = 100.0 + torch.as_tensor(serials, dtype=torch.float64)[:, None] + 1e-3 * torch.arange(d)
    return values.float().view(-1, *shape)


class _BufferModel:
    """What the check knows of the buffer: its content and the age (serial) of each slot."""

    def __init__(self, sampler) -> None:
        self.n = sampler.buffer_size
        self.content = sampler.buffer.clone()
        self.serial = torch.full((self.n,), -1, dtype=torch.long)
        self.n_filled = 0

    def oldest(self, k: int) -> torch.Tensor:
        filled = torch.nonzero(self.serial >= 0).flatten()
        return filled[self.serial[filled].argsort()][:k]


def _drawn_slots_policy(got, new, serial_new, rest, rest_idx, rest_serials):
    """The policy of the statement: each sample that does not fit over the slot its chain was
    drawn from (of several chains sharing a slot, any one may keep it). Returns (whether the
    buffer ``got`` follows it, the slots' serials under it)."""
    ok_a, serial_a = True, serial_new.clone()  # policy of the statement: the drawn slots
    expect_a = new.clone()
    for slot in torch.unique(rest_idx).tolist():
        cands = torch.nonzero(rest_idx == slot).flatten()
        match = [int(j) for j in cands if torch.equal(got[slot], rest[j])]
        if not match:
            ok_a = False
            break
        expect_a[slot] = got[slot]
        serial_a[slot] = rest_serials[match[0]]
    return ok_a and torch.equal(got, expect_a), serial_a


def _fifo_policy(model: _BufferModel, got, new, serial_new, rest, rest_serials):
    """A FIFO ring: the samples that do not fit over the oldest slots, in order. Returns
    (whether the buffer ``got`` follows it, the slots' serials under it)."""
    expect_b, serial_b = new.clone(), serial_new.clone()  # a FIFO ring: the oldest slots
    oldest = model.oldest(len(rest))
    expect_b[oldest] = rest
    serial_b[oldest] = torch.as_tensor(rest_serials, dtype=torch.long)
    return len(oldest) == len(rest) and torch.equal(got, expect_b), serial_b


def _policy_failed(what: str, got, rest, rest_idx) -> None:
    """Say how the full buffer ``got`` breaks the policy."""
    stored = [(got.flatten(1) == r.flatten()).all(1).any().item() for r in rest]
    unique = [int((rest_idx == rest_idx[j]).sum()) == 1 for j in range(len(rest))]
    if not all(s for s, u in zip(stored, unique) if u):
        raise AssertionError(
            f"{what}: every sample that does not fit should be stored in the full buffer, "
            "over the slot its chain was drawn from (idx)")
    raise AssertionError(
        f"{what}: once the buffer is full, sample j should overwrite slot idx[j], the slot "
        "its own chain was drawn from, and no other slot may change")


def _update(sampler, model: _BufferModel, serials, idx, phase: str) -> None:
    """Call _update_buffer once and judge the new buffer against the policy: append in order
    while there is room, then write each remaining sample over the slot its chain was drawn from
    (a chain sharing its slot with another may lose it). A FIFO ring (the rest over the oldest
    samples, in order) is accepted too."""
    shape = sampler.sample_shape
    x_model = _samples(serials, shape)
    b, n0 = len(x_model), model.n_filled
    n_append = min(b, model.n - n0)
    sampler._update_buffer(x_model, idx.clone())
    what = f"_update_buffer {phase}"
    buf = sampler.buffer
    assert isinstance(buf, torch.Tensor) and tuple(buf.shape) == (model.n, *shape), (
        f"{what}: the buffer must keep its shape: it never grows past buffer_size (write into "
        "the preallocated tensor)")
    assert buf.dtype == model.content.dtype, f"{what}: the buffer must keep its dtype"
    assert int(sampler.n_filled) == min(model.n, n0 + b), (
        f"{what}: n_filled should grow by the number of samples appended, up to buffer_size")
    got = buf.detach().clone()
    new = model.content.clone()
    new[n0:n0 + n_append] = x_model[:n_append]
    assert torch.equal(got[n0:n0 + n_append], x_model[:n_append]), (
        f"{what}: while there is room the samples should be appended, in order, at slots "
        "n_filled, n_filled + 1, ...")
    rest, rest_idx = x_model[n_append:], idx[n_append:]
    serial_new = model.serial.clone()
    serial_new[n0:n0 + n_append] = torch.as_tensor(serials[:n_append])

    ok_a, serial_a = _drawn_slots_policy(got, new, serial_new, rest, rest_idx,
                                         serials[n_append:])
    ok_b, serial_b = _fifo_policy(model, got, new, serial_new, rest, serials[n_append:])
    if not (ok_a or ok_b):
        _policy_failed(what, got, rest, rest_idx)
    x_model += 1000.0
    assert torch.equal(sampler.buffer, got), (
        f"{what}: the buffer must hold copies of the samples, not views of x_model")
    model.content = got
    model.serial = serial_a if ok_a else serial_b
    model.n_filled = int(sampler.n_filled)


def _check_update(sampler_cls) -> None:
    shape, n = (1, 2, 3), 13
    gen = torch.Generator().manual_seed(61)
    s = _make_sampler(sampler_cls, shape, n, 0.1, seed=61)
    model = _BufferModel(s)
    serial = 0

    def batch(k):
        nonlocal serial
        serial += k
        return list(range(serial - k, serial))

    # Empty, then filling: batches of 5, 1 and 3 (idx as _init_chains would return them).
    _update(s, model, batch(5), torch.zeros(5, dtype=torch.long), "on an empty buffer")
    _update(s, model, batch(1), torch.randint(5, (1,), generator=gen),
            "on a filling buffer, with a batch of one")
    _update(s, model, batch(3), torch.randint(6, (3,), generator=gen), "on a filling buffer")
    # A batch that does not fit: 4 appended, 4 written back. Drawn slots: not the oldest ones,
    # so that "the drawn slots" and "the oldest slots" are different places.
    young = torch.arange(4, 9)[torch.randperm(5, generator=gen)]
    idx = torch.cat([young[1:5].roll(1), young[1:5]])
    _update(s, model, batch(8), idx, "when the batch fills the buffer and overflows")

    def young_slots(k, b):
        old = set(model.oldest(b).tolist())
        pool = torch.tensor([i for i in range(n) if i not in old])
        return pool[torch.randperm(len(pool), generator=gen)[:k]]

    for b in (6, 1, 4):
        _update(s, model, batch(b), young_slots(b, b), "on a full buffer")
    a, c = young_slots(2, 5).tolist()
    _update(s, model, batch(5), torch.tensor([a, a, c, a, c]),
            "on a full buffer when several chains drew the same slot")
    _update(s, model, batch(6), young_slots(6, 6), "on a full buffer")


def check_sampler(sampler_cls) -> None:
    """The buffer policy, phase by phase. _init_chains: on an empty buffer every chain starts
    from init_noise (own draw per chain); on a partly filled or full one from a copy of a slot
    drawn uniformly from the filled part with self.generator (the same seed gives the same slots
    whatever the global random state; it advances), restarting with probability reinit_prob per
    chain (a batch of one, non-round rates, 0 and 1) from init_noise (its distribution checked in
    every phase); idx int64 (B,); the buffer untouched.
    _update_buffer: appends in order while there is room, never grows, then writes each sample
    over the slot its chain was drawn from (a chain sharing its slot may lose it); copies."""
    _check_init_empty(sampler_cls)
    _check_init_partial(sampler_cls)
    _check_init_generator(sampler_cls)
    _check_init_rates(sampler_cls)
    _check_update(sampler_cls)


guard_checks(globals())  # time / memory limits, clean failure messages (common.py)
