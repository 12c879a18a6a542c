"""Assignment unit `mnist_ebm` (see the package docstring: one assignment, one place)."""
