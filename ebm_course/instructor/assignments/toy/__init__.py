"""Assignment unit `toy` (see the package docstring: one assignment, one place)."""
