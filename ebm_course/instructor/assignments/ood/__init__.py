"""Assignment unit `ood` (see the package docstring: one assignment, one place)."""
