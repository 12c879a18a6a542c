"""04_glyph_jem, ``class_gaussian_init``: wrong implementations (``BUGS``: each must fail
``check_class_gaussian_init``) and correct ones written differently (``ALT_CORRECT``: each must
pass)."""

from __future__ import annotations

import torch

from ebm_course.instructor.assignments.glyph_jem import checks


def cgi_global_rng(n, means, factors, generator, y=None):
    """Draws z from the global generator (not reproducible from the sampler's seed)."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)


def cgi_one_z_for_all(n, means, factors, generator, y=None):
    """One z shared by every draw: all starts of a class are the same image."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(factors.shape[2], generator=generator, dtype=factors.dtype)
    return means[y] + factors[y] @ z


def cgi_transposed_factors(n, means, factors, generator, y=None):
    """Multiplies z by the factors' columns in the wrong order: z of length D, truncated."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[1], generator=generator, dtype=factors.dtype)
    return means[y] + z * factors[y].sum(2)


def cgi_ignores_labels(n, means, factors, generator, y=None):
    """Draws random classes even when y is given."""
    y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)


def cgi_missing_last_class(n, means, factors, generator, y=None):
    """randint(K - 1): the last class never starts a chain."""
    if y is None:
        y = torch.randint(means.shape[0] - 1, (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)


def cgi_squared_factors(n, means, factors, generator, y=None):
    """Scales z by the squared factors (variance where the standard deviation belongs)."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y].pow(2) @ z).squeeze(-1)


def cgi_mean_only(n, means, factors, generator, y=None):
    """Returns the class means: no spread at all."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    return means[y].clone()


def cgi_float32(n, means, factors, generator, y=None):
    """Casts to float32 (a float64 sampler gets float32 starts)."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, factors.shape[2], 1, generator=generator)
    return (means[y].float() + (factors[y].float() @ z).squeeze(-1))




def cgi_einsum_z_first(n, means, factors, generator, y=None):
    """z first, then the classes; einsum instead of a batched matmul."""
    z = torch.randn(n, factors.shape[2], generator=generator, dtype=factors.dtype)
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    return means[y] + torch.einsum("ndr,nr->nd", factors[y], z)


def cgi_multinomial_loop(n, means, factors, generator, y=None):
    """Classes by multinomial over uniform weights (none for n = 0); one draw at a time."""
    k = means.shape[0]
    if y is None:
        y = (torch.multinomial(torch.ones(k), n, replacement=True, generator=generator) if n
             else torch.zeros(0, dtype=torch.long))
    rows = [means[c] + factors[c] @ torch.randn(factors.shape[2], generator=generator,
                                                dtype=factors.dtype) for c in y.tolist()]
    return torch.stack(rows) if rows else means.new_zeros((0, means.shape[1]))


def class_init_std_not_factors(n, means, factors, generator, y=None):
    """Scales independent per-pixel noise by each pixel's standard deviation: the right variances,
    none of the correlations that make a draw look like a glyph."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    std = factors[y].pow(2).sum(2).sqrt()
    return means[y] + std * torch.randn(std.shape, generator=generator, dtype=std.dtype)


def class_gaussian_init_normal(n, means, factors, generator, y=None):
    """z by torch.normal; the classes from uniform floats; a batched matmul with unsqueeze."""
    if y is None:
        y = (torch.rand(n, generator=generator, dtype=torch.float64) * means.shape[0]).long()
    z = torch.normal(0.0, 1.0, size=(n, factors.shape[2]), generator=generator, dtype=factors.dtype)
    return means[y] + torch.bmm(factors[y], z.unsqueeze(2)).squeeze(2)


def _cgi_with(n, means, factors, generator, y):
    z = torch.randn(n, factors.shape[2], 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z).squeeze(-1)


def cgi_private_generator(n, means, factors, generator, y=None):
    """Copies the seed into a private generator: every restart batch gets the same starts."""
    private = torch.Generator().manual_seed(generator.initial_seed())
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=private)
    return _cgi_with(n, means, factors, private, y)


def cgi_cyclic_classes(n, means, factors, generator, y=None):
    """Exact equal shares, arange(n) % K: no randomness; a single restart is always class 0."""
    if y is None:
        y = torch.arange(n) % means.shape[0]
    return _cgi_with(n, means, factors, generator, y)


def cgi_shuffled_equal_shares(n, means, factors, generator, y=None):
    """randperm(n) % K: random order, but with fewer restarts than classes the classes n..K-1
    never start."""
    if y is None:
        y = torch.randperm(n, generator=generator) % means.shape[0]
    return _cgi_with(n, means, factors, generator, y)


def cgi_z_broadcast(n, means, factors, generator, y=None):
    """One normal per draw broadcast over the r entries of z."""
    if y is None:
        y = torch.randint(means.shape[0], (n,), generator=generator)
    z = torch.randn(n, 1, 1, generator=generator, dtype=factors.dtype)
    return means[y] + (factors[y] @ z.expand(n, factors.shape[2], 1)).squeeze(-1)


def cgi_local_generator_from_draw(n, means, factors, generator, y=None):
    """A local generator seeded by one draw from the given one; classes from uniforms."""
    local = torch.Generator().manual_seed(int(torch.randint(2 ** 62, (1,), generator=generator)))
    k = means.shape[0]
    if y is None:
        y = (torch.rand(n, generator=local, dtype=torch.float64) * k).long().clamp(max=k - 1)
    z = torch.randn(factors.shape[2], n, generator=local, dtype=factors.dtype).T
    return means[y] + torch.einsum("ndr,nr->nd", factors[y], z)


BUGS = [
    (checks.check_class_gaussian_init, cgi_global_rng),
    (checks.check_class_gaussian_init, cgi_one_z_for_all),
    (checks.check_class_gaussian_init, cgi_transposed_factors),
    (checks.check_class_gaussian_init, cgi_ignores_labels),
    (checks.check_class_gaussian_init, cgi_missing_last_class),
    (checks.check_class_gaussian_init, cgi_squared_factors),
    (checks.check_class_gaussian_init, cgi_mean_only),
    (checks.check_class_gaussian_init, cgi_float32),
    (checks.check_class_gaussian_init, class_init_std_not_factors),
    (checks.check_class_gaussian_init, cgi_private_generator),
    (checks.check_class_gaussian_init, cgi_cyclic_classes),
    (checks.check_class_gaussian_init, cgi_shuffled_equal_shares),
    (checks.check_class_gaussian_init, cgi_z_broadcast),
]


ALT_CORRECT = [
    (checks.check_class_gaussian_init, cgi_einsum_z_first),
    (checks.check_class_gaussian_init, cgi_multinomial_loop),
    (checks.check_class_gaussian_init, class_gaussian_init_normal),
    (checks.check_class_gaussian_init, cgi_local_generator_from_draw),
]
